"""Recurrence rules: pure functions from a rule (docs/api.md: ``recurrence``) to session times.

No database here. A rule is expanded with ``dateutil.rrule`` in *local wall-clock time* and each
occurrence is then placed in the schedule's IANA time zone, so a weekly 18:00 class stays at
18:00 local time across daylight-saving changes. Two rules of RFC 5545 (§3.3.5) apply:

- a wall-clock time that does not exist that day (spring forward) is read with the offset
  before the gap, i.e. it moves forward by the length of the gap: 02:30 on 8 March 2026 in
  New York is 03:30 EDT (Google Calendar and Outlook read such times the same way);
- a wall-clock time that happens twice (fall back) is the first of the two.

Each session lasts as long as the first one (the same elapsed time), so its end is
``start + duration`` on the real time line.

Monthly "day 29/30/31" means "that day, or the last day of a shorter month" — what staff expect
from "the 31st of every month" — and a yearly rule on 29 February falls on 28 February in other
years. Both are expressed as RFC 5545 rules (``BYMONTHDAY=28,29,30,31;BYSETPOS=-1``).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from dateutil import rrule as du

from programdesk.core.errors import ValidationError

FREQUENCIES = ("once", "daily", "weekly", "monthly", "yearly")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ORDINALS = (1, 2, 3, 4, -1)
ORDINAL_NAMES = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
MAX_SESSIONS = 500
MAX_INTERVAL = 99
# Far enough for any real programme, near enough that no expansion runs into year 9999.
MIN_YEAR, MAX_YEAR = 1900, 2200

_FREQ: dict[str, Any] = {"daily": du.DAILY, "weekly": du.WEEKLY, "monthly": du.MONTHLY,
                         "yearly": du.YEARLY}
_DU_WEEKDAYS = (du.MO, du.TU, du.WE, du.TH, du.FR, du.SA, du.SU)


@dataclass(frozen=True)
class Monthly:
    """Which day of the month: ``day`` N, the ``ordinal`` ``weekday`` or the last day."""

    day: int | None = None
    weekday: str | None = None
    ordinal: int | None = None
    last_day: bool = False

    def as_json(self) -> dict[str, Any]:
        if self.last_day:
            return {"last_day": True}
        if self.weekday is not None:
            return {"weekday": self.weekday, "ordinal": self.ordinal}
        return {"day": self.day}


@dataclass(frozen=True)
class Rule:
    """A validated rule. ``count`` counts the rule's occurrences (dropped dates included, as
    RFC 5545 counts EXDATEs); ``until`` is an inclusive local date."""

    frequency: str
    interval: int = 1
    weekdays: tuple[str, ...] = ()
    count: int | None = None
    until: dt.date | None = None
    monthly: Monthly | None = None

    def as_json(self) -> dict[str, Any]:
        """The API's ``recurrence`` object, with every default filled in."""
        return {
            "frequency": self.frequency,
            "interval": self.interval,
            "weekdays": list(self.weekdays) or None,
            "count": self.count,
            "until": self.until.isoformat() if self.until else None,
            "monthly": self.monthly.as_json() if self.monthly else None,
        }


@dataclass(frozen=True)
class Occurrence:
    start: dt.datetime  # aware, in the schedule's zone
    end: dt.datetime

    @property
    def local_date(self) -> dt.date:
        return self.start.date()


# --- time zones --------------------------------------------------------------------------------

@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_zone(name: str) -> bool:
    return name in _zone_names()


def zone(name: str, *, field: str = "timezone") -> zoneinfo.ZoneInfo:
    """The IANA zone called ``name``; anything else (``EST``, ``+05:00``, a path) is a field
    error."""
    if not isinstance(name, str) or not is_zone(name):
        raise ValidationError.for_fields(
            {field: f"Unknown time zone '{name}'. Use an IANA name such as America/New_York."})
    return zoneinfo.ZoneInfo(name)


def zone_choices() -> list[str]:
    return sorted(n for n in _zone_names() if "/" in n and not n.startswith(("Etc/", "SystemV/")))


