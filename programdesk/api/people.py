"""API: people, accounts, cases, proof documents, duplicates, merging, eligibility (docs/api.md,
People and accounts)."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field, StrictInt

from programdesk.api.auth import require
from programdesk.api.pagination import Page, PageParams, paginate
from programdesk.api.schemas import Amount, Date, Email, Id, not_null
from programdesk.core.errors import ValidationError
from programdesk.core.models import User
from programdesk.core.roles import Cap
from programdesk.core.scoping import visible_or_404
from programdesk.core.selectors import filter_given
from programdesk.people import selectors, services
from programdesk.people.models import (
    Account,
    Case,
    HouseholdMembership,
    Person,
    PersonDocument,
)
from programdesk.programs.eligibility import eligibility_check
from programdesk.programs.models import Program
from programdesk.programs.selectors import benefits_visible, programs_visible

router = Router(tags=["people"])

# --- People ------------------------------------------------------------------------------------

class PersonIn(Schema):
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    birth_date: Date | None = None
    email: Email = ""
    phone: str = Field("", max_length=40)
    postal_code: str = Field("", max_length=20)
    account_id: Id | None = None
    household_size: int | None = Field(None, ge=1, le=50,
                                       description="Eligibility detail (staff and up)")
    annual_income: Amount | None = Field(None,
                                         description="Yearly household income (staff and up)")
    card_code: str | None = Field(None, max_length=32, description="Check-in card or QR code")
    extra: dict[str, Any] | None = Field(None, description="Custom field values by key "
                                                           "(GET /custom-fields?target=person)")


class PersonPatch(Schema):
    first_name: str | None = Field(None, json_schema_extra=not_null, min_length=1, max_length=100)
    last_name: str | None = Field(None, json_schema_extra=not_null, min_length=1, max_length=100)
    birth_date: Date | None = None
    email: Email | None = None
    phone: str | None = Field(None, max_length=40)
    postal_code: str | None = Field(None, max_length=20)
    account_id: Id | None = None
    household_size: int | None = Field(None, ge=1, le=50)
    annual_income: Amount | None = None
    card_code: str | None = Field(None, max_length=32)
    extra: dict[str, Any] | None = Field(
        None, description="Only the keys given change; a key set to null is removed")


class DuplicateOut(Schema):
    id: int
    reason: str
    first_name: str
    last_name: str
    birth_date: Date | None


class PersonOut(Schema):
    id: int
    first_name: str
    last_name: str
    birth_date: Date | None
    email: str
    phone: str
    postal_code: str
    account_id: int | None
    card_code: str | None
    extra: dict[str, Any]
    household_size: int | None = Field(None, description="Left out for viewers")
    annual_income: float | None = Field(None, description="Left out for viewers")
    possible_duplicates: list[DuplicateOut] | None = Field(
        None, description="On create only: similar people who already exist")


def person_out(person: Person, user: User) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": person.pk, "first_name": person.first_name, "last_name": person.last_name,
        "birth_date": person.birth_date, "email": person.email, "phone": person.phone,
        "postal_code": person.postal_code, "account_id": person.account_id,
        "card_code": person.card_code, "extra": person.extra or {}}
    if user.can(Cap.SEE_ELIGIBILITY):  # viewers see no eligibility details
        data["household_size"] = person.household_size
        data["annual_income"] = (float(person.annual_income)
                                 if person.annual_income is not None else None)
    return data


def duplicate_out(match: selectors.DuplicateMatch) -> dict[str, Any]:
    p = match.person
    return {"id": p.pk, "reason": match.reason, "first_name": p.first_name,
            "last_name": p.last_name, "birth_date": p.birth_date}


class PeopleFilter(PageParams):
    search: str = Field("", max_length=200,
                        description="Name, email, phone or postal code fragment, or a birth "
                                    "date (2026-03-02 or 3/2/2026)")
    account_id: Id | None = None


def _account(user: User, account_id: int | None, field: str = "account_id") -> Account | None:
    if account_id is None:
        return None
    account = selectors.accounts_visible(user).filter(pk=account_id).first()
    if account is None:
        raise ValidationError.for_fields({field: "Unknown account."})
    return account


@router.get("/people", response=Page[PersonOut], exclude_unset=True)
def list_people(request: HttpRequest, filters: Query[PeopleFilter]) -> dict:
    """People the caller may see, by last and first name. `search` matches every word against
    names, email, phone digits and postal code, or finds a birth date."""
    user = require(request, Cap.READ_RECORDS)
    qs = filter_given(selectors.people_search(selectors.people_visible(user), filters.search),
                      account_id=filters.account_id)
    return paginate(qs.order_by("last_name", "first_name", "id"), filters,
                    lambda p: person_out(p, user))


@router.post("/people", response={201: PersonOut}, exclude_unset=True)
def create_person(request: HttpRequest, payload: PersonIn) -> Status[dict]:
    """Create a person (only first and last name are required). It always creates; the answer
    lists `possible_duplicates` — existing people with the same email or phone, the same birth
    date and a similar name, or a similar name — each with its `reason` (empty when none), so
    a form tool can offer to merge (`POST /people/{id}/merge`)."""
    user = require(request, Cap.WRITE_RECORDS)
    data = payload.dict()
    account = _account(user, data.pop("account_id"))
    duplicates = selectors.people_find_duplicates(
        first_name=payload.first_name, last_name=payload.last_name,
        birth_date=payload.birth_date, email=payload.email, phone=payload.phone, user=user)
    person = services.person_create(actor=user, account=account, **data)
    return Status(201, {**person_out(person, user),
                        "possible_duplicates": [duplicate_out(m) for m in duplicates]})


class DuplicateQuery(Schema):
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    birth_date: Date | None = None
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=40)
    exclude_id: Id | None = None
    limit: int = Field(10, ge=1, le=50)


@router.get("/people/duplicates", response=Page[DuplicateOut])
def find_duplicates(request: HttpRequest, query: Query[DuplicateQuery]) -> dict:
    """Check before creating: existing people similar to these details, best first, each with
    its reason."""
    user = require(request, Cap.READ_RECORDS)
    matches = selectors.people_find_duplicates(
        first_name=query.first_name, last_name=query.last_name, birth_date=query.birth_date,
        email=query.email, phone=query.phone, exclude_id=query.exclude_id, limit=query.limit,
        user=user)
    return {"count": len(matches), "items": [duplicate_out(m) for m in matches]}


@router.get("/people/{int:person_id}", response=PersonOut, exclude_unset=True)
def get_person(request: HttpRequest, person_id: int) -> dict:
    user = require(request, Cap.READ_RECORDS)
    return person_out(selectors.person_get(user, person_id), user)


@router.patch("/people/{int:person_id}", response=PersonOut, exclude_unset=True)
def update_person(request: HttpRequest, person_id: int, payload: PersonPatch) -> dict:
    """Change the fields given. `account_id: null` takes the person out of their account;
    in `extra` only the keys given change."""
    user = require(request, Cap.WRITE_RECORDS)
    person = selectors.person_get(user, person_id)
    data = payload.dict(exclude_unset=True)
    for key in ("first_name", "last_name"):
        if key in data and data[key] is None:
            raise ValidationError.for_fields({key: "Cannot be null."})
    if "account_id" in data:
        data["account"] = _account(user, data.pop("account_id"))
    updated = services.person_update(actor=user, person=person, **data)
    return person_out(updated, user)


class MergeIn(Schema):
    duplicate_id: Id = Field(description="The person merged into this one (then deleted)")


@router.post("/people/{int:person_id}/merge", response=PersonOut, exclude_unset=True)
def merge_person(request: HttpRequest, person_id: int, payload: MergeIn) -> dict:
    """Merge the person `duplicate_id` into this one in one transaction: their enrollments,
    assignments, disbursements, cases and documents move here, blank fields here take the
    duplicate's values, and the duplicate is deleted (audited with its full record). Both
    actively enrolled in the same program → 409."""
    user = require(request, Cap.WRITE_RECORDS)
    survivor = selectors.person_get(user, person_id)
    duplicate = selectors.people_visible(user).filter(pk=payload.duplicate_id).first()
    if duplicate is None:
        raise ValidationError.for_fields({"duplicate_id": "Unknown person."})
    return person_out(services.person_merge(actor=user, survivor=survivor, duplicate=duplicate),
                      user)


# --- Proof documents ---------------------------------------------------------------------------

class DocumentIn(Schema):
    document_type: Literal["age", "address", "income"]
    verified_on: Date
    note: str = Field("", max_length=300)


class DocumentOut(Schema):
    id: int
    person_id: int
    document_type: str
    verified_on: Date
    note: str


@router.get("/people/{int:person_id}/documents", response=Page[DocumentOut])
def list_documents(request: HttpRequest, person_id: int, page: Query[PageParams]) -> dict:
    """Proof documents staff verified (age, address, income), newest first. Not for viewers."""
    user = require(request, Cap.SEE_ELIGIBILITY)
    person = selectors.person_get(user, person_id)
    return paginate(PersonDocument.objects.filter(person=person).order_by("-verified_on", "-id"),
                    page)


@router.post("/people/{int:person_id}/documents", response={201: DocumentOut})
def add_document(request: HttpRequest, person_id: int, payload: DocumentIn
                 ) -> Status[PersonDocument]:
    """Record that a proof document was verified on a date (used by document eligibility
    rules)."""
    user = require(request, Cap.WRITE_RECORDS)
    person = selectors.person_get(user, person_id)
    return Status(201, services.person_document_add(actor=user, person=person,
                                                    **payload.dict()))


@router.delete("/people/{int:person_id}/documents/{int:document_id}", response={204: None})
def delete_document(request: HttpRequest, person_id: int, document_id: int) -> Status[None]:
    user = require(request, Cap.WRITE_RECORDS)
    person = selectors.person_get(user, person_id)
    document = visible_or_404(PersonDocument.objects.filter(person=person), document_id)
    services.person_document_delete(actor=user, document=document)
    return Status(204, None)


# --- Eligibility -------------------------------------------------------------------------------

class EligibilityQuery(Schema):
    program_id: Id | None = None
    benefit_id: Id | None = None
    on: Date | None = Field(None, description="The service date (default today)")


class RuleResultOut(Schema):
    rule_id: int
    criterion: str
    mode: str
    passed: bool
    reason: str


class DecisionOut(Schema):
    eligible: bool
    blocked: bool
    warnings: list[str]
    results: list[RuleResultOut]


@router.get("/people/{int:person_id}/eligibility", response=DecisionOut)
def person_eligibility(request: HttpRequest, person_id: int,
                       query: Query[EligibilityQuery]) -> dict:
    """Check the person against a program's (or a benefit's, which includes its program's)
    eligibility rules on a date: one result with a readable reason per rule. `blocked` means a
    block rule failed. Not for viewers (the reasons reveal income and documents)."""
    from django.utils import timezone

    user = require(request, Cap.SEE_ELIGIBILITY)
    person = selectors.person_get(user, person_id)
    if (query.program_id is None) == (query.benefit_id is None):
        raise ValidationError.for_fields({"program_id": "Give a program_id or a benefit_id."})
    on = query.on or timezone.localdate()
    if query.benefit_id is not None:
        benefit = visible_or_404(benefits_visible(user).select_related("program"),
                                 query.benefit_id)
        return eligibility_check(person=person, benefit=benefit, on=on).as_dict()
    program = visible_or_404(programs_visible(user), query.program_id)
    return eligibility_check(person=person, program=program, on=on).as_dict()


# --- Accounts ----------------------------------------------------------------------------------

class AccountIn(Schema):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["household", "organization"] = "household"
    email: Email = ""
    phone: str = Field("", max_length=40)
    postal_code: str = Field("", max_length=20)
    declared_size: StrictInt | None = Field(
        None, ge=0, le=50, description="A household's people who live there but are not "
                                       "registered; its size is its current members plus these")
    annual_income: Amount | None = Field(None, description="The household's yearly income "
                                                           "(staff and up)")


class AccountPatch(Schema):
    name: str | None = Field(None, json_schema_extra=not_null, min_length=1, max_length=200)
    kind: Literal["household", "organization"] | None = Field(None, json_schema_extra=not_null)
    email: Email | None = None
    phone: str | None = Field(None, max_length=40)
    postal_code: str | None = Field(None, max_length=20)
    declared_size: StrictInt | None = Field(None, ge=0, le=50)
    annual_income: Amount | None = None


class AccountOut(Schema):
    id: int
    name: str
    kind: str
    email: str
    phone: str
    postal_code: str
    declared_size: int | None
    size: int | None = Field(None, description="A household's current members plus its "
                                               "declared ones (read-only); null otherwise")
    head_person_id: int | None = Field(None, description="The current head of household")
    annual_income: float | None = Field(None, description="Left out for viewers")


def accounts_out(accounts: list[Account], user: User) -> list[dict[str, Any]]:
    facts = selectors.households_today(a.pk for a in accounts)
    out = []
    for a in accounts:
        f = facts.get(a.pk)
        data: dict[str, Any] = {
            "id": a.pk, "name": a.name, "kind": a.kind, "email": a.email, "phone": a.phone,
            "postal_code": a.postal_code, "declared_size": a.declared_size,
            "size": f.size if f else None, "head_person_id": f.head_person_id if f else None}
        if user.can(Cap.SEE_ELIGIBILITY):
            data["annual_income"] = (float(a.annual_income)
                                     if a.annual_income is not None else None)
        out.append(data)
    return out


class AccountFilter(PageParams):
    search: str = Field("", max_length=200, description="Name, email, phone or postal code")
    kind: Literal["household", "organization"] | None = None


@router.get("/accounts", response=Page[AccountOut], exclude_unset=True)
def list_accounts(request: HttpRequest, filters: Query[AccountFilter]) -> dict:
    """Households and organisations the caller may see."""
    user = require(request, Cap.READ_RECORDS)
    qs = selectors.accounts_search(selectors.accounts_visible(user), filters.search)
    page = paginate(filter_given(qs, kind=filters.kind).order_by("name", "id"), filters)
    page["items"] = accounts_out(list(page["items"]), user)
    return page


@router.post("/accounts", response={201: AccountOut}, exclude_unset=True)
def create_account(request: HttpRequest, payload: AccountIn) -> Status[dict]:
    """A household or an organisation; people join a household with `account_id` or
    `POST /accounts/{id}/members`."""
    user = require(request, Cap.WRITE_RECORDS)
    account = services.account_create(actor=user, **payload.dict())
    return Status(201, accounts_out([account], user)[0])


@router.get("/accounts/{int:account_id}", response=AccountOut, exclude_unset=True)
def get_account(request: HttpRequest, account_id: int) -> dict:
    user = require(request, Cap.READ_RECORDS)
    return accounts_out([selectors.account_get(user, account_id)], user)[0]


@router.patch("/accounts/{int:account_id}", response=AccountOut, exclude_unset=True)
def update_account(request: HttpRequest, account_id: int, payload: AccountPatch) -> dict:
    """Change the fields given. A household that has (or had) members stays a household."""
    user = require(request, Cap.WRITE_RECORDS)
    account = selectors.account_get(user, account_id)
    data = payload.dict(exclude_unset=True)
    for key in ("name", "kind"):
        if key in data and data[key] is None:
            raise ValidationError.for_fields({key: "Cannot be null."})
    for key in ("email", "phone", "postal_code"):
        if key in data and data[key] is None:
            data[key] = ""
    updated = services.account_update(actor=user, account=account, **data)
    return accounts_out([updated], user)[0]


# --- Household members -------------------------------------------------------------------------

Relationship = Literal["head", "spouse_partner", "child", "other_relative", "other"]


class MembershipOut(Schema):
    person_id: int
    relationship: str
    start_date: Date
    end_date: Date | None
    is_current: bool


class MembersFilter(PageParams):
    current: bool = Field(False, description="Only the current members")


class MemberIn(Schema):
    person_id: Id
    relationship: Relationship = "other"
    start_date: Date | None = Field(None, description="Default: today")


class MemberEndIn(Schema):
    end_date: Date | None = Field(None, description="The member's last day (default today)")


def _household(user: User, account_id: int) -> Account:
    return selectors.account_get(user, account_id)


def _member(user: User, person_id: int) -> Person:
    person = selectors.people_visible(user).filter(pk=person_id).first()
    if person is None:
        raise ValidationError.for_fields({"person_id": "Unknown person."})
    return person


@router.get("/accounts/{int:account_id}/members", response=Page[MembershipOut])
def list_members(request: HttpRequest, account_id: int, filters: Query[MembersFilter]) -> dict:
    """The household's memberships over time, current first, then latest first."""
    user = require(request, Cap.READ_RECORDS)
    account = _household(user, account_id)
    return paginate(selectors.household_memberships(account, user,
                                                    current_only=filters.current), filters)


