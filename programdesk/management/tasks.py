"""The purge as a task, run by a task worker (``manage.py db_worker``): ``run.py serve``
enqueues it at start and every ``PURGE_INTERVAL_SECONDS`` (``manage.py purge --enqueue``)."""

from __future__ import annotations

import logging

from django_tasks import task

logger = logging.getLogger(__name__)


@task()
def purge_run() -> dict[str, int]:
    """Delete what is kept only for a while (``management.purge``); returns the counts."""
    from programdesk.management.purge import purge_everything, purge_report

    counts = purge_everything()
    logger.info(purge_report(counts))
    return counts
