"""Reading a file's cells as values: dates, numbers, ids, names and status values.

A cell that cannot be read raises ``UnreadableValue`` with a message for the user; the planning
modules turn it into that row's error and go on checking the row's other cells."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from programdesk.core.errors import Conflict
from programdesk.core.models import StatusValue
from programdesk.people.selectors import parse_date_loose

_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_TIME_PART = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")


class UnreadableValue(ValueError):
    """A value that cannot be read; the message is for the user."""


@functools.lru_cache(maxsize=65536)  # dates repeat (birth dates, session dates)
def read_date(text: str) -> dt.date:
    """ISO (2026-03-02), US (3/2/2026), or either with a time after it (as spreadsheets
    export dates: 3/2/2026 0:00)."""
    value = parse_date_loose(text)
    # The date of a date and time. Not text[:10]: Excel writes "3/2/2026 0:00".
    found = _TIME_PART.search(text.strip()) if value is None else None
    if found:
        value = parse_date_loose(text.strip()[:found.start()])
    if value is None:
        raise UnreadableValue(f"'{text}' is not a date: use YYYY-MM-DD or M/D/YYYY.")
    return value


def read_decimal(text: str) -> Decimal:
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise UnreadableValue(f"'{text}' is not a number.") from None
    if not value.is_finite():
        raise UnreadableValue(f"'{text}' is not a number.")
    return value


def read_int(text: str) -> int:
    value = read_decimal(text)
    if value != value.to_integral_value():
        raise UnreadableValue(f"'{text}' is not a whole number.")
    # Before int(): "1e999999999" would build a number of a billion digits (minutes of CPU).
    if value and value.adjusted() >= 18:
        raise UnreadableValue(f"'{text}' is too large a number.")
    return int(value)


def read_id(text: str) -> int | None:
    """A number that may be a record's id, else None (names win: see ``NamedRecords``)."""
    return int(text) if text.isdigit() and len(text) < 19 else None


def name_key(text: str) -> str:
    """Names compared without case and extra spaces."""
    return " ".join(text.split()).lower()


class NamedRecords:
    """Records found by name (case-insensitive) or, for a number that is no record's name,
    by id. ``rows``: (id, name, *other values)."""

    def __init__(self, rows: Iterable[tuple[Any, ...]]) -> None:
        self.by_id: dict[int, tuple[Any, ...]] = {}
        self.by_name: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for row in rows:
            self.by_id[row[0]] = row
            self.by_name[name_key(row[1])].append(row)

    def find(self, text: str) -> list[tuple[Any, ...]]:
        found = self.by_name.get(name_key(text))
        if found:
            return found
        pk = read_id(text)
        return [self.by_id[pk]] if pk is not None and pk in self.by_id else []


class StatusWords:
    """A kind's status values by code or label, case-insensitively (one query)."""

    def __init__(self, kind: str) -> None:
        self.values = list(StatusValue.objects.filter(kind=kind).order_by("order", "id"))
        self.kind = kind
        self.by_word: dict[str, StatusValue] = {}
        for value in self.values:  # codes win over labels
            self.by_word.setdefault(value.label.strip().lower(), value)
        for value in self.values:
            self.by_word[value.code.lower()] = value

    def first_in_bucket(self, bucket: str) -> StatusValue:
        """As ``core.selectors.status_first_in_bucket``, without a query."""
        for value in self.values:
            if value.bucket == bucket and value.is_active:
                return value
        raise Conflict(f"No active {self.kind} status in the {bucket} bucket is configured")

    def read(self, text: str) -> StatusValue:
        value = self.by_word.get(text.strip().lower())
        if value is None:
            known = ", ".join(v.code for v in self.values if v.is_active)
            raise UnreadableValue(f"Unknown {self.kind} status '{text}'. Use one of: {known}.")
        if not value.is_active:
            raise UnreadableValue(f"The status '{value.code}' is retired.")
        return value
