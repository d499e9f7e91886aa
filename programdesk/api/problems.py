"""RFC 9457 problem details: the one shape of every error under /api/v1."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from django.http import HttpResponse

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem_response(status: int, *, detail: str = "", title: str | None = None,
                     errors: Iterable[Mapping[str, str]] | None = None,
                     type_: str = "about:blank", **extra: Any) -> HttpResponse:
    try:
        default_title = HTTPStatus(status).phrase
    except ValueError:
        default_title = "Error"
    body: dict[str, Any] = {
        "type": type_,
        "title": title or default_title,
        "status": status,
        "detail": detail or title or default_title,
        "errors": [dict(e) for e in (errors or [])],
    }
    body.update(extra)
    return HttpResponse(json.dumps(body, default=str), status=status,
                        content_type=PROBLEM_CONTENT_TYPE)


def field_path(loc: Iterable[Any], *, skip: int = 0) -> str:
    return ".".join(str(part) for part in list(loc)[skip:])


def size_text(size: int) -> str:
    """10485760 -> "10 MB"; sizes that are no whole number of MB in bytes."""
    megabytes = size / 2**20
    return f"{megabytes:g} MB" if megabytes >= 1 and megabytes.is_integer() else f"{size:,} bytes"


def too_large_response(limit: int, *, what: str = "The request body") -> HttpResponse:
    return problem_response(413, title="Content too large",
                            detail=f"{what} is larger than the limit of {size_text(limit)}.")
