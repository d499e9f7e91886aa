"""Imports over the API: the same check and all-or-nothing commit as the page and the command
line (docs/imports.md), for one CSV or XLSX file sent as multipart form data."""

from __future__ import annotations

import json
from typing import Literal

from django.http import HttpRequest
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile

from programdesk.api.auth import require
from programdesk.api.problems import size_text
from programdesk.core.errors import TooLarge, ValidationError
from programdesk.core.roles import Cap
from programdesk.imports import fields as f
from programdesk.imports.jobs import import_mapping_remember, import_mapping_remembered
from programdesk.imports.parsers import MAX_BYTES, read_table
from programdesk.imports.services import import_allowed_check, import_check, import_commit

router = Router(tags=["imports"])


class RowErrorOut(Schema):
    row: int
    column: str
    message: str


class ImportOut(Schema):
    kind: str
    dry_run: bool
    committed: bool
    rows: int
    mapping: dict[str, str]
    summary: dict[str, int]
    errors: list[RowErrorOut]


@router.post("/imports/{kind}", response=ImportOut)
def import_file(request: HttpRequest,
                kind: Literal["people", "accounts", "enrollments", "disbursements"],
                file: File[UploadedFile], dry_run: Form[bool] = False,
                mapping: Form[str] = "") -> dict:
    """Import people, accounts, enrollments or disbursements (past attendance too) from a CSV
    or XLSX file (multipart field `file`, at most 20 MB and 200,000 rows).

    Every row is checked first. With `dry_run=true` nothing is written and the answer lists
    every error (`row` as a spreadsheet numbers it, `column` as named in the file) and the
    `summary` of what would happen. Otherwise the file is imported in one transaction, or —
    when any row has an error — not at all: a 422 whose `errors` name `rows.<row>.<column>`.
    People are matched to existing records by the duplicate rules, so importing a file again
    adds nothing.

    `mapping` (optional) is a JSON object of column name to field, e.g.
    `{"Zip": "postal_code", "Notes": ""}`; other columns are matched by their names (and the
    mapping this user chose last time). Staff may import people, accounts and enrollments;
    disbursements need a manager. Large files take a while: the answer comes when done."""
    user = require(request, Cap.WRITE_RECORDS)
    import_allowed_check(actor=user, kind=kind)
    if file.size is not None and file.size > MAX_BYTES:
        limit = f"The file is larger than the limit of {size_text(MAX_BYTES)}."
        raise TooLarge(limit, errors=[{"field": "file", "message": limit}])
    try:
        chosen = json.loads(mapping) if mapping.strip() else {}
    except ValueError:
        chosen = None
    if not isinstance(chosen, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in chosen.items()):
        raise ValidationError.for_fields(
            {"mapping": 'A JSON object of column name to field, e.g. {"Zip": "postal_code"}.'})
    table = read_table(file.read(MAX_BYTES + 1), file.name or "")
    definitions = f.custom_definitions(kind)
    columns = f.guess_mapping(kind, table.headers, definitions=definitions,
                              remembered=import_mapping_remembered(user=user, kind=kind))
    columns = f.mapping_apply(table.headers, list(chosen.items()), columns)
    f.mapping_check(kind, table.headers, columns, definitions)
    import_mapping_remember(actor=user, kind=kind, headers=table.headers, mapping=columns)
    run = import_check if dry_run else import_commit
    result = run(actor=user, kind=kind, table=table, mapping=columns)
    return {**result.as_dict(), "mapping": dict(zip(table.headers, columns, strict=True))}
