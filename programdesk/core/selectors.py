"""Reads of core configuration (status values), and ``filter_given``, the optional filters of
every list."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from programdesk.core.errors import Conflict, NotFound, ValidationError
from programdesk.core.models import StatusValue

M = TypeVar("M", bound=Model)


def filter_given(qs: QuerySet[M], **lookups: Any) -> QuerySet[M]:
    """``qs.filter(**lookups)`` without the lookups whose value is None: a list's optional
    filters (``program_id=None`` means "any program", not "no program")."""
    given = {lookup: value for lookup, value in lookups.items() if value is not None}
    return qs.filter(**given) if given else qs


def status_values(kind: str) -> list[StatusValue]:
    return list(StatusValue.objects.filter(kind=kind).order_by("order", "id"))


def status_default(kind: str) -> StatusValue:
    try:
        return StatusValue.objects.get(kind=kind, is_default=True)
    except StatusValue.DoesNotExist:  # pragma: no cover - the data migration ships one
        raise Conflict(f"No default {kind} status is configured") from None


def status_first_in_bucket(kind: str, bucket: str) -> StatusValue:
    """The first active value of a bucket (by order): e.g. "completed" for delivered."""
    value = (StatusValue.objects.filter(kind=kind, bucket=bucket, is_active=True)
             .order_by("order", "id").first())
    if value is None:
        raise Conflict(f"No active {kind} status in the {bucket} bucket is configured")
    return value


def status_by_code(kind: str, code: str, *, field: str = "status") -> StatusValue:
    """Resolve a status code from input; an unknown or retired code is a field error."""
    value = StatusValue.objects.filter(kind=kind, code=code).first()
    if value is None:
        known = ", ".join(StatusValue.objects.filter(kind=kind, is_active=True)
                          .values_list("code", flat=True))
        raise ValidationError.for_fields(
            {field: f"Unknown {kind} status '{code}'. Use one of: {known}."})
    if not value.is_active:
        raise ValidationError.for_fields({field: f"The status '{code}' is retired."})
    return value


def status_get(*, pk: int) -> StatusValue:
    try:
        return StatusValue.objects.get(pk=pk)
    except StatusValue.DoesNotExist:
        raise NotFound() from None
