"""The reports' tasks, run by a task worker (``manage.py db_worker``): large list exports,
enqueued by ``reports.export_jobs`` once the request has checked the filters."""

from __future__ import annotations

from django_tasks import task


@task()
def export_job_run(*, job_id: int) -> str:
    """Write an export job's file; returns how it ended ("done", "failed", or "skipped" for a
    job not waiting for it)."""
    from programdesk.reports.export_jobs import export_job_execute

    return export_job_execute(job_id=job_id)
