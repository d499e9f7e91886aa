"""Pages: programs, benefits and cohorts."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path

from programdesk.core.errors import ValidationError
from programdesk.core.roles import Cap
from programdesk.core.scoping import visible_or_404
from programdesk.programs import selectors, services
from programdesk.programs.forms import BenefitForm, CohortForm, ProgramForm
from programdesk.programs.limits import benefit_limit
from programdesk.programs.models import Benefit, Program, ProgramCohort, ProgramStatus
from programdesk.web.forms import add_service_errors
from programdesk.web.permissions import page_user, role_required


def _program(request: HttpRequest, pk: int) -> Program:
    return visible_or_404(selectors.programs_visible(page_user(request)), pk)


@role_required(Cap.READ_SETUP)
def programs_list(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    status = request.GET.get("status", "")
    return render(request, "web/programs/list.html", {
        "programs": selectors.programs_with_benefit_counts(user=user, status=status),
        "status": status, "statuses": ProgramStatus.choices,
        "can_manage": user.can(Cap.MANAGE_PROGRAMS)})


def _program_form_page(request: HttpRequest, program: Program | None = None) -> HttpResponse:
    user = page_user(request)
    if request.method == "POST":
        form = ProgramForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if program is None:
                    program = services.program_create(actor=user, **data)
                else:
                    services.program_update(actor=user, program=program, **data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Saved.")
                return redirect(f"/programs/{program.pk}/")
    else:
        initial: dict[str, Any] = {"status": "active"}
        if program is not None:
            initial = {k: getattr(program, k) for k in services.PROGRAM_FIELDS}
        form = ProgramForm(initial=initial)
    return render(request, "web/programs/program_form.html", {"form": form, "program": program})


@role_required(Cap.MANAGE_PROGRAMS)
def program_new(request: HttpRequest) -> HttpResponse:
    return _program_form_page(request)


@role_required(Cap.MANAGE_PROGRAMS)
def program_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _program_form_page(request, _program(request, pk))


@role_required(Cap.READ_SETUP)
def program_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = page_user(request)
    program = _program(request, pk)
    listed = selectors.program_page(program=program)
    return render(request, "web/programs/program.html", {
        "program": program, **listed, "rules": selectors.rules_with_summaries(listed["rules"]),
        "can_manage": user.can(Cap.MANAGE_PROGRAMS), "can_write": user.can(Cap.WRITE_RECORDS),
        "can_configure": user.can(Cap.CONFIGURE), "can_read_records": user.can(Cap.READ_RECORDS),
        "can_log": user.can(Cap.LOG_DISBURSEMENTS),
    })


# --- Benefits ----------------------------------------------------------------------------------

def _benefit_form_page(request: HttpRequest, program: Program,
                       benefit: Benefit | None = None) -> HttpResponse:
    user = page_user(request)
    if request.method == "POST":
        form = BenefitForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if benefit is None:
                    benefit = services.benefit_create(actor=user, program=program, **data)
                else:
                    if data["unit"] is None:
                        data["unit"] = (data["benefit_type"].unit if data["benefit_type"]
                                        else benefit.unit)
                    if data["default_quantity"] is None:
                        data["default_quantity"] = benefit.default_quantity
                    services.benefit_update(actor=user, benefit=benefit, **data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Saved.")
                return redirect(f"/benefits/{benefit.pk}/")
    else:
        initial: dict[str, Any] = {"is_active": True}
        if benefit is not None:
            initial = {"name": benefit.name, "benefit_type": benefit.benefit_type_id,
                       "unit": benefit.unit_id, "default_quantity": benefit.default_quantity,
                       "is_active": benefit.is_active, "description": benefit.description,
                       **BenefitForm.limit_initial(benefit)}
        form = BenefitForm(initial=initial)
    return render(request, "web/programs/benefit_form.html",
                  {"form": form, "program": program, "benefit": benefit})


@role_required(Cap.MANAGE_PROGRAMS)
def benefit_new(request: HttpRequest, pk: int) -> HttpResponse:
    return _benefit_form_page(request, _program(request, pk))


@role_required(Cap.MANAGE_PROGRAMS)
def benefit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    benefit = visible_or_404(
        selectors.benefits_visible(page_user(request)).select_related("program"), pk)
    return _benefit_form_page(request, benefit.program, benefit)


@role_required(Cap.READ_SETUP)
def benefit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    from programdesk.scheduling.models import BenefitSchedule

    user = page_user(request)
    benefit = visible_or_404(selectors.benefits_visible(user).select_related(
        "program", "unit", "benefit_type"), pk)
    listed = selectors.benefit_page(benefit=benefit)
    return render(request, "web/programs/benefit.html", {
        "benefit": benefit, "service_limit": benefit_limit(benefit),
        "schedules": BenefitSchedule.objects.filter(benefit=benefit).order_by("first_date", "id"),
        "rules": selectors.rules_with_summaries(listed["rules"]), "fields": listed["fields"],
        "can_manage": user.can(Cap.MANAGE_PROGRAMS), "can_configure": user.can(Cap.CONFIGURE),
        "can_log": user.can(Cap.LOG_DISBURSEMENTS)})


# --- Cohorts -----------------------------------------------------------------------------------

def _cohort_form_page(request: HttpRequest, program: Program,
                      cohort: ProgramCohort | None = None) -> HttpResponse:
    user = page_user(request)
    if request.method == "POST":
        form = CohortForm(request.POST)
        if form.is_valid():
            try:
                if cohort is None:
                    services.cohort_create(actor=user, program=program, **form.cleaned_data)
                else:
                    services.cohort_update(actor=user, cohort=cohort, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Saved.")
                return redirect(f"/programs/{program.pk}/#cohorts")
    else:
        initial = {}
        if cohort is not None:
            initial = {k: getattr(cohort, k) for k in services.COHORT_FIELDS}
        form = CohortForm(initial=initial)
    return render(request, "web/programs/cohort_form.html",
                  {"form": form, "program": program, "cohort": cohort})


@role_required(Cap.WRITE_RECORDS)
def cohort_new(request: HttpRequest, pk: int) -> HttpResponse:
    return _cohort_form_page(request, _program(request, pk))


@role_required(Cap.WRITE_RECORDS)
def cohort_edit(request: HttpRequest, pk: int) -> HttpResponse:
    cohort = visible_or_404(
        selectors.cohorts_visible(page_user(request)).select_related("program"), pk)
    return _cohort_form_page(request, cohort.program, cohort)


urlpatterns = [
    path("programs/", programs_list, name="programs"),
    path("programs/new/", program_new, name="program-new"),
    path("programs/<int:pk>/", program_detail, name="program"),
    path("programs/<int:pk>/edit/", program_edit, name="program-edit"),
    path("programs/<int:pk>/benefits/new/", benefit_new, name="benefit-new"),
    path("programs/<int:pk>/cohorts/new/", cohort_new, name="cohort-new"),
    path("benefits/<int:pk>/", benefit_detail, name="benefit"),
    path("benefits/<int:pk>/edit/", benefit_edit, name="benefit-edit"),
    path("cohorts/<int:pk>/edit/", cohort_edit, name="cohort-edit"),
]
