"""The house format in templates: ``{% load display %}`` then ``{{ d.disbursed_on|day }}``,
``{{ s.local_date|day:"weekday" }}``, ``{{ job.created_at|moment }}``, ``{{ session|starts }}``,
``{{ d.quantity|qty:d.unit }}``, ``{{ total|num }}``. The functions behind them are
``core/display.py`` (the exports use them too); docs/front-desk.md shows the format."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]  # not in the stubs

from programdesk.core import display

register = template.Library()


def _local(value: Any) -> Any:
    # Like Django's own date filters: an aware datetime is shown in the current time zone.
    return template_localtime(value) if isinstance(value, dt.datetime) else value


@register.filter
def day(value: Any, arg: str = "") -> str:
    """"5 Mar 2030"; ``day:"weekday"`` → "Tue 5 Mar 2030"."""
    return display.day(_local(value), weekday=arg == "weekday")


@register.filter
def clock(value: Any) -> str:
    """"6:00 PM"."""
    return display.clock(_local(value))


@register.filter
def moment(value: Any) -> str:
    """"Tue 5 Mar 2030, 6:00 PM"."""
    return display.moment(_local(value))


@register.filter
def starts(session: Any) -> str:
    """A session's start in its schedule's own time zone: "6:00 PM"."""
    return display.clock(session.local_start)


@register.filter
def qty(value: Any, unit: Any = None) -> str:
    """"1 session", "2 sessions", "1.5 hours", "$25.00"; the number alone without a unit."""
    return display.quantity(value, unit)


@register.filter
def num(value: Any) -> str:
    """"1,250", "1.5": at most two decimals, no trailing zeros."""
    return display.number(value)
