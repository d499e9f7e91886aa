"""How dates, times and quantities are shown to people: one house format, used by every page
(through the template filters of ``web/templatetags/display.py``) and by the exports' human
headers and spreadsheet cells (``reports/exports.py``).

The house format (docs/front-desk.md):

- a day: "5 Mar 2030"; with its weekday where it is a day something happens (a session, a
  disbursement): "Tue 5 Mar 2030";
- a time of day: "6:00 PM" (12-hour, as the organisations' staff read a clock); a span
  "6:00–8:00 PM", "11:30 AM–1:00 PM";
- a moment (a record's creation): "Tue 5 Mar 2030, 6:00 PM";
- a quantity: its number with at most two decimals and thousands separators, then its unit,
  singular for exactly 1: "1 session", "2 sessions", "1.5 hours", "1,250 meals"; money
  (unit code ``usd``) as "$25.00".

Files for machines keep their own formats: the API and CSV cells use ISO 8601 dates and plain
numbers, XLSX cells are real dates and numbers (shown in the house format by Excel).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

MONEY_UNITS = {"usd": "$"}
# Excel's number format for the house day (XLSX date cells are real dates shown this way).
XLSX_DAY = "d mmm yyyy"
XLSX_MOMENT = "d mmm yyyy h:mm AM/PM"


def day(value: dt.date | dt.datetime | None, *, weekday: bool = False) -> str:
    """"5 Mar 2030", or "Tue 5 Mar 2030" with ``weekday``; "" for None."""
    if value is None or value == "":
        return ""
    text = f"{value.day} {value:%b %Y}"
    return f"{value:%a} {text}" if weekday else text


def clock(value: dt.datetime | dt.time | None) -> str:
    """"6:00 PM" (a datetime is shown in the zone it carries); "" for None."""
    if value is None or value == "":
        return ""
    hour = value.hour % 12 or 12
    return f"{hour}:{value.minute:02d} {'AM' if value.hour < 12 else 'PM'}"


def clock_span(start: dt.datetime | dt.time, end: dt.datetime | dt.time) -> str:
    """"6:00–8:00 PM" when both are in the same half of the day, else "11:30 AM–1:00 PM"."""
    first, last = clock(start), clock(end)
    if first[-2:] == last[-2:]:
        first = first[:-3]
    return f"{first}–{last}"


def moment(value: dt.datetime | None) -> str:
    """"Tue 5 Mar 2030, 6:00 PM" in the zone the value carries; "" for None."""
    if value is None or value == "":
        return ""
    return f"{day(value, weekday=True)}, {clock(value)}"


def number(value: Any) -> str:
    """At most two decimals, no trailing zeros, thousands separated: "1,250", "1.5", "0.25"."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return str(value)
    text = f"{amount:,.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def plural(word: str) -> str:
    """The English plural of a unit's name, for the units organisations use ("pass" → "passes",
    "hour" → "hours", "activity" → "activities"); a name of several words pluralises its first
    ("box of food" → "boxes of food")."""
    if not word:
        return word
    first, sep, rest = word.partition(" ")
    lower = first.lower()
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        first += "es"
    elif lower.endswith("y") and lower[-2:-1] not in {"a", "e", "i", "o", "u"}:
        first = first[:-1] + "ies"
    else:
        first += "s"
    return first + sep + rest


def quantity(value: Any, unit: Any = None) -> str:
    """"1 session", "2 sessions", "1.5 hours", "$25.00". ``unit`` is a ``UnitOfMeasure`` (or
    anything with ``name`` and ``code``) or a unit's name; without one, the number alone."""
    if value is None or value == "":
        return ""
    name = getattr(unit, "name", unit) or ""
    code = getattr(unit, "code", str(name)).lower()
    if code in MONEY_UNITS:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
        return f"{MONEY_UNITS[code]}{amount:,.2f}"
    text = number(value)
    if not name:
        return text
    name = str(name).lower()
    try:
        one = Decimal(str(value)) == 1
    except (InvalidOperation, ValueError):
        one = False
    return f"{text} {name if one else plural(name)}"
