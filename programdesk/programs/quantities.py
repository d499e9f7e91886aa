"""The quantity rule, in one place: how much of a benefit, in its unit (30 minutes of an
hourly benefit is 0.5). A quantity is a number from 0, with at most 2 decimals and up to 10
digits before the point — what ``quantity_field`` (a ``DECIMAL(12,2)``) holds. Benefits'
default quantities, schedules' quantities per session, disbursements and attendance sheets,
and imported rows are all checked here; the doors' form fields and API schemas say the same
to their users before a service sees the value."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from programdesk.core.errors import ValidationError

QUANTITY_MAX = Decimal("9999999999.99")


def check_quantity(quantity: Any, field_name: str = "quantity") -> Decimal:
    """The quantity as a Decimal, or a ValidationError at ``field_name``: non-negative, at
    most 2 decimals, within the column."""
    try:
        quantity = Decimal(quantity)
    except (ArithmeticError, ValueError, TypeError):
        raise ValidationError.for_fields({field_name: "Must be a number."}) from None
    if not quantity.is_finite():
        raise ValidationError.for_fields({field_name: "Must be a number."})
    if quantity < 0:
        raise ValidationError.for_fields({field_name: "Must not be negative."})
    # Size before decimals: quantize() raises InvalidOperation past 28 digits (1e30).
    if quantity > QUANTITY_MAX:
        raise ValidationError.for_fields({field_name: "Too large."})
    if quantity != quantity.quantize(Decimal("0.01")):
        raise ValidationError.for_fields({field_name: "At most 2 decimals."})
    return quantity
