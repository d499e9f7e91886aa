"""The imports' tasks, run by a task worker (``manage.py db_worker``; ``run.py serve`` starts
one). Enqueued by ``imports.jobs`` once the request has stored the upload."""

from __future__ import annotations

from django_tasks import task


@task()
def import_job_run(*, job_id: int, action: str, chosen: list[list[str]] | None = None) -> str:
    """Read a new upload (``action="read"``), then — or for a job read before — check it
    (``"check"``) or import it (``"commit"``); ``chosen`` are the API's (column, field) pairs.
    Returns how it ended ("read", "checked", "done", "failed", or "skipped" for a job not
    waiting for it)."""
    from programdesk.imports.jobs import import_job_execute

    return import_job_execute(job_id=job_id, action=action, chosen=chosen)
