# ruff: noqa: S310 - the serve test requests its own http://127.0.0.1 server
from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from programdesk.core.models import ApiToken, User, token_digest
from tests.factories import ProgramFactory
from tests.polling import wait_for

pytestmark = pytest.mark.django_db


def test_user_create_with_role_and_programs() -> None:
    first, second = ProgramFactory(), ProgramFactory()
    call_command("user_create", "erin", "--role", "staff", "--password", "a long passphrase 9",
                 "--programs", f"{first.pk},{second.pk}", stdout=io.StringIO())
    user = User.objects.get(username="erin")
    assert user.role == "staff"
    assert user.visible_program_ids() == {first.pk, second.pk}
    assert user.check_password("a long passphrase 9")


def test_user_create_refuses_unknown_programs_and_weak_passwords() -> None:
    with pytest.raises(CommandError, match="Unknown program"):
        call_command("user_create", "erin", "--role", "staff", "--programs", "999999",
                     stdout=io.StringIO())
    with pytest.raises(CommandError, match="password"):
        call_command("user_create", "erin", "--role", "staff", "--password", "123",
                     stdout=io.StringIO())
    assert not User.objects.filter(username="erin").exists()


def test_token_create_prints_only_the_token(alice) -> None:
    out = io.StringIO()
    call_command("token_create", "alice", stdout=out)
    token = out.getvalue().strip()
    assert "\n" not in token and " " not in token
    assert ApiToken.objects.filter(user=alice, digest=token_digest(token)).exists()


def test_token_create_for_unknown_user_fails() -> None:
    with pytest.raises(CommandError):
        call_command("token_create", "nobody", stdout=io.StringIO())


def _children(pid: int) -> dict[int, str]:
    """The child processes of ``pid``: {pid: command line}."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(
                    b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_serve_runs_gunicorn_and_a_supervised_task_worker(tmp_path: Path) -> None:
    """`serve` on a fresh database: pages answer, an import uploaded through the API runs to
    the end on the task worker, a task worker that dies is started again, and Ctrl-C stops
    gunicorn and the task worker with serve."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PROGRAMDESK_VAR_DIR=str(tmp_path), BIND=f"127.0.0.1:{port}")
    for name in ("PROGRAMDESK_TESTING", "DATABASE_URL", "PROGRAMDESK_MEDIA_DIR"):
        env.pop(name, None)  # its own SQLite database under tmp_path, the database backend
    root = Path(__file__).resolve().parents[2]

    def manage(*args: str) -> str:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=root, env=env,
                              check=True, capture_output=True, text=True).stdout

    log = (tmp_path / "serve.log").open("wb")
    serve = subprocess.Popen([sys.executable, "manage.py", "serve", "--no-demo",
                              "--task-workers", "1"], cwd=root, env=env, stdout=log,
                             stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            try:
                return urlopen(f"{base}/login/", timeout=5).status == 200
            except OSError:
                return False

        wait_for(up, 180, "the login page")
        manage("user_create", "erin", "--role", "staff")
        token = manage("token_create", "erin").strip()
        csv = "First Name,Last Name\n" + "".join(f"Ann{i},Lee{i}\n" for i in range(300))
        boundary = "programdeskboundary"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"background\"\r\n\r\n"
                f"true\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"people.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n"
                f"--{boundary}--\r\n").encode()
        headers = {"Authorization": f"Bearer {token}"}
        request = Request(f"{base}/api/v1/imports/people", data=body, headers={
            **headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})
        with urlopen(request, timeout=30) as response:
            assert response.status == 202
            job = json.load(response)

        def finished() -> dict[str, Any] | None:
            with urlopen(Request(base + job["url"], headers=headers), timeout=10) as r:
                state = json.load(r)
            return state if state["status"] not in {"reading", "running"} else None

        state = wait_for(finished, 120, "the import")
        assert state["status"] == "done" and state["summary"]["people_new"] == 300, state

        children = _children(serve.pid)
        workers = [pid for pid, cmd in children.items() if "db_worker" in cmd]
        assert len(workers) == 1 and any("gunicorn" in cmd for cmd in children.values())
        # the task worker yields the processor to gunicorn's workers
        assert os.getpriority(os.PRIO_PROCESS, workers[0]) == os.getpriority(
            os.PRIO_PROCESS, serve.pid) + settings.TASK_WORKER_NICE
        os.kill(workers[0], signal.SIGKILL)
        wait_for(lambda: [p for p, cmd in _children(serve.pid).items()
                       if "db_worker" in cmd and p != workers[0]], 30, "a new task worker")
        children = _children(serve.pid)
        assert len(children) == 2, children

        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=60) == 0
        assert not any(_alive(pid) for pid in children), children
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
        for pid in _children(serve.pid):
            os.kill(pid, signal.SIGKILL)
