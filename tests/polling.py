"""Waiting for another process (a task worker, a served instance) to get somewhere."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(condition: Callable[[], Any], seconds: float = 120, what: str = "",
             every: float = 0.05) -> Any:
    """``condition()``'s first true value, polled every ``every`` seconds; an AssertionError
    naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what or condition}")
