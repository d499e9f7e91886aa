"""The API's request parser: what every body and query string must be before any schema reads it.

Checked here once, for every operation, rather than in each schema:

- a JSON body is an object (ninja's schemas read an array, a string or ``null`` as an object
  with no fields: a PATCH with such a body changed nothing and answered 200);
- no text holds a NUL character (PostgreSQL cannot store one and SQLite would keep it; a
  NUL is never part of a name, a note or a search).

A refusal is a ``ValidationError`` naming the field; ninja wraps whatever the parser raises in
a 400, which ``main.on_http_error`` unwraps again.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from ninja.parser import Parser

from programdesk.core.errors import ValidationError

NUL = "\x00"
NUL_MESSAGE = "Text may not contain a NUL character (\\u0000)."


def nul_path(value: Any, path: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    """The path to the first string (value or key) holding a NUL, or None."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if NUL in key:
                return (*path, key.replace(NUL, ""))
            found = nul_path(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_path(item, (*path, str(index)))
            if found is not None:
                return found
    return None


def _refuse_nul(data: Any) -> None:
    path = nul_path(data)
    if path is not None:
        raise ValidationError.for_fields({".".join(path) or "body": NUL_MESSAGE})


def _json_kind(data: Any) -> str:
    if data is None:
        return "null"
    if isinstance(data, bool):
        return "true or false"
    if isinstance(data, list):
        return "an array"
    return "a string" if isinstance(data, str) else "a number"


class StrictParser(Parser):
    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = json.loads(request.body)
        if not isinstance(data, dict):
            raise ValidationError.for_fields(
                {"body": f"Send a JSON object ({{...}}), not {_json_kind(data)}."})
        _refuse_nul(data)
        return data

    def parse_querydict(self, data: MultiValueDict, list_fields: list[str],
                        request: HttpRequest) -> dict[str, Any]:
        result = super().parse_querydict(data, list_fields, request)
        _refuse_nul(result)  # query strings and form fields (files are not text)
        return result
