"""Reads of import jobs, for the doors. They only read: a job whose task worker died is
marked failed by ``jobs.import_job_fail_if_worker_lost``, which the doors call on the job
they show."""

from __future__ import annotations

from programdesk.core.errors import NotFound
from programdesk.core.models import User
from programdesk.imports.models import ImportJob


def import_job_get(*, user: User, pk: int) -> ImportJob:
    """The user's own job (anyone else's is not found)."""
    job = ImportJob.objects.filter(user=user, pk=pk).first()
    if job is None:
        raise NotFound()
    return job


def import_jobs_for(*, user: User) -> list[ImportJob]:
    """The user's last 20 jobs, newest first."""
    return list(ImportJob.objects.filter(user=user)[:20])
