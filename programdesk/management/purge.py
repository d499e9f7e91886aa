"""The purge: what is kept only for a while is deleted — stored idempotent answers, abandoned
import uploads, expired API tokens, expired export files and old resolved sync conflicts. Run
as the task ``management.tasks.purge_run`` (``run.py serve`` enqueues it hourly) or at once by
``manage.py purge``."""

from __future__ import annotations

from programdesk.core.services import idempotency_records_purge, tokens_purge_expired
from programdesk.imports.jobs import import_uploads_purge
from programdesk.offline.services import sync_conflicts_purge
from programdesk.reports.export_jobs import export_files_purge


def purge_everything() -> dict[str, int]:
    """Each purge, one after the other; how many of each were deleted."""
    return {"idempotency_records": idempotency_records_purge(),
            "import_files": import_uploads_purge(),
            "expired_tokens": tokens_purge_expired(),
            "export_files": export_files_purge(),
            "sync_conflicts": sync_conflicts_purge()}


def purge_report(counts: dict[str, int]) -> str:
    return (f"Purged {counts['idempotency_records']} idempotency records, "
            f"{counts['import_files']} import files, {counts['expired_tokens']} expired API "
            f"tokens, {counts['export_files']} export files, {counts['sync_conflicts']} resolved "
            "sync conflicts.")
