"""gunicorn settings used by ``manage.py serve``: runs ``manage.py purge`` at start and every
``PURGE_INTERVAL_SECONDS`` (default one hour) while the server runs.

The purge runs as a separate process, so gunicorn's master never loads Django (its workers are
forked from it) and a failing purge cannot take the server down.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

MANAGE_PY = Path(__file__).resolve().parent.parent / "manage.py"


def purge_forever(interval: float, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            subprocess.run([sys.executable, str(MANAGE_PY), "purge"], check=False,  # noqa: S603
                           timeout=max(interval, 60))
        except (OSError, subprocess.SubprocessError) as exc:  # pragma: no cover
            print(f"manage.py purge failed: {exc}", file=sys.stderr)
        stop.wait(interval)


_stop = threading.Event()


def when_ready(server: Any) -> None:
    interval = float(os.environ.get("PURGE_INTERVAL_SECONDS", "3600"))
    if interval > 0:
        threading.Thread(target=purge_forever, args=(interval, _stop), daemon=True,
                         name="programdesk-purge").start()


def on_exit(server: Any) -> None:
    _stop.set()
