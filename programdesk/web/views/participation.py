"""Pages: add participants to a schedule, attendance sheets, the check-in kiosk, enrollments
and cohorts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from programdesk.core import display
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
    household_serving,
    people_find_duplicates,
    people_search,
    people_visible,
)
from programdesk.programs.models import Program, ProgramCohort
from programdesk.programs.selectors import cohorts_visible, programs_visible
from programdesk.scheduling.models import BenefitSchedule, BenefitSession
from programdesk.web import wording
from programdesk.web.forms import add_service_errors
from programdesk.web.front_desk_messages import front_desk_message, translated
from programdesk.web.language import front_desk
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

# What the sheet's buttons say: the words a front desk uses, one per bucket. The values posted
# stay the status codes; a second active status in the same bucket shows its own label.
BUCKET_WORDS = {"expected": gettext_lazy("Not recorded"), "delivered": gettext_lazy("Present"),
                "absent": gettext_lazy("Absent"), "excused": gettext_lazy("Excused"),
                "cancelled": gettext_lazy("Cancelled")}
COUNTED = ("delivered", "absent", "excused", "expected", "cancelled")


@dataclass(frozen=True)
class SheetStatus:
    code: str
    bucket: str
    word: str


@dataclass(frozen=True)
class SheetLine:
    """One person on the sheet: the saved row, and what the sheet shows checked (a mark posted
    but not saved — a form error, a walk-in just added — is shown, never dropped)."""

    row: selectors.SheetRow
    mark: str
    quantity: str

    @property
    def saved_quantity(self) -> str:
        return _quantity_text(self.row.quantity)

    @property
    def unsaved(self) -> bool:
        return self.mark != self.row.status or self.quantity != self.saved_quantity


def _statuses() -> list[StatusValue]:
    return list(StatusValue.objects.filter(kind=StatusKind.DISBURSEMENT, is_active=True)
                .order_by("order", "id"))


def _sheet_statuses() -> list[SheetStatus]:
    seen: set[str] = set()
    statuses = []
    for s in _statuses():
        word = s.label if s.bucket in seen else str(BUCKET_WORDS.get(s.bucket, s.label))
        seen.add(s.bucket)
        statuses.append(SheetStatus(s.code, s.bucket, word))
    return statuses


def _first_code(bucket: str) -> str | None:
    return next((s.code for s in _sheet_statuses() if s.bucket == bucket), None)


def _quantity_text(quantity: Decimal) -> str:
    """"1", "1.5", "0.25": what the quantity field shows and a save compares against."""
    text = f"{quantity:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _lines(sheet: list[selectors.SheetRow], posted: dict[int, tuple[str, str]] | None = None,
           present: set[int] | None = None) -> list[SheetLine]:
    """The sheet as shown: ``posted`` marks (disbursement id → status code, quantity text) win
    over saved ones; ``present`` rows show the first delivered status (a walk-in just added)."""
    posted, present = posted or {}, present or set()
    delivered = _first_code("delivered") if present else None
    lines = []
    for row in sheet:
        mark, quantity = posted.get(row.disbursement_id,
                                    (row.status, _quantity_text(row.quantity)))
        if row.disbursement_id in present and delivered and row.bucket == "expected":
            mark = delivered
        lines.append(SheetLine(row, mark, quantity))
    return lines


def _counts(lines: list[SheetLine], statuses: list[SheetStatus]) -> dict[str, Any]:
    """The sheet's counters as shown (its JavaScript keeps them up to date while marking)."""
    bucket_of = {s.code: s.bucket for s in statuses}
    counts: dict[str, Any] = dict.fromkeys(COUNTED, 0)
    for line in lines:
        bucket = bucket_of.get(line.mark, line.row.bucket)
        counts[bucket] = counts.get(bucket, 0) + 1
    counted = counts["delivered"] + counts["absent"]
    counts["rate"] = round(100 * counts["delivered"] / counted) if counted else None
    return counts


def attendance_context(session: BenefitSession, *, lines: list[SheetLine] | None = None
                       ) -> dict[str, Any]:
    """What the attendance sheet needs; the session page renders it below its header."""
    statuses = _sheet_statuses()
    if lines is None:
        lines = _lines(selectors.session_sheet(session=session))
    return {"lines": lines, "statuses": statuses, "sheet_counts": _counts(lines, statuses),
            "unsaved": sum(line.unsaved for line in lines),
            "is_past": session.local_date < timezone.localdate(),
            "is_cancelled": session.status == "cancelled"}


