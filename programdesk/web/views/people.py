"""Pages: people (quick add with duplicate warning, person page, merge, documents), accounts
and cases."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from programdesk.core import custom_fields
from programdesk.core.errors import Conflict, ValidationError
from programdesk.core.models import FieldTarget
from programdesk.core.params import parse_id, query_id
from programdesk.core.roles import Cap
from programdesk.people import selectors, services
from programdesk.people.forms import (
    AccountForm,
    CaseForm,
    DocumentForm,
    MembershipEndForm,
    MembershipForm,
    PersonForm,
)
from programdesk.people.models import AccountKind, Case, PersonDocument, Relationship
from programdesk.programs.eligibility import eligibility_check
from programdesk.programs.selectors import benefits_visible, programs_visible
from programdesk.web.forms import add_service_errors
from programdesk.web.permissions import page_user, role_required

PAGE_SIZE = 50


def _page(request: HttpRequest, qs: Any) -> Any:
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _query(request: HttpRequest) -> str:
    """The current filters, for the pager's links ("q=ana&")."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode() + "&" if params else ""


# --- People ------------------------------------------------------------------------------------

@role_required(Cap.READ_RECORDS)
def people_list(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    q = request.GET.get("q", "")[:200]
    qs = selectors.people_search(selectors.people_visible(user), q).select_related("account")
    return render(request, "web/people/list.html",
                  {"page": _page(request, qs.order_by("last_name", "first_name", "id")), "q": q,
                   "query": _query(request), "can_write": user.can(Cap.WRITE_RECORDS)})


@role_required(Cap.WRITE_RECORDS)
def person_new(request: HttpRequest) -> HttpResponse:
    """Quick add. The first submit looks for possible duplicates and, when there are some,
    shows them before anything is saved: staff open the existing person or create anyway."""
    user = page_user(request)
    duplicates: list[selectors.DuplicateMatch] = []
    if request.method == "POST":
        form = PersonForm(request.POST, user=user)
        if form.is_valid():
            values = form.service_values()
            if not request.POST.get("create_anyway"):
                duplicates = selectors.people_find_duplicates(
                    first_name=values["first_name"], last_name=values["last_name"],
                    birth_date=values.get("birth_date"), email=values["email"],
                    phone=values["phone"], user=user)
            if not duplicates:
                try:
                    person = services.person_create(actor=user, **values)
                except ValidationError as exc:
                    add_service_errors(form, exc)
                else:
                    messages.success(request, f"{person.full_name} was added.")
                    return redirect(f"/people/{person.pk}/")
    else:
        initial: dict[str, Any] = {}
        if account_id := query_id(request.GET, "account"):
            initial["account"] = account_id
        for key in ("first_name", "last_name"):
            if request.GET.get(key):
                initial[key] = request.GET[key][:100]
        form = PersonForm(user=user, initial=initial)
    return render(request, "web/people/form.html",
                  {"form": form, "duplicates": duplicates, "creating": True,
                   "extra_names": form.extra_names})


@role_required(Cap.READ_RECORDS)
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = page_user(request)
    person = selectors.person_get(page_user(request), pk)
    context: dict[str, Any] = {
        "person": person,
        "records": selectors.person_records(person, user),
        "extra": custom_fields.extra_display(
            custom_fields.field_definitions_for(target=FieldTarget.PERSON, any_scope=True),
            person.extra),
        "can_write": user.can(Cap.WRITE_RECORDS),
        "can_log": user.can(Cap.LOG_DISBURSEMENTS),
        "see_eligibility": user.can(Cap.SEE_ELIGIBILITY),
        "memberships": list(selectors.person_memberships(person)),
    }
    if context["see_eligibility"]:
        context["documents"] = list(person.documents.all())
        context["document_form"] = DocumentForm(initial={"verified_on": timezone.localdate()})
        context.update(_eligibility_context(request, person))
    return render(request, "web/people/detail.html", context)


def _eligibility_context(request: HttpRequest, person: Any) -> dict[str, Any]:
    """The person page's "Check eligibility" box: a program or benefit and a date."""
    user = page_user(request)
    programs = list(programs_visible(user).order_by("name")
                    .prefetch_related("benefits"))
    choice = request.GET.get("check", "")
    on_text = request.GET.get("on", "")
    try:
        on = dt.date.fromisoformat(on_text) if on_text else timezone.localdate()
    except ValueError:
        on = timezone.localdate()
    decision, target = None, None
    pk = parse_id(choice[2:]) if choice[:2] in {"p:", "b:"} else None
    if pk is not None:
        if choice.startswith("p:"):
            program = next((p for p in programs if p.pk == pk), None)
            if program is not None:
                target = program.name
                decision = eligibility_check(person=person, program=program, on=on)
        else:
            benefit = benefits_visible(user).select_related("program").filter(pk=pk).first()
            if benefit is not None:
                target = f"{benefit.name} ({benefit.program.name})"
                decision = eligibility_check(person=person, benefit=benefit, on=on)
    options = [(p.name, [(f"p:{p.pk}", f"{p.name} (whole program)"),
                         *((f"b:{b.pk}", b.name) for b in p.benefits.all())])
               for p in programs]
    return {"check_options": options, "check_choice": choice, "check_on": on,
            "decision": decision, "check_target": target}


@role_required(Cap.WRITE_RECORDS)
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = page_user(request)
    person = selectors.person_get(page_user(request), pk)
    if request.method == "POST":
        form = PersonForm(request.POST, user=user, person=person)
        if form.is_valid():
            values = form.service_values()
            # Every custom field is on the form: one left empty is removed.
            values["extra"] = {**{name[len(custom_fields.FORM_PREFIX):]: None
                                  for name in form.extra_names}, **values["extra"]}
            try:
                services.person_update(actor=user, person=person, **values)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Saved.")
                return redirect(f"/people/{person.pk}/")
    else:
        form = PersonForm(user=user, person=person)
    return render(request, "web/people/form.html",
                  {"form": form, "person": person, "extra_names": form.extra_names})


@role_required(Cap.WRITE_RECORDS)
def person_merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Merge another person into this one: pick from the possible duplicates (or give an id),
    compare the two side by side, confirm."""
    user = page_user(request)
    person = selectors.person_get(page_user(request), pk)
    other_id = request.POST.get("duplicate") or request.GET.get("duplicate", "")
    other = None
    if other_id:
        other = selectors.people_visible(user).filter(pk=parse_id(other_id) or 0).first()
        if other is None or other.pk == person.pk:
            messages.error(request, "Pick another person to merge into this one.")
            return redirect(f"/people/{person.pk}/merge/")
    if request.method == "POST" and other is not None:
        try:
            services.person_merge(actor=user, survivor=person, duplicate=other)
        except (Conflict, ValidationError) as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, f"{other.full_name} (#{other.pk}) was merged into "
                                      f"{person.full_name}.")
            return redirect(f"/people/{person.pk}/")
    candidates = selectors.people_find_duplicates(
        first_name=person.first_name, last_name=person.last_name, birth_date=person.birth_date,
        email=person.email, phone=person.phone, exclude_id=person.pk, user=user)
    # The person picker: anyone visible by name, phone, email, postal code or birth date, shown
    # with what tells namesakes apart (birth date, postal code, household, record number).
    find = request.GET.get("find", "").strip()[:200]
    found = (list(selectors.people_search(selectors.people_visible(user), find)
                  .exclude(pk=person.pk).select_related("account")
                  .order_by("last_name", "first_name", "id")[:25]) if find else [])
    context: dict[str, Any] = {"person": person, "other": other, "candidates": candidates,
                               "find": find, "found": found}
    if other is not None:
        context["mine"] = selectors.person_records(person, user)
        context["theirs"] = selectors.person_records(other, user)
    return render(request, "web/people/merge.html", context)


@require_POST
@role_required(Cap.WRITE_RECORDS)
def person_document_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = page_user(request)
    person = selectors.person_get(page_user(request), pk)
    form = DocumentForm(request.POST)
    if form.is_valid():
        try:
            services.person_document_add(actor=user, person=person, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, "Document recorded.")
    else:
        messages.error(request, "; ".join(f"{form.fields[k].label or k}: {' '.join(map(str, v))}"
                                          for k, v in form.errors.items()))
    return redirect(f"/people/{person.pk}/#documents")


@require_POST
@role_required(Cap.WRITE_RECORDS)
def person_document_delete(request: HttpRequest, pk: int, doc: int) -> HttpResponse:
    user = page_user(request)
    person = selectors.person_get(page_user(request), pk)
    document = PersonDocument.objects.filter(person=person, pk=doc).first()
    if document is not None:
        services.person_document_delete(actor=user, document=document)
        messages.success(request, "Document removed.")
    return redirect(f"/people/{person.pk}/#documents")


# --- Accounts ----------------------------------------------------------------------------------

@role_required(Cap.READ_RECORDS)
def accounts_list(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    q = request.GET.get("q", "")[:200]
    kind = request.GET.get("kind", "")
    qs = selectors.accounts_search(selectors.accounts_visible(user), q)
    if kind in {"household", "organization"}:
        qs = qs.filter(kind=kind)
    from django.db.models import Count, Q

    # Members the user may see: a household shared with another program counts only those.
    members = (Q(members__in=selectors.people_visible(user).values("pk"))
               if user.visible_program_ids() is not None else None)
    qs = qs.annotate(member_count=Count("members", filter=members)).order_by("name", "id")
    return render(request, "web/people/accounts.html",
                  {"page": _page(request, qs), "q": q, "kind": kind,
                   "query": _query(request), "can_write": user.can(Cap.WRITE_RECORDS)})


def _account_form_page(request: HttpRequest, account: Any = None) -> HttpResponse:
    user = page_user(request)
    if request.method == "POST":
        form = AccountForm(request.POST)
        if form.is_valid():
            try:
                if account is None:
                    account = services.account_create(actor=user, **form.cleaned_data)
                else:
                    services.account_update(actor=user, account=account, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            except Conflict as exc:
                messages.error(request, exc.detail)
            else:
                messages.success(request, "Saved.")
                return redirect(f"/accounts/{account.pk}/")
    else:
        initial = ({"name": account.name, "kind": account.kind, "email": account.email,
                    "phone": account.phone, "postal_code": account.postal_code,
                    "declared_size": account.declared_size,
                    "annual_income": account.annual_income}
                   if account else {"kind": "household"})
        form = AccountForm(initial=initial)
    return render(request, "web/people/account_form.html", {"form": form, "account": account})


@role_required(Cap.WRITE_RECORDS)
def account_new(request: HttpRequest) -> HttpResponse:
    return _account_form_page(request)


@role_required(Cap.WRITE_RECORDS)
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _account_form_page(request, selectors.account_get(page_user(request), pk))


@role_required(Cap.READ_RECORDS)
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = page_user(request)
    account = selectors.account_get(page_user(request), pk)
    member_q = request.GET.get("member_q", "")[:200]
    candidates = []
    if member_q and user.can(Cap.WRITE_RECORDS):
        candidates = list(selectors.people_search(selectors.people_visible(user), member_q)
                          .exclude(account=account).select_related("account")[:20])
    is_household = account.kind == AccountKind.HOUSEHOLD
    memberships = list(selectors.household_memberships(account, user)) if is_household else []
    return render(request, "web/people/account.html", {
        "account": account, "records": selectors.account_records(account, user),
        "is_household": is_household,
        "facts": selectors.households_today([account.pk]).get(account.pk),
        "current": [m for m in memberships if m.end_date is None],
        "past": [m for m in memberships if m.end_date is not None],
        "relationships": Relationship.choices, "today": timezone.localdate(),
        "member_q": member_q, "candidates": candidates,
        "can_write": user.can(Cap.WRITE_RECORDS), "can_log": user.can(Cap.LOG_DISBURSEMENTS),
        "can_see_income": user.can(Cap.SEE_ELIGIBILITY)})


def _member_url(account: Any, step: str, person: Any) -> str:
    return f"/accounts/{account.pk}/members/{step}/?person={person.pk}"


@require_POST
@role_required(Cap.WRITE_RECORDS)
def account_members(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a person to the household (``relationship``, ``on``). Taking someone out
    (``remove``), or adding someone who lives in another household, goes to a page that asks
    for the date and a confirmation first. An organisation's members are undated."""
    user = page_user(request)
    account = selectors.account_get(page_user(request), pk)
    person = selectors.people_visible(user).filter(
        pk=query_id(request.POST, "person") or 0).first()
    if person is None:
        messages.error(request, "Unknown person.")
        return redirect(f"/accounts/{account.pk}/")
    if account.kind != AccountKind.HOUSEHOLD:
        if request.POST.get("remove"):
            if person.account_id == account.pk:
                services.person_update(actor=user, person=person, account=None)
                messages.success(request, f"{person.full_name} is no longer a member.")
        else:
            services.person_update(actor=user, person=person, account=account)
            messages.success(request, f"{person.full_name} is now a member.")
        return redirect(f"/accounts/{account.pk}/")
    if request.POST.get("remove"):
        return redirect(_member_url(account, "end", person))
    if person.account_id is not None and person.account_id != account.pk:
        return redirect(_member_url(account, "move", person))
    form = MembershipForm({"relationship": request.POST.get("relationship", "other"),
                           "on": request.POST.get("on") or timezone.localdate()})
    if not form.is_valid():
        messages.error(request, "Choose a relationship and a start date.")
        return redirect(f"/accounts/{account.pk}/")
    try:
        services.household_member_add(actor=user, account=account, person=person,
                                      relationship=form.cleaned_data["relationship"],
                                      start_date=form.cleaned_data["on"])
    except (Conflict, ValidationError) as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"{person.full_name} is now a member.")
    return redirect(f"/accounts/{account.pk}/#mem-head")


