"""Service limits: how often one person or household may receive a benefit ("one food box
per household per calendar month", "once in 30 days"). Pure rules here — the window a date
falls in and the checks on the setting; participation counts deliveries against them
(``participation/services/limits.py``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from programdesk.core.errors import ValidationError

if TYPE_CHECKING:
    from programdesk.programs.models import Benefit

PERIODS = ("day", "week", "month", "year", "days")
SCOPES = ("person", "household")
MAX_DAYS = 3660  # a rolling window of at most ten years
MAX_MAX = 10_000


@dataclass(frozen=True)
class ServiceLimit:
    """At most ``max`` deliveries per window, counted per person or per household."""

    max: int
    per: str  # day | week | month | year | days
    scope: str  # person | household
    days: int | None = None  # the rolling window's length, only with per == "days"

    def window(self, on: dt.date) -> tuple[dt.date, dt.date]:
        """The first and last day of the window ``on`` falls in: weeks run Monday to Sunday,
        months and years are the calendar's, a rolling window is ``on`` and the ``days`` − 1
        days before it."""
        if self.per == "day":
            return on, on
        if self.per == "week":
            start = on - dt.timedelta(days=on.weekday())
            return start, start + dt.timedelta(days=6)
        if self.per == "month":
            start = on.replace(day=1)
            following = (start + dt.timedelta(days=32)).replace(day=1)
            return start, following - dt.timedelta(days=1)
        if self.per == "year":
            return on.replace(month=1, day=1), on.replace(month=12, day=31)
        return on - dt.timedelta(days=(self.days or 1) - 1), on

    def describe(self) -> str:
        """"1 per household per month", "2 per person in 30 days"."""
        period = f"in {self.days} days" if self.per == "days" else f"per {self.per}"
        return f"{self.max} per {self.scope} {period}"

    def period_words(self) -> str:
        """How the refusal names the window: "this month", "in the last 30 days"."""
        if self.per == "days":
            return f"in the last {self.days} days"
        return {"day": "today", "week": "this week", "month": "this month",
                "year": "this year"}[self.per]

    def as_dict(self) -> dict[str, Any]:
        return {"max": self.max, "per": self.per, "days": self.days, "scope": self.scope}


def benefit_limit(benefit: Benefit) -> ServiceLimit | None:
    """The benefit's limit, or None when it has none."""
    return limit_from_columns(benefit.limit_max, benefit.limit_per, benefit.limit_days,
                              benefit.limit_scope)


def limit_from_columns(limit_max: int | None, per: str | None, days: int | None,
                       scope: str | None) -> ServiceLimit | None:
    """A limit from the four columns as read (raw SQL reads them too), or None."""
    if limit_max is None or not per or not scope:
        return None
    return ServiceLimit(max=int(limit_max), per=per, scope=scope,
                        days=int(days) if days is not None else None)


def limit_clean(value: dict[str, Any] | None, field: str = "limit") -> ServiceLimit | None:
    """A limit as the API and the page give it (``{max, per, days?, scope}``) checked, or None
    for none. Errors name ``limit.max`` and so on."""
    if value is None:
        return None
    errors: dict[str, str] = {}
    limit_max, per, scope, days = (value.get("max"), value.get("per"), value.get("scope"),
                                   value.get("days"))
    if isinstance(limit_max, bool) or not isinstance(limit_max, int) \
            or not 1 <= limit_max <= MAX_MAX:
        errors[f"{field}.max"] = f"A whole number from 1 to {MAX_MAX}."
    if per not in PERIODS:
        errors[f"{field}.per"] = f"One of: {', '.join(PERIODS)}."
    if scope not in SCOPES:
        errors[f"{field}.scope"] = f"One of: {', '.join(SCOPES)}."
    if per == "days":
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
            errors[f"{field}.days"] = f"With per 'days': a number of days from 1 to {MAX_DAYS}."
    elif days is not None:
        errors[f"{field}.days"] = "Only with per 'days'."
    if errors:
        raise ValidationError.for_fields(errors)
    return ServiceLimit(max=int(limit_max), per=str(per), scope=str(scope),  # type: ignore[arg-type]
                        days=int(days) if per == "days" else None)  # type: ignore[arg-type]


def limit_columns(limit: ServiceLimit | None) -> dict[str, Any]:
    """The benefit's four columns for a limit (all None for none)."""
    if limit is None:
        return {"limit_max": None, "limit_per": None, "limit_days": None, "limit_scope": None}
    return {"limit_max": limit.max, "limit_per": limit.per, "limit_days": limit.days,
            "limit_scope": limit.scope}
