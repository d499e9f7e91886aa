"""Where uploads wait, and the progress of a running check or import — in its job's row.

The task writes the row as it goes (at most about once a second, and at each change of phase);
any web worker on any app server reads it. The phases before the write transaction are
committed as they happen. Inside the write transaction the writes are part of it: seen once it
commits, and meanwhile the row lock they take (PostgreSQL) or the database's write lock
(SQLite) tells a live import from one whose worker died
(``jobs.import_job_fail_if_worker_lost``).
"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from programdesk.imports.models import ImportJob


def imports_dir() -> Path:
    """Uploads waiting for their check or import: under ``PROGRAMDESK_MEDIA_DIR``, storage
    shared by every app server and task worker."""
    path = Path(settings.PROGRAMDESK_MEDIA_DIR) / "imports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)  # made under another umask: uploads hold personal data
    return path


class JobProgress:
    """A ``Progress`` callback writing the job's row when the phase changes, else at most
    once a second."""

    EVERY_SECONDS = 1.0

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.last = 0.0
        self.phase = ""

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < self.EVERY_SECONDS and phase == self.phase:
            return
        self.last, self.phase = now, phase
        ImportJob.objects.filter(pk=self.job_id).update(
            phase=phase, progress_done=done, progress_total=total, heartbeat_at=timezone.now())
