"""The import page's jobs: an uploaded file, read, mapped, checked, then imported. The request
stores the upload and enqueues a task (``imports.tasks``); a task worker (``manage.py
db_worker``) reads, checks or imports it and writes its progress in the job's row.

Services here write only the job's own bookkeeping (and the remembered mapping); the records
themselves are written by ``imports.services.import_commit``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone

from programdesk.core.audit import audit_record
from programdesk.core.errors import Conflict, DomainError, ValidationError
from programdesk.core.models import User
from programdesk.imports import fields
from programdesk.imports.models import ImportJob, ImportMapping, JobStatus
from programdesk.imports.parsers import Table, read_table, upload_check
from programdesk.imports.progress import JobProgress, imports_dir
from programdesk.imports.services import (
    ImportErrors,
    ImportResult,
    RowError,
    import_allowed_check,
    import_check,
    import_commit,
)

logger = logging.getLogger(__name__)

# Uploads waiting longer than this are deleted (they hold personal data).
KEEP_DAYS = 7
REMEMBERED_COLUMNS = 300
# The mapping form shows this many values of each column, each cut to SAMPLE_CHARS.
SAMPLES = 3
SAMPLE_CHARS = 60


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
    chosen = {fields.norm(h): field for h, field in zip(headers, mapping, strict=True)
              if fields.norm(h)}
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

# A job waiting for, or in the hands of, a task worker.
ACTIVE = (JobStatus.READING, JobStatus.CHECKING, JobStatus.RUNNING)
WORKER_LOST = {
    "read": "Reading the file stopped before it finished (its task worker was stopped or "
            "restarted). Upload it again.",
    "check": "The check stopped before it finished (its task worker was stopped or "
             "restarted). Check the file again.",
    "commit": "The import stopped before it finished (its task worker was stopped or "
              "restarted). Nothing was imported: import the file again.",
}


def job_path(job: ImportJob) -> Path:
    return imports_dir() / job.stored_name


def errors_path(job: ImportJob) -> Path:
    return imports_dir() / f"{job.stored_name}.errors.csv"


def import_job_fail_if_worker_lost(*, job: ImportJob) -> ImportJob:
    """The job as it now is, after marking it failed if its task worker died (killed,
    restarted): its transaction was rolled back, nothing was written. The doors call this
    on the job they show (``selectors.import_job_get`` only reads), so a dead job is noticed
    when someone looks at it."""
    if _worker_lost(job) and _give_up(job):
        job.refresh_from_db()
    return job


def _task_status(task_id: str) -> str | None:
    """The task queue's own state of a job's task (READY, RUNNING, SUCCESSFUL, FAILED), when
    the backend keeps results (the database backend does; the test suite's inline one not)."""
    from django_tasks import default_task_backend
    from django_tasks.exceptions import TaskResultDoesNotExist

    if not task_id or not default_task_backend.supports_get_result:
        return None
    try:
        return str(default_task_backend.get_result(task_id).status)
    except TaskResultDoesNotExist:
        return None


def _worker_lost(job: ImportJob) -> bool:
    """Whether a checking or running job looks dead: its task ended without saying how the job
    did, or it has shown no sign of life for ``PROGRAMDESK_TASK_STALE_SECONDS``. A task still
    waiting in the queue is not dead, however long it waits: a worker will take it."""
    if job.status not in ACTIVE:
        return False
    status = _task_status(job.task_id)
    if status == "READY":
        return False
    if status in {"SUCCESSFUL", "FAILED"}:
        return True  # the task records every ending it sees; this one it did not see
    last = job.heartbeat_at or job.created_at
    stale = dt.timedelta(seconds=settings.PROGRAMDESK_TASK_STALE_SECONDS)
    return timezone.now() - last > stale


def _give_up(job: ImportJob) -> bool:
    """Mark a job that looks dead as failed — unless it is alive after all: a live import
    holds its row's lock (PostgreSQL: the row is skipped) or the database's write lock
    (SQLite: this waits for it to commit, and then finds the job no longer running)."""
    try:
        with transaction.atomic():
            row = (ImportJob.objects.select_for_update(skip_locked=True)
                   .filter(pk=job.pk, status=job.status, heartbeat_at=job.heartbeat_at)
                   .first())
            if row is None:
                return False
            row.status = JobStatus.FAILED
            lost = "read" if job.status == JobStatus.READING else job.action
            row.message = WORKER_LOST.get(lost, WORKER_LOST["commit"])
            row.finished_at = timezone.now()
            row.save(update_fields=["status", "message", "finished_at"])
            _task_mark_failed(job.task_id, row.message)
    except OperationalError:  # SQLite: a long import still holds the write lock
        return False
    logger.warning("import job %s: its task worker died; marked failed", job.pk)
    return True


def _task_mark_failed(task_id: str, message: str) -> None:
    """The database backend leaves the task of a killed worker "running" forever; say it
    failed, so the task list (admin) agrees with the job."""
    if not task_id or not _task_status(task_id):
        return
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(id=task_id, status="RUNNING").update(
        status="FAILED", finished_at=timezone.now(),
        exception_class_path="programdesk.imports.jobs.WorkerLost", traceback=message)


def import_uploads_purge() -> int:
    """Delete files under ``PROGRAMDESK_MEDIA_DIR/imports/`` (uploads and their errors files)
    older than ``KEEP_DAYS``: abandoned uploads hold personal data. Returns how many were
    deleted. Part of the purge task (``management.purge``; hourly under ``manage.py serve``);
    a job whose file is gone says so ("upload it again")."""
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
def import_job_create(*, actor: User, kind: str, filename: str, data: bytes,
                      chosen: Sequence[tuple[str, str]] | None = None,
                      then: str = "read") -> ImportJob:
    """Keep an uploaded file under ``PROGRAMDESK_MEDIA_DIR/imports/`` and queue the task that
    reads it (``import_job_run``, action ``then``): the task refuses what cannot be imported
    safely (see ``parsers``), guesses the mapping (remembered choices first) and — ``then``
    "check" or "commit" (the API's background imports) — goes on to check or import it. With
    ``chosen`` (column name, field) pairs (the API), those win, and the mapping must be
    complete and is remembered. Here only the cheap checks are made (may this user import
    this kind; the size, an empty file, a format other than CSV and XLSX): a file that cannot
    be read ends its job as failed, with the reason as its message."""
    import_allowed_check(actor=actor, kind=kind)
    if then not in {"read", "check", "commit"}:
        raise ValueError(f"unknown action {then!r}")
    fmt = upload_check(data, filename)
    stored_name = f"{uuid.uuid4().hex}.{fmt}"
    (imports_dir() / stored_name).write_bytes(data)
    job = ImportJob.objects.create(
        user=actor, kind=kind, filename=(filename or "upload")[-255:], stored_name=stored_name,
        size=len(data), status=JobStatus.READING)
    audit_record(actor=actor, action="import_job.create", obj=job,
                 after={"kind": kind, "filename": job.filename, "bytes": job.size})
    return _enqueue(job, action=then, status=JobStatus.READING, allowed={JobStatus.READING},
                    chosen=None if chosen is None else [list(pair) for pair in chosen])


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


def _readable_check(job: ImportJob) -> None:
    if job.status == JobStatus.READING:
        raise Conflict("The file is still being read: wait until its columns are shown.")
    if not job.headers:
        raise Conflict("This file could not be read: upload it again.")


def import_job_check(*, actor: User, job: ImportJob, mapping: Sequence[str]) -> ImportJob:
    """Check a job with this mapping (the dry run; writes no records): the mapping is checked
    and remembered now, the rows by a task, which keeps the summary and every error with the
    job."""
    _readable_check(job)
    if job.status not in {JobStatus.UPLOADED, JobStatus.CHECKED, JobStatus.FAILED}:
        raise Conflict("This file is being checked or imported, or was imported already.")
    mapping = list(mapping)
    fields.mapping_check(job.kind, job.headers, mapping, fields.custom_definitions(job.kind))
    import_mapping_remember(actor=actor, kind=job.kind, headers=job.headers, mapping=mapping)
    return _enqueue(job, action="check", status=JobStatus.CHECKING, mapping=mapping,
                    allowed={JobStatus.UPLOADED, JobStatus.CHECKED, JobStatus.FAILED})


def import_job_commit(*, actor: User, job: ImportJob, checked: bool = True) -> ImportJob:
    """Import a job, by a task: one checked without errors (the page), or — ``checked`` off,
    the API — any uploaded one (the import checks every row again anyway). A job is imported
    once: the switch to "running" is claimed with a conditional update, so a second click (or
    a second web worker) gets a Conflict, and the task claims its start the same way."""
    if checked and (job.status != JobStatus.CHECKED or job.error_count):
        raise Conflict("Check the file (without errors) before importing it.")
    import_allowed_check(actor=actor, kind=job.kind)
    _readable_check(job)
    allowed: set[str] = {JobStatus.CHECKED} if checked else {JobStatus.UPLOADED}
    return _enqueue(job, action="commit", status=JobStatus.RUNNING, allowed=allowed)


def _enqueue(job: ImportJob, *, action: str, status: str, allowed: set[str],
             mapping: list[str] | None = None,
             chosen: list[list[str]] | None = None) -> ImportJob:
    """Claim the job for a check or import and put its task in the queue. The claim and the
    task are two writes: should this process die between them, the job, with no task and no
    sign of life, is given up as failed when read after the stale time. A new ``mapping`` is
    part of the claim: a job being imported keeps the one it was checked with."""
    from programdesk.imports.tasks import import_job_run

    now = timezone.now()
    changes = {} if mapping is None else {"mapping": mapping}
    claimed = ImportJob.objects.filter(pk=job.pk, status__in=allowed).update(
        status=status, action=action, phase="queued", progress_done=0,
        progress_total=job.row_count, heartbeat_at=now, task_id="", message="",
        started_at=None, finished_at=None, **changes)
    if not claimed:
        raise Conflict("This file is being checked or imported, or was imported already.")
    result = import_job_run.enqueue(job_id=job.pk, action=action, chosen=chosen)
    # Inline (tests), the task has run already; the job keeps its id all the same.
    ImportJob.objects.filter(pk=job.pk).update(task_id=str(result.id))
    job.refresh_from_db()
    return job


# --- the task's side ------------------------------------------------------------------------------


def import_job_execute(*, job_id: int, action: str,
                       chosen: Sequence[Sequence[str]] | None = None) -> str:
    """Run a job's task (``imports.tasks.import_job_run``) and record how it ended: read a
    new upload (and, ``action`` "check" or "commit", go on with that), or check or import a
    job read before. Started once: the start is claimed with a conditional update, so a task
    run twice (or a job given up meanwhile) does nothing the second time."""
    waiting = {"read": [JobStatus.READING],
               "check": [JobStatus.READING, JobStatus.CHECKING],
               "commit": [JobStatus.READING, JobStatus.RUNNING]}[action]
    now = timezone.now()
    started = ImportJob.objects.filter(pk=job_id, status__in=waiting, action=action,
                                       started_at__isnull=True).update(
        started_at=now, heartbeat_at=now, phase="starting")
    if not started:
        logger.info("import job %s: not waiting for a %s (given up, or done); skipped",
                    job_id, action)
        return "skipped"
    job = ImportJob.objects.select_related("user").get(pk=job_id)
    table = None
    if job.status == JobStatus.READING:
        table = _read(job, chosen=None if chosen is None else [(c, v) for c, v in chosen])
        if table is None:
            return "failed"
        if action == "read":
            ImportJob.objects.filter(pk=job.pk, status=JobStatus.READING).update(
                status=JobStatus.UPLOADED, phase="read", finished_at=timezone.now())
            return "read"
        going_on = JobStatus.CHECKING if action == "check" else JobStatus.RUNNING
        ImportJob.objects.filter(pk=job.pk, status=JobStatus.READING).update(
            status=going_on, phase="starting", progress_done=0, heartbeat_at=timezone.now())
        job.refresh_from_db()
    if action == "check":
        return _check(job, table)
    return _commit(job, table)


def _read(job: ImportJob, *, chosen: Sequence[tuple[str, str]] | None) -> Table | None:
    """Read the upload, guess its mapping (``chosen`` pairs win, then the mapping must be
    complete, and is remembered) and keep what the mapping form shows; None, with the job
    failed and its file deleted, when the file cannot be read."""
    JobProgress(job.pk)("reading", 0, 0)
    try:
        table = import_job_table(job)
        definitions = fields.custom_definitions(job.kind)
        mapping = fields.guess_mapping(
            job.kind, table.headers, definitions=definitions,
            remembered=import_mapping_remembered(user=job.user, kind=job.kind))
        if chosen is not None:
            mapping = fields.mapping_apply(table.headers, chosen, mapping)
            fields.mapping_check(job.kind, table.headers, mapping, definitions)
            import_mapping_remember(actor=job.user, kind=job.kind, headers=table.headers,
                                    mapping=mapping)
    except ValidationError as exc:
        # The same words the upload form showed when files were read in the request.
        _fail(job, " ".join(e["message"] for e in exc.errors) or exc.detail)
        job_path(job).unlink(missing_ok=True)
        return None
    except DomainError as exc:
        _fail(job, exc.detail)
        return None
    except Exception:
        logger.exception("import job %s: reading the file failed", job.pk)
        _fail(job, "Something went wrong on our side while reading the file. Upload it again.")
        job_path(job).unlink(missing_ok=True)
        return None
    samples: list[list[str]] = [[] for _ in table.headers]
    for _, cells in table.rows[:SAMPLES]:
        for i, cell in enumerate(cells[:len(samples)]):
            if cell:
                samples[i].append(cell[:SAMPLE_CHARS])
    ImportJob.objects.filter(pk=job.pk).update(
        headers=table.headers, mapping=list(mapping), samples=samples,
        row_count=len(table.rows), progress_total=len(table.rows), heartbeat_at=timezone.now())
    job.refresh_from_db()
    return table


def _check(job: ImportJob, table: Table | None = None) -> str:
    try:
        table = table or import_job_table(job)
        result = import_check(actor=job.user, kind=job.kind, table=table, mapping=job.mapping,
                              progress=JobProgress(job.pk))
    except DomainError as exc:
        _fail(job, exc.detail)
        return "failed"
    except Exception:
        logger.exception("import job %s: the check failed", job.pk)
        _fail(job, "Something went wrong on our side while checking the file. Check it again.")
        return "failed"
    _errors_write(job, result.errors)
    ImportJob.objects.filter(pk=job.pk, status=JobStatus.CHECKING).update(
        status=JobStatus.CHECKED, summary=result.summary, error_count=len(result.errors),
        phase="checked", finished_at=timezone.now())
    return "checked"


def _commit(job: ImportJob, table: Table | None = None) -> str:
    """The import itself. The job's "done" is written in the import's own transaction, so it
    says "imported" exactly when the records are."""

    def mark_done(result: ImportResult) -> None:
        ImportJob.objects.filter(pk=job.pk).update(
            status=JobStatus.DONE, summary=result.summary, error_count=0, phase="done",
            finished_at=timezone.now())

    try:
        table = table or import_job_table(job)
        import_commit(actor=job.user, kind=job.kind, table=table, mapping=job.mapping,
                      progress=JobProgress(job.pk), filename=job.filename,
                      before_commit=mark_done)
    except ImportErrors as exc:
        _errors_write(job, exc.result.errors)
        _fail(job, f"{len(exc.result.errors)} rows have errors (the data changed since "
                   "the check?). Nothing was imported.", errors=len(exc.result.errors),
              summary=exc.result.summary)
        return "failed"
    except DomainError as exc:
        _fail(job, f"{exc.detail} Nothing was imported.")
        return "failed"
    except Exception:
        logger.exception("import job %s failed", job.pk)
        _fail(job, "Something went wrong on our side. Nothing was imported.")
        return "failed"
    job_path(job).unlink(missing_ok=True)
    errors_path(job).unlink(missing_ok=True)
    return "done"


def _fail(job: ImportJob, message: str, errors: int = 0,
          summary: dict[str, int] | None = None) -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.FAILED, message=message, error_count=errors,
        summary=summary if summary is not None else job.summary, finished_at=timezone.now())
