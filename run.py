#!/usr/bin/env python3
"""Program Desk's two commands. Needs only Python 3.11+; sets up everything else itself.

    python3 run.py serve    set up, load the demo data, serve at http://127.0.0.1:8000
    python3 run.py test     set up, run the whole suite (SQLite, and PostgreSQL when installed)
    python3 run.py bench    set up, run the benchmark suite (options: python3 run.py bench -h)

Set-up is a virtual environment in .venv with the exact dependencies of pyproject.toml; it is
redone only when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"


def say(message: str) -> None:
    print(f"\033[1m==> {message}\033[0m" if sys.stdout.isatty() else f"==> {message}", flush=True)


def run(*cmd: str | Path, env: dict[str, str] | None = None, check: bool = True) -> int:
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env)
    if check and result.returncode != 0:
        sys.exit(result.returncode)
    return result.returncode


def ensure_venv(*, dev: bool, bench: bool = False) -> None:
    """Create .venv and install the pinned dependencies, unless already done for this pyproject."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = list(config["project"]["dependencies"])
    if dev:
        deps += config["project"]["optional-dependencies"]["dev"]
    if bench:  # the load test's locust
        deps += config["project"]["optional-dependencies"]["bench"]
    stamp = VENV / ".programdesk-stamp"
    wanted = hashlib.sha256("\n".join(sorted(deps)).encode()).hexdigest()
    have = stamp.read_text().split() if stamp.exists() else []
    if wanted in have:
        return
    if not PY.exists():
        say(f"Creating the virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    say(f"Installing {len(deps)} pinned dependencies")
    run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *deps)
    stamp.write_text(" ".join([*have, wanted]))


def django_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "programdesk.settings")
    env.update(extra)
    return env


def cmd_serve(args: list[str]) -> None:
    ensure_venv(dev=False)
    os.execve(str(PY), [str(PY), str(ROOT / "manage.py"), "serve", *args], django_env())


def _pytest(label: str, env: dict[str, str], pytest_args: list[str]) -> int:
    say(f"pytest on {label}")
    started = time.monotonic()
    code = run(PY, "-m", "pytest", *pytest_args, env=env, check=False)
    say(f"pytest on {label}: {'passed' if code == 0 else 'FAILED'} in "
        f"{time.monotonic() - started:.0f}s")
    return code


class Background:
    """A check running beside the others, its output kept in a file and shown at the end."""

    def __init__(self, label: str, cmd: list[str | Path], env: dict[str, str], log: Path) -> None:
        self.label, self.log = label, log
        self.started = self.ended = time.monotonic()
        with log.open("wb") as out:
            self.proc = subprocess.Popen([str(c) for c in cmd], cwd=ROOT, env=env, stdout=out,
                                         stderr=subprocess.STDOUT)
        self.waiter = threading.Thread(target=self._wait, daemon=True)
        self.waiter.start()

    def _wait(self) -> None:
        self.proc.wait()
        self.ended = time.monotonic()  # its own time, not when the end was shown

    def finish(self) -> int:
        """Wait for it; print its output under a header; its exit code."""
        self.waiter.join()
        code = self.proc.returncode
        elapsed = self.ended - self.started
        say(f"{self.label}: {'ok' if code == 0 else 'FAILED'} in {elapsed:.0f}s "
            f"(output below, kept in {self.log.relative_to(ROOT)})")
        sys.stdout.write(self.log.read_text(errors="replace"))
        sys.stdout.flush()
        return code


# The layers and who writes what: [tool.importlinter] in pyproject.toml.
LINTS: dict[str, list[str | Path]] = {
    "ruff": [PY, "-m", "ruff", "check", "."],
    "mypy": [PY, "-m", "mypy", "programdesk", "bench", "tests"],
    "lint-imports": [VENV / "bin" / "lint-imports", "--no-cache"],
    "migrations": [PY, "manage.py", "makemigrations", "--check", "--dry-run"],
}


def cmd_test(args: list[str]) -> None:
    ensure_venv(dev=True)
    env = django_env(PROGRAMDESK_TESTING="1")
    env.pop("DATABASE_URL", None)
    if "--long-fuzz" in args:  # the API fuzz's long hunt (docs/security.md#5-fuzzing)
        args = [a for a in args if a != "--long-fuzz"]
        env["PROGRAMDESK_FUZZ"] = "long"
    if not any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in args):
        args = ["-n", "auto", *args]  # one pytest worker per core (pytest-xdist)
    logs = ROOT / "var" / "test-logs"
    logs.mkdir(parents=True, exist_ok=True)
    results: dict[str, int] = {}

    # The lints are one process each, mostly one core for a minute (mypy): they run beside
    # pytest's start (collection, migrating a database per worker), their output at the end.
    say("ruff, mypy, lint-imports, makemigrations --check: in the background, shown at the end")
    lints = [Background(label, cmd, env, logs / f"{label}.log") for label, cmd in LINTS.items()]

    # The in-process API fuzz (tests/security/test_fuzz.py) runs in a pytest process of its own
    # on SQLite: sharing one with the live-server browser tests, either order breaks the other
    # (after it, the kiosk's live search hangs; after them, their flushed reference data is
    # missing). Selecting tests (-k, paths) runs them in the one process, as given.
    fuzz = "tests/security/test_fuzz.py"
    if any(a.startswith(("tests", "-k")) for a in args):
        results["sqlite"] = _pytest("SQLite", env, args)
    else:
        results["sqlite"] = _pytest("SQLite", env, [*args, f"--ignore={fuzz}"])
        results["sqlite fuzz"] = _pytest("SQLite (API fuzz)", env, [*args, fuzz])

    if shutil.which("pg_virtualenv"):
        results["postgresql"] = _pytest_postgresql(env, args)
    else:
        say("PostgreSQL server binaries not found (pg_virtualenv): ran on SQLite only")

    for lint in lints:
        results[lint.label] = lint.finish()
    say("Summary: " + ", ".join(f"{k} {'ok' if v == 0 else 'FAILED'}" for k, v in results.items()))
    sys.exit(0 if all(v == 0 for v in results.values()) else 1)


# The throwaway cluster loses everything at the end anyway: no waiting for the disk.
PG_SETTINGS = ["fsync=off", "synchronous_commit=off", "full_page_writes=off"]


def _pytest_postgresql(env: dict[str, str], args: list[str]) -> int:
    """pytest on a throwaway PostgreSQL cluster (pg_virtualenv exports PGHOST, PGPORT, ...).
    Browser tests already ran on SQLite; the PostgreSQL run covers everything else that
    touches the database (tests/conftest.py leaves out the ones that do not)."""
    inner = (f"DATABASE_URL=postgres://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/programdesk "
             f"exec {shlex.quote(str(PY))} -m pytest -m 'not browser' {shlex.join(args)}")
    options = [part for setting in PG_SETTINGS for part in ("-o", setting)]
    say("pytest on PostgreSQL (pg_virtualenv)")
    started = time.monotonic()
    code = run("pg_virtualenv", "-t", *options, "sh", "-c", inner, env=env, check=False)
    say(f"pytest on PostgreSQL: {'passed' if code == 0 else 'FAILED'} in "
        f"{time.monotonic() - started:.0f}s")
    return code


def cmd_bench(args: list[str]) -> None:
    """The benchmark suite (bench/, docs/performance.md): each scenario on a fresh database."""
    ensure_venv(dev=False, bench=True)
    sys.exit(run(PY, "-m", "bench", *args, env=django_env(), check=False))


def main() -> None:
    commands = {"serve": cmd_serve, "test": cmd_test, "bench": cmd_bench}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        sys.exit(2)
    commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
