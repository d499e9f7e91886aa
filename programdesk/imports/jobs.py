"""The import page's jobs: an uploaded file, mapped, checked, then imported — small files in the
request, long ones in a background thread that reports its progress in a file.

Services here write only the job's own bookkeeping (and the remembered mapping); the records
themselves are written by ``imports.services.import_commit``.
"""

from __future__ import annotations

import csv
import io
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from programdesk.core.audit import audit_record
from programdesk.core.errors import Conflict, DomainError, NotFound
from programdesk.core.models import User
from programdesk.imports import fields as f
from programdesk.imports.models import ImportJob, ImportMapping, JobStatus
from programdesk.imports.parsers import Table, read_table
from programdesk.imports.progress import (
    FileProgress,
    imports_dir,
    progress_clear,
    progress_read,
)
from programdesk.imports.services import (
    ImportErrors,
    ImportResult,
    RowError,
    import_allowed_check,
    import_check,
    import_commit,
)

logger = logging.getLogger(__name__)

# Files with at most this many rows are imported within the request; longer ones in a
# background thread while the page shows the progress.
INLINE_ROWS = 2_000
# Uploads waiting longer than this are deleted (they hold personal data).
KEEP_DAYS = 7
# A running import whose progress has not moved for this long has died with its process.
STALLED_SECONDS = 15 * 60
REMEMBERED_COLUMNS = 300


# --- remembered mappings -----------------------------------------------------------------------


def import_mapping_remembered(*, user: User | None, kind: str) -> dict[str, str]:
    """{normalized column name: field} the user chose before for this kind."""
    row = ImportMapping.objects.filter(user=user, kind=kind).first()
    return dict(row.columns) if row else {}


@transaction.atomic
def import_mapping_remember(*, actor: User | None, kind: str, headers: Sequence[str],
                            mapping: Sequence[str]) -> None:
    """Remember the field chosen for each column name (merged with earlier choices for
    columns this file does not have), for this user and kind."""
    chosen = {f.norm(h): field for h, field in zip(headers, mapping, strict=True) if f.norm(h)}
    row = ImportMapping.objects.select_for_update().filter(user=actor, kind=kind).first()
    current = dict(row.columns) if row else {}
    merged = {k: v for k, v in current.items() if k not in chosen}
    merged.update(chosen)
    merged = dict(list(merged.items())[-REMEMBERED_COLUMNS:])
    if row is not None and row.columns == merged:
        return
    if row is None:
        row = ImportMapping.objects.create(user=actor, kind=kind, columns=merged)
    else:
        row.columns = merged
        row.save(update_fields=["columns", "updated_at"])
    audit_record(actor=actor, action="import_mapping.save", obj=row, after={"columns": chosen})


# --- jobs ----------------------------------------------------------------------------------------


def job_path(job: ImportJob) -> Path:
    return imports_dir() / job.stored_name


def errors_path(job: ImportJob) -> Path:
    return imports_dir() / f"{job.stored_name}.errors.csv"


def import_jobs_for(user: User) -> list[ImportJob]:
    return list(ImportJob.objects.filter(user=user)[:20])


def import_job_get(user: User, pk: int) -> ImportJob:
    """The user's own job (anyone else's is not found). A running job whose process died
    (a restart) is marked failed: its transaction was rolled back, nothing was written."""
    job = ImportJob.objects.filter(user=user, pk=pk).first()
    if job is None:
        raise NotFound()
    if job.status == JobStatus.RUNNING:
        progress = progress_read(job.stored_name)
        last = progress["at"] if progress else (job.started_at or job.created_at).timestamp()
        if time.time() - last > STALLED_SECONDS:
            ImportJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
                status=JobStatus.FAILED, finished_at=timezone.now(),
                message="The import stopped before it finished (was the server restarted?). "
                        "Nothing was imported: check the file and import it again.")
            job.refresh_from_db()
    return job


def import_uploads_purge() -> int:
    """Delete files under ``VAR_DIR/imports/`` (uploads, their errors and progress files) older
    than ``KEEP_DAYS``: abandoned uploads hold personal data. Returns how many were deleted.

    Run by ``manage.py purge`` (hourly under ``manage.py serve``) and at each upload. A job
    whose file is gone says so ("upload it again")."""
    cutoff = time.time() - KEEP_DAYS * 86400
    deleted = 0
    for path in imports_dir().iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                deleted += 1
        except OSError:  # pragma: no cover - another worker removed it first
            pass
    return deleted


@transaction.atomic
def import_job_create(*, actor: User, kind: str, filename: str, data: bytes) -> ImportJob:
    """Read an uploaded file (refusing what cannot be imported safely, see ``parsers``),
    keep it under ``VAR_DIR/imports/`` and guess the mapping (remembered choices first)."""
    import_allowed_check(actor=actor, kind=kind)
    table = read_table(data, filename)
    import_uploads_purge()
    stored_name = f"{uuid.uuid4().hex}.{table.format}"
    (imports_dir() / stored_name).write_bytes(data)
    definitions = f.custom_definitions(kind)
    mapping = f.guess_mapping(kind, table.headers, definitions=definitions,
                              remembered=import_mapping_remembered(user=actor, kind=kind))
    job = ImportJob.objects.create(
        user=actor, kind=kind, filename=(filename or "upload")[-255:], stored_name=stored_name,
        size=len(data), row_count=len(table.rows), headers=table.headers, mapping=mapping)
    audit_record(actor=actor, action="import_job.create", obj=job,
                 after={"kind": kind, "filename": job.filename, "rows": job.row_count})
    return job


