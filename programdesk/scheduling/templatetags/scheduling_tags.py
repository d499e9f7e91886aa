"""Template helpers for the scheduling pages (and pages that reuse the session header)."""

from __future__ import annotations

from typing import Any

from django import template

from programdesk.core.roles import Cap
from programdesk.scheduling.models import BenefitSession, SessionStatus

register = template.Library()


@register.filter
def can(user: Any, capability: str) -> bool:
    """``{% if user|can:"manage_programs" %}`` — the role table of core/roles.py."""
    return bool(getattr(user, "is_authenticated", False)) and user.can(Cap(capability))


@register.simple_tag
def session_statuses() -> list[tuple[str, str]]:
    return list(SessionStatus.choices)


@register.filter
def session_time(session: BenefitSession) -> str:
    """"18:00–20:00 EST" in the session's own time zone (the end's date if it is another)."""
    start, end = session.local_start, session.local_end
    end_text = f"{end:%H:%M}" if end.date() == start.date() else f"{end.day} {end:%b} {end:%H:%M}"
    return f"{start:%H:%M}–{end_text} {end.tzname()}"


@register.filter
def session_when(session: BenefitSession) -> str:
    """"Tue 5 Mar 2030, 18:00–20:00 EST" in the session's own time zone."""
    start = session.local_start
    return f"{start:%a} {start.day} {start:%b %Y}, {session_time(session)}"