def _posted_marks(request: HttpRequest) -> dict[int, tuple[str, str]]:
    """The marks on a posted sheet, as typed: shown again when the sheet is not saved."""
    posted = {}
    for key in request.POST:
        if key.startswith("status_") and (pk := parse_id(key.removeprefix("status_"))):
            posted[pk] = (request.POST.get(key, "")[:40],
                          request.POST.get(f"quantity_{pk}", "").strip()[:40])
    return posted


def _sheet_page(request: HttpRequest, session: BenefitSession, *,
                posted: dict[int, tuple[str, str]] | None = None,
                walk_in: dict[str, Any] | None = None, limit_refused: bool = False
                ) -> HttpResponse:
    user = page_user(request)
    can_edit = user.can(Cap.WRITE_RECORDS)
    sheet = selectors.session_sheet(session=session)
    if walk_in is None:
        walk_in = _walk_in_search(user, session, request.GET.get("q", ""), sheet=sheet)
    return render(request, "web/participation/session_attendance.html", {
        **session_page_context(user=user, session=session),
        **attendance_context(session, lines=_lines(sheet, posted)),
        "can_edit": can_edit and session.status != "cancelled", "walk_in": walk_in,
        # Refused by the benefit's service limit: a manager may save again with a reason.
        "limit_override": limit_refused and user.can(Cap.MANAGE_PROGRAMS),
    })


def _limit_override_reason(request: HttpRequest, user: User) -> str:
    """A manager's reason for going past a service limit (anyone else's is not sent: the
    service would refuse it)."""
    return (request.POST.get("limit_override_reason", "").strip()
            if user.can(Cap.MANAGE_PROGRAMS) else "")


@role_required(Cap.READ_SETUP)
@front_desk
def session_attendance(request: HttpRequest, pk: int) -> HttpResponse:
    """The attendance sheet. A POST saves the whole sheet in one ``attendance_record``; when it
    cannot (a bad quantity, a status retired meanwhile) the sheet comes back with every mark as
    it was posted and the reason, so nothing is lost. Without JavaScript, "Mark all present"
    posts too: the sheet comes back with the not yet recorded marked present, unsaved."""
    session = _session(request, pk)
    user = page_user(request)
    if request.method != "POST":
        return _sheet_page(request, session)
    if not user.can(Cap.WRITE_RECORDS):
        raise_forbidden()
    action = request.POST.get("action")
    posted = _posted_marks(request)
    if action == "mark_all":
        statuses = _sheet_statuses()
        delivered = next((s.code for s in statuses if s.bucket == "delivered"), "")
        expected = {s.code for s in statuses if s.bucket == "expected"}
        posted = {pk: (delivered if code in expected else code, quantity)
                  for pk, (code, quantity) in posted.items()}
        return _sheet_page(request, session, posted=posted)
    marks, errors = _marks_from_post(request)
    limit_refused = False
    if not errors:
        try:
            changed = services.attendance_record(
                actor=user, session=session, marks=marks, complete_session=action == "complete",
                override_reason=_limit_override_reason(request, user))
        except DomainError as exc:
            errors = _error_lines(exc)
            limit_refused = isinstance(exc, services.ServiceLimitExceeded)
        else:
            saved = _("Attendance saved ({changed} changed).").format(changed=changed)
            messages.success(request, saved + (" " + _("Session completed.")
                                               if action == "complete" else ""))
            return redirect(request.path)
    for error in errors:
        messages.error(request, error)
    messages.warning(request, _("Attendance not saved yet: your marks are kept below. Correct "
                                "them and save again."))
    return _sheet_page(request, session, posted=posted, limit_refused=limit_refused)


def _error_lines(exc: DomainError) -> list[str]:
    """A service's refusal as sentences; a sheet's field paths (records.3.status) mean nothing
    to the person at the desk."""
    return ([front_desk_message(error["message"]) for error in exc.errors]
            or [front_desk_message(exc.detail)])


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
                errors.append(_("Quantity '{quantity}' must be a number from 0 to {most} with "
                                "at most 2 decimals.").format(
                    quantity=raw_quantity[:40], most=display.number(services.QUANTITY_MAX)))
                continue
        marks.append(services.AttendanceMark(disbursement_id, value, quantity))
    return marks, errors


