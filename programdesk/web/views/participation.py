"""Pages: add participants to a schedule, attendance sheets, the check-in kiosk, enrollments
and cohorts."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone

from programdesk.core.errors import Conflict, DomainError, NotAllowed, NotFound, ValidationError
from programdesk.core.models import StatusKind, StatusValue, User
from programdesk.core.params import parse_id, parse_ids, query_id
from programdesk.core.roles import Cap
from programdesk.core.scoping import MAX_ID, visible, visible_or_404
from programdesk.participation import selectors, services
from programdesk.participation.models import ProgramEnrollment
from programdesk.people.models import Account, Person
from programdesk.people.selectors import (
    accounts_search,
    accounts_visible,
    people_search,
    people_visible,
)
from programdesk.programs.models import Program, ProgramCohort
from programdesk.programs.selectors import cohorts_visible, programs_visible
from programdesk.scheduling.models import BenefitSchedule, BenefitSession
from programdesk.web import wording
from programdesk.web.forms import add_service_errors
from programdesk.web.permissions import page_user, role_required
from programdesk.web.views.scheduling import session_page_context


def _schedule(request: HttpRequest, pk: int) -> BenefitSchedule:
    return visible_or_404(visible(BenefitSchedule.objects.select_related("benefit__program"),
                                  page_user(request), "benefit__program_id"), pk)


def _session(request: HttpRequest, pk: int) -> BenefitSession:
    return visible_or_404(visible(BenefitSession.objects.select_related(
        "benefit__program", "schedule"), page_user(request), "benefit__program_id"), pk)


def _ids(request: HttpRequest, name: str) -> list[int]:
    return parse_ids(request.POST.getlist(name))


def _show_result(request: HttpRequest, result: services.ParticipationResult, what: str) -> None:
    if result.enrollments_created or result.assignments_created or result.disbursements_created:
        messages.success(request, (
            f"{what}: {wording.count(result.enrollments_created, 'new enrollment')}, "
            f"{wording.count(result.assignments_created, 'new assignment')}, "
            f"{wording.count(result.disbursements_created, 'new disbursement')}."))
    elif not result.skipped:
        messages.info(request, f"{what}: nothing new — they were all added already.")
    for warning in result.warnings:
        messages.warning(request, warning["message"])


def _show_refused(request: HttpRequest, refused: list[dict[str, Any]]) -> None:
    """Name each person eligibility rules left out, with the reasons."""
    for person in refused:
        messages.error(request, f"Not added — {person['name']}: {'; '.join(person['reasons'])}. "
                                "A manager may override with a reason.")


def _show_domain_error(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, exc.detail)
    for error in exc.errors:
        messages.error(request, error["message"])


# --- add participants to a schedule ---------------------------------------------------------


def _candidates(user: User, query: str, limit: int = 25, *, person_ids: Sequence[int] = (),
                account_ids: Sequence[int] = ()) -> dict[str, Any]:
    """Search results, with the people and accounts already chosen listed first and ticked —
    so a new search never throws a selection away."""
    people = Person.objects.none()
    accounts = Account.objects.none()
    query = query.strip()
    chosen_people = list(people_visible(user).filter(pk__in=person_ids[:MAX_CHOSEN])
                         .order_by("last_name", "first_name")) if person_ids else []
    chosen_accounts = list(accounts_visible(user).filter(pk__in=account_ids[:MAX_CHOSEN])
                           .order_by("name")) if account_ids else []
    if len(query) >= 2:
        people = (people_search(people_visible(user), query)
                  .exclude(pk__in=[p.pk for p in chosen_people]))
        accounts = (accounts_search(accounts_visible(user), query)
                    .exclude(pk__in=[a.pk for a in chosen_accounts]))
    return {"people": people.order_by("last_name", "first_name")[:limit],
            "accounts": accounts.order_by("name")[:10], "query": query,
            "chosen_people": chosen_people, "chosen_accounts": chosen_accounts}


MAX_CHOSEN = 500  # how many ticked people a search carries along


def _override_from(request: HttpRequest, user: User) -> services.EligibilityOverride | None:
    if request.POST.get("override_eligibility") and user.can(Cap.MANAGE_PROGRAMS):
        return services.EligibilityOverride(reason=request.POST.get("override_reason", ""))
    return None


@role_required(Cap.WRITE_RECORDS)
def schedule_participants(request: HttpRequest, pk: int) -> HttpResponse:
    """Add people to a schedule: the eligible ones are added, those eligibility rules refuse
    are listed by name (with the reasons and a manager's override) and stay ticked; going over
    the capacity is asked about before anything is written."""
    schedule = _schedule(request, pk)
    program = schedule.benefit.program
    user = page_user(request)
    refused: list[dict[str, Any]] = []
    capacity_check: services.AddPreview | None = None
    keep_people: list[int] = []
    keep_accounts: list[int] = []
    keep_enrollments: list[int] = []
    if request.method == "POST":
        if request.POST.get("action") == "remove":
            chosen = _ids(request, "assignment_ids")
            named = [r.name for r in selectors.schedule_roster(schedule=schedule)
                     if r.assignment_id in set(chosen)]
            try:
                deleted = services.schedule_remove_participants(
                    actor=user, schedule=schedule, assignment_ids=chosen)
                messages.success(request, (
                    f"Removed {wording.names(named)} from the schedule from today on; "
                    f"{wording.count(deleted, 'upcoming place')} deleted. Recorded attendance "
                    "is kept."))
            except DomainError as exc:
                _show_domain_error(request, exc)
            return redirect(request.get_full_path())
        keep_people, keep_accounts = _ids(request, "person_ids"), _ids(request, "account_ids")
        keep_enrollments = _ids(request, "enrollment_ids")
        try:
            if not (keep_people or keep_accounts or keep_enrollments):
                raise ValidationError("Tick at least one person to add.")
            if schedule.capacity is not None and not request.POST.get("capacity_ok"):
                preview = services.schedule_add_preview(
                    actor=user, schedule=schedule, person_ids=keep_people,
                    account_ids=keep_accounts, enrollment_ids=keep_enrollments)
                if preview.over:
                    capacity_check = preview
            if capacity_check is None:
                result = services.schedule_add_participants(
                    actor=user, schedule=schedule, override=_override_from(request, user),
                    on_ineligible=services.OnIneligible.SKIP, person_ids=keep_people,
                    account_ids=keep_accounts, enrollment_ids=keep_enrollments)
                _show_result(request, result, f"Added to {schedule.name}")
                if not result.skipped:
                    return redirect(request.get_full_path())
                # The refused stay ticked (and nobody else), named with the reasons.
                refused = result.skipped
                keep_people = [r["person_id"] for r in refused]
                keep_accounts, keep_enrollments = [], []
        except DomainError as exc:
            _show_domain_error(request, exc)
    roster = selectors.schedule_roster(schedule=schedule, include_ended=False)
    on_roster = {r.enrollment_id for r in roster}
    enrollments = [e for e in selectors.enrollments_list(user=user, program_id=program.pk,
                                                         bucket="active")[:500]
                   if e.pk not in on_roster]
    return render(request, "web/participation/schedule_participants.html", {
        "schedule": schedule, "program": program, "roster": roster,
        "enrollments": enrollments, "refused": refused, "capacity_check": capacity_check,
        "chosen_enrollments": set(keep_enrollments),
        "can_override": user.can(Cap.MANAGE_PROGRAMS),
        "override_reason": request.POST.get("override_reason", ""),
        **_candidates(user, request.GET.get("q", ""), person_ids=keep_people,
                      account_ids=keep_accounts),
    })


@role_required(Cap.WRITE_RECORDS)
def schedule_participant_search(request: HttpRequest, pk: int) -> HttpResponse:
    _schedule(request, pk)  # 404 unless the user may see the schedule
    return render(request, "web/participation/_candidates.html", _candidates(
        page_user(request), request.GET.get("q", ""),
        person_ids=parse_ids(request.GET.getlist("person_ids")),
        account_ids=parse_ids(request.GET.getlist("account_ids"))))


# --- the attendance sheet -------------------------------------------------------------------


def _statuses() -> list[StatusValue]:
    return list(StatusValue.objects.filter(kind=StatusKind.DISBURSEMENT, is_active=True)
                .order_by("order", "id"))


def attendance_context(session: BenefitSession) -> dict[str, Any]:
    """What the attendance sheet needs; the session page renders it below its header."""
    sheet = selectors.session_sheet(session=session)
    return {"sheet": sheet, "statuses": _statuses(), "tally": selectors.session_tally(
        session=session), "is_past": session.local_date < timezone.localdate()}


@role_required(Cap.READ_SETUP)
def session_attendance(request: HttpRequest, pk: int) -> HttpResponse:
    session = _session(request, pk)
    user = page_user(request)
    if request.method == "POST":
        if not user.can(Cap.WRITE_RECORDS):
            raise_forbidden()
        marks, errors = _marks_from_post(request)
        if request.POST.get("action") == "add":
            try:
                result = services.session_add_participants(
                    actor=user, session=session, person_ids=_ids(request, "person_ids"),
                    override=_override_from(request, user),
                    on_ineligible=services.OnIneligible.SKIP)
                _show_result(request, result, "Added to this session")
                _show_refused(request, result.skipped)
            except DomainError as exc:
                _show_domain_error(request, exc)
            return redirect(request.path)
        if errors:
            for error in errors:
                messages.error(request, error)
        else:
            try:
                changed = services.attendance_record(
                    actor=user, session=session, marks=marks,
                    complete_session=request.POST.get("action") == "complete")
                messages.success(request, f"Attendance saved ({changed} changed)."
                                 + (" Session completed." if request.POST.get("action")
                                    == "complete" else ""))
                return redirect(request.path)
            except ValidationError as exc:
                _show_domain_error(request, exc)
            except DomainError as exc:
                _show_domain_error(request, exc)
    return render(request, "web/participation/session_attendance.html", {
        **session_page_context(user=user, session=session),
        "can_edit": user.can(Cap.WRITE_RECORDS), **attendance_context(session),
        **_candidates(user, request.GET.get("q", ""))})


def raise_forbidden() -> None:
    from django.core.exceptions import PermissionDenied

    raise PermissionDenied("Your role may not record attendance.")


def _marks_from_post(request: HttpRequest) -> tuple[list[services.AttendanceMark], list[str]]:
    marks, errors = [], []
    for key in request.POST:
        value = request.POST.get(key, "")
        if not key.startswith("status_"):
            continue
        raw_id = key.removeprefix("status_")
        disbursement_id = parse_id(raw_id)
        if disbursement_id is None:
            continue
        quantity: Decimal | None = None
        raw_quantity = request.POST.get(f"quantity_{raw_id}", "").strip()
        if raw_quantity:
            try:
                quantity = services.check_quantity(Decimal(raw_quantity))
            except (InvalidOperation, ValidationError):
                errors.append(f"Quantity '{raw_quantity[:40]}' must be a number from 0 to "
                              f"{services.QUANTITY_MAX:,} with at most 2 decimals.")
                continue
        marks.append(services.AttendanceMark(disbursement_id, value, quantity))
    return marks, errors


# --- the kiosk ------------------------------------------------------------------------------


@role_required(Cap.CHECK_IN)
def kiosk(request: HttpRequest) -> HttpResponse:
    location = request.GET.get("location", "")
    sessions = selectors.kiosk_sessions(user=page_user(request), location=location)
    locations = sorted({s.location for s in selectors.kiosk_sessions(user=page_user(request))
                        if s.location})
    return render(request, "web/participation/kiosk.html", {
        "sessions": sessions, "location": location, "locations": locations})


def _kiosk_session(request: HttpRequest, pk: int) -> BenefitSession:
    from django.http import Http404

    session = _session(request, pk)
    if session.local_date != timezone.localdate() or session.status == "cancelled":
        raise Http404("The kiosk checks people in to today's sessions only.")
    return session


class RegisterForm(forms.Form):
    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    postal_code = forms.CharField(max_length=20, required=False)


class CheckInForm(forms.Form):
    """The "That's me" button of a search result."""

    person_id = forms.IntegerField(min_value=1, max_value=MAX_ID)


@role_required(Cap.CHECK_IN)
def kiosk_session(request: HttpRequest, pk: int) -> HttpResponse:
    session = _kiosk_session(request, pk)
    user = page_user(request)
    registering = request.POST.get("action") == "register"
    register = RegisterForm(request.POST if registering else None)
    likely: list[dict[str, Any]] = []
    if request.method == "POST":
        try:
            if registering:
                if register.is_valid():
                    person = services.kiosk_register(
                        actor=user, session=session, **register.cleaned_data,
                        new_person_confirmed=request.POST.get("confirm_new") == "1")
                    messages.success(request, f"Welcome, {person.first_name}! You are "
                                              "registered and checked in.")
                    return redirect(request.path)
            else:
                check_in = CheckInForm(request.POST)
                if not check_in.is_valid():
                    raise ValidationError("Choose your name in the list.")
                disbursement = services.check_in(
                    actor=user, session=session, person_id=check_in.cleaned_data["person_id"])
                name = disbursement.person.first_name if disbursement.person else ""
                messages.success(request, f"Welcome, {name}! You are checked in.")
                return redirect(request.path)
        except ValidationError as exc:
            if registering:
                add_service_errors(register, exc)
            else:
                messages.error(request, "We could not check you in. Please search again or "
                                        "ask a staff member.")
                return redirect(request.path)
        except Conflict as exc:
            if exc.extra.get("type") != "possible_duplicate":
                messages.error(request, f"{exc.detail} Please ask a staff member.")
                return redirect(request.path)
            likely = exc.extra["matches"]  # ask "is this you?" before making anyone new
        except (NotAllowed, NotFound) as exc:
            messages.error(request, f"{exc.detail} Please ask a staff member.")
            return redirect(request.path)
    query = request.GET.get("q", "").strip()
    return render(request, "web/participation/kiosk_session.html", {
        "session": session, "register": register, "query": query, "likely": likely,
        "results": (selectors.kiosk_search(session=session, query=query, user=user)
                    if query else []),
        "show_register": request.POST.get("action") == "register"})


@role_required(Cap.CHECK_IN)
def kiosk_search(request: HttpRequest, pk: int) -> HttpResponse:
    session = _kiosk_session(request, pk)
    results = selectors.kiosk_search(session=session, query=request.GET.get("q", ""),
                                     user=page_user(request))
    return render(request, "web/participation/_kiosk_results.html", {
        "session": session, "results": results, "query": request.GET.get("q", "").strip()})


# --- enrollments and cohorts ----------------------------------------------------------------


def _program(request: HttpRequest, pk: int) -> Program:
    return visible_or_404(programs_visible(page_user(request)), pk)


@role_required(Cap.READ_RECORDS)
def program_enrollments(request: HttpRequest, pk: int) -> HttpResponse:
    program = _program(request, pk)
    user = page_user(request)
    if request.method == "POST":
        if not user.can(Cap.WRITE_RECORDS):
            raise_forbidden()
        cohort = ProgramCohort.objects.filter(
            program=program, pk=query_id(request.POST, "cohort_id") or 0).first()
        try:
            if cohort is None:
                raise ValidationError("Choose a cohort of this program.")
            added = services.cohort_add_members(actor=user, cohort=cohort,
                                                enrollment_ids=_ids(request, "enrollment_ids"))
            messages.success(request, f"{added} added to {cohort.name}.")
        except DomainError as exc:
            _show_domain_error(request, exc)
        return redirect(request.get_full_path())
    qs = selectors.enrollments_list(
        user=user, program_id=program.pk, status=request.GET.get("status") or None,
        cohort_id=query_id(request.GET, "cohort"), search=request.GET.get("q", ""))
    page = qs[:500]
    tallies = selectors.enrollment_tallies(enrollment_ids=[e.pk for e in page])
    return render(request, "web/participation/program_enrollments.html", {
        "program": program, "rows": [(e, tallies.get(e.pk)) for e in page],
        "count": qs.count(), "statuses": StatusValue.objects.filter(kind="enrollment"),
        "cohorts": program.cohorts.all(), "filters": request.GET,
        "can_edit": user.can(Cap.WRITE_RECORDS)})


class EnrollmentForm(forms.Form):
    status = forms.ChoiceField()
    application_date = forms.DateField(required=False,
                                       widget=forms.DateInput(attrs={"type": "date"}))
    start_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        status = self.fields["status"]
        assert isinstance(status, forms.ChoiceField)
        status.choices = [
            (s.code, f"{s.label} ({s.bucket})") for s in
            StatusValue.objects.filter(kind="enrollment", is_active=True).order_by("order")]


@role_required(Cap.READ_RECORDS)
def enrollment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = page_user(request)
    enrollment = visible_or_404(selectors.enrollments_visible(user).select_related(
        "program", "person", "account", "status"), pk)
    initial = {"status": enrollment.status.code, "application_date": enrollment.application_date,
               "start_date": enrollment.start_date, "end_date": enrollment.end_date}
    form = EnrollmentForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not user.can(Cap.WRITE_RECORDS):
            raise_forbidden()
        if form.is_valid():
            try:
                services.enrollment_update(actor=user, enrollment=enrollment,
                                           **form.cleaned_data)
                messages.success(request, "Enrollment saved.")
                return redirect(request.path)
            except ValidationError as exc:
                add_service_errors(form, exc)
            except Conflict as exc:
                form.add_error("status", exc.detail)
    memberships = enrollment.cohort_memberships.select_related("cohort").order_by("-added_on")
    tally = selectors.enrollment_tallies(enrollment_ids=[enrollment.pk]).get(enrollment.pk)
    return render(request, "web/participation/enrollment_detail.html", {
        "enrollment": enrollment, "form": form, "memberships": memberships, "tally": tally,
        "can_edit": user.can(Cap.WRITE_RECORDS)})


@role_required(Cap.READ_RECORDS)
def cohort_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = page_user(request)
    cohort = visible_or_404(cohorts_visible(user).select_related("program"), pk)
    if request.method == "POST":
        if not user.can(Cap.WRITE_RECORDS):
            raise_forbidden()
        try:
            if request.POST.get("action") == "remove":
                services.cohort_remove_members(actor=user, cohort=cohort,
                                               enrollment_ids=_ids(request, "enrollment_ids"))
                messages.success(request, "Removed from the cohort.")
            else:
                added = services.cohort_add_members(
                    actor=user, cohort=cohort, enrollment_ids=_ids(request, "enrollment_ids"))
                messages.success(request, f"{added} added to the cohort.")
        except DomainError as exc:
            _show_domain_error(request, exc)
        return redirect(request.path)
    members = selectors.cohort_members(cohort=cohort)
    member_ids = {m["enrollment"].pk for m in members}
    candidates = [e for e in visible(ProgramEnrollment.objects.filter(
        program=cohort.program, is_active=True).select_related("person", "account"), user)[:500]
        if e.pk not in member_ids]
    totals = selectors.Tally(**{k: sum(getattr(m["tally"], k) for m in members)
                                for k in ("delivered", "absent", "excused", "expected",
                                          "cancelled")})
    return render(request, "web/participation/cohort_detail.html", {
        "cohort": cohort, "members": members, "candidates": candidates, "totals": totals,
        "can_edit": user.can(Cap.WRITE_RECORDS), "today": timezone.localdate()})


urlpatterns = [
    path("schedules/<int:pk>/participants/", schedule_participants,
         name="schedule_participants"),
    path("schedules/<int:pk>/participants/search", schedule_participant_search,
         name="schedule_participant_search"),
    # The session page is the attendance sheet under the scheduling header.
    path("sessions/<int:pk>/", session_attendance, name="session_detail"),
    path("kiosk/", kiosk, name="kiosk"),
    path("kiosk/<int:pk>/", kiosk_session, name="kiosk_session"),
    path("kiosk/<int:pk>/search", kiosk_search, name="kiosk_search"),
    path("programs/<int:pk>/enrollments/", program_enrollments, name="program_enrollments"),
    path("enrollments/<int:pk>/", enrollment_detail, name="enrollment_detail"),
    path("cohorts/<int:pk>/", cohort_detail, name="cohort_detail"),
]
