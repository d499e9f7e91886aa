"""Imports over the API: the same check and all-or-nothing commit as the page and the command
line (docs/imports.md), for one CSV or XLSX file sent as multipart form data — a small file
answered when done, or (``background=true``, any file up to the limits) read, checked and
imported by a task worker while the client polls the job."""

from __future__ import annotations

import json
from typing import Literal

from django.http import HttpRequest
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from programdesk.api.auth import require
from programdesk.api.problems import size_text
from programdesk.core.errors import TooLarge, ValidationError
from programdesk.core.roles import Cap
from programdesk.imports import fields, jobs, selectors
from programdesk.imports.jobs import import_mapping_remember, import_mapping_remembered
from programdesk.imports.models import ImportJob, JobStatus
from programdesk.imports.parsers import MAX_BYTES, read_table, upload_check
from programdesk.imports.services import import_allowed_check, import_check, import_commit

router = Router(tags=["imports"])

# A file answered in the request (no ``background=true``) is at most this large: reading,
# checking and importing it then takes a few seconds, not a web worker for minutes. Larger
# files are refused with a 413 that says to send ``background=true`` (docs/api.md).
# An XLSX packs rows about four times tighter than a CSV and takes longer to read (a 1 MB one
# holds some 40,000 rows): its own byte limit keeps it to about the same number of rows.
SYNC_MAX_BYTES = 1024 * 1024
SYNC_MAX_XLSX_BYTES = 256 * 1024
SYNC_MAX_ROWS = 10_000
SYNC_REFUSED = ("Files over 1 MB (an XLSX: 256 kB) or 10,000 rows are imported in the "
                "background: send background=true and poll the job the answer gives.")


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


class ImportJobOut(ImportOut):
    """An import run on a task worker: the answer above, plus where the job stands."""

    id: int
    url: str
    status: str
    phase: str
    done: int
    total: int
    message: str


def _job_out(job: ImportJob) -> dict:
    finished = job.status in {JobStatus.CHECKED, JobStatus.DONE, JobStatus.FAILED}
    errors = jobs.import_job_errors(job) if finished and job.error_count else []
    return {
        "id": job.pk, "url": f"/api/v1/imports/jobs/{job.pk}", "kind": job.kind,
        "status": job.status, "dry_run": job.action == "check",
        "committed": job.status == JobStatus.DONE, "rows": job.row_count, "phase": job.phase,
        "done": job.progress_done, "total": job.progress_total,
        "mapping": dict(zip(job.headers, job.mapping, strict=False)),
        "summary": job.summary if finished else {},
        "errors": [{"row": e.row, "column": e.column, "message": e.message} for e in errors],
        "message": job.message,
    }


@router.post("/imports/{kind}", response={200: ImportOut, 202: ImportJobOut})
def import_file(request: HttpRequest,
                kind: Literal["people", "accounts", "enrollments", "disbursements",
                              "households"],
                file: File[UploadedFile], dry_run: Form[bool] = False,
                mapping: Form[str] = "", background: Form[bool] = False) -> Status:
    """Import people, accounts, enrollments, disbursements (past attendance too) or household
    members (`households`: household, person, relationship, start and end dates, declared
    size, income) from a CSV or XLSX file (multipart field `file`, at most 20 MB and 200,000
    rows).

    Every row is checked first. With `dry_run=true` nothing is written and the answer lists
    every error (`row` as a spreadsheet numbers it, `column` as named in the file) and the
    `summary` of what would happen. Otherwise the file is imported in one transaction, or —
    when any row has an error — not at all: a 422 whose `errors` name `rows.<row>.<column>`.
    People are matched to existing records by the duplicate rules, so importing a file again
    adds nothing.

    `mapping` (optional) is a JSON object of column name to field, e.g.
    `{"Zip": "postal_code", "Notes": ""}`; other columns are matched by their names (and the
    mapping this user chose last time). Staff may import people, accounts, enrollments and
    household members; disbursements need a manager.

    Without `background=true` the answer comes when done, for files of at most 1 MB (an
    XLSX: 256 kB) and 10,000 rows; a larger file is refused (413, on `file`) and must be sent
    with `background=true`. Then the file is stored and the answer is at once a 202 with the job:
    a task worker reads it, then checks it (`dry_run=true`) or imports it (`status`
    "reading", then "checking" or "running", then "checked", "done" or "failed"; `done` of
    `total` rows so far). Poll `GET /imports/jobs/{id}` (its `url`) until it has finished:
    then it has the `summary` and every error (`errors`). A background file that cannot be
    read (its encoding, too many rows or columns, the XLSX limits) or whose `mapping` is
    incomplete ends its job "failed" with the reason as `message`; only a file over 20 MB,
    an empty one and a format other than CSV and XLSX are refused at once."""
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
    if background:
        job = jobs.import_job_create(actor=user, kind=kind, filename=file.name or "",
                                     data=file.read(MAX_BYTES + 1), chosen=list(chosen.items()),
                                     then="check" if dry_run else "commit")
        return Status(202, _job_out(job))
    refused = TooLarge(SYNC_REFUSED, errors=[{"field": "file", "message": SYNC_REFUSED}])
    if file.size is not None and file.size > SYNC_MAX_BYTES:
        raise refused
    data = file.read(MAX_BYTES + 1)
    if upload_check(data, file.name or "") == "xlsx" and len(data) > SYNC_MAX_XLSX_BYTES:
        raise refused
    table = read_table(data, file.name or "")
    if len(table.rows) > SYNC_MAX_ROWS:
        raise refused
    definitions = fields.custom_definitions(kind)
    columns = fields.guess_mapping(kind, table.headers, definitions=definitions,
                                   remembered=import_mapping_remembered(user=user, kind=kind))
    columns = fields.mapping_apply(table.headers, list(chosen.items()), columns)
    fields.mapping_check(kind, table.headers, columns, definitions)
    import_mapping_remember(actor=user, kind=kind, headers=table.headers, mapping=columns)
    run = import_check if dry_run else import_commit
    result = run(actor=user, kind=kind, table=table, mapping=columns)
    return Status(200, {**result.as_dict(),
                        "mapping": dict(zip(table.headers, columns, strict=True))})


@router.get("/imports/jobs/{job_id}", response=ImportJobOut)
def import_job(request: HttpRequest, job_id: int) -> dict:
    """A background import (`background=true`) as it goes: the user's own only (anyone else's
    is a 404). A job whose file could not be read, or whose task worker died, is reported
    "failed" with a `message`; nothing of it was imported."""
    user = require(request, Cap.WRITE_RECORDS)
    job = selectors.import_job_get(user=user, pk=job_id)
    return _job_out(jobs.import_job_fail_if_worker_lost(job=job))
