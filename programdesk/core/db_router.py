"""Reads from a replica, only where the code asks for it.

With ``DATABASE_REPLICA_URL`` set (docs/deploy.md) the database alias ``replica`` is a read-only
copy of the primary (PostgreSQL streaming replication), a little behind it. Every write, and
every read by default, goes to the primary ("default"): a page that shows what was just saved
(a sheet, a check-in, an import's progress) always sees it. Report and export reads run inside
``replica_reads()`` (the report pages, the report API and the downloads enter it) and go to the
replica. Without a replica configured, ``replica_reads()`` changes nothing.

Explicit rather than guessed: a router cannot tell a report's read from a read that must see
the request's own write, so the code that knows says so. Inside ``replica_reads()`` a read in a
transaction of the primary still goes to the primary: a service that reads then writes must
read what it writes over, never a copy that may be behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model

REPLICA = "replica"
T = TypeVar("T")

_on_replica: ContextVar[bool] = ContextVar("programdesk_replica_reads", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def replica_alias() -> str:
    """The alias report reads use: the replica when there is one, else the primary."""
    return REPLICA if replica_configured() else DEFAULT_DB_ALIAS


@contextmanager
def replica_reads() -> Iterator[str]:
    """Reads inside go to the replica (when configured); yields the alias they use. Also a
    decorator (of a view, say)."""
    token = _on_replica.set(True)
    try:
        yield replica_alias()
    finally:
        _on_replica.reset(token)


def reading_from_replica() -> bool:
    return _on_replica.get()


def each_on_replica(items: Iterable[T]) -> Iterator[T]:
    """``items`` (a download's rows, read while the response streams, after the view has
    returned) with each step taken inside ``replica_reads()``. A step at a time, so that nothing
    else the server does between two steps reads from the replica."""
    iterator = iter(items)
    while True:
        with replica_reads():
            try:
                item = next(iterator)
            except StopIteration:
                return
        yield item


class PrimaryReplicaRouter:
    """Writes to the primary; reads to the primary, or to the replica inside
    ``replica_reads()`` (outside a transaction of the primary)."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        if (_on_replica.get() and replica_configured()
                and not connections[DEFAULT_DB_ALIAS].in_atomic_block):
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        # The replica holds the primary's rows: an object read from either may refer to one
        # read from the other.
        both = {DEFAULT_DB_ALIAS, REPLICA}
        if obj1._state.db in both and obj2._state.db in both:
            return True
        return None
