"""What a benchmark line says about where it was measured: the code's revision, the date, the
machine and the database. Ratios only mean something next to these facts — a regression on a
busy two-core machine reads differently from one on a quiet sixteen-core one."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from pathlib import Path
from typing import Any


def git_revision(root: Path) -> str:
    """The checked-out commit's short sha, with ``-dirty`` when tracked files have changes
    (untracked files, such as a results file just written, do not count — as ``git describe
    --dirty``). ``unknown`` outside a git checkout."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, check=True,
                             capture_output=True, text=True).stdout.strip()
        changes = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                 cwd=root, check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}-dirty" if changes.strip() else sha


def cpu_model() -> str:
    """The processor's name as Linux reports it (``/proc/cpuinfo``), else what Python knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def run_facts(*, root: Path, scale: float, repeat: int) -> dict[str, Any]:
    """The facts shared by every line of one run (taken once, when the run starts)."""
    return {
        "revision": git_revision(root),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "scale": scale,
        "repeat": repeat,
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "memory_gib": memory_gib(),
        "python": platform.python_version(),
    }


def load_average() -> float | None:
    """The machine's one-minute load average, taken just before a scenario starts: above the
    number of cores, other work was competing with the measurement."""
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def database_version() -> str:
    """The server version of Django's default connection (the SQLite library's version on
    SQLite): ``3.40.1``, ``15.10``. Call after ``django.setup()``."""
    from django.db import connection

    if connection.vendor == "sqlite":
        import sqlite3

        return sqlite3.sqlite_version
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        row = cursor.fetchone()
    # "15.10 (Debian 15.10-0+deb12u1)": the number is what matters.
    return str(row[0]).split()[0] if row else "unknown"


def database_settings() -> str:
    """The durability settings the run measured under: what a commit costs depends on them.
    SQLite: ``journal_mode=wal synchronous=normal``; PostgreSQL: ``fsync=on
    synchronous_commit=on``. Call after ``django.setup()``."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA journal_mode")
            journal = cursor.fetchone()
            cursor.execute("PRAGMA synchronous")
            level = cursor.fetchone()
            names = {0: "off", 1: "normal", 2: "full", 3: "extra"}
            return (f"journal_mode={journal[0] if journal else '?'} "
                    f"synchronous={names.get(level[0], level[0]) if level else '?'}")
        values = []
        for setting in ["fsync", "synchronous_commit"]:
            cursor.execute(f"SHOW {setting}")
            row = cursor.fetchone()
            values.append(f"{setting}={row[0] if row else '?'}")
        return " ".join(values)
