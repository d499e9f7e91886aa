"""Pages: import a CSV or XLSX file — upload, map the columns, check (dry run, every error
listed), import (all or nothing), with the progress of long imports shown while they run."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET

from programdesk.core.errors import Conflict, DomainError, NotAllowed, NotFound, ValidationError
from programdesk.core.models import User
from programdesk.core.roles import Cap
from programdesk.imports import fields, jobs, selectors
from programdesk.imports.models import ImportJob, JobStatus
from programdesk.imports.parsers import MAX_BYTES, MAX_ROWS
from programdesk.imports.results import SUMMARY_LABELS
from programdesk.reports.exports import escape_cell
from programdesk.web.permissions import page_user, role_required

ERRORS_SHOWN = 500


def _kinds(user: User) -> list[tuple[str, str]]:
    return [(k.value, k.label) for k in fields.ImportKind if user.can(fields.KIND_CAP[k.value])]


def _job(request: HttpRequest, pk: int) -> ImportJob:
    try:
        job = selectors.import_job_get(user=page_user(request), pk=pk)
    except NotFound:
        raise Http404 from None
    return jobs.import_job_fail_if_worker_lost(job=job)


def _show(request: HttpRequest, exc: DomainError) -> None:
    if isinstance(exc, ValidationError) and exc.errors:
        for error in exc.errors:
            messages.error(request, error["message"])
    else:
        messages.error(request, exc.detail)


@role_required(Cap.WRITE_RECORDS)
def import_start(request: HttpRequest) -> HttpResponse:
    """Choose what the file holds and upload it. The request stores the file and queues
    reading it; the job's page shows the reading, then the columns."""
    user = page_user(request)
    kinds = _kinds(user)
    kind = request.POST.get("kind") or request.GET.get("kind") or kinds[0][0]
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > MAX_BYTES + 1024 * 1024 or (upload is not None and upload.size
                                                 and upload.size > MAX_BYTES):
            error = (f"The file is larger than {MAX_BYTES // 2**20} MB, the most that can be "
                     "imported at once. Split it into smaller files.")
        elif upload is None:
            error = "Choose a CSV or XLSX file."
        else:
            try:
                job = jobs.import_job_create(actor=user, kind=kind, filename=upload.name or "",
                                             data=upload.read(MAX_BYTES + 1))
            except ValidationError as exc:
                error = " ".join(e["message"] for e in exc.errors) or exc.detail
            except NotAllowed as exc:
                error = exc.detail
            else:
                return redirect(f"/imports/{job.pk}/")
    return render(request, "web/imports/start.html", {
        "kinds": kinds, "kind": kind, "error": error, "jobs": selectors.import_jobs_for(user=user),
        "max_mb": MAX_BYTES // 2**20, "max_rows": MAX_ROWS,
        "kind_fields": [(k, label, fields.FIELDS[k]) for k, label in kinds]},
        status=400 if error else 200)


def _columns(job: ImportJob, mapping: list[str]) -> list[dict[str, Any]]:
    """Each column with a few sample values (kept when the file was read) and its field, for
    the mapping form."""
    samples = list(job.samples) + [[] for _ in range(len(job.headers) - len(job.samples))]
    return [{"index": i, "header": header, "field": mapping[i] if i < len(mapping) else "",
             "samples": samples[i]} for i, header in enumerate(job.headers)]


