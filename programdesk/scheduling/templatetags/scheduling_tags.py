"""Template helpers for the scheduling pages (and pages that reuse the session header)."""

from __future__ import annotations

from typing import Any

from django import template

from programdesk.core import display
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
    """"6:00–8:00 PM EST" in the session's own time zone (the end's day if it is another), in
    the house format of core/display.py."""
    start, end = session.local_start, session.local_end
    if end.date() == start.date():
        return f"{display.clock_span(start, end)} {end.tzname()}"
    return f"{display.clock(start)}–{display.day(end)} {display.clock(end)} {end.tzname()}"


@register.filter
def session_when(session: BenefitSession) -> str:
    """"Tue 5 Mar 2030, 6:00–8:00 PM EST" in the session's own time zone."""
    return f"{display.day(session.local_start, weekday=True)}, {session_time(session)}"