@router.post("/accounts/{int:account_id}/members", response={201: MembershipOut})
def add_member(request: HttpRequest, account_id: int, payload: MemberIn
               ) -> Status[HouseholdMembership]:
    """Make a person a current member of the household (their `account_id` becomes it). A
    person who is a current member of a household already → 409 naming it (`household_id`);
    a second current `head` → 409."""
    user = require(request, Cap.WRITE_RECORDS)
    account = _household(user, account_id)
    membership = services.household_member_add(
        actor=user, account=account, person=_member(user, payload.person_id),
        relationship=payload.relationship, start_date=payload.start_date)
    return Status(201, membership)


@router.post("/accounts/{int:account_id}/members/{int:person_id}/end", response=MembershipOut)
def end_member(request: HttpRequest, account_id: int, person_id: int, payload: MemberEndIn
               ) -> HouseholdMembership:
    """End the person's current membership: `end_date` is their last day in the household.
    Their `account_id` becomes null. Not a current member → 409."""
    user = require(request, Cap.WRITE_RECORDS)
    account = _household(user, account_id)
    person = selectors.person_get(user, person_id)
    return services.household_member_end(actor=user, account=account, person=person,
                                         end_date=payload.end_date)


# --- Cases -------------------------------------------------------------------------------------

class CaseIn(Schema):
    person_id: Id | None = None
    account_id: Id | None = None
    subject: str = Field(min_length=1, max_length=200)
    program_ids: list[Id] = Field(default_factory=list, max_length=100)
    status: Literal["open", "closed"] = "open"
    worker_id: Id | None = Field(None, description="Default: the caller")
    opened_on: Date | None = Field(None, description="Default: today")
    notes: str = Field("", max_length=10_000)


