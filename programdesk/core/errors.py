"""Domain errors. Services raise these; each door (page, API, import, command line)
maps them once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class DomainError(Exception):
    status = 400
    title = "Bad request"
    type = "about:blank"

    def __init__(self, detail: str = "", *, errors: Iterable[Mapping[str, str]] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors: list[dict[str, str]] = [dict(e) for e in (errors or [])]
        self.extra = extra


class ValidationError(DomainError):
    """Invalid field values. ``errors`` lists ``{"field", "message"}`` with dotted field paths."""

    status = 422
    title = "Invalid input"

    @classmethod
    def for_fields(cls, fields: Mapping[str, str], detail: str = "") -> ValidationError:
        errors = [{"field": field, "message": message} for field, message in fields.items()]
        if not detail:
            detail = "; ".join(f"{e['field']}: {e['message']}" if e["field"] else e["message"]
                               for e in errors)
        return cls(detail, errors=errors)

    def message_for(self, field: str) -> str | None:
        return next((e["message"] for e in self.errors if e["field"] == field), None)


class TooLarge(DomainError):
    """The request body (or an uploaded file) is over a size limit (413); the detail says it."""

    status = 413
    title = "Content too large"


class Conflict(DomainError):
    """The request is fine but clashes with existing data (409)."""

    status = 409
    title = "Conflict"


class NotAllowed(DomainError):
    """The user's role lacks the right (403)."""

    status = 403
    title = "Forbidden"


class NotFound(DomainError):
    """Missing, or not visible to this user (404 — we never confirm that hidden records exist)."""

    status = 404
    title = "Not found"
