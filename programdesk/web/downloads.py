"""Report and list downloads (CSV, XLSX): the filters of a download's query string, checked
like the API's, and the streamed file. The report pages (``views/reports.py``) and the list
downloads (``views/exports.py``) both serve files through ``download``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, cast

from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict

from programdesk.core.db_router import replica_reads
from programdesk.core.errors import ValidationError
from programdesk.core.models import User
from programdesk.core.params import parse_id
from programdesk.reports import filtering
from programdesk.reports.exports import HEADERS, Format, Headers, export_response
from programdesk.reports.filtering import ReportFilter
from programdesk.web.permissions import page_user


def _download_options(query: QueryDict, defaults: dict[str, Any], errors: dict[str, str]
                      ) -> dict[str, Any]:
    """A report's own options (``min_times``, ``days``...) from the query string, else their
    defaults; a bad number goes to ``errors``."""
    options: dict[str, Any] = {}
    for name, default in defaults.items():
        raw = query.get(name) or None
        if raw is None:
            options[name] = default
        elif isinstance(default, int):
            try:
                options[name] = int(raw)
                if not 1 <= options[name] <= 3660:
                    raise ValueError
            except ValueError:
                errors[name] = "Not a number between 1 and 3660."
        else:
            options[name] = raw
    return options


def filters_from_query(query: QueryDict, user: User, *, extra: dict[str, Any] | None = None,
                       ) -> tuple[ReportFilter, dict[str, Any]]:
    """Filters from a download's query string, checked like the API's: an object the user
    can't see is a 404, other bad values a 400 naming the parameter."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in ("program_id", "benefit_id", "cohort_id", "schedule_id"):
        raw = query.get(name) or None
        if raw is not None:
            values[name] = parse_id(raw)
            if values[name] is None:
                errors[name] = "Not an id."
    for name in ("from", "to"):
        raw = query.get(name) or None
        if raw is not None:
            try:
                values[name] = dt.date.fromisoformat(raw)
            except ValueError:
                errors[name] = "Not a date (YYYY-MM-DD)."
    options = _download_options(query, extra or {}, errors)
    if errors:
        raise ValidationError.for_fields(errors)
    filters = filtering.report_filter(user=user, program_id=values.get("program_id"),
                                      benefit_id=values.get("benefit_id"),
                                      cohort_id=values.get("cohort_id"),
                                      schedule_id=values.get("schedule_id"),
                                      date_from=values.get("from"), date_to=values.get("to"))
    return filters, options


def headers_from_query(query: QueryDict) -> Headers | None:
    """A download's column names: human (the default, for people) or machine keys
    (``?headers=machine``, for integrations: docs/reports.md); None when neither."""
    headers = query.get("headers") or "human"
    return cast(Headers, headers) if headers in HEADERS else None


def bad_filter(reason: str) -> HttpResponse:
    """A download's answer to a bad query string: 400, the reason in plain text."""
    return HttpResponse(f"Bad filter: {reason}\n", status=400,
                        content_type="text/plain; charset=utf-8")


def download(request: HttpRequest, fmt: Format,
             build: Callable[[User, QueryDict], tuple[str, list[str], Any]]) -> HttpResponseBase:
    """Run ``build`` (→ file name, header, rows) and send the file; bad filters answer 400 with
    the reason, filters naming what the user can't see 404. Columns have human names;
    ``?headers=machine`` gives the machine keys, for integrations (docs/reports.md)."""
    user = page_user(request)
    headers = headers_from_query(request.GET)
    if headers is None:
        return bad_filter("headers is human or machine.")
    # Reports and lists are read from the replica, when there is one (core/db_router.py).
    with replica_reads():
        try:
            filename, header, rows = build(user, request.GET)
        except ValidationError as exc:
            return bad_filter(exc.detail)
        return export_response(fmt, filename=filename, header=header, rows=rows,
                               headers=headers)
