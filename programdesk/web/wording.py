"""Counts and dates in what pages say after a change: "1 session", "2 sessions",
"Tue 3 Mar 2026 – Tue 31 Mar 2026" (the house format of core/display.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from programdesk.core import display


def count(n: int, singular: str, plural: str | None = None) -> str:
    """``count(1, "session")`` → "1 session"; ``count(2, "session")`` → "2 sessions"."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def day(value: dt.date) -> str:
    return display.day(value, weekday=True)


def day_range(days: Sequence[dt.date]) -> str:
    """The first and last of some dates: "Tue 3 Mar 2026 – Tue 31 Mar 2026", or one date."""
    if not days:
        return ""
    first, last = min(days), max(days)
    return day(first) if first == last else f"{day(first)} – {day(last)}"


def day_span(days: Sequence[dt.date]) -> str:
    """In a sentence: "from Tue 3 Mar 2026 to Tue 31 Mar 2026", or "on Tue 3 Mar 2026"."""
    if not days:
        return ""
    first, last = min(days), max(days)
    return f"on {day(first)}" if first == last else f"from {day(first)} to {day(last)}"


def names(items: Sequence[str], limit: int = 5) -> str:
    """"Ada Lovelace, Bob Smith and 3 others"."""
    shown = list(items[:limit])
    rest = len(items) - len(shown)
    if rest:
        return f"{', '.join(shown)} and {count(rest, 'other')}"
    if len(shown) <= 1:
        return "".join(shown)
    return f"{', '.join(shown[:-1])} and {shown[-1]}"
