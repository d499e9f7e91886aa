"""A served Program Desk for tools that speak HTTP (schemathesis's CLI): a migrated SQLite
database in a temporary folder, the security tests' small world in it, an admin's token, and
gunicorn on a free port of 127.0.0.1.

    python -m tests.security.served          # serve until Ctrl-C; prints the URL and token
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Served:
    url: str  # http://127.0.0.1:PORT
    token: str  # an admin's bearer token
    log: Path  # the server's output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DEBUG"}}
    env.update(DJANGO_SETTINGS_MODULE="programdesk.settings", PROGRAMDESK_VAR_DIR=str(var_dir),
               PROGRAMDESK_TESTING="1", PYTHONPATH=str(ROOT), LOG_LEVEL="WARNING")
    return env


def seed() -> None:
    """Migrate, build the world, create the fuzzing admin; print their token (run in the
    served instance's environment)."""
    import django

    django.setup()
    from django.core.management import call_command

    from programdesk.core.models import User
    from programdesk.core.services import token_create
    from tests.security.world import build_world

    call_command("migrate", interactive=False, verbosity=0)
    build_world()
    user = User.objects.create(username="fuzzer", role="admin", password="!")
    sys.stdout.write(token_create(actor=None, user=user) + "\n")


@contextmanager
def served(*, workers: int = 2) -> Iterator[Served]:
    with tempfile.TemporaryDirectory(prefix="programdesk-served-") as tmp:
        var_dir = Path(tmp)
        env = _environment(var_dir)
        token = subprocess.run(
            [sys.executable, "-c", "from tests.security.served import seed; seed()"],
            cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout.strip()
        port = _free_port()
        log = var_dir / "server.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "programdesk.wsgi:application",
                 "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "120"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(f"{url}/api/v1/openapi.json", server)
            yield Served(url=url, token=token, log=log)
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5):  # noqa: S310 (our own http URL)
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


if __name__ == "__main__":
    with served() as instance:
        print(f"{instance.url}/api/v1/openapi.json  token: {instance.token}  log: {instance.log}",
              flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
