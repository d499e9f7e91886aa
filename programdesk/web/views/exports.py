"""List downloads: /exports/people|enrollments|disbursements|sessions.csv|xlsx, with the list
pages' filters in the query string: program_id, benefit_id, cohort_id, schedule_id, person_id,
account_id, session_id (each also without "_id", as the list pages name them), from, to,
status, bucket, recipient_type, search (or q). What each means per list: reports/lists.py and
docs/reports.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.urls import path
from django.utils import timezone

from programdesk.core.errors import ValidationError
from programdesk.core.models import DISBURSEMENT_BUCKETS, ENROLLMENT_BUCKETS, User
from programdesk.core.params import parse_id
from programdesk.core.roles import Cap
from programdesk.reports.exports import FORMATS, Format
from programdesk.reports.lists import LISTS, ListFilter
from programdesk.scheduling.models import SessionStatus
from programdesk.web.downloads import download, filters_from_query
from programdesk.web.permissions import role_required

BUCKETS = {"enrollments": ENROLLMENT_BUCKETS, "people": ENROLLMENT_BUCKETS,
           "disbursements": DISBURSEMENT_BUCKETS, "sessions": []}


# The list pages name their filters without "_id" (program=3); both spellings work here so
# that a list page's own query string downloads what it shows.
ALIASES = {"program": "program_id", "benefit": "benefit_id", "cohort": "cohort_id",
           "schedule": "schedule_id", "person": "person_id", "account": "account_id",
           "session": "session_id", "q": "search"}
RECIPIENT_TYPES = ["enrollment", "walk_in", "anonymous"]


def _canonical(query: QueryDict) -> QueryDict:
    out = query.copy()
    for alias, name in ALIASES.items():
        if not out.get(name) and out.get(alias):
            out[name] = out.get(alias, "")
    return out


def _id(query: QueryDict, name: str) -> int | None:
    raw = (query.get(name) or "").strip()
    if not raw:
        return None
    pk = parse_id(raw)
    if pk is None:
        raise ValidationError.for_fields({name: "Not an id."})
    return pk


def _list_download(name: str, fmt: Format) -> Callable[..., HttpResponseBase]:
    # role_required is typed for HttpResponse; downloads stream (StreamingHttpResponse and
    # FileResponse are HttpResponseBase), which it passes through unchanged.
    @role_required(Cap.READ_RECORDS)
    def view(request: HttpRequest) -> HttpResponse:
        def build(user: User, raw: QueryDict) -> tuple[str, list[str], Any]:
            query = _canonical(raw)
            report, _ = filters_from_query(query, user)
            status = (query.get("status") or "").strip() or None
            bucket = (query.get("bucket") or "").strip() or None
            recipient_type = (query.get("recipient_type") or "").strip() or None
            if bucket and bucket not in BUCKETS[name]:
                raise ValidationError.for_fields({"bucket": (
                    f"One of {', '.join(BUCKETS[name])}." if BUCKETS[name]
                    else "Sessions have no buckets; use status.")})
            if name == "sessions" and status and status not in SessionStatus.values:
                raise ValidationError.for_fields(
                    {"status": f"One of {', '.join(SessionStatus.values)}."})
            if recipient_type and recipient_type not in RECIPIENT_TYPES:
                raise ValidationError.for_fields(
                    {"recipient_type": f"One of {', '.join(RECIPIENT_TYPES)}."})
            header, rows = LISTS[name](user=user, filters=ListFilter(
                report=report, status=status, bucket=bucket,
                search=(query.get("search") or "").strip()[:200] or None,
                person_id=_id(query, "person_id"), account_id=_id(query, "account_id"),
                session_id=_id(query, "session_id"), recipient_type=recipient_type))
            return f"{name}-{timezone.localdate().isoformat()}", header, rows

        return cast(HttpResponse, download(request, fmt, build))

    return view


urlpatterns = [
    path(f"exports/{name}.{fmt}", _list_download(name, fmt), name=f"exports-{name}-{fmt}")
    for name in LISTS for fmt in FORMATS
]
