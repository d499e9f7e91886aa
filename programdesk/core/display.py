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

The front desk's pages (kiosk, check-in, attendance sheet, walk-ins) are shown in the language
chosen at the kiosk; these helpers follow the active language (``HOUSE_FORMATS``): in Spanish
"5 mar 2030", "martes 5 mar 2030", "6:00 p. m.". Everywhere else the active language is
English. Unit names are the organisation's own words and are shown as entered.

Files for machines keep their own formats: the API and CSV cells use ISO 8601 dates and plain
numbers, XLSX cells are real dates and numbers (shown in the house format by Excel).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import get_language


@dataclass(frozen=True)
class HouseFormat:
    """How one language writes the house format's days, times and numbers."""

    months: tuple[str, ...]  # short month names, January first
    weekdays: tuple[str, ...]  # weekday names, Monday first
    am: str
    pm: str
    decimal: str = "."
    thousands: str = ","


HOUSE_FORMATS = {
    "en": HouseFormat(
        months=("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                "Dec"),
        weekdays=("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), am="AM", pm="PM"),
    # Spanish as the front desks we serve read it (the United States, Mexico, Central America):
    # full weekday names (their short forms are ambiguous: "mar" is Tuesday and March), a
    # decimal point and thousands commas as on their money and receipts.
    "es": HouseFormat(
        months=("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov",
                "dic"),
        weekdays=("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
        am="a. m.", pm="p. m."),
}


def house_format() -> HouseFormat:
    """The active language's format; English for a language without one."""
    language = (get_language() or "en").split("-")[0].lower()
    return HOUSE_FORMATS.get(language, HOUSE_FORMATS["en"])


MONEY_UNITS = {"usd": "$"}
# Excel's number format for the house day (XLSX date cells are real dates shown this way).
XLSX_DAY = "d mmm yyyy"
XLSX_MOMENT = "d mmm yyyy h:mm AM/PM"


def day(value: dt.date | dt.datetime | None, *, weekday: bool = False) -> str:
    """"5 Mar 2030", or "Tue 5 Mar 2030" with ``weekday``; "" for None."""
    if value is None or value == "":
        return ""
    house = house_format()
    text = f"{value.day} {house.months[value.month - 1]} {value.year}"
    return f"{house.weekdays[value.weekday()]} {text}" if weekday else text


def clock(value: dt.datetime | dt.time | None) -> str:
    """"6:00 PM" (a datetime is shown in the zone it carries); "" for None."""
    if value is None or value == "":
        return ""
    house = house_format()
    hour = value.hour % 12 or 12
    return f"{hour}:{value.minute:02d} {house.am if value.hour < 12 else house.pm}"


def clock_span(start: dt.datetime | dt.time, end: dt.datetime | dt.time) -> str:
    """"6:00–8:00 PM" when both are in the same half of the day, else "11:30 AM–1:00 PM"."""
    first, last = clock(start), clock(end)
    house = house_format()
    for half in (house.am, house.pm):
        if first.endswith(f" {half}") and last.endswith(f" {half}"):
            first = first.removesuffix(f" {half}")
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
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return _separators(text)


def _separators(text: str) -> str:
    """A number written with "," and "." in the active language's separators."""
    house = house_format()
    if (house.thousands, house.decimal) == (",", "."):
        return text
    table: dict[str, str | int | None] = {",": house.thousands, ".": house.decimal}
    return text.translate(str.maketrans(table))


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
        return f"{MONEY_UNITS[code]}{_separators(f'{amount:,.2f}')}"
    text = number(value)
    if not name:
        return text
    name = str(name).lower()
    try:
        one = Decimal(str(value)) == 1
    except (InvalidOperation, ValueError):
        one = False
    return f"{text} {name if one else plural(name)}"
