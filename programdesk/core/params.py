"""Reading ids and numbers that pages take from query strings and hand-parsed forms.

A page's filter or form field that names an object by id goes through ``parse_id``: anything
that is not a whole number the database can hold (1 … 2**63 - 1) — text, "", "-1", "0", "1.5",
"²", a 25-digit number — is "no id". A filter then filters nothing (``?program=abc`` lists
everything, like ``?program=``), and a form names nobody (the view's "choose a …" error). This
is the one place that decides; views never call ``int()`` on request data themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import forms

from programdesk.core.scoping import MAX_ID

ID_DIGITS = len(str(MAX_ID))


def parse_id(raw: Any) -> int | None:
    """An id from a query string or a form value, or None when it cannot be one."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    else:
        text = str(raw if raw is not None else "").strip()
        # isascii: "²".isdigit() is true, but int("²") raises.
        if not text or len(text) > ID_DIGITS or not (text.isascii() and text.isdigit()):
            return None
        value = int(text)
    return value if 1 <= value <= MAX_ID else None


def query_id(params: Mapping[str, Any], name: str) -> int | None:
    """``parse_id(params[name])``: the optional id filter ``?name=<id>`` of a list page."""
    return parse_id(params.get(name))


def parse_ids(values: Iterable[Any]) -> list[int]:
    """The ids among ``values`` (``request.POST.getlist("person_ids")``); the rest dropped."""
    return [pk for pk in map(parse_id, values) if pk is not None]


def parse_int(raw: Any, *, default: int, minimum: int, maximum: int) -> int:
    """A small whole number (a count, an offset): ``default`` when missing or not a number,
    else kept within ``minimum`` … ``maximum``."""
    text = str(raw if raw is not None else "").strip()
    sign = -1 if text.startswith("-") else 1
    digits = text.removeprefix("-")
    if not digits or len(digits) > ID_DIGITS or not (digits.isascii() and digits.isdigit()):
        return default
    return max(minimum, min(maximum, sign * int(digits)))


class IdsChoiceField(forms.ModelMultipleChoiceField):
    """A ModelMultipleChoiceField that refuses values that cannot be ids before it asks the
    database (Django's own runs ``pk__in`` with them: OverflowError on SQLite)."""

    def clean(self, value: Any) -> Any:
        for pk in value if isinstance(value, list | tuple) else []:
            if parse_id(pk) is None:
                raise forms.ValidationError(self.error_messages["invalid_pk_value"],
                                            code="invalid_pk_value", params={"pk": pk})
        return super().clean(value)
