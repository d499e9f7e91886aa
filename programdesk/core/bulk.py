"""Set-based writes for the hot paths.

``bulk_create`` of model instances costs about ten times raw ``executemany`` here (instance
construction, per-field preparation); the services that write thousands of rows build plain
tuples of database-ready values and insert them with one ``executemany`` per batch. The rules
still hold: the database's constraints check every row, and the services audit every batch.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import itertools
import json
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, TypeVar

from django.db import connection, models
from django.db.models import Expression

T = TypeVar("T")

# Ids in one IN (...) list: under SQLite's 32766 bound variables and psycopg's 65535.
IN_CHUNK = 30_000


def chunked(items: Iterable[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def db_now() -> Any:
    """``now`` ready for a DateTimeField column of this backend."""
    from django.utils import timezone

    return connection.ops.adapt_datetimefield_value(timezone.now())


def db_date(value: dt.date | None) -> Any:
    return connection.ops.adapt_datefield_value(value)


def db_datetime(value: dt.datetime | None) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def db_json(value: Any) -> Any:
    return connection.ops.adapt_json_value(value, None)


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field) and field.column
    return connection.ops.quote_name(field.column)


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]],
                *, ignore_conflicts: bool = False) -> int:
    """INSERT ``rows`` (tuples of database-ready values, in ``fields`` order) into ``model``'s
    table; returns how many rows were inserted. With ``ignore_conflicts`` a row that would break
    a unique constraint is skipped — how "add again" stays idempotent under concurrency.

    ``rows`` may be a generator: both drivers consume it as they go, so one statement writes
    any number of rows without holding them all in memory.
    """
    meta = model._meta
    columns = ", ".join(_column(model, f) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    table = connection.ops.quote_name(meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
    if ignore_conflicts:
        # Both backends: skips only unique-constraint conflicts. (SQLite's INSERT OR IGNORE
        # would also swallow CHECK violations — a bad row must fail loudly instead.)
        sql += " ON CONFLICT DO NOTHING"
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)  # type: ignore[arg-type]  # any iterable works
        return max(cursor.rowcount, 0)


def copy_rows(model: type[models.Model], fields: Sequence[str],
              rows: Iterable[Sequence[Any]]) -> int:
    """``insert_rows`` through PostgreSQL's ``COPY ... FROM STDIN`` (psycopg 3's
    ``cursor.copy``): the rows stream as one data stream, without a statement per row — three
    to four times ``executemany``'s speed for a large batch. The same values go in (psycopg
    adapts them as it does parameters, tabs, newlines and backslashes escaped), the same
    constraints check every row, and an error is Django's (``IntegrityError``). PostgreSQL
    only; no ``ON CONFLICT`` (use ``insert_rows(ignore_conflicts=True)``)."""
    meta = model._meta
    columns = ", ".join(_column(model, f) for f in fields)
    table = connection.ops.quote_name(meta.db_table)
    sql = f"COPY {table} ({columns}) FROM STDIN"
    started = time.monotonic()

    def run(sql: str, params: Any, many: bool, context: dict[str, Any]) -> int:
        count = 0
        # psycopg's own cursor: Django's wrapper has no copy()
        with context["cursor"].cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count

    # Through the connection's execute wrappers, as one statement (see insert_values).
    with connection.cursor() as wrapper, connection.wrap_database_errors:
        count: int = wrapper._execute_with_wrappers(sql, None, many=False, executor=run)
    _bulk_logged(f"{sql} -- {count} rows", started)
    return count


def insert_values(model: type[models.Model], fields: Sequence[str],
                  rows: Sequence[Sequence[Any]], *, ignore_conflicts: bool = False) -> int:
    """``rows`` (a list) as ONE multi-row ``INSERT ... VALUES (...), (...), ...`` statement,
    SQLite only; returns how many were inserted. On SQLite a statement per row
    (``executemany``) costs about as much again as the row itself — the statement's start
    and end, the AUTOINCREMENT counter read and written back — so a bulk load writes up to
    ``values_rows_per_statement`` rows per statement instead: the same rows, in the same
    order (the ids ascend as before), the same constraints checked row by row; an error is
    Django's (``IntegrityError``), and the caller's transaction takes the statement back.
    ``ignore_conflicts`` as for ``insert_rows``: a row a unique constraint refuses — one in
    the table or an earlier row of the same statement — is skipped, the others written.

    The statement goes to the driver as written, with ``?`` placeholders, and is logged as
    one statement (as ``copy_rows`` is): Django's cursor would rewrite ``%s`` placeholders
    across the whole text (about 70 kB for 2,000 rows) before every statement. It still
    passes through the connection's execute wrappers (``connection.execute_wrapper``), as
    one statement: what watches or interrupts writes — the crash-safety tests — sees it."""
    if not rows:
        return 0
    meta = model._meta
    columns = ", ".join(_column(model, f) for f in fields)
    table = connection.ops.quote_name(meta.db_table)
    head = f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608
    one = f"({','.join('?' * len(fields))})"
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    started = time.monotonic()

    def run(sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        with connection.wrap_database_errors:
            # sqlite3's own execute: Django's cursor class would rewrite the placeholders.
            return sqlite3.Cursor.execute(context["cursor"].cursor, sql, params)

    with connection.cursor() as cursor:
        cursor._execute_with_wrappers(  # Django's own, stable since 2.0
            head + ",".join([one] * len(rows)) + tail,
            list(itertools.chain.from_iterable(rows)), many=False, executor=run)
        count = max(cursor.rowcount, 0)
    _bulk_logged(f"{head}{one}{tail} -- {len(rows)} rows in one statement", started)
    return count


def _bulk_logged(sql: str, started: float) -> None:
    """A bulk statement run on the driver's cursor, counted like any statement (tests pin
    the counts)."""
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql,
                                       "time": f"{time.monotonic() - started:.3f}"})


def values_rows_per_statement(columns: int) -> int:
    """How many rows of ``columns`` values one SQLite statement may bind (its limit of
    bound values: 32,766 since SQLite 3.32)."""
    connection.ensure_connection()
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(limit // max(columns, 1), 1)


def insert_rows_batched(model: type[models.Model], fields: Sequence[str],
                        rows: Iterable[Sequence[Any]], *, batch: int = 10_000,
                        ignore_conflicts: bool = False, copy: bool = False,
                        written: Callable[[int], None] | None = None) -> int:
    """``insert_rows`` in statements of ``batch`` rows, telling ``written`` how many rows each
    one wrote (a long import's progress); returns how many were inserted. On SQLite each
    batch is one multi-row statement (``insert_values``: as many rows as it may bind), with
    or without ``ignore_conflicts`` — a statement per row cost a bulk walk-in's three
    inserts about 40% more (S2). ``copy``: a bulk load (not with ``ignore_conflicts``),
    which on PostgreSQL goes through ``copy_rows`` (``COPY``), a statement per batch.

    ``written`` is called between statements, never during one: it may use the database
    (an import's progress writes its job's row on this same connection), which a ``COPY``
    in progress holds — one stream for all the rows hung a background import (S8)."""
    vendor = connection.vendor
    if vendor == "sqlite":
        batch = min(batch, values_rows_per_statement(len(fields)))
    created = 0
    for chunk in chunked(rows, batch):
        if vendor == "sqlite":
            created += insert_values(model, fields, chunk, ignore_conflicts=ignore_conflicts)
        elif copy and not ignore_conflicts and vendor == "postgresql":
            created += copy_rows(model, fields, chunk)
        else:
            created += insert_rows(model, fields, chunk, ignore_conflicts=ignore_conflicts)
        if written is not None:
            written(len(chunk))
    return created


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a bulk loop, back as it was after.

    A loop that makes hundreds of thousands of small objects that live on (an import's rows,
    their checked values and keys) sets off collection after collection, each walking every
    object made so far: a third of a 100,000-row import's time, to find no garbage (rows make
    no reference cycles). Reference counting still frees everything as usual.

    Drop the loop's objects before leaving the block where you can (``del``): the first
    collection after it walks every object made during the pause that is still alive —
    for a 100,000-row import's run, a tenth of its time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class DbDates(dict[Any, Any]):
    """``db_date`` of each distinct date, computed once: ``dates = DbDates(); dates[day]``
    (bulk rows repeat a few dates many times)."""

    def __missing__(self, value: dt.date | None) -> Any:
        self[value] = converted = db_date(value)
        return converted


def last_id(model: type[models.Model]) -> int:
    """The highest id of ``model``'s table (0 when empty): with ``ids_inserted``, how a bulk
    writer learns the ids of the rows it inserted without a RETURNING clause."""
    return model._default_manager.order_by("-id").values_list("id", flat=True).first() or 0


def ids_inserted(model: type[models.Model], *, after_id: int, created_at: dt.datetime
                 ) -> list[int]:
    """The ids of the rows a writer just inserted, in insertion order: above the highest id
    before (``last_id``), with the writer's exact ``created_at``."""
    return list(model._default_manager.filter(id__gt=after_id, created_at=created_at)
                .order_by("id").values_list("id", flat=True))


def insert_row(model: type[models.Model], values: dict[str, Any]) -> int:
    """INSERT one row of database-ready ``values`` ({field name: value}) into ``model``'s table
    and return its id: one statement, no model instance."""
    columns = ", ".join(_column(model, f) for f in values)
    placeholders = ", ".join(["%s"] * len(values))
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING id"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, list(values.values()))
        return int(cursor.fetchone()[0])


def update_rows(model: type[models.Model], set_fields: Sequence[str],
                rows: Iterable[Sequence[Any]], *, where: str = "id",
                keep_if_null: Collection[str] = ()) -> int:
    """UPDATE ``model`` SET set_fields=... WHERE where=... for each row
    (``(*set_values, where_value)``), one executemany. A field in ``keep_if_null`` keeps its
    value in rows that give None for it."""
    meta = model._meta

    def assign(field: str) -> str:
        column = _column(model, field)
        return f"{column} = COALESCE(%s, {column})" if field in keep_if_null else f"{column} = %s"

    assignments = ", ".join(assign(f) for f in set_fields)
    key = _column(model, where)
    table = connection.ops.quote_name(meta.db_table)
    sql = f"UPDATE {table} SET {assignments} WHERE {key} = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)  # type: ignore[arg-type]  # any iterable works
        return max(cursor.rowcount, 0)



class JsonValues(Expression):
    """Values as ONE query parameter, for ``field__in`` with any number of values:
    ``Person.objects.filter(id__in=JsonValues(ids, cast="bigint"))``.

    An ordinary ``__in`` list sends (and Django prepares) one parameter per value: for 10,000
    ids that costs more than the query, and SQLite caps parameters per statement. The database
    unpacks one JSON array instead: ``json_each`` on SQLite, ``jsonb_array_elements_text`` on
    PostgreSQL. ``cast`` is the PostgreSQL type of the values (``bigint``, ``date``; text needs
    none).
    """

    contains_aggregate = False

    def __init__(self, values: Iterable[Any], cast: str = "") -> None:
        super().__init__()
        if cast not in {"", "bigint", "date"}:
            raise ValueError(f"unsupported cast {cast!r}")
        # bigint values are ints (``id_values``): no date among them to write out.
        self.values = (list(values) if cast == "bigint"
                       else [v.isoformat() if isinstance(v, dt.date) else v for v in values])
        self.cast = cast

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        return "(SELECT value FROM json_each(%s))", [json.dumps(self.values)]

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        cast = f"::{self.cast}" if self.cast else ""
        return (f"(SELECT (jsonb_array_elements_text(%s::jsonb)){cast})",
                [json.dumps(self.values)])


def ids_sql(ids: Sequence[int]) -> tuple[str, list[Any]]:
    """``id_values`` for a plain-SQL statement: ``sql, params = ids_sql(ids)``, then
    ``f"... WHERE id IN {sql}"`` — the ids (ints) as one JSON parameter."""
    values = id_values(ids)
    if connection.vendor == "postgresql":
        return values.as_postgresql(None, connection)
    return values.as_sql(None, connection)


def id_values(ids: Iterable[int]) -> JsonValues:
    """``JsonValues`` of ids: ``qs.filter(person_id__in=id_values(ids))``."""
    return JsonValues([int(i) for i in ids], cast="bigint")
