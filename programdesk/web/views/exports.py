"""List downloads: /exports/people|enrollments|disbursements|sessions.csv|xlsx, with the list
pages' filters in the query string (program_id, benefit_id, cohort_id, schedule_id, from, to,
status, bucket, search or q). What each filter means per list: reports/lists.py, docs/reports.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.urls import path
from django.utils import timezone

from programdesk.core.errors import ValidationError
from programdesk.core.models import DISBURSEMENT_BUCKETS, ENROLLMENT_BUCKETS, User
from programdesk.core.roles import Cap
from programdesk.reports.exports import FORMATS, Format
from programdesk.reports.lists import LISTS, ListFilter
from programdesk.scheduling.models import SessionStatus
from programdesk.web.permissions import role_required
from programdesk.web.views.reports import download, filters_from_query

BUCKETS = {"enrollments": ENROLLMENT_BUCKETS, "people": ENROLLMENT_BUCKETS,
           "disbursements": DISBURSEMENT_BUCKETS, "sessions": []}


def _list_download(name: str, fmt: Format) -> Callable[..., HttpResponseBase]:
    # role_required is typed for HttpResponse; downloads stream (StreamingHttpResponse and
    # FileResponse are HttpResponseBase), which it passes through unchanged.
    @role_required(Cap.READ_RECORDS)
    def view(request: HttpRequest) -> HttpResponse:
        def build(user: User, query: QueryDict) -> tuple[str, list[str], Any]:
            report, _ = filters_from_query(query, user)
            status = (query.get("status") or "").strip() or None
            bucket = (query.get("bucket") or "").strip() or None
            if bucket and bucket not in BUCKETS[name]:
                raise ValidationError.for_fields({"bucket": (
                    f"One of {', '.join(BUCKETS[name])}." if BUCKETS[name]
                    else "Sessions have no buckets; use status.")})
            if name == "sessions" and status and status not in SessionStatus.values:
                raise ValidationError.for_fields(
                    {"status": f"One of {', '.join(SessionStatus.values)}."})
            # ``q`` is what the list pages call their search box.
            search = (query.get("search") or query.get("q") or "").strip()[:200] or None
            header, rows = LISTS[name](user=user, filters=ListFilter(
                report=report, status=status, bucket=bucket, search=search))
            return f"{name}-{timezone.localdate().isoformat()}", header, rows

        return cast(HttpResponse, download(request, fmt, build))

    return view


urlpatterns = [
    path(f"exports/{name}.{fmt}", _list_download(name, fmt), name=f"exports-{name}-{fmt}")
    for name in LISTS for fmt in FORMATS
]
