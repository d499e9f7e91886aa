"""List downloads: /exports/people|enrollments|disbursements|sessions.csv|xlsx, with the list
pages' filters in the query string: program_id, benefit_id, cohort_id, schedule_id, person_id,
account_id, session_id (each also without "_id", as the list pages name them), from, to,
status, bucket, recipient_type, search (or q). What each means per list: reports/lists.py and
docs/reports.md.

A list of more than ``PROGRAMDESK_EXPORT_TASK_ROWS`` rows is written by a task instead
(reports/export_jobs.py): the download redirects to the export's page (/exports/jobs/<id>/),
which shows its progress and then the link to the file — for the user who asked only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    QueryDict,
)
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET

from programdesk.core.db_router import replica_reads
from programdesk.core.errors import NotFound, ValidationError
from programdesk.core.models import DISBURSEMENT_BUCKETS, ENROLLMENT_BUCKETS, User
from programdesk.core.params import parse_id
from programdesk.core.roles import Cap
from programdesk.reports import export_jobs
from programdesk.reports.exports import (
    FORMATS,
    XLSX_CONTENT_TYPE,
    Format,
    export_response,
)
from programdesk.reports.lists import LISTS, ListFilter
from programdesk.reports.models import ExportJob
from programdesk.scheduling.models import SessionStatus
from programdesk.web.downloads import bad_filter, filters_from_query, headers_from_query
from programdesk.web.permissions import page_user, role_required

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


def _list_filter(name: str, user: User, raw: QueryDict) -> ListFilter:
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
    return ListFilter(
        report=report, status=status, bucket=bucket,
        search=(query.get("search") or "").strip()[:200] or None,
        person_id=_id(query, "person_id"), account_id=_id(query, "account_id"),
        session_id=_id(query, "session_id"), recipient_type=recipient_type)


def _list_download(name: str, fmt: Format) -> Callable[..., HttpResponseBase]:
    # role_required is typed for HttpResponse; downloads stream (StreamingHttpResponse and
    # FileResponse are HttpResponseBase), which it passes through unchanged.
    @role_required(Cap.READ_RECORDS)
    def view(request: HttpRequest) -> HttpResponse:
        """The file at once; a large one (more than PROGRAMDESK_EXPORT_TASK_ROWS rows) by a
        task: a redirect to its page. Bad filters answer 400 with the reason, filters naming
        what the user can't see 404."""
        user = page_user(request)
        filename = f"{name}-{timezone.localdate().isoformat()}"
        headers = headers_from_query(request.GET)
        if headers is None:
            return bad_filter("headers is human or machine.")
        # Lists are read from the replica, when there is one (core/db_router.py).
        with replica_reads():
            try:
                filters = _list_filter(name, user, request.GET)
            except NotFound:
                raise Http404("No such record, or not visible to you.") from None
            except ValidationError as exc:
                return bad_filter(exc.detail)
            header, rows = LISTS[name](user=user, filters=filters)
            if not export_jobs.export_task_needed(rows):
                return cast(HttpResponse, export_response(fmt, filename=filename,
                                                          header=header, rows=rows,
                                                          headers=headers))
        job = export_jobs.export_job_create(actor=user, name=name, fmt=fmt, filters=filters,
                                            filename=filename,
                                            headers=headers)
        return redirect(f"/exports/jobs/{job.pk}/")

    return view


def _export_job(request: HttpRequest, pk: int) -> ExportJob:
    try:
        job = export_jobs.export_job_get(user=page_user(request), pk=pk)
    except NotFound:
        raise Http404 from None
    return export_jobs.export_job_fail_if_worker_lost(job=job)


def _progress(job: ExportJob) -> dict[str, Any]:
    total, done = job.row_count, job.progress_done
    return {"done": done, "total": total,
            "percent": min(100, round(100 * done / total)) if total else 0}


@require_GET
@role_required(Cap.READ_RECORDS)
def export_job_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A large export: its progress while a task writes it, then the link to the file (until
    it expires)."""
    job = _export_job(request, pk)
    return render(request, "web/exports/job.html", {
        "job": job, "active": job.status in export_jobs.ACTIVE, "progress": _progress(job),
        "ready": export_jobs.export_file(job) is not None})


@require_GET
@role_required(Cap.READ_RECORDS)
def export_job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress panel, polled by htmx; once the export has ended the page reloads."""
    job = _export_job(request, pk)
    if job.status not in export_jobs.ACTIVE:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "web/exports/_progress.html",
                  {"job": job, "progress": _progress(job)})


@require_GET
@role_required(Cap.READ_RECORDS)
def export_job_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The finished file, to the user who asked for it, until it expires."""
    job = _export_job(request, pk)
    path = export_jobs.export_file(job)
    if path is None:
        raise Http404("This export is not ready, or has expired.")
    content_type = ("text/csv; charset=utf-8" if job.format == "csv" else XLSX_CONTENT_TYPE)
    response = FileResponse(path.open("rb"), as_attachment=True,
                            filename=f"{job.filename}.{job.format}", content_type=content_type)
    response["Cache-Control"] = "no-store"  # personal data: not for shared caches
    return cast(HttpResponse, response)


urlpatterns = [
    *(path(f"exports/{name}.{fmt}", _list_download(name, fmt), name=f"exports-{name}-{fmt}")
      for name in LISTS for fmt in FORMATS),
    path("exports/jobs/<int:pk>/", export_job_page, name="export-job"),
    path("exports/jobs/<int:pk>/progress/", export_job_progress, name="export-job-progress"),
    path("exports/jobs/<int:pk>/download", export_job_download, name="export-job-download"),
]