# --- walk-ins: found or added from the sheet, without leaving it ------------------------------


class WalkInForm(forms.Form):
    """Someone new to us: the few fields a front desk asks."""

    first_name = forms.CharField(max_length=100, label=gettext_lazy("First name"))
    last_name = forms.CharField(max_length=100, label=gettext_lazy("Last name"))
    postal_code = forms.CharField(max_length=20, required=False,
                                  label=gettext_lazy("Postal code"))


def _name_parts(query: str) -> dict[str, str]:
    """What a search for someone not found prefills: "Haddad, Samir" and "Samir Haddad" give
    first and last name; one word is taken as the last name."""
    query = " ".join(query.split())[:100]
    if "," in query:
        last, first = (part.strip() for part in query.split(",", 1))
        return {"first_name": first, "last_name": last}
    first, _, last = query.partition(" ")
    return {"first_name": first, "last_name": last} if last else {"last_name": first}


def _walk_in_search(user: User, session: BenefitSession, query: str, *,
                    sheet: list[selectors.SheetRow] | None = None) -> dict[str, Any]:
    """The walk-in panel after a search: up to 10 people (those already on the sheet say so),
    and the new-person form prefilled from what was typed."""
    query = query.strip()[:200]
    people: list[Person] = []
    if len(query) >= 2:
        people = list(people_search(people_visible(user), query).select_related("account")
                      .order_by("last_name", "first_name", "id")[:10])
    if sheet is None:
        sheet = selectors.session_sheet(session=session)
    on_sheet = {row.person_id for row in sheet}
    return {"query": query, "people": [(p, p.pk in on_sheet) for p in people],
            "form": WalkInForm(initial=_name_parts(query), auto_id="walk-in-%s"),
            "searched": len(query) >= 2}


def _walk_in_person(request: HttpRequest, session: BenefitSession, user: User,
                    panel: dict[str, Any], override: services.EligibilityOverride | None
                    ) -> Person | None:
    """Create-and-add someone new (``new``: after looking for duplicates; ``new_anyway``), or
    add the person ``person_id``; None when the panel has something to say instead. Services'
    refusals propagate (``_walk_in_add`` shows them)."""
    action, form = request.POST.get("action"), panel["form"]
    if action in ("new", "new_anyway"):
        if not form.is_valid():
            return None
        values = form.cleaned_data
        if action == "new" and (duplicates := people_find_duplicates(
                first_name=values["first_name"], last_name=values["last_name"], user=user)):
            panel["duplicates"] = duplicates
            return None
        return services.session_add_new_person(actor=user, session=session, override=override,
                                               **values)
    person = people_visible(user).filter(
        pk=parse_id(request.POST.get("person_id", "")) or 0).first()
    if person is None:
        panel["error"] = _("Choose a person in the list.")
        return None
    panel["person"] = person
    if any(r.person_id == person.pk for r in selectors.session_sheet(session=session)):
        panel["error"] = _("{name} is already on this sheet.").format(name=person.full_name)
        return None
    services.session_add_participants(actor=user, session=session, person_ids=[person.pk],
                                      override=override)
    return person


def _walk_in_add(request: HttpRequest, session: BenefitSession, user: User
                 ) -> tuple[dict[str, Any], int | None]:
    """Do what the walk-in panel posted — ``action=new`` (check for duplicates, then create and
    add), ``new_anyway`` (create and add), else add the person ``person_id`` — and return the
    panel's context and the disbursement now on the sheet (None when nothing was added). One
    person: an eligibility rule that blocks them refuses (with the reasons; a manager may
    override), as the session's service does by default."""
    new = request.POST.get("action") in ("new", "new_anyway")
    form = WalkInForm(request.POST if new else None, auto_id="walk-in-%s")
    panel: dict[str, Any] = {"query": "", "people": [], "searched": False, "form": form}
    try:
        person = _walk_in_person(request, session, user, panel, _override_from(request, user))
    except ValidationError as exc:
        if new:
            add_service_errors(form, translated(exc))
        else:
            panel["error"] = " ".join(_error_lines(exc))
        return panel, None
    except Conflict as exc:
        panel.update(error=front_desk_message(exc.detail),
                     reasons=[front_desk_message(e["message"]) for e in exc.errors])
        if exc.extra.get("type") == "eligibility_blocked":
            panel.update(blocked=True, can_override=user.can(Cap.MANAGE_PROGRAMS))
        return panel, None
    except DomainError as exc:
        panel["error"] = " ".join(_error_lines(exc))
        return panel, None
    if person is None:
        return panel, None
    row = next(r for r in selectors.session_sheet(session=session) if r.person_id == person.pk)
    # Whom the front desk serves: "Serving the Harris household, 5 people" (the household
    # and size the row recorded for the session's date).
    panel.update(added=person, form=WalkInForm(auto_id="walk-in-%s"),
                 serving=household_serving(person_id=person.pk, on=session.local_date))
    return panel, row.disbursement_id