def import_job_table(job: ImportJob) -> Table:
    try:
        data = job_path(job).read_bytes()
    except OSError:
        raise Conflict("The uploaded file is no longer here (imported already, or older "
                       f"than {KEEP_DAYS} days): upload it again.") from None
    return read_table(data, job.filename)


def _errors_write(job: ImportJob, errors: Sequence[RowError]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["row", "column", "message"])
    writer.writerows((e.row, e.column, e.message) for e in errors)
    errors_path(job).write_text(buffer.getvalue(), encoding="utf-8")


def import_job_errors(job: ImportJob, limit: int | None = None) -> list[RowError]:
    try:
        with errors_path(job).open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader, None)
            errors: list[RowError] = []
            for row in reader:
                if limit is not None and len(errors) >= limit:
                    break
                errors.append(RowError(int(row[0]), row[1], row[2]))
            return errors
    except OSError:
        return []


def import_job_check(*, actor: User, job: ImportJob, mapping: Sequence[str]) -> ImportResult:
    """The dry run of a job with this mapping: remembered for next time, every row checked,
    the summary and every error kept with the job. Writes no records."""
    if job.status not in {JobStatus.UPLOADED, JobStatus.CHECKED, JobStatus.FAILED}:
        raise Conflict("This file is being imported or was imported already.")
    table = import_job_table(job)
    mapping = list(mapping)
    f.mapping_check(job.kind, table.headers, mapping, f.custom_definitions(job.kind))
    import_mapping_remember(actor=actor, kind=job.kind, headers=table.headers, mapping=mapping)
    result = import_check(actor=actor, kind=job.kind, table=table, mapping=mapping)
    _errors_write(job, result.errors)
    job.mapping = mapping
    job.summary = result.summary
    job.error_count = len(result.errors)
    job.status = JobStatus.CHECKED
    job.message = ""
    job.save(update_fields=["mapping", "summary", "error_count", "status", "message"])
    return result


def import_job_commit(*, actor: User, job: ImportJob, background: bool = True) -> ImportJob:
    """Import a checked job: in this request when it is short (or ``background`` is off),
    else in a background thread. A job is imported once: the switch to "running" is claimed
    with a conditional update, so a second click (or a second worker) gets a Conflict."""
    if job.status != JobStatus.CHECKED or job.error_count:
        raise Conflict("Check the file (without errors) before importing it.")
    import_allowed_check(actor=actor, kind=job.kind)
    claimed = ImportJob.objects.filter(pk=job.pk, status=JobStatus.CHECKED).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), message="")
    if not claimed:
        raise Conflict("This file is being imported or was imported already.")
    if background and job.row_count > INLINE_ROWS:
        thread = threading.Thread(target=_commit_in_thread, args=(job.pk,), daemon=True,
                                  name=f"import-{job.pk}")
        thread.start()
    else:
        _commit(job.pk)
    job.refresh_from_db()
    return job


def _commit_in_thread(job_id: int) -> None:
    try:
        _commit(job_id)
    finally:
        connection.close()  # this thread's own connection


def _commit(job_id: int) -> None:
    """Run a claimed job's import; record how it ended. The job's "done" is written in the
    import's own transaction, so it says "imported" exactly when the records are."""
    job = ImportJob.objects.select_related("user").get(pk=job_id)
    progress = FileProgress(job.stored_name)

    def mark_done(result: ImportResult) -> None:
        ImportJob.objects.filter(pk=job.pk).update(
            status=JobStatus.DONE, summary=result.summary, error_count=0,
            finished_at=timezone.now())

    try:
        table = import_job_table(job)
        import_commit(actor=job.user, kind=job.kind, table=table, mapping=job.mapping,
                      progress=progress, filename=job.filename, before_commit=mark_done)
    except ImportErrors as exc:
        _errors_write(job, exc.result.errors)
        _fail(job, f"{len(exc.result.errors)} rows have errors now (the data changed since "
                   "the check?). Nothing was imported.", errors=len(exc.result.errors))
    except DomainError as exc:
        _fail(job, f"{exc.detail} Nothing was imported.")
    except Exception:
        logger.exception("import job %s failed", job.pk)
        _fail(job, "Something went wrong on our side. Nothing was imported.")
    else:
        job_path(job).unlink(missing_ok=True)
        errors_path(job).unlink(missing_ok=True)
    finally:
        progress_clear(job.stored_name)


def _fail(job: ImportJob, message: str, errors: int = 0) -> None:
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, message=message,
                                               error_count=errors, finished_at=timezone.now())
