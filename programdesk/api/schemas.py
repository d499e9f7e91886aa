"""Types shared by the API's schemas."""

from __future__ import annotations

import datetime as dt
import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from ninja import Schema
from pydantic import BeforeValidator, Field, PlainSerializer, StrictBool, WithJsonSchema

from programdesk.core.scoping import MAX_ID

# An id in a request body: a positive integer the database can hold (larger is a 422).
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

# A number as JSON or Python write it, exponent included ("8.64e4", "-3.2e-110", ".5e1").
_NUMBER = re.compile(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*")


def _iso_only(value: Any) -> Any:
    """Dates and datetimes are ISO 8601 text (docs/api.md). Pydantic would also take a number, or a
    string of digits, as seconds since 1970: `"birth_date": 0` would become 1970-01-01."""
    if isinstance(value, (int, float, Decimal)) or (
            isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("Give an ISO 8601 date (2026-03-02) or date and time, not a number")
    return value


Date = Annotated[dt.date, BeforeValidator(_iso_only)]
DateTime = Annotated[dt.datetime, BeforeValidator(_iso_only)]

# Money and quantities: at most 12 digits, 2 of them decimals (the database's columns). The
# bound is in the document too, where max_digits cannot be said.
MAX_AMOUNT = Decimal("9999999999.99")
AMOUNT_SCHEMA = {"type": "number", "minimum": 0, "maximum": float(MAX_AMOUNT), "multipleOf": 0.01,
                 "description": "At most 2 decimals"}


def _number_only(value: Any) -> Any:
    if isinstance(value, (str, bool)):
        raise ValueError("Give a JSON number, not text or true/false")
    return value


Amount = Annotated[Decimal, BeforeValidator(_number_only),
                   Field(ge=0, le=MAX_AMOUNT, max_digits=12, decimal_places=2),
                   WithJsonSchema(AMOUNT_SCHEMA)]

# Quantities are JSON numbers with at most 2 decimals, never strings.
Quantity = Annotated[
    Decimal,
    BeforeValidator(_number_only),
    Field(ge=0, le=MAX_AMOUNT, max_digits=12, decimal_places=2),
    WithJsonSchema(AMOUNT_SCHEMA),
    PlainSerializer(float, return_type=float, when_used="always"),
]
QuantityOut = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="always")]


# An email address, or "" for none. The server checks it with Django's validator; the
# document gives its outline (one @, no spaces), which every address Django takes fits.
Email = Annotated[str, Field(max_length=254), WithJsonSchema({
    "type": "string", "maxLength": 254, "pattern": r"^([^@\s]+@[^@\s]+)?$",
    "description": "An email address, or empty for none"})]

# A JSON true or false in a body (pydantic would also take 0, 1, "yes" or "off").
Bool = StrictBool


def not_null(schema: dict[str, Any]) -> None:
    """`Field(None, json_schema_extra=not_null)`: in a PATCH body, a field that may be left out
    but not set to null (the handler refuses null with a 422 naming the field). The document
    says so: no null among its types, and no default."""
    branches = [b for b in schema.pop("anyOf", []) if b.get("type") != "null"]
    if len(branches) == 1:
        schema.update(branches[0])
    elif branches:
        schema["anyOf"] = branches
    schema.pop("default", None)


class Warning(Schema):
    code: str
    message: str


class DisbursementOut(Schema):
    """docs/api.md's disbursement resource."""

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
    household_id: int | None = Field(
        None, description="The recipient's household on disbursed_on (recorded with the "
                          "disbursement, never changed afterwards)")
    household_size: int | None = Field(
        None, description="That household's size on disbursed_on: its members then plus its "
                          "declared members")

    @staticmethod
    def resolve_unit(obj: Any) -> str:
        return obj.unit.code

    @staticmethod
    def resolve_status(obj: Any) -> str:
        return obj.status.code
