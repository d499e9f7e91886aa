"""Pages: log benefits for one client, bulk disbursements, the disbursement list and corrections.
Staff and up log benefits and bulk disbursements; editing and deleting them needs a manager
(core/roles.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import messages
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, ngettext

from programdesk.core.custom_fields import field_definitions_for
from programdesk.core.errors import DomainError, ValidationError
from programdesk.core.models import IdempotencyRecord, StatusValue, User
from programdesk.core.params import parse_id, parse_ids, parse_int, query_id
from programdesk.core.roles import Cap
from programdesk.core.scoping import visible, visible_or_404
from programdesk.core.selectors import status_first_in_bucket
from programdesk.participation import selectors, services
from programdesk.participation.models import BenefitDisbursement, ProgramEnrollment
from programdesk.people.models import Account, Case, Person
from programdesk.people.selectors import (
    account_get,
    case_get,
    household_serving,
    people_visible,
    person_get,
)
from programdesk.programs.limits import benefit_limit
from programdesk.programs.models import Benefit, Program
from programdesk.programs.selectors import benefits_visible, programs_visible
from programdesk.scheduling.models import BenefitSchedule, BenefitSession
from programdesk.web.front_desk_messages import front_desk_message
from programdesk.web.language import front_desk
from programdesk.web.permissions import page_user, role_required

LIST_LIMIT = 200
MAX_RECIPIENTS = 1_000_000  # as the API's bulk-disbursements
MAX_OFFSET = 10**9  # the list's pager; beyond the rows there are, the page is empty


def _claim_submission(request: HttpRequest) -> bool:
    """A form's one-time token: a double click or a reload of the POST saves once."""
    token = request.POST.get("submission", "")
    if not token:
        return True
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(user=page_user(request), key=f"page:{token}"[:200],
                                             method="POST", path=request.path[:500],
                                             body_digest="", status_code=303)
    except IntegrityError:
        messages.info(request, gettext("That form was already saved."))
        return False
    return True


def _show_errors(request: HttpRequest, exc: DomainError) -> None:
    """The service's messages; in the desk's language on a front-desk page (the ones known)."""
    messages.error(request, front_desk_message(exc.detail))
    for error in exc.errors:
        if error["message"] not in exc.detail:
            messages.error(request, front_desk_message(error["message"]))


def _limit_reason(request: HttpRequest, user: User) -> str:
    """A manager's reason for going past a benefit's service limit (the field is shown to
    managers only, after a refusal; anyone else's would be refused by the service)."""
    return (request.POST.get("limit_override_reason", "").strip()
            if user.can(Cap.MANAGE_PROGRAMS) else "")


def _limit_refused(user: User, exc: DomainError) -> bool:
    """Refused by a service limit, to a manager: the page shows the reason field."""
    return isinstance(exc, services.ServiceLimitExceeded) and user.can(Cap.MANAGE_PROGRAMS)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _statuses() -> list[StatusValue]:
    return list(StatusValue.objects.filter(kind="disbursement", is_active=True).order_by("order"))


def _delivered_code() -> str:
    return status_first_in_bucket("disbursement", "delivered").code


def _parse_quantity(raw: str, unit: str = "") -> Decimal:
    try:
        value = Decimal(raw.strip())
        if not value.is_finite():
            raise InvalidOperation
        if unit == "minute":
            # Entered in minutes for an hourly benefit: 30 minutes is 0.5 hours.
            value = (value / 60).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValidationError.for_fields(
            {"quantity": gettext("'%(value)s' is not a number.") % {"value": raw[:40]}}
        ) from None
    return value


