"""Large list exports as tasks. A list export of more than ``PROGRAMDESK_EXPORT_TASK_ROWS`` rows
is not written in the request: the request checks the filters, records an ``ExportJob`` and
enqueues ``reports.tasks.export_job_run``; a task worker writes the file (the same CSV or XLSX,
formula escaping included, as a direct download) under ``PROGRAMDESK_MEDIA_DIR/exports/``,
with its progress in the job's row; the job's page polls it and then offers the download, to
the user who asked only, until the file expires (``PROGRAMDESK_EXPORT_KEEP_HOURS``) and the
purge deletes it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from programdesk.core.audit import audit_record
from programdesk.core.db_router import replica_reads
from programdesk.core.errors import NotFound
from programdesk.core.models import User
from programdesk.reports.exports import FORMATS, Headers, csv_lines, header_row, xlsx_write
from programdesk.reports.lists import LISTS, ListFilter
from programdesk.reports.models import ExportJob, ExportStatus
from programdesk.reports.selectors import ReportFilter

logger = logging.getLogger(__name__)

ACTIVE = (ExportStatus.QUEUED, ExportStatus.RUNNING)
WORKER_LOST = ("The export stopped before it finished (its task worker was stopped or "
               "restarted). Download the list again to start a new one.")
# Jobs that never finished (failed, or lost) are deleted this long after they were asked for.
KEEP_UNFINISHED_DAYS = 7


def exports_dir() -> Path:
    """Export files waiting to be downloaded: under ``PROGRAMDESK_MEDIA_DIR``, storage shared
    by every app server and task worker. They hold personal data: the directory is private."""
    path = Path(settings.PROGRAMDESK_MEDIA_DIR) / "exports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def export_path(job: ExportJob) -> Path:
    return exports_dir() / job.stored_name


# --- the filters, as the job keeps them -----------------------------------------------------

def list_filter_json(filters: ListFilter) -> dict[str, Any]:
    """A list's filters (checked in the request: visibility included) as JSON for the job."""
    out = dataclasses.asdict(filters)
    for key in ("date_from", "date_to"):
        if out["report"][key] is not None:
            out["report"][key] = out["report"][key].isoformat()
    return out


def list_filter_from_json(data: dict[str, Any]) -> ListFilter:
    data = {k: v for k, v in data.items() if k != "headers"}
    report = dict(data["report"])
    for key in ("date_from", "date_to"):
        if report.get(key):
            report[key] = dt.date.fromisoformat(report[key])
    return ListFilter(**{**data, "report": ReportFilter(**report)})


# --- the request's side ------------------------------------------------------------------------

def export_task_needed(rows: Any) -> bool:
    """Whether a list export is too large to write in the request (a count that stops at the
    threshold, read where the rows would be: the replica inside ``replica_reads``)."""
    more_than = getattr(rows, "more_than", None)
    return more_than is not None and more_than(settings.PROGRAMDESK_EXPORT_TASK_ROWS)


@transaction.atomic
def export_job_create(*, actor: User, name: str, fmt: str, filters: ListFilter,
                      filename: str, headers: Headers = "machine") -> ExportJob:
    """Record a large export of the list ``name`` for ``actor`` and queue its task. The
    ``headers`` choice (human names or machine keys) rides along with the filters."""
    from programdesk.reports.tasks import export_job_run

    if name not in LISTS or fmt not in FORMATS:
        raise ValueError(f"unknown export {name}.{fmt}")
    now = timezone.now()
    job = ExportJob.objects.create(
        user=actor, name=name, format=fmt,
        filters={**list_filter_json(filters), "headers": headers},
        filename=filename[:128], stored_name=f"{uuid.uuid4().hex}.{fmt}", heartbeat_at=now,
        expires_at=now + dt.timedelta(hours=settings.PROGRAMDESK_EXPORT_KEEP_HOURS))
    audit_record(actor=actor, action="export_job.create", obj=job,
                 after={"list": name, "format": fmt, "filters": job.filters})
    result = export_job_run.enqueue(job_id=job.pk)
    # Inline (tests), the task has run already; the job keeps its id all the same.
    ExportJob.objects.filter(pk=job.pk).update(task_id=str(result.id))
    job.refresh_from_db()
    return job


def export_job_get(*, user: User, pk: int) -> ExportJob:
    """The user's own export (anyone else's is not found). Reads only."""
    job = ExportJob.objects.filter(user=user, pk=pk).first()
    if job is None:
        raise NotFound()
    return job


