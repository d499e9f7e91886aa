"""Django's SQLite backend, with one change: how a write transaction waits for another.

Every write transaction starts with ``BEGIN IMMEDIATE`` (settings.py), so two writers queue at
``BEGIN`` instead of failing half-way. SQLite's own busy handler makes the one that waits
sleep 1, 2, 5, 10, 15, 20, 25 … ms between tries, whatever the other's transaction takes. A
check-in's transaction holds the lock for about a millisecond, so under load a gunicorn
worker spent most of its time asleep in that handler while the lock was free (S7 in
docs/performance.md: two workers at 12% of a core each, 75 check-ins a second).

Here ``BEGIN IMMEDIATE`` is tried with the busy timeout off, and again after short pauses
(0.05 ms, doubling up to 1 ms) until it gets the lock or the configured timeout (``OPTIONS
["timeout"]``, 30 s) has passed — then it fails with "database is locked" as before. Every
other statement keeps SQLite's busy handler: the timeout is set back right after ``BEGIN``.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from django.db.backends.sqlite3 import base
from django.db.utils import OperationalError

FIRST_PAUSE = 0.00005
LONGEST_PAUSE = 0.001
DEFAULT_TIMEOUT = 5.0  # the sqlite3 module's own default


def _busy(error: BaseException) -> bool:
    cause = error.__cause__ if error.__cause__ is not None else error
    return getattr(cause, "sqlite_errorcode", None) in {sqlite3.SQLITE_BUSY,
                                                        sqlite3.SQLITE_LOCKED}


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        self.busy_seconds = float(params.get("timeout", DEFAULT_TIMEOUT))
        return params

    def _start_transaction_under_autocommit(self) -> None:
        begin = super()._start_transaction_under_autocommit  # type: ignore[misc]
        if getattr(self, "transaction_mode", None) not in {"IMMEDIATE", "EXCLUSIVE"}:
            begin()
            return
        raw = self.connection
        # On the driver's connection: a setting, not a statement of the work.
        raw.execute("PRAGMA busy_timeout = 0")
        try:
            deadline = time.monotonic() + self.busy_seconds
            pause = FIRST_PAUSE
            while True:
                try:
                    begin()
                    return
                except OperationalError as error:
                    if not _busy(error) or time.monotonic() >= deadline:
                        raise
                time.sleep(pause)
                pause = min(pause * 2, LONGEST_PAUSE)
        finally:
            raw.execute(f"PRAGMA busy_timeout = {int(self.busy_seconds * 1000)}")
