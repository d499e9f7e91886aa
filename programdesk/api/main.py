"""The REST API (docs/api.md): one NinjaAPI, one router per area, every error as problem JSON."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.signals import got_request_exception
from django.db import DataError, IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.schema import OpenAPISchema

from programdesk.api import (
    disbursements,
    imports,
    me,
    offline,
    participation,
    people,
    programs,
    reference,
    reports,
    scheduling,
)
from programdesk.api.auth import SessionAuth, TokenAuth
from programdesk.api.openapi import add_problem_responses
from programdesk.api.parser import StrictParser
from programdesk.api.problems import problem_response, too_large_response
from programdesk.core.errors import DomainError

logger = logging.getLogger(__name__)


class ProgramDeskAPI(NinjaAPI):
    """Its OpenAPI document also declares the problem answers of every operation."""

    def get_openapi_schema(self, *, path_prefix: str | None = None,
                           path_params: dict[str, Any] | None = None) -> OpenAPISchema:
        document = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        add_problem_responses(document)
        return document


api = ProgramDeskAPI(
    title="Program Desk API",
    version="1",
    description=(
        "Programs, schedules, participation, attendance and benefit disbursements. "
        "Authenticate with `Authorization: Bearer <token>` (`manage.py token_create USER`) or "
        "the web session with CSRF. Every error is RFC 9457 problem JSON. Writes accept an "
        "`Idempotency-Key` header."
    ),
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api",
    parser=StrictParser(),
)

for prefix, module in [
    ("", me),
    ("", reference),
    ("", people),
    ("", programs),
    ("", scheduling),
    ("", participation),
    ("", disbursements),
    ("/reports", reports),
    ("", imports),
    ("", offline),
]:
    api.add_router(prefix, module.router)


def _validation_errors(exc: NinjaValidationError) -> list[dict[str, str]]:
    errors = []
    for err in exc.errors:
        loc = list(err.get("loc", ()))
        # ("body", "payload", "recurrence", "count") -> "recurrence.count";
        # ("query", "limit") -> "limit"
        if loc and loc[0] == "body":
            loc = loc[2:] if len(loc) > 1 else []
        elif loc and loc[0] in {"query", "path", "header", "cookie", "form"}:
            loc = loc[1:]
        field = ".".join(str(part) for part in loc) or "body"
        errors.append({"field": field, "message": str(err.get("msg", "Invalid value"))})
    return errors


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = _validation_errors(exc)
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem_response(422, title="Invalid input", detail=detail, errors=errors)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return problem_response(exc.status, title=exc.title, detail=exc.detail, errors=exc.errors,
                            **exc.extra)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    if getattr(request, "api_token_expired", False):
        response = problem_response(
            401, title="Unauthorized",
            detail="This API token has expired. Ask an administrator for a new one.")
        response["WWW-Authenticate"] = ('Bearer error="invalid_token", '
                                        'error_description="The token has expired"')
        return response
    response = problem_response(401, title="Unauthorized",
                                detail="Send 'Authorization: Bearer <token>' or log in.")
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, DomainError):
        # ninja answers 400 for anything the parser raises; StrictParser's refusals are field
        # errors and keep their own answer.
        return on_domain_error(request, exc.__cause__)
    return problem_response(exc.status_code, detail=str(exc))


@api.exception_handler(RequestDataTooBig)
def on_body_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    # ApiProblemMiddleware refuses a declared length over the limit first; this is the rest.
    return too_large_response(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)


@api.exception_handler(MultiPartParserError)
def on_bad_multipart(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    return problem_response(400, detail="The body is not valid multipart/form-data.")


@api.exception_handler(Http404)
def on_404(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response(404, title="Not found", detail="No such record, or not visible to you.")


@api.exception_handler(IntegrityError)
def on_integrity_error(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
    # Services turn the constraints they expect into domain errors; one that still reaches here
    # is a race the service lost — say so, never 500.
    logger.warning("integrity error reached the API: %s", type(exc).__name__)
    return problem_response(409, title="Conflict",
                            detail="The change conflicts with existing data; reload and retry.")


@api.exception_handler(DataError)
@api.exception_handler(OverflowError)
def on_data_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem_response(422, title="Invalid input",
                            detail="A value is out of range for the database.")


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("unexpected API error on %s %s", request.method, request.path)
    got_request_exception.send(sender=None, request=request)
    return problem_response(500, title="Internal Server Error",
                            detail="Something went wrong on our side; nothing was saved.")
