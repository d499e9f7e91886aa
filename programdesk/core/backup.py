"""Backups of the whole database while it serves, their restore, and a fingerprint (every table's
row count and content checksum) to compare a restore with its source.

- SQLite: the online backup API (``sqlite3.Connection.backup``) copies the database page by page
  while readers and the writer go on; the copy is a consistent SQLite file. Restoring copies it
  back the same way, replacing everything in the target.
- PostgreSQL: ``pg_dump --format=custom`` (one consistent snapshot), restored by ``pg_restore``
  in a single transaction: a failed restore changes nothing.

Backups hold personal data: files are created readable by their owner only (0600).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import dj_database_url
from django.conf import settings
from django.db import connections

SQLITE = "django.db.backends.sqlite3"
# settings.py's SQLite backend (Django's, with writers taking turns at BEGIN): the same files.
SQLITE_ENGINES = frozenset({SQLITE, "programdesk.core.sqlite"})
POSTGRES = "django.db.backends.postgresql"


class BackupError(Exception):
    pass


def database_settings(url: str | None = None, *, using: str = "default") -> dict[str, Any]:
    """A Django DATABASES entry: the one ``url`` names, or the configured ``using``."""
    if url:
        return dict(dj_database_url.parse(url))
    return dict(connections[using].settings_dict)


def _kind(db: dict[str, Any]) -> str:
    engine = db["ENGINE"]
    if engine in SQLITE_ENGINES:
        return "sqlite"
    if engine.startswith(POSTGRES):
        return "postgresql"
    raise BackupError(f"Backups support SQLite and PostgreSQL, not {engine}.")


def default_path(db: dict[str, Any]) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    suffix = "sqlite3" if _kind(db) == "sqlite" else "dump"
    return Path(settings.VAR_DIR) / "backups" / f"programdesk-{stamp}.{suffix}"


def _private_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)


def _pg_env(db: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])  # never on the command line
    return env


def _pg_args(db: dict[str, Any]) -> list[str]:
    args = []
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            args += [flag, str(db[key])]
    return args


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} was not found; install the PostgreSQL client programs.")
    return found


def backup(path: Path, *, db: dict[str, Any]) -> Path:
    """Write a backup of the database ``db`` to ``path``."""
    path = Path(path)
    _private_file(path)
    if _kind(db) == "sqlite":
        source = sqlite3.connect(str(db["NAME"]))
        target = sqlite3.connect(str(path))
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
        return path
    result = subprocess.run(  # noqa: S603 — fixed program, arguments from our settings
        [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
         f"--file={path}", *_pg_args(db), str(db["NAME"])],
        env=_pg_env(db), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    return path


def is_empty(db: dict[str, Any]) -> bool:
    return not fingerprint(db, counts_only=True)


def restore(path: Path, *, db: dict[str, Any]) -> None:
    """Replace the contents of the database ``db`` with the backup at ``path``."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"No backup at {path}.")
    if _kind(db) == "sqlite":
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if source.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{path} is not an intact SQLite database.")
            target = sqlite3.connect(str(db["NAME"]), timeout=30)
            try:
                source.backup(target)
            finally:
                target.close()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{path} is not a SQLite backup: {exc}") from None
        finally:
            source.close()
        return
    result = subprocess.run(  # noqa: S603 — fixed program, arguments from our settings
        [_tool("pg_restore"), "--single-transaction", "--exit-on-error", "--clean",
         "--if-exists", "--no-owner", "--no-privileges", *_pg_args(db),
         f"--dbname={db['NAME']}", str(path)],
        env=_pg_env(db), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()}")


# --- fingerprint -----------------------------------------------------------------------------

def _connect(db: dict[str, Any]) -> Any:
    if _kind(db) == "sqlite":
        return sqlite3.connect(f"file:{db['NAME']}?mode=ro", uri=True)
    import psycopg

    return psycopg.connect(dbname=db["NAME"], user=db.get("USER") or None,
                           password=db.get("PASSWORD") or None, host=db.get("HOST") or None,
                           port=db.get("PORT") or None)


def _tables(cursor: Any, kind: str) -> list[str]:
    if kind == "sqlite":
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                       "AND (name NOT LIKE 'sqlite_%' OR name = 'sqlite_sequence')")
    else:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return sorted(row[0] for row in cursor.fetchall())


def _plain(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return repr(value)


def fingerprint(db: dict[str, Any], *, counts_only: bool = False,
                sequences: bool = True) -> dict[str, tuple[int, str]]:
    """Every table's row count and a SHA-256 of its rows (sorted, so row order on disk does
    not matter); PostgreSQL's sequences too, which a restore must bring back (but which a
    rolled-back transaction advances all the same: leave them out to compare data only)."""
    kind = _kind(db)
    result: dict[str, tuple[int, str]] = {}
    if kind == "sqlite" and not Path(str(db["NAME"])).exists():
        return result
    conn = _connect(db)
    try:
        cursor = conn.cursor()
        for table in _tables(cursor, kind):
            quoted = '"' + table.replace('"', '""') + '"'
            if counts_only:
                cursor.execute(f"SELECT COUNT(*) FROM {quoted}")  # noqa: S608
                count = cursor.fetchone()[0]
                if count:
                    result[table] = (count, "")
                continue
            cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608
            rows = sorted("\x1f".join(_plain(v) for v in row) for row in cursor.fetchall())
            digest = hashlib.sha256("\x1e".join(rows).encode()).hexdigest()
            result[table] = (len(rows), digest)
        if kind == "postgresql" and sequences and not counts_only:
            cursor.execute("SELECT sequencename, last_value FROM pg_sequences "
                           "WHERE schemaname = 'public'")
            for name, last_value in cursor.fetchall():
                result[f"sequence {name}"] = (0, str(last_value))
    finally:
        conn.close()
    return result