@role_required(Cap.WRITE_RECORDS)
@front_desk
def session_walk_in(request: HttpRequest, pk: int) -> HttpResponse:
    """The walk-in panel of the attendance sheet. With htmx (``HX-Request``) it answers the
    panel's results only, and a person added comes with their sheet row, appended to the sheet
    in the page (out of band): the marks not yet saved are never touched. Without JavaScript a
    search is the sheet page itself (``?q=``) and an add goes back to the sheet."""
    session = _session(request, pk)
    user = page_user(request)
    htmx = request.headers.get("HX-Request") == "true"
    if request.method != "POST":
        panel = _walk_in_search(user, session, request.GET.get("q", ""))
        if not htmx:
            return redirect(f"/sessions/{session.pk}/?{urlencode({'q': panel['query']})}"
                            "#walk-in")
        return render(request, "web/participation/_walk_in_results.html",
                      {"session": session, "walk_in": panel})
    panel, added = _walk_in_add(request, session, user)
    if not htmx:
        if added is not None:
            messages.success(request, _("{name} is on this session's sheet.").format(
                name=panel["added"].full_name))
            return redirect(f"/sessions/{session.pk}/")
        return _sheet_page(request, session, walk_in=panel)
    context: dict[str, Any] = {"session": session, "walk_in": panel}
    if added is not None:
        sheet = selectors.session_sheet(session=session)
        # A walk-in came: shown present, not saved (the sheet's Save records it, with the rest).
        context.update(attendance_context(session, lines=[
            line for line in _lines(sheet, present={added}) if line.row.disbursement_id == added]),
            can_edit=True, new_row=True)
    return render(request, "web/participation/_walk_in_results.html", context)


# --- the kiosk ------------------------------------------------------------------------------


@role_required(Cap.CHECK_IN)
@front_desk
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
        raise Http404(_("The kiosk checks people in to today's sessions only."))
    return session


class RegisterForm(forms.Form):
    first_name = forms.CharField(max_length=100, label=gettext_lazy("First name"))
    last_name = forms.CharField(max_length=100, label=gettext_lazy("Last name"))
    postal_code = forms.CharField(max_length=20, required=False,
                                  label=gettext_lazy("Postal code"))


class CheckInForm(forms.Form):
    """The "That's me" button of a search result."""

    person_id = forms.IntegerField(min_value=1, max_value=MAX_ID)


def _welcome(request: HttpRequest, disbursement: Any) -> None:
    name = disbursement.person.first_name if disbursement.person else ""
    # The size only, never the household's name or members: a kiosk shows nothing about
    # anyone else.
    size = disbursement.household_size
    messages.success(request, (
        _("Welcome, {name}! You are checked in for your household of {size}.")
        if size and size > 1 else _("Welcome, {name}! You are checked in.")
    ).format(name=name, size=display.number(size)))


def _kiosk_card(request: HttpRequest, session: BenefitSession, user: User
                ) -> HttpResponse | tuple[str, list[dict[str, Any]]]:
    """A scanned (or typed) card code posted by the kiosk (``action=card``; web/scan.js):
    checked in and back to the empty kiosk, or — a household's card with several members on
    the list — (the code, the members to choose from) for the page to ask "who is checking
    in?"."""
    code = request.POST.get("code", "")[:100]
    person_id = parse_id(request.POST.get("person_id", "")) if request.POST.get(
        "person_id") else None
    try:
        done = services.check_in_card(actor=user, session=session, code=code,
                                      person_id=person_id)
    except ValidationError:
        messages.error(request, _("We don't know this card. Please type your name, or "
                                        "ask a staff member."))
        return redirect(request.path)
    except (Conflict, NotAllowed, NotFound) as exc:
        messages.error(request, exc.detail if exc.extra.get("type") == "card_revoked" else
                       f"{exc.detail} {_('Please ask a staff member.')}")
        return redirect(request.path)
    if done.disbursement is None:
        return code, list(done.choices)
    _welcome(request, done.disbursement)
    return redirect(request.path)


