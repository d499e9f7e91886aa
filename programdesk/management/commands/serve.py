from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(L)s'
# On stop, a task worker finishes the task it runs for this long; then it is told again and
# leaves it (its transaction rolled back: the job is reported failed, nothing written).
TASK_GRACE_SECONDS = 10
WEB_GRACE_SECONDS = 30


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, before exec
    """Linux: the child gets SIGTERM should serve itself die without stopping it."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _task_worker_start() -> None:  # pragma: no cover - runs in the child, before exec
    """A task worker also yields the processor to the web workers: a long import is work
    nobody waits on by the second, a page is (docs/performance.md, S8)."""
    _die_with_parent()
    with contextlib.suppress(OSError):
        os.nice(settings.TASK_WORKER_NICE)


class Supervisor:
    """gunicorn and N task workers (``db_worker``, at a lower processor priority:
    ``TASK_WORKER_NICE``) as child processes: a task worker that exits is started again;
    when gunicorn exits, or serve gets SIGTERM or SIGINT (Ctrl-C), everything stops. The
    children run in their own process group, so Ctrl-C reaches only serve, which stops them
    in order: gunicorn at once (graceful), task workers after their current task (up to
    ``TASK_GRACE_SECONDS``).

    With ``purge`` and ``purge_every`` > 0 it also runs that command (``manage.py purge
    --enqueue``, which queues the purge task for the task workers) at start and then every
    ``purge_every`` seconds, one at a time, as a child like the others."""

    def __init__(self, *, web: list[str], task: list[str], tasks: int,
                 say: Callable[[str], None], purge: list[str] | None = None,
                 purge_every: float = 0) -> None:
        self.web_argv, self.task_argv, self.say = web, task, say
        self.purge_argv, self.purge_every = purge, purge_every
        self.purge: subprocess.Popen[bytes] | None = None
        self.last_purge: float | None = None
        self.web: subprocess.Popen[bytes] | None = None
        self.tasks: list[subprocess.Popen[bytes] | None] = [None] * tasks
        self.started = 0
        self.stopping = False

    def _spawn(self, argv: list[str], *,
               start: Callable[[], None] = _die_with_parent) -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, process_group=0, preexec_fn=start)  # noqa: S603

    def _spawn_task_worker(self, index: int) -> None:
        self.started += 1
        worker_id = f"{socket.gethostname()[:40]}-{os.getpid()}-{self.started}"
        self.tasks[index] = self._spawn([*self.task_argv, "--worker-id", worker_id],
                                        start=_task_worker_start)

    def _purge_when_due(self) -> None:
        if not self.purge_argv or self.purge_every <= 0:
            return
        if self.purge is not None and self.purge.poll() is None:
            return  # the last one is still running
        now = time.monotonic()
        if self.last_purge is None or now - self.last_purge >= self.purge_every:
            self.last_purge = now
            self.purge = self._spawn(self.purge_argv)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        self.web = self._spawn(self.web_argv)
        for i in range(len(self.tasks)):
            self._spawn_task_worker(i)
        last_restart = [0.0] * len(self.tasks)
        code = 0
        while not self.stopping:
            if self.web.poll() is not None:
                code = self.web.returncode or 1
                self.say(f"gunicorn exited (code {self.web.returncode}): stopping.")
                break
            for i, proc in enumerate(self.tasks):
                if proc is not None and proc.poll() is not None:
                    self.say(f"Task worker {proc.pid} exited (code {proc.returncode}): "
                             "starting another.")
                    # One that dies at once (a broken database) is not restarted in a loop.
                    if time.monotonic() - last_restart[i] < 5:
                        time.sleep(5)
                    last_restart[i] = time.monotonic()
                    self._spawn_task_worker(i)
            self._purge_when_due()
            time.sleep(0.2)
        self.shutdown()
        return code

    def shutdown(self) -> None:
        children = [p for p in [self.web, *self.tasks, self.purge] if p is not None]
        for proc in children:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + TASK_GRACE_SECONDS
        for worker in self.tasks:
            if worker is None:
                continue
            try:
                worker.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"Task worker {worker.pid} is still running a task: interrupting it "
                         "(its import is rolled back and reported failed).")
                worker.send_signal(signal.SIGTERM)  # db_worker: a second signal stops the task
        deadline = time.monotonic() + WEB_GRACE_SECONDS
        for proc in children:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def web_workers() -> int:
    """gunicorn's worker processes: ``WORKERS``, default 2 (docs/deploy.md)."""
    return int(os.environ.get("WORKERS", "2"))


def gunicorn_command(*, bind: str, workers: int) -> list[str]:
    """gunicorn as ``serve`` runs it (the S7 benchmark measures this command too)."""
    return [sys.executable, "-m", "gunicorn", "programdesk.wsgi:application",
            "--bind", bind, "--workers", str(workers),
            "--access-logfile", "-", "--forwarded-allow-ips", "127.0.0.1",
            # Paths without their query strings, which can hold names (?search=, ?q=).
            "--access-logformat", ACCESS_LOG_FORMAT,
            # Imports run on the task workers; exports answer when done: minutes, not 30 s.
            "--timeout", "300"]


class Command(BaseCommand):
    help = ("Migrate, load the demo data, collect static files and serve under gunicorn, with "
            "task workers beside it.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, default=web_workers())
        parser.add_argument("--task-workers", type=int,
                            default=int(os.environ.get("TASK_WORKERS", "1")),
                            help="Task worker processes (imports) beside gunicorn")
        parser.add_argument("--no-demo", action="store_true", help="Do not load the demo data")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database is up to date.")
        credentials = None
        if not options["no_demo"]:
            from programdesk.management.commands.demo import demo_build

            credentials = demo_build(stdout=self.stdout)
        call_command("collectstatic", interactive=False, verbosity=0)
        host = options["bind"]
        url = f"http://{host}/"
        self.stdout.write(self.style.SUCCESS(f"\nProgram Desk is starting at {url}"))
        if credentials:
            users = ", ".join(credentials["users"])
            self.stdout.write(f"Log in as any of: {users} — password: {credentials['password']}")
            self.stdout.write(f"(kept in {settings.VAR_DIR / 'demo-password.txt'})")
        self.stdout.write(f"Task workers: {options['task_workers']}. Stop with Ctrl-C.\n")
        sys.stdout.flush()
        web = gunicorn_command(bind=host, workers=options["workers"])
        task = [sys.executable, str(settings.BASE_DIR / "manage.py"), "db_worker",
                "--no-reload", "--interval", "1"]

        def say(message: str) -> None:
            self.stdout.write(message)
            sys.stdout.flush()

        # The purge is a task: queued for the task workers (run at once when there are none).
        purge = [sys.executable, str(settings.BASE_DIR / "manage.py"), "purge",
                 *(["--enqueue"] if options["task_workers"] > 0 else [])]
        supervisor = Supervisor(web=web, task=task, tasks=max(0, options["task_workers"]),
                                say=say, purge=purge,
                                purge_every=settings.PURGE_INTERVAL_SECONDS)
        sys.exit(supervisor.run())