def _member_person(request: HttpRequest) -> Any:
    from django.http import Http404

    user = page_user(request)
    source = request.POST if request.method == "POST" else request.GET
    person = (selectors.people_visible(user).select_related("account")
              .filter(pk=query_id(source, "person") or 0).first())
    if person is None:
        raise Http404
    return person


@role_required(Cap.WRITE_RECORDS)
def account_member_end(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then end someone's membership of the household on the date given."""
    user = page_user(request)
    account = selectors.account_get(page_user(request), pk)
    person = _member_person(request)
    membership = selectors.person_memberships(person).filter(account=account,
                                                             end_date__isnull=True).first()
    if membership is None:
        messages.error(request, f"{person.full_name} is not a current member of {account.name}.")
        return redirect(f"/accounts/{account.pk}/")
    form = MembershipEndForm(request.POST or None,
                             initial={"end_date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.household_member_end(actor=user, account=account, person=person,
                                          end_date=form.cleaned_data["end_date"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        except Conflict as exc:
            messages.error(request, exc.detail)
            return redirect(f"/accounts/{account.pk}/")
        else:
            messages.success(request, f"{person.full_name} is no longer a member of "
                                      f"{account.name}.")
            return redirect(f"/accounts/{account.pk}/#mem-head")
    return render(request, "web/people/member_confirm.html", {
        "account": account, "person": person, "membership": membership, "form": form,
        "step": "end"})


@role_required(Cap.WRITE_RECORDS)
def account_member_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then move someone from their household into this one from the date given."""
    user = page_user(request)
    account = selectors.account_get(page_user(request), pk)
    if account.kind != AccountKind.HOUSEHOLD:
        from django.http import Http404

        raise Http404
    person = _member_person(request)
    membership = selectors.person_memberships(person).filter(end_date__isnull=True).first()
    form = MembershipForm(request.POST or None,
                          initial={"relationship": Relationship.OTHER,
                                   "on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.household_member_move(actor=user, person=person, account=account,
                                           relationship=form.cleaned_data["relationship"],
                                           on=form.cleaned_data["on"])
        except ValidationError as exc:
            for error in exc.errors:  # the service's start_date is this form's "on"
                if error["field"] == "start_date":
                    error["field"] = "on"
            add_service_errors(form, exc)
        except Conflict as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, f"{person.full_name} now lives in {account.name}.")
            return redirect(f"/accounts/{account.pk}/#mem-head")
    return render(request, "web/people/member_confirm.html", {
        "account": account, "person": person, "membership": membership, "form": form,
        "step": "move"})


# --- Cases -------------------------------------------------------------------------------------

@role_required(Cap.READ_RECORDS)
def cases_list(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    status = request.GET.get("status", "open")
    qs = selectors.cases_visible(user).select_related("person", "account", "worker")
    if status in {"open", "closed"}:
        qs = qs.filter(status=status)
    if request.GET.get("mine"):
        qs = qs.filter(worker=user)
    q = request.GET.get("q", "")[:200]
    if q:
        from django.db.models import Q

        qs = qs.filter(Q(subject__icontains=q) | Q(person__last_name__icontains=q)
                       | Q(person__first_name__icontains=q) | Q(account__name__icontains=q))
    return render(request, "web/people/cases.html", {
        "page": _page(request, qs.order_by("-opened_on", "-id")), "status": status,
        "mine": bool(request.GET.get("mine")), "q": q, "query": _query(request)})


def _case_form_page(request: HttpRequest, case: Case | None = None) -> HttpResponse:
    user = page_user(request)
    client: Any = None
    if case is None:
        person_id, account_id = query_id(request.GET, "person"), query_id(request.GET, "account")
        if person_id:
            client = selectors.person_get(page_user(request), person_id)
        elif account_id:
            client = selectors.account_get(page_user(request), account_id)
        else:
            messages.info(request, "Open a case from a person's or an account's page.")
            return redirect("/people/")
    else:
        client = case.person or case.account
    if request.method == "POST":
        form = CaseForm(request.POST, user=user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if case is None:
                    is_person = client.__class__.__name__ == "Person"
                    case = services.case_create(
                        actor=user, subject=data["subject"], status=data["status"],
                        worker=data["worker"] or user, programs=list(data["programs"]),
                        notes=data["notes"], person=client if is_person else None,
                        account=None if is_person else client)
                else:
                    services.case_update(actor=user, case=case, subject=data["subject"],
                                         status=data["status"], worker=data["worker"],
                                         programs=list(data["programs"]), notes=data["notes"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Saved.")
                return redirect(f"/cases/{case.pk}/")
    else:
        initial: dict[str, Any] = {"status": "open", "worker": user.pk}
        if case is not None:
            initial = {"subject": case.subject, "status": case.status, "worker": case.worker_id,
                       "programs": list(case.programs.all()), "notes": case.notes}
        form = CaseForm(user=user, initial=initial)
    return render(request, "web/people/case_form.html",
                  {"form": form, "case": case, "client": client})


@role_required(Cap.WRITE_RECORDS)
def case_new(request: HttpRequest) -> HttpResponse:
    return _case_form_page(request)


@role_required(Cap.WRITE_RECORDS)
def case_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _case_form_page(request, selectors.case_get(page_user(request), pk))


@role_required(Cap.READ_RECORDS)
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = page_user(request)
    case = selectors.case_get(page_user(request), pk)
    return render(request, "web/people/case.html", {
        "case": case, "programs": list(case.programs.all()),
        "disbursements": selectors.case_disbursements(case, user),
        "can_write": user.can(Cap.WRITE_RECORDS), "can_log": user.can(Cap.LOG_DISBURSEMENTS)})


urlpatterns = [
    path("people/", people_list, name="people"),
    path("people/new/", person_new, name="person-new"),
    path("people/<int:pk>/", person_detail, name="person"),
    path("people/<int:pk>/edit/", person_edit, name="person-edit"),
    path("people/<int:pk>/merge/", person_merge, name="person-merge"),
    path("people/<int:pk>/documents/", person_document_add, name="person-document-add"),
    path("people/<int:pk>/documents/<int:doc>/delete/", person_document_delete,
         name="person-document-delete"),
    path("accounts/", accounts_list, name="accounts"),
    path("accounts/new/", account_new, name="account-new"),
    path("accounts/<int:pk>/", account_detail, name="account"),
    path("accounts/<int:pk>/edit/", account_edit, name="account-edit"),
    path("accounts/<int:pk>/members/", account_members, name="account-members"),
    path("accounts/<int:pk>/members/end/", account_member_end, name="account-member-end"),
    path("accounts/<int:pk>/members/move/", account_member_move, name="account-member-move"),
    path("cases/", cases_list, name="cases"),
    path("cases/new/", case_new, name="case-new"),
    path("cases/<int:pk>/", case_detail, name="case"),
    path("cases/<int:pk>/edit/", case_edit, name="case-edit"),
]