def _kiosk_post(request: HttpRequest, session: BenefitSession, user: User,
                register: RegisterForm, *, registering: bool
                ) -> HttpResponse | list[dict[str, Any]]:
    """A kiosk's check-in or registration: a redirect when done (or refused), else the page
    again with the form's errors, or the likely matches to ask "is this you?" about."""
    try:
        if registering:
            if register.is_valid():
                person = services.kiosk_register(
                    actor=user, session=session, **register.cleaned_data,
                    new_person_confirmed=request.POST.get("confirm_new") == "1")
                messages.success(request, _("Welcome, {name}! You are registered and "
                                            "checked in.").format(name=person.first_name))
                return redirect(request.path)
        else:
            check_in = CheckInForm(request.POST)
            if not check_in.is_valid():
                raise ValidationError(_("Choose your name in the list."))
            _welcome(request, services.check_in(
                actor=user, session=session, person_id=check_in.cleaned_data["person_id"]))
            return redirect(request.path)
    except ValidationError as exc:
        if registering:
            add_service_errors(register, translated(exc))
        else:
            messages.error(request, _("We could not check you in. Please search again or "
                                      "ask a staff member."))
            return redirect(request.path)
    except services.ServiceLimitExceeded:
        # Whoever is signed in, the kiosk's screen names nobody: not who else in the
        # household was served, nor when or where.
        messages.error(request, _("Please see a staff member."))
        return redirect(request.path)
    except Conflict as exc:
        if exc.extra.get("type") != "possible_duplicate":
            messages.error(request, _("{reason} Please ask a staff member.").format(
                reason=front_desk_message(exc.detail)))
            return redirect(request.path)
        return list(exc.extra["matches"])  # ask "is this you?" before making anyone new
    except (NotAllowed, NotFound) as exc:
        messages.error(request, _("{reason} Please ask a staff member.").format(
            reason=front_desk_message(exc.detail)))
        return redirect(request.path)
    return []


@role_required(Cap.CHECK_IN)
@front_desk
def kiosk_session(request: HttpRequest, pk: int) -> HttpResponse:
    session = _kiosk_session(request, pk)
    user = page_user(request)
    card: tuple[str, list[dict[str, Any]]] | None = None
    if request.POST.get("action") == "card":
        answer = _kiosk_card(request, session, user)
        if isinstance(answer, HttpResponse):
            return answer
        card = answer
    registering = request.POST.get("action") == "register"
    register = RegisterForm(request.POST if registering else None)
    likely: list[dict[str, Any]] = []
    if request.method == "POST" and card is None:
        answer_or_likely = _kiosk_post(request, session, user, register, registering=registering)
        if isinstance(answer_or_likely, HttpResponse):
            return answer_or_likely
        likely = answer_or_likely
    query = request.GET.get("q", "").strip()
    return render(request, "web/participation/kiosk_session.html", {
        "session": session, "register": register, "query": query, "likely": likely,
        "results": (selectors.kiosk_search(session=session, query=query, user=user)
                    if query else []),
        "show_register": request.POST.get("action") == "register",
        "card_code": card[0] if card else "", "card_choices": card[1] if card else []})


@role_required(Cap.CHECK_IN)
@front_desk
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
    path("sessions/<int:pk>/walk-in/", session_walk_in, name="session_walk_in"),
    path("kiosk/", kiosk, name="kiosk"),
    path("kiosk/<int:pk>/", kiosk_session, name="kiosk_session"),
    path("kiosk/<int:pk>/search", kiosk_search, name="kiosk_search"),
    path("programs/<int:pk>/enrollments/", program_enrollments, name="program_enrollments"),
    path("enrollments/<int:pk>/", enrollment_detail, name="enrollment_detail"),
    path("cohorts/<int:pk>/", cohort_detail, name="cohort_detail"),
]