def _parse_date(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationError.for_fields(
            {"disbursed_on": gettext("Give a date (YYYY-MM-DD).")}) from None


# --- log benefits for one client ------------------------------------------------------------


def _benefits_for(user: User) -> list[Benefit]:
    return list(benefits_visible(user).filter(is_active=True)
                .select_related("program", "unit").order_by("program__name", "name"))


def _posted_lines(request: HttpRequest) -> list[dict[str, Any]]:
    """The lines of the log-benefits form as posted (``benefit_0``, ``quantity_0``...)."""
    post = request.POST
    indexes = sorted({parse_int(k.split("_")[1], default=-1, minimum=-1,
                                maximum=services.MAX_LINES)
                      for k in post if k.startswith("benefit_")} - {-1})
    return [{"benefit": post.get(f"benefit_{i}", ""), "quantity": post.get(f"quantity_{i}", ""),
             "unit": post.get(f"unit_{i}", ""), "status": post.get(f"status_{i}", ""),
             "extra": {k.removeprefix(f"extra_{i}_"): post.get(k, "") for k in post
                       if k.startswith(f"extra_{i}_") and post.get(k)}}
            for i in indexes]


def _disbursement_line(i: int, line: dict[str, Any]) -> services.DisbursementLine:
    """A posted line for the service; a bad quantity or no benefit is line ``i``'s error."""
    try:
        quantity = _parse_quantity(line["quantity"] or "1", line["unit"])
    except ValidationError:
        raise ValidationError.for_fields(
            {f"items.{i}.quantity": f"Line {i + 1}: '{line['quantity']}' is not a "
                                    "number."}) from None
    benefit_id = parse_id(line["benefit"])
    if benefit_id is None:
        raise ValidationError.for_fields(
            {f"items.{i}.benefit_id": f"Line {i + 1}: choose a benefit."})
    return services.DisbursementLine(benefit_id=benefit_id, quantity=quantity,
                                     status=line["status"] or None, extra=line["extra"] or None)


def log_benefits(request: HttpRequest, *, person: Person | None = None,
                 account: Account | None = None, case: Case | None = None,
                 back: str) -> HttpResponse:
    user = page_user(request)
    lines_wanted = parse_int(request.GET.get("lines"), default=3, minimum=1,
                             maximum=services.MAX_LINES)
    posted_lines: list[dict[str, Any]] = []
    limit_override = False
    if request.method == "POST":
        posted_lines = _posted_lines(request)
        lines_wanted = max(len(posted_lines), 1)
        chosen = [line for line in posted_lines if line["benefit"]]
        if request.POST.get("action") == "refresh":
            chosen = []  # only show the chosen benefits' extra fields
        try:
            day = _parse_date(request.POST.get("disbursed_on", ""))
            if request.POST.get("action") == "refresh":
                raise _Refresh
            if not chosen:
                raise ValidationError.for_fields({"items": "Choose at least one benefit."})
            lines = [_disbursement_line(i, line) for i, line in enumerate(chosen)]
            # The token and the disbursements commit together: a failed save can be retried.
            with transaction.atomic():
                if _claim_submission(request):
                    result = services.disbursements_create_ad_hoc(
                        actor=user, person=person, account=account, case=case,
                        disbursed_on=day, lines=lines,
                        override_reason=_limit_reason(request, user))
                    messages.success(request,
                                     f"Logged {_count(len(result.disbursements), 'benefit')}.")
                    for warning in result.warnings:
                        messages.warning(request, warning["message"])
            return redirect(back)
        except _Refresh:
            pass
        except DomainError as exc:
            _show_errors(request, exc)
            limit_override = _limit_refused(user, exc)
    benefits = _benefits_for(user)
    by_id = {str(b.pk): b for b in benefits}
    lines_out: list[dict[str, Any]] = posted_lines + [
        {"benefit": "", "quantity": "", "unit": "", "status": "", "extra": {}}
        for _ in range(lines_wanted - len(posted_lines))]
    for i, line in enumerate(lines_out):
        line["index"] = i
        line["fields"] = _line_fields(by_id.get(str(line["benefit"])), line["extra"])
    serving = household_serving(person_id=getattr(person, "pk", None),
                                account_id=getattr(account, "pk", None),
                                on=timezone.localdate())
    return render(request, "web/disbursements/log_benefits.html", {
        "client": person or account, "case": case, "back": back, "benefits": benefits,
        "serving": serving, "limit_override": limit_override,
        "statuses": _statuses(), "lines": lines_out, "default_status": _delivered_code(),
        "more": lines_wanted + 1,
        "today": request.POST.get("disbursed_on") or timezone.localdate().isoformat(),
        "submission": uuid.uuid4().hex})


class _Refresh(Exception):
    """"Show the extra fields" was pressed: render again, save nothing."""


def _line_fields(benefit: Benefit | None, values: dict[str, str]) -> list[dict[str, Any]]:
    """The custom fields a line's benefit collects, with what was typed."""
    if benefit is None:
        return []
    return [{"definition": d, "value": values.get(d.key, "")}
            for d in field_definitions_for(target="disbursement", program_id=benefit.program_id,
                                           benefit_id=benefit.pk)]


@role_required(Cap.LOG_DISBURSEMENTS)
def log_benefits_line_fields(request: HttpRequest) -> HttpResponse:
    """The extra fields of one line, swapped in when its benefit changes (htmx)."""
    user = page_user(request)
    index = parse_int(request.GET.get("line"), default=0, minimum=0,
                      maximum=services.MAX_LINES)
    benefit = benefits_visible(user).filter(
        pk=query_id(request.GET, f"benefit_{index}") or 0).first()
    return render(request, "web/disbursements/_line_fields.html",
                  {"line": {"index": index, "fields": _line_fields(benefit, {})}})


@role_required(Cap.LOG_DISBURSEMENTS)
def log_benefits_person(request: HttpRequest, pk: int) -> HttpResponse:
    person = person_get(page_user(request), pk)
    return log_benefits(request, person=person, back=f"/people/{pk}/")


@role_required(Cap.LOG_DISBURSEMENTS)
def log_benefits_account(request: HttpRequest, pk: int) -> HttpResponse:
    account = account_get(page_user(request), pk)
    return log_benefits(request, account=account, back=f"/accounts/{pk}/")


@role_required(Cap.LOG_DISBURSEMENTS)
def log_benefits_case(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_get(page_user(request), pk)
    return log_benefits(request, person=case.person, account=case.account, case=case,
                        back=f"/cases/{pk}/")


# --- bulk -----------------------------------------------------------------------------------


def _recipients(request: HttpRequest, program: Program) -> QuerySet[Person]:
    """People for a walk-in bulk, filtered by name, account, postal code, cohort, or "served
    by this program before"."""
    people = people_visible(page_user(request))
    params = request.POST if request.method == "POST" else request.GET
    for term in params.get("q", "").split()[:4]:
        people = people.filter(Q(first_name__icontains=term) | Q(last_name__icontains=term))
    if account := params.get("account", "").strip():
        people = people.filter(account__name__icontains=account)
    if postal := params.get("postal_code", "").strip():
        people = people.filter(postal_code__istartswith=postal)
    if cohort := query_id(params, "cohort"):
        people = people.filter(enrollments__cohort_memberships__cohort_id=cohort,
                               enrollments__cohort_memberships__removed_on__isnull=True)
    if params.get("served_before"):
        people = people.filter(Exists(BenefitDisbursement.objects.filter(
            person_id=OuterRef("pk"), program=program, status__bucket="delivered")))
    return people.distinct().order_by("last_name", "first_name", "id")


def _enrollments(request: HttpRequest, program: Program, user: User
                 ) -> QuerySet[ProgramEnrollment]:
    params = request.POST if request.method == "POST" else request.GET
    return selectors.enrollments_list(
        user=user, program_id=program.pk, status=params.get("enrollment_status") or None,
        cohort_id=query_id(params, "cohort"),
        search=params.get("q", "")).exclude(is_anonymous=True)


@role_required(Cap.LOG_DISBURSEMENTS)
def bulk_for_program(request: HttpRequest, pk: int) -> HttpResponse:
    program = visible_or_404(programs_visible(page_user(request)), pk)
    if benefit := query_id(request.GET, "benefit"):
        return redirect(f"/benefits/{benefit}/bulk/")
    return render(request, "web/disbursements/bulk_choose.html", {
        "program": program, "benefits": program.benefits.filter(is_active=True)})


@role_required(Cap.LOG_DISBURSEMENTS)
def bulk_choose_benefit(request: HttpRequest) -> HttpResponse:
    """Bulk disbursement from the Disbursements page and the navigation: first which benefit
    (any program the user sees), then the benefit's bulk page."""
    user = page_user(request)
    benefits = _benefits_for(user)
    chosen = query_id(request.GET, "benefit")
    if chosen is not None:
        if chosen not in {b.pk for b in benefits}:
            raise Http404
        return redirect("bulk_for_benefit", pk=chosen)
    return render(request, "web/disbursements/bulk_choose.html", {
        "program": None, "benefits": benefits})


# The status menu of the walk-in page (a front-desk page) in the desk's words, one per bucket;
# a second active status in the same bucket shows its own label.
BUCKET_WORDS = {"expected": gettext_lazy("Expected"), "delivered": gettext_lazy("Delivered"),
                "absent": gettext_lazy("Absent"), "excused": gettext_lazy("Excused"),
                "cancelled": gettext_lazy("Cancelled")}


def _status_choices() -> list[tuple[str, str]]:
    seen: set[str] = set()
    choices = []
    for s in _statuses():
        choices.append((s.code, s.label if s.bucket in seen
                         else str(BUCKET_WORDS.get(s.bucket, s.label))))
        seen.add(s.bucket)
    return choices


def _saved_message(result: services.BulkResult) -> str:
    created, enrolled = result.disbursements_created, result.enrollments_created
    message = ngettext("Saved %(n)s disbursement", "Saved %(n)s disbursements", created) % {
        "n": created}
    if enrolled:
        message += ", " + ngettext("%(n)s new enrollment", "%(n)s new enrollments",
                                   enrolled) % {"n": enrolled}
    return message + "."


@role_required(Cap.LOG_DISBURSEMENTS)
@front_desk
def bulk_for_benefit(request: HttpRequest, pk: int) -> HttpResponse:
    """A benefit's bulk disbursement; its walk-in mode (the default) is a front-desk page: in
    the desk's language, and kept on the tablet to work offline. ``?offline=1`` is the copy a
    tablet keeps (offline.js): the walk-in form without the people table, which offline.js
    fills from the offline roster — the cached page holds nobody's data
    (docs/front-desk.md, Offline)."""
    user = page_user(request)
    benefit = visible_or_404(benefits_visible(user).select_related("program", "unit"), pk)
    program = benefit.program
    params = request.POST if request.method == "POST" else request.GET
    mode = params.get("mode", "walk_in")
    if mode not in {"walk_in", "anonymous", "enrollment"}:
        mode = "walk_in"
    offline = request.method == "GET" and mode == "walk_in" and params.get("offline") == "1"
    limit_override = False
    if request.method == "POST":
        try:
            with transaction.atomic():
                result = _bulk_save(request, benefit, mode, user)
            if result is not None:
                if result.skipped:
                    messages.warning(request, ngettext(
                        "%(n)s recipient left out: already served within the benefit's limit.",
                        "%(n)s recipients left out: already served within the benefit's limit.",
                        len(result.skipped)) % {"n": len(result.skipped)})
                messages.success(request, _saved_message(result))
                for warning in result.warnings:
                    if warning["code"] != "benefit_has_schedule":
                        messages.warning(request, warning["message"])
            return redirect(f"/disbursements/?benefit={benefit.pk}")
        except DomainError as exc:
            _show_errors(request, exc)
            limit_override = _limit_refused(user, exc)
    has_schedule = BenefitSchedule.objects.filter(benefit=benefit).exists()
    rostered_people, rostered_enrollments = (
        selectors.on_benefit_rosters(benefit_id=benefit.pk) if has_schedule else (set(), set()))
    upcoming = (BenefitSession.objects.filter(benefit=benefit,
                                              local_date__gte=timezone.localdate())
                .exclude(status="cancelled").order_by("start").first())
    context: dict[str, Any] = {
        "benefit": benefit, "program": program, "mode": mode, "has_schedule": has_schedule,
        "upcoming": upcoming, "statuses": _status_choices(), "params": params,
        "offline": offline,
        "rostered_people": rostered_people, "rostered_enrollments": rostered_enrollments,
        "default_status": _delivered_code(),
        "today": timezone.localdate().isoformat(), "cohorts": program.cohorts.all(),
        "enrollment_statuses": StatusValue.objects.filter(kind="enrollment"),
        "submission": uuid.uuid4().hex, "limit": LIST_LIMIT,
        "service_limit": benefit_limit(benefit), "limit_override": limit_override,
    }
    if offline:
        context |= {"people": [], "matching": 0}
    elif mode == "walk_in":
        people = _recipients(request, program)
        context |= {"people": people[:LIST_LIMIT], "matching": people.count()}
    elif mode == "enrollment":
        enrollments = _enrollments(request, program, user)
        context |= {"enrollments": enrollments[:LIST_LIMIT], "matching": enrollments.count()}
    return render(request, "web/disbursements/bulk.html", context)


def _selected(request: HttpRequest, name: str, everyone: QuerySet[Any]) -> list[int]:
    if request.POST.get("all_matching"):
        return list(everyone.values_list("id", flat=True))
    return parse_ids(request.POST.getlist(name))


def _bulk_save(request: HttpRequest, benefit: Benefit, mode: str, user: User
               ) -> services.BulkResult | None:
    post = request.POST
    quantity = _parse_quantity(post.get("quantity", ""), post.get("unit", ""))
    day = _parse_date(post.get("disbursed_on", ""))
    status = post.get("status") or None
    if not _claim_submission(request):
        return None
    if mode == "anonymous":
        count = parse_id(post.get("number_of_recipients"))
        if count is None or count > MAX_RECIPIENTS:
            raise ValidationError.for_fields({"number_of_recipients": gettext(
                "Give the number of recipients (1 to %(max)s).") % {"max": f"{MAX_RECIPIENTS:,}"}})
        return services.disbursements_bulk_anonymous(
            actor=user, benefit=benefit, quantity=quantity, disbursed_on=day,
            number_of_recipients=count, status=status)
    limits: dict[str, Any] = {"override_reason": _limit_reason(request, user),
                              "over_limit": post.get("over_limit") or "refuse"}
    if mode == "enrollment":
        return services.disbursements_bulk_enrollment(
            actor=user, benefit=benefit, quantity=quantity, disbursed_on=day, status=status,
            enrollment_ids=_selected(request, "enrollment_ids",
                                     _enrollments(request, benefit.program, user)), **limits)
    return services.disbursements_bulk_walk_in(
        actor=user, benefit=benefit, quantity=quantity, disbursed_on=day, status=status,
        person_ids=_selected(request, "person_ids", _recipients(request, benefit.program)),
        add_to_upcoming_session=bool(post.get("add_to_upcoming_session")), **limits)


# --- the list and corrections ---------------------------------------------------------------


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@role_required(Cap.READ_RECORDS)
def disbursement_list(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    g = request.GET
    qs = selectors.disbursements_list(
        user=user, benefit_id=query_id(g, "benefit"), program_id=query_id(g, "program"),
        person_id=query_id(g, "person"), recipient_type=g.get("recipient_type") or None,
        status=g.get("status") or None, date_from=_date(g.get("from")),
        date_to=_date(g.get("to")), search=g.get("q", ""))
    offset = parse_int(g.get("offset"), default=0, minimum=0, maximum=MAX_OFFSET)
    return render(request, "web/disbursements/list.html", {
        "rows": qs[offset:offset + LIST_LIMIT], "count": qs.count(), "offset": offset,
        "next": offset + LIST_LIMIT, "prev": max(offset - LIST_LIMIT, 0), "limit": LIST_LIMIT,
        "filters": g, "query": g.urlencode(),
        "programs": programs_visible(user),
        "benefits": benefits_visible(user).select_related("program"),
        "statuses": _statuses(), "can_edit": user.can(Cap.MANAGE_PROGRAMS),
        "can_log": user.can(Cap.LOG_DISBURSEMENTS)})


class DisbursementForm(forms.Form):
    status = forms.ChoiceField()
    quantity = forms.DecimalField(min_value=0, max_digits=12, decimal_places=2)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        status = self.fields["status"]
        assert isinstance(status, forms.ChoiceField)
        status.choices = [(s.code, s.label) for s in _statuses()]


@role_required(Cap.READ_RECORDS)
def disbursement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = page_user(request)
    row = visible_or_404(visible(BenefitDisbursement.objects.select_related(
        "benefit", "program", "person", "account", "status", "unit", "session", "case"), user), pk)
    form = DisbursementForm(request.POST or None,
                            initial={"status": row.status.code, "quantity": row.quantity})
    if request.method == "POST":
        if not user.can(Cap.MANAGE_PROGRAMS):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        if request.POST.get("action") == "delete":
            services.disbursement_delete(actor=user, disbursement=row,
                                         reason=request.POST.get("reason", ""))
            messages.success(request, "Disbursement deleted (kept in the audit log).")
            return redirect("/disbursements/")
        if form.is_valid():
            try:
                services.disbursement_update(actor=user, disbursement=row,
                                             status=form.cleaned_data["status"],
                                             quantity=form.cleaned_data["quantity"])
                messages.success(request, "Disbursement saved.")
                return redirect(request.path)
            except ValidationError as exc:
                from programdesk.web.forms import add_service_errors

                add_service_errors(form, exc)
    return render(request, "web/disbursements/detail.html", {
        "row": row, "form": form, "can_edit": user.can(Cap.MANAGE_PROGRAMS)})


urlpatterns = [
    path("people/<int:pk>/log-benefits/", log_benefits_person, name="log_benefits_person"),
    path("disbursements/line-fields", log_benefits_line_fields, name="log_benefits_line_fields"),
    path("accounts/<int:pk>/log-benefits/", log_benefits_account, name="log_benefits_account"),
    path("cases/<int:pk>/log-benefits/", log_benefits_case, name="log_benefits_case"),
    path("programs/<int:pk>/bulk/", bulk_for_program, name="bulk_for_program"),
    path("benefits/<int:pk>/bulk/", bulk_for_benefit, name="bulk_for_benefit"),
    path("disbursements/bulk/", bulk_choose_benefit, name="bulk_choose_benefit"),
    path("disbursements/", disbursement_list, name="disbursement_list"),
    path("disbursements/<int:pk>/", disbursement_detail, name="disbursement_detail"),
]