class CasePatch(Schema):
    subject: str | None = Field(None, json_schema_extra=not_null, min_length=1, max_length=200)
    program_ids: list[Id] | None = Field(None, max_length=100)
    status: Literal["open", "closed"] | None = Field(None, json_schema_extra=not_null)
    worker_id: Id | None = None
    opened_on: Date | None = Field(None, json_schema_extra=not_null)
    closed_on: Date | None = None
    notes: str | None = Field(None, max_length=10_000)


class CaseOut(Schema):
    id: int
    person_id: int | None
    account_id: int | None
    subject: str
    status: str
    worker_id: int | None
    program_ids: list[int]
    opened_on: Date
    closed_on: Date | None
    notes: str

    @staticmethod
    def resolve_program_ids(obj: Case) -> list[int]:
        return sorted(p.pk for p in obj.programs.all())


class CaseFilter(PageParams):
    person_id: Id | None = None
    account_id: Id | None = None
    program_id: Id | None = None
    status: Literal["open", "closed"] | None = None


def _programs(user: User, ids: list[int] | None) -> list[Program] | None:
    if ids is None:
        return None
    wanted = sorted(set(ids))
    found = list(programs_visible(user).filter(pk__in=wanted))
    missing = sorted(set(wanted) - {p.pk for p in found})
    if missing:
        raise ValidationError.for_fields(
            {"program_ids": f"Unknown program ids: {', '.join(map(str, missing))}."})
    return found


