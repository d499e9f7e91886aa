"""Types shared by the API's schemas."""

from __future__ import annotations

import datetime as dt
import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from ninja import Schema
from pydantic import BeforeValidator, Field, PlainSerializer

from programdesk.core.scoping import MAX_ID

# An id in a request body: a positive integer the database can hold (larger is a 422).
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

# A number as JSON or Python write it, exponent included ("8.64e4", "-3.2e-110", ".5e1").
_NUMBER = re.compile(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*")


def _iso_only(value: Any) -> Any:
    """Dates and datetimes are ISO 8601 text (API.md). Pydantic would also take a number, or a
    string of digits, as seconds since 1970: `"birth_date": 0` would become 1970-01-01."""
    if isinstance(value, (int, float, Decimal)) or (
            isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("Give an ISO 8601 date (2026-03-02) or date and time, not a number")
    return value


Date = Annotated[dt.date, BeforeValidator(_iso_only)]
DateTime = Annotated[dt.datetime, BeforeValidator(_iso_only)]

# Quantities are JSON numbers with at most 2 decimals, never strings.
Quantity = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2),
    PlainSerializer(float, return_type=float, when_used="always"),
]
QuantityOut = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="always")]


class Warning(Schema):
    code: str
    message: str


class DisbursementOut(Schema):
    """API.md's disbursement resource."""

    id: int
    assignment_id: int
    enrollment_id: int
    benefit_id: int
    program_id: int
    session_id: int | None
    person_id: int | None
    account_id: int | None
    case_id: int | None
    recipient_type: str
    recipient_count: int
    quantity: QuantityOut
    unit: str
    status: str
    disbursed_on: date
    extra: dict[str, Any]

    @staticmethod
    def resolve_unit(obj: Any) -> str:
        return obj.unit.code

    @staticmethod
    def resolve_status(obj: Any) -> str:
        return obj.status.code
