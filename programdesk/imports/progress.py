"""Progress of a running import, in a small JSON file next to its upload.

Not in the database: on SQLite the import's transaction holds the only write lock until it
commits, so a progress row could not be written (or, by other requests, updated) meanwhile.
Any process may read the file — the page polls it from whichever worker answers.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from django.conf import settings


def imports_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)  # made under another umask: uploads hold personal data
    return path


def progress_path(stored_name: str) -> Path:
    return imports_dir() / f"{stored_name}.progress.json"


def progress_write(stored_name: str, *, phase: str, done: int, total: int) -> None:
    """Replace the file atomically, so a reader never sees half of it."""
    path = progress_path(stored_name)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"phase": phase, "done": done, "total": total,
                               "at": time.time()}))
    os.replace(tmp, path)


def progress_read(stored_name: str) -> dict[str, Any] | None:
    try:
        data = json.loads(progress_path(stored_name).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def progress_clear(stored_name: str) -> None:
    progress_path(stored_name).unlink(missing_ok=True)


class FileProgress:
    """A ``Progress`` callback writing the file when the phase changes, else at most every
    half second."""

    def __init__(self, stored_name: str) -> None:
        self.stored_name = stored_name
        self.last = 0.0
        self.phase = ""

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.5 and phase == self.phase:
            return
        self.last, self.phase = now, phase
        progress_write(self.stored_name, phase=phase, done=done, total=total)