@role_required(Cap.WRITE_RECORDS)
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Map the columns and check the file; then import it; then the outcome."""
    user = page_user(request)
    job = _job(request, pk)
    mapping = list(job.mapping)
    if request.method == "POST":
        action = request.POST.get("action", "check")
        try:
            if action == "commit":
                job = jobs.import_job_commit(actor=user, job=job)
                if job.status == JobStatus.DONE:
                    messages.success(request, f"Imported {job.filename}.")
                return redirect(f"/imports/{job.pk}/")
            mapping = [request.POST.get(f"map_{i}", "") for i in range(len(job.headers))]
            jobs.import_job_check(actor=user, job=job, mapping=mapping)
            return redirect(f"/imports/{job.pk}/#result")
        except Conflict as exc:
            messages.error(request, exc.detail)
            return redirect(f"/imports/{job.pk}/")
        except DomainError as exc:
            _show(request, exc)
    definitions = fields.custom_definitions(job.kind)
    summary = [(SUMMARY_LABELS[k], job.summary[k]) for k in SUMMARY_LABELS if k in job.summary]
    return render(request, "web/imports/detail.html", {
        "job": job, "columns": _columns(job, mapping),
        "choices": fields.field_choices(job.kind, definitions),
        "can_map": bool(job.headers) and job.status in {JobStatus.UPLOADED, JobStatus.CHECKED,
                                                        JobStatus.FAILED},
        "errors": jobs.import_job_errors(job, ERRORS_SHOWN) if job.error_count else [],
        "errors_shown": ERRORS_SHOWN, "summary": summary,
        "progress": _progress(job), "list_url": _list_url(job.kind)})


def _list_url(kind: str) -> str:
    return {"people": "/people/", "accounts": "/accounts/", "enrollments": "/programs/",
            "disbursements": "/disbursements/"}.get(kind, "/")


def _progress(job: ImportJob) -> dict[str, Any]:
    """How far the job's task is, from the row it writes (any web worker reads it)."""
    total, done = job.progress_total, job.progress_done
    phase = job.phase or "starting"
    labels = {"queued": "Waiting for a task worker", "starting": "Starting",
              "reading": "Reading the file",
              "checking": "Checking rows",
              "matching people": "Matching people", "checked": "Writing records",
              "writing": "Writing records", "done": "Finishing"}
    return {"phase": labels.get(phase, phase.capitalize()), "done": done, "total": total,
            "percent": round(100 * done / total) if total else 0}


@require_GET
@role_required(Cap.WRITE_RECORDS)
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress panel, polled by htmx while the check or import runs; once it has ended
    the page reloads to show the outcome."""
    job = _job(request, pk)
    if job.status not in jobs.ACTIVE:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "web/imports/_progress.html", {"job": job,
                                                          "progress": _progress(job)})


@require_GET
@role_required(Cap.WRITE_RECORDS)
def import_errors_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """Every error of the last check, as a CSV file (row, column, message)."""
    job = _job(request, pk)
    path = jobs.errors_path(job)
    if not job.error_count or not path.exists():
        raise Http404
    # Column names and messages repeat the uploaded file's text: made inert for spreadsheets.
    buffer = io.StringIO()
    csv.writer(buffer).writerows(
        [escape_cell(cell) for cell in row]
        for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    name = "".join(c for c in job.filename.rsplit(".", 1)[0] if c.isalnum() or c in "-_ ")
    response["Content-Disposition"] = f'attachment; filename="errors-{name or "import"}.csv"'
    return response


@require_GET
@role_required(Cap.WRITE_RECORDS)
def import_template(request: HttpRequest, kind: str) -> HttpResponse:
    """An empty CSV with the column names a kind of import reads."""
    if kind not in fields.FIELDS:
        raise Http404
    buffer = io.StringIO()
    labels = [label for _, label in fields.field_choices(kind, fields.custom_definitions(kind))]
    csv.writer(buffer).writerow([escape_cell(label.removesuffix(" (custom field)"))
                                 for label in labels])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind}-template.csv"'
    return response


urlpatterns = [
    path("imports/", import_start, name="imports"),
    path("imports/template/<slug:kind>.csv", import_template, name="import-template"),
    path("imports/<int:pk>/", import_detail, name="import"),
    path("imports/<int:pk>/progress/", import_progress, name="import-progress"),
    path("imports/<int:pk>/errors.csv", import_errors_csv, name="import-errors"),
]