def localize(wall: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """Wall-clock ``wall`` (naive) in ``tz`` as a real instant, RFC 5545 style: a time inside a
    spring-forward gap moves forward by the gap; a repeated time is its first occurrence."""
    # fold=0 gives a gap time the offset from before the gap; the round trip through UTC then
    # names the instant in the offset that really applies.
    return wall.replace(tzinfo=tz, fold=0).astimezone(dt.UTC).astimezone(tz)


def to_wall(value: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """``value`` as naive wall-clock time in ``tz`` (naive values are taken as already so)."""
    if value.tzinfo is None:
        return value
    return value.astimezone(tz).replace(tzinfo=None)


# --- parsing -----------------------------------------------------------------------------------

def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def date_of(value: Any) -> dt.date | None:
    """The date ``value`` gives (a date, a datetime's date, an ISO string), else None."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def parse_rule(data: Mapping[str, Any] | None, *, first: dt.datetime,
               field: str = "recurrence", max_sessions: int = MAX_SESSIONS) -> Rule:
    """Validate docs/api.md's ``recurrence`` object against the first session (naive wall clock).

    Every problem is reported at once as a field error under ``field`` (``recurrence.count``).
    Defaults: ``interval`` 1, ``weekdays`` (absent or empty) every day for daily rules and the
    first session's weekday for weekly ones, ``monthly`` the first session's day of the month.
    """
    errors: dict[str, str] = {}

    def err(name: str, message: str) -> None:
        errors.setdefault(f"{field}.{name}" if name else field, message)

    if not isinstance(data, Mapping):
        raise ValidationError.for_fields({field: "A recurrence rule is required."})
    frequency = data.get("frequency")
    if frequency not in FREQUENCIES:
        err("frequency", f"Use one of: {', '.join(FREQUENCIES)}.")
        raise ValidationError.for_fields(errors)

    interval = _int(data.get("interval", 1) if data.get("interval") is not None else 1)
    if interval is None or not 1 <= interval <= MAX_INTERVAL:
        err("interval", f"Use a whole number from 1 to {MAX_INTERVAL}.")
        interval = 1

    weekdays = _parse_weekdays(data.get("weekdays"), frequency=frequency, first=first, err=err)
    monthly = _parse_monthly(data.get("monthly"), frequency=frequency, first=first, err=err)
    count_int, until = _parse_end(data.get("count"), data.get("until"), frequency=frequency,
                                  first=first, max_sessions=max_sessions, err=err)
    if errors:
        raise ValidationError.for_fields(errors)
    return Rule(frequency=frequency, interval=interval if frequency != "once" else 1,
                weekdays=weekdays, count=count_int, until=until, monthly=monthly)


def _parse_weekdays(raw_days: Any, *, frequency: str, first: dt.datetime,
                    err: Callable[[str, str], None]) -> tuple[str, ...]:
    """Daily rules (to keep only some days) and weekly ones; default the first session's day."""
    if raw_days is not None and not isinstance(raw_days, (list, tuple)):
        err("weekdays", "Give a list of weekdays such as [\"TU\", \"TH\"].")
        return ()
    if frequency not in ("daily", "weekly"):
        if raw_days:
            err("weekdays", "Weekdays apply to daily and weekly rules only.")
        return ()
    # An empty list means what leaving it out means (docs/api.md): every day for daily rules,
    # the first session's weekday for weekly ones.
    if not raw_days:
        return (WEEKDAYS[first.weekday()],) if frequency == "weekly" else ()
    unknown = [d for d in raw_days if d not in WEEKDAYS]
    if unknown:
        err("weekdays", f"Unknown weekday {unknown[0]!r}; use {', '.join(WEEKDAYS)}.")
    return tuple(d for d in WEEKDAYS if d in raw_days)


def _parse_end(count: Any, until_raw: Any, *, frequency: str, first: dt.datetime,
               max_sessions: int, err: Callable[[str, str], None]
               ) -> tuple[int | None, dt.date | None]:
    """The rule's end: a number of sessions or a last date (one session for "once")."""
    until = date_of(until_raw) if until_raw not in (None, "") else None
    if until_raw not in (None, "") and until is None:
        err("until", "Give a date as YYYY-MM-DD.")
    count_int = _int(count) if count not in (None, "") else None
    if count not in (None, "") and count_int is None:
        err("count", "Give a whole number.")
    if frequency == "once":
        if count_int not in (None, 1):
            err("count", "A one-time schedule has exactly one session.")
        if until is not None:
            err("until", "A one-time schedule has no end date; leave it empty.")
        return 1, None
    if count_int is not None and until is not None:
        err("count", "Give either a number of sessions or an end date, not both.")
    elif count in (None, "") and until_raw in (None, ""):
        err("count", "Give a number of sessions or an end date.")
    if count_int is not None and not 1 <= count_int <= max_sessions:
        err("count", f"Give a number from 1 to {max_sessions} (at most {max_sessions} sessions "
                     "per schedule).")
    if until is not None and until < first.date():
        err("until", f"The end date is before the first session ({first.date().isoformat()}).")
    if until is not None and until.year > MAX_YEAR:
        err("until", f"Give a date before {MAX_YEAR}.")
    return count_int, until


def _parse_monthly(raw: Any, *, frequency: str, first: dt.datetime,
                   err: Any) -> Monthly | None:
    if frequency != "monthly":
        if raw:
            err("monthly", "Applies to monthly rules only.")
        return None
    if raw is None:
        return Monthly(day=first.day)
    if not isinstance(raw, Mapping):
        err("monthly", 'Give {"day": 15}, {"weekday": "TU", "ordinal": 2} or {"last_day": true}.')
        return None
    kinds = [k for k in ("day", "weekday", "last_day") if raw.get(k) not in (None, False)]
    if len(kinds) != 1:
        err("monthly", 'Give exactly one of "day", "weekday" (with "ordinal") or "last_day".')
        return None
    if kinds == ["last_day"]:
        if raw.get("last_day") is not True:
            err("monthly.last_day", "Use true.")
        return Monthly(last_day=True)
    if kinds == ["day"]:
        day = _int(raw.get("day"))
        if day is None or not 1 <= day <= 31:
            err("monthly.day", "Give a day of the month from 1 to 31.")
            return None
        return Monthly(day=day)
    weekday = raw.get("weekday")
    ordinal = _int(raw.get("ordinal"))
    if weekday not in WEEKDAYS:
        err("monthly.weekday", f"Use one of {', '.join(WEEKDAYS)}.")
        return None
    if ordinal not in ORDINALS:
        err("monthly.ordinal", "Use 1, 2, 3 or 4, or -1 for the last.")
        return None
    return Monthly(weekday=weekday, ordinal=ordinal)


# --- expansion ---------------------------------------------------------------------------------

def _day_or_last(day: int) -> dict[str, Any]:
    # "The 31st" = the 31st or the month's last day: the last of the days 28..31 that exist.
    if day <= 28:
        return {"bymonthday": day}
    return {"bymonthday": tuple(range(28, day + 1)), "bysetpos": -1}


def to_rrule(rule: Rule, first: dt.datetime, *, bounded: bool = True) -> du.rrule:
    """The dateutil rule in naive wall-clock time starting at ``first``. ``bounded=False``
    drops ``count``/``until`` (to continue a schedule past its end)."""
    if first.tzinfo is not None:
        raise ValueError("expand in wall-clock time: pass a naive datetime")
    kwargs: dict[str, Any] = {"dtstart": first, "interval": rule.interval, "wkst": du.MO,
                              "cache": False}
    if rule.frequency == "once":
        return du.rrule(du.DAILY, dtstart=first, count=1)
    if rule.weekdays:
        kwargs["byweekday"] = tuple(_DU_WEEKDAYS[WEEKDAYS.index(d)] for d in rule.weekdays)
    if rule.frequency == "monthly":
        monthly = rule.monthly or Monthly(day=first.day)
        if monthly.last_day:
            kwargs["bymonthday"] = -1
        elif monthly.weekday is not None:
            ordinal = monthly.ordinal or 1
            kwargs["byweekday"] = _DU_WEEKDAYS[WEEKDAYS.index(monthly.weekday)](ordinal)
        else:
            kwargs.update(_day_or_last(monthly.day or first.day))
    elif rule.frequency == "yearly":
        kwargs["bymonth"] = first.month
        kwargs.update(_day_or_last(first.day))
    if bounded:
        if rule.count is not None:
            kwargs["count"] = rule.count
        if rule.until is not None:
            kwargs["until"] = dt.datetime.combine(rule.until, dt.time.max)
    return du.rrule(_FREQ[rule.frequency], **kwargs)


def wall_times(rule: Rule, first: dt.datetime, *, bounded: bool = True,
               after: dt.datetime | None = None) -> Iterator[dt.datetime]:
    """The rule's wall-clock start times (naive), optionally only those after ``after``."""
    times: Iterator[dt.datetime] = iter(to_rrule(rule, first, bounded=bounded))
    if after is not None:
        times = itertools.dropwhile(lambda t: t <= after, times)
    return itertools.takewhile(lambda t: t.year <= MAX_YEAR, times)


def occurrence(wall: dt.datetime, *, duration: dt.timedelta,
               tz: zoneinfo.ZoneInfo) -> Occurrence:
    start = localize(wall, tz)
    # Elapsed time, not wall-clock time: a session over a DST change still lasts `duration`.
    end = (start.astimezone(dt.UTC) + duration).astimezone(tz)
    return Occurrence(start=start, end=end)


def expand(rule: Rule, *, first: dt.datetime, duration: dt.timedelta, tz: zoneinfo.ZoneInfo,
           limit: int = MAX_SESSIONS, bounded: bool = True, after: dt.datetime | None = None,
           skip: frozenset[dt.date] | set[dt.date] = frozenset()) -> list[Occurrence]:
    """The sessions of ``rule`` from the naive wall-clock ``first``, at most ``limit + 1`` of
    them (so a caller can tell "too many" from "exactly the limit"), minus the ``skip`` dates.
    """
    walls = (w for w in wall_times(rule, first, bounded=bounded, after=after)
             if w.date() not in skip)
    return [occurrence(w, duration=duration, tz=tz) for w in itertools.islice(walls, limit + 1)]


# --- words -------------------------------------------------------------------------------------

def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def describe(rule: Rule, first: dt.datetime) -> str:
    """The rule in plain English: "Every 2 weeks on Tuesday and Thursday, 20 times"."""
    if rule.frequency == "once":
        return "Once"
    unit = {"daily": "day", "weekly": "week", "monthly": "month", "yearly": "year"}[rule.frequency]
    every = (rule.frequency.capitalize() if rule.interval == 1
             else f"Every {rule.interval} {unit}s")
    if rule.weekdays:
        every += " on " + _join([WEEKDAY_NAMES[WEEKDAYS.index(d)] for d in rule.weekdays])
    if rule.frequency == "monthly":
        monthly = rule.monthly or Monthly(day=first.day)
        if monthly.last_day:
            every += " on the last day"
        elif monthly.weekday is not None:
            every += (f" on the {ORDINAL_NAMES[monthly.ordinal or 1]} "
                      f"{WEEKDAY_NAMES[WEEKDAYS.index(monthly.weekday)]}")
        else:
            day = monthly.day or first.day
            every += f" on day {day}" + (" (or the month's last day)" if day > 28 else "")
    if rule.frequency == "yearly":
        every += f" on {first:%d %B}".replace(" 0", " ")
    if rule.count is not None:
        every += f", {rule.count} time{'s' if rule.count != 1 else ''}"
    elif rule.until is not None:
        every += f", until {rule.until:%d %B %Y}".replace(" 0", " ")
    return every


def end_at(rule: Rule, first: dt.datetime, last: dt.date) -> Rule:
    """The same rule, ending on ``last`` (a local date): ``until`` becomes ``last``, or ``count``
    the number of occurrences up to it. Used when sessions are added past, or deleted before,
    the rule's end, so the stored rule keeps describing the schedule."""
    if rule.frequency == "once":
        return rule
    if rule.until is not None:
        return replace(rule, until=last)
    walls = itertools.takewhile(lambda w: w.date() <= last,
                                wall_times(rule, first, bounded=False))
    count = sum(1 for _ in walls)
    return replace(rule, count=count) if count else rule


def rule_from_json(data: Mapping[str, Any], *, first: dt.datetime) -> Rule:
    """A stored rule (as written by ``Rule.as_json``). Stored rules were validated when saved,
    so no limits are enforced again here."""
    return parse_rule(data, first=first, max_sessions=10**6)
