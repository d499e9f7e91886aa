"""Helpers for import tests: run a CSV text through the check or the commit."""

from __future__ import annotations

from typing import Any

from programdesk.imports import fields as f
from programdesk.imports.parsers import Table, read_table
from programdesk.imports.results import ImportResult
from programdesk.imports.services import import_check, import_commit


def table(text: str) -> Table:
    return read_table(text.encode(), "file.csv")


def _mapping(kind: str, t: Table, kw: dict[str, Any]) -> list[str]:
    return kw.pop("mapping", None) or f.guess_mapping(
        kind, t.headers, definitions=f.custom_definitions(kind))


def check(kind: str, text: str, actor: Any = None, **kw: Any) -> ImportResult:
    t = table(text)
    return import_check(actor=actor, kind=kind, table=t, mapping=_mapping(kind, t, kw), **kw)


def commit(kind: str, text: str, actor: Any = None, **kw: Any) -> ImportResult:
    t = table(text)
    return import_commit(actor=actor, kind=kind, table=t, mapping=_mapping(kind, t, kw), **kw)


def errors(result: ImportResult) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.message) for e in result.errors]
