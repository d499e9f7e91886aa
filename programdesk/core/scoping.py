"""Program scoping: a user limited to some programs sees only those programs and what belongs to
them; anything else is "not found" (never "forbidden", which would confirm it exists)."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from programdesk.core.errors import NotFound
from programdesk.core.models import User

M = TypeVar("M", bound=Model)

MAX_ID = 2**63 - 1


def visible(qs: QuerySet[M], user: User, program_field: str = "program_id") -> QuerySet[M]:
    """``qs`` limited to the user's programs (unchanged for users who see every program)."""
    ids = user.visible_program_ids()
    if ids is None:
        return qs
    return qs.filter(**{f"{program_field}__in": ids})


def id_or_404(pk: Any) -> int:
    """``pk`` as an id the database can hold, else NotFound (``/people/-1``, 2**70, "x")."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None
    if not 1 <= pk <= MAX_ID:
        raise NotFound()
    return pk


def visible_or_404(qs: QuerySet[M], pk: Any) -> M:
    """The object with this id in ``qs`` — already limited to what the user may see (``visible``
    or an area's ``*_visible`` selector) — else NotFound, which the API answers as 404 and the
    pages as their 404 page (``web.permissions.role_required``).

    Ids outside what the database can hold (``/people/-1``, 2**70) are simply not found.
    """
    obj = qs.filter(pk=id_or_404(pk)).first()
    if obj is None:
        raise NotFound()
    return obj


def visible_config(qs: QuerySet[M], user: User) -> QuerySet[M]:
    """Configuration that may belong to a program or a benefit (custom fields, eligibility
    rules): the global ones and those of the user's programs."""
    from django.db.models import Q

    ids = user.visible_program_ids()
    if ids is None:
        return qs
    return qs.filter(Q(program_id__in=ids) | Q(benefit__program_id__in=ids)
                     | Q(program__isnull=True, benefit__isnull=True))


def check_program_visible(user: User, program_id: int) -> None:
    ids = user.visible_program_ids()
    if ids is not None and program_id not in ids:
        raise NotFound()


def get_for_field(qs: QuerySet[M], pk: int | None, field: str) -> M | None:
    """The object a request body names by id (``qs`` already scoped to the user), ``None``
    when no id was given, or a field error (422) when it is unknown or not visible."""
    from programdesk.core.errors import ValidationError

    if pk is None:
        return None
    obj = qs.filter(pk=pk).first() if 1 <= pk <= MAX_ID else None
    if obj is None:
        raise ValidationError.for_fields({field: f"Unknown id {pk}."})
    return obj
