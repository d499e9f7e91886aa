"""Types shared by the API's schemas."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from ninja import Schema
from pydantic import Field, PlainSerializer

from programdesk.core.scoping import MAX_ID

# An id in a request body: a positive integer the database can hold (larger is a 422).
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

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
