"""The SQLite backend's writers take turns at BEGIN without SQLite's long sleeps
(programdesk/core/sqlite/base.py): a transaction waits while another writer holds the lock,
starts once it is free, fails with "database is locked" after the timeout as before, and
leaves SQLite's busy timeout as it was for every other statement."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator

import pytest
from django.db import OperationalError, connection, transaction

from programdesk.core.models import StatusValue

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite only"),
]


@pytest.fixture
def other_writer() -> Iterator[sqlite3.Connection]:
    """Another connection to the same database file, holding the write lock."""
    other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None,
                            check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    yield other
    if other.in_transaction:
        other.rollback()
    other.close()


def _busy_timeout_ms() -> int:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        return int(cursor.fetchone()[0])


def test_a_transaction_waits_for_the_other_writer_then_runs(
        other_writer: sqlite3.Connection) -> None:
    released = threading.Event()

    def release() -> None:
        time.sleep(0.3)
        other_writer.rollback()
        released.set()

    threading.Thread(target=release).start()
    with transaction.atomic():
        assert released.is_set()  # BEGIN waited for the other writer's lock
        StatusValue.objects.filter(pk=-1).update(label="nothing")  # a write, changing nothing
    assert _busy_timeout_ms() == 30_000  # the other statements keep SQLite's busy timeout


def test_past_the_timeout_it_fails_as_before(other_writer: sqlite3.Connection,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    connection.ensure_connection()
    monkeypatch.setattr(connection, "busy_seconds", 0.2)  # OPTIONS["timeout"]: 0.2 s
    started = time.monotonic()
    with pytest.raises(OperationalError, match="locked"), transaction.atomic():
        pass
    assert time.monotonic() - started >= 0.2
    assert not connection.in_atomic_block
    assert _busy_timeout_ms() == 200  # the configured timeout again
    other_writer.rollback()
    with transaction.atomic():  # and the connection goes on working
        assert StatusValue.objects.exists()
    monkeypatch.undo()
    connection.close()  # the next test's connection has the settings' timeout