def export_job_fail_if_worker_lost(*, job: ExportJob) -> ExportJob:
    """The job as it now is, after marking it failed if its task worker died: a running
    export that has not moved for ``PROGRAMDESK_TASK_STALE_SECONDS`` (its progress is
    committed as it goes, at least once a second). A queued one waits for a worker however
    long."""
    if job.status != ExportStatus.RUNNING:
        return job
    stale = timezone.now() - dt.timedelta(seconds=settings.PROGRAMDESK_TASK_STALE_SECONDS)
    given_up = ExportJob.objects.filter(pk=job.pk, status=ExportStatus.RUNNING,
                                        heartbeat_at__lt=stale).update(
        status=ExportStatus.FAILED, message=WORKER_LOST, finished_at=timezone.now())
    if given_up:
        logger.warning("export job %s: its task worker died; marked failed", job.pk)
        job.refresh_from_db()
    return job


def export_file(job: ExportJob) -> Path | None:
    """The finished file of a job, while it may be downloaded."""
    if job.status != ExportStatus.DONE or job.expires_at <= timezone.now():
        return None
    path = export_path(job)
    return path if path.exists() else None


# --- the task's side ---------------------------------------------------------------------------

class _Progress:
    """Counts the rows as the file is written, and writes the count in the job's row at most
    once a second (each write committed: any web worker reads it)."""

    EVERY_SECONDS = 1.0

    def __init__(self, job_id: int) -> None:
        self.job_id, self.done, self.last = job_id, 0, time.monotonic()

    def counted(self, rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
        for row in rows:
            self.done += 1
            if self.done % 1000 == 0 and time.monotonic() - self.last >= self.EVERY_SECONDS:
                self.last = time.monotonic()
                ExportJob.objects.filter(pk=self.job_id).update(
                    progress_done=self.done, heartbeat_at=timezone.now())
            yield row


def export_job_execute(*, job_id: int) -> str:
    """Write a job's file (the task ``reports.tasks.export_job_run``) and record how it ended.
    Started once: the start is claimed with a conditional update."""
    now = timezone.now()
    started = ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, started_at=now, heartbeat_at=now)
    if not started:
        logger.info("export job %s: not queued (given up, or done); skipped", job_id)
        return "skipped"
    job = ExportJob.objects.select_related("user").get(pk=job_id)
    path = export_path(job)
    partial = path.with_name(path.name + ".part")
    progress = _Progress(job.pk)
    try:
        with replica_reads():  # list exports read from the replica, if any
            header, rows = LISTS[job.name](user=job.user,
                                           filters=list_filter_from_json(job.filters))
            header = header_row(header, job.filters.get("headers", "machine"))
            total = rows.count()
            ExportJob.objects.filter(pk=job.pk).update(row_count=total,
                                                       heartbeat_at=timezone.now())
            with partial.open("wb") as out:
                partial.chmod(0o600)
                if job.format == "csv":
                    for chunk in csv_lines(header, progress.counted(rows)):
                        out.write(chunk.encode("utf-8"))
                else:
                    xlsx_write(out, header, progress.counted(rows), title=job.name)
        partial.rename(path)
    except Exception:
        logger.exception("export job %s failed", job.pk)
        partial.unlink(missing_ok=True)
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.FAILED, finished_at=timezone.now(),
            message="Something went wrong on our side while writing the file. Download the "
                    "list again to start a new one.")
        return "failed"
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.DONE, row_count=progress.done, progress_done=progress.done,
        size=path.stat().st_size, finished_at=timezone.now(), heartbeat_at=timezone.now())
    return "done"


# --- the purge ---------------------------------------------------------------------------------

def export_files_purge() -> int:
    """Delete export files past their ``expires_at`` (and the jobs, with those that never
    finished, after ``KEEP_UNFINISHED_DAYS``), and any file in the directory that no job
    names and that is older than a day (a worker that died mid-write). Returns how many files
    were deleted."""
    now = timezone.now()
    expired = ExportJob.objects.filter(expires_at__lt=now) | ExportJob.objects.filter(
        created_at__lt=now - dt.timedelta(days=KEEP_UNFINISHED_DAYS))
    deleted = 0
    for job in expired:
        path = export_path(job)
        if path.exists():
            path.unlink(missing_ok=True)
            deleted += 1
    expired.delete()
    known = set(ExportJob.objects.values_list("stored_name", flat=True))
    cutoff = time.time() - 86400
    for path in exports_dir().iterdir():
        try:
            if path.name not in known and path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                deleted += 1
        except OSError:  # pragma: no cover - another worker removed it first
            pass
    return deleted