def _worker(worker_id: int | None) -> User | None:
    if worker_id is None:
        return None
    worker = User.objects.filter(pk=worker_id, is_active=True).first()
    if worker is None:
        raise ValidationError.for_fields({"worker_id": "Unknown user."})
    return worker


@router.get("/cases", response=Page[CaseOut])
def list_cases(request: HttpRequest, filters: Query[CaseFilter]) -> dict:
    """Cases the caller may see, newest first."""
    user = require(request, Cap.READ_RECORDS)
    qs = filter_given(selectors.cases_visible(user).prefetch_related("programs"),
                      person_id=filters.person_id, account_id=filters.account_id,
                      status=filters.status)
    # Its own filter() call: a many-to-many lookup, kept apart from the others.
    qs = filter_given(qs, programs__id=filters.program_id)
    return paginate(qs.order_by("-opened_on", "-id"), filters)


@router.post("/cases", response={201: CaseOut})
def create_case(request: HttpRequest, payload: CaseIn) -> Status[Case]:
    """Open a case for a person or an account (exactly one), optionally linked to programs.
    The worker defaults to the caller."""
    user = require(request, Cap.WRITE_RECORDS)
    if (payload.person_id is None) == (payload.account_id is None):
        raise ValidationError.for_fields(
            {"person_id": "Give exactly one of person_id and account_id."})
    person = account = None
    if payload.person_id is not None:
        person = selectors.people_visible(user).filter(pk=payload.person_id).first()
        if person is None:
            raise ValidationError.for_fields({"person_id": "Unknown person."})
    else:
        account = _account(user, payload.account_id)
    case = services.case_create(
        actor=user, person=person, account=account, subject=payload.subject,
        status=payload.status, worker=_worker(payload.worker_id),
        programs=_programs(user, payload.program_ids) or [], opened_on=payload.opened_on,
        notes=payload.notes)
    return Status(201, case)


@router.get("/cases/{int:case_id}", response=CaseOut)
def get_case(request: HttpRequest, case_id: int) -> Case:
    user = require(request, Cap.READ_RECORDS)
    return selectors.case_get(user, case_id)


@router.patch("/cases/{int:case_id}", response=CaseOut)
def update_case(request: HttpRequest, case_id: int, payload: CasePatch) -> Case:
    """Change the fields given. `status: closed` sets `closed_on` (today unless given);
    reopening clears it."""
    user = require(request, Cap.WRITE_RECORDS)
    case = selectors.case_get(user, case_id)
    data = payload.dict(exclude_unset=True)
    for key in ("subject", "status", "opened_on"):
        if key in data and data[key] is None:
            raise ValidationError.for_fields({key: "Cannot be null."})
    if "program_ids" in data:
        data["programs"] = _programs(user, data.pop("program_ids") or [])
    if "worker_id" in data:
        data["worker"] = _worker(data.pop("worker_id"))
    if data.get("notes") is None and "notes" in data:
        data["notes"] = ""
    return services.case_update(actor=user, case=case, **data)
