"""Writes for people, accounts, cases and proof documents; merging two people."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from programdesk.core.audit import audit_record, changes, snapshot
from programdesk.core.custom_fields import extra_merge, extra_validate
from programdesk.core.errors import Conflict, ValidationError
from programdesk.core.models import FieldDefinition, FieldTarget, User
from programdesk.core.text import name_problem
from programdesk.people import matching, signals
from programdesk.people.models import (
    Account,
    AccountKind,
    Case,
    CaseStatus,
    DocumentType,
    Person,
    PersonDocument,
)

MAX_HOUSEHOLD_SIZE = 50
MAX_INCOME = Decimal("9999999999.99")
EARLIEST_BIRTH_DATE = dt.date(1900, 1, 1)


def _today() -> dt.date:
    return timezone.localdate()


@functools.cache
def _max_lengths(model: type[models.Model]) -> dict[str, int]:
    return {f.name: f.max_length for f in model._meta.concrete_fields if f.max_length}


def _length_errors(model: type[models.Model], values: Mapping[str, Any]) -> dict[str, str]:
    """Field errors for strings longer than the column (SQLite would store them silently,
    PostgreSQL would refuse the row)."""
    errors = {}
    limits = _max_lengths(model)
    for name, value in values.items():
        if not isinstance(value, str):
            continue
        limit = limits.get(name)
        if limit and len(value) > limit:
            errors[name] = f"At most {limit} characters."
    return errors


# Plain addresses — nearly all of them — pass this at a fraction of validate_email's cost
# (imports check 100,000 at a time). It accepts a subset of what validate_email accepts;
# anything else still goes through validate_email.
_PLAIN_EMAIL = re.compile(r"[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@"
                          r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
                          re.IGNORECASE)


def _email_error(email: str) -> str | None:
    if not email:
        return None
    if len(email) <= 320 and _PLAIN_EMAIL.fullmatch(email):
        return None
    try:
        validate_email(email)
    except DjangoValidationError:
        return "Enter a valid email address."
    return None


# --- Accounts ----------------------------------------------------------------------------------

def _clean_account(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
        if not values["name"]:
            errors["name"] = "A name is required."
        elif problem := name_problem(values["name"]):
            errors["name"] = f"The name {problem}"
    if "kind" in values and values["kind"] not in AccountKind.values:
        errors["kind"] = f"Use one of: {', '.join(AccountKind.values)}."
    for key in ("email", "phone", "postal_code"):
        if key in values:
            values[key] = (values[key] or "").strip()
    if "email" in values:
        values["email"] = values["email"].lower()
        if message := _email_error(values["email"]):
            errors["email"] = message
    if "postal_code" in values:
        values["postal_code"] = values["postal_code"].upper()
    errors = {**_length_errors(Account, values), **errors}
    if errors:
        raise ValidationError.for_fields(errors)
    return values


@transaction.atomic
def account_create(*, actor: User | None, name: str, kind: str = AccountKind.HOUSEHOLD,
                   email: str = "", phone: str = "", postal_code: str = "") -> Account:
    values = _clean_account({"name": name, "kind": kind, "email": email, "phone": phone,
                             "postal_code": postal_code})
    account = Account.objects.create(**values)
    audit_record(actor=actor, action="account.create", obj=account, after=snapshot(account))
    return account


ACCOUNT_FIELDS = {"name", "kind", "email", "phone", "postal_code"}


@transaction.atomic
def account_update(*, actor: User | None, account: Account, **fields: Any) -> Account:
    """Change any of name, kind, email, phone, postal_code."""
    unknown = set(fields) - ACCOUNT_FIELDS
    if unknown:
        raise TypeError(f"account_update got unknown fields: {sorted(unknown)}")
    values = _clean_account(dict(fields))
    obj = Account.objects.select_for_update().get(pk=account.pk)
    before = snapshot(obj)
    for key, value in values.items():
        setattr(obj, key, value)
    obj.save()
    before, after = changes(before, snapshot(obj))
    audit_record(actor=actor, action="account.update", obj=obj, before=before, after=after)
    return obj


# --- People ------------------------------------------------------------------------------------

PERSON_FIELDS = {"first_name", "last_name", "birth_date", "email", "phone", "postal_code",
                 "account", "household_size", "annual_income", "card_code", "extra"}


def _clean_person(values: dict[str, Any], *, partial: bool,
                  definitions: list[FieldDefinition] | None = None,
                  today: dt.date | None = None) -> dict[str, Any]:
    """Validate and normalize person fields; every problem is reported at once.
    ``definitions`` (the person field definitions) and ``today`` save a query and a clock
    read per call when thousands of rows are checked (imports)."""
    errors: dict[str, str] = {}
    for key in ("first_name", "last_name"):
        if key in values:
            values[key] = " ".join((values[key] or "").split())
            if not values[key]:
                errors[key] = f"A {key.replace('_', ' ')} is required."
            elif problem := name_problem(values[key]):
                errors[key] = f"The {key.replace('_', ' ')} {problem}"
    for key in ("email", "phone", "postal_code"):
        if key in values:
            values[key] = (values[key] or "").strip()
    if "email" in values:
        values["email"] = matching.email_key(values["email"])
        if message := _email_error(values["email"]):
            errors["email"] = message
    if "postal_code" in values:
        values["postal_code"] = values["postal_code"].upper()
    if "card_code" in values:
        values["card_code"] = (values["card_code"] or "").strip() or None
    birth_date = values.get("birth_date")
    if birth_date is not None:
        if not isinstance(birth_date, dt.date):
            errors["birth_date"] = "Must be a date (YYYY-MM-DD)."
        elif birth_date > (today or _today()):
            errors["birth_date"] = "The birth date is in the future."
        elif birth_date < EARLIEST_BIRTH_DATE:
            errors["birth_date"] = f"The birth date is before {EARLIEST_BIRTH_DATE}."
    size = values.get("household_size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int)
                             or not 1 <= size <= MAX_HOUSEHOLD_SIZE):
        errors["household_size"] = f"A whole number from 1 to {MAX_HOUSEHOLD_SIZE}."
    income = values.get("annual_income")
    if income is not None:
        try:
            income = Decimal(str(income))
        except InvalidOperation:
            income = None
        if income is None or not income.is_finite() or not 0 <= income <= MAX_INCOME:
            errors["annual_income"] = "An amount from 0 to 9,999,999,999.99."
        elif income != income.quantize(Decimal("0.01")):
            errors["annual_income"] = "At most 2 decimals."
        else:
            values["annual_income"] = income
    if "extra" in values:
        try:
            values["extra"] = extra_validate(target=FieldTarget.PERSON, values=values["extra"],
                                             partial=partial, any_scope=True,
                                             definitions=definitions)
        except ValidationError as exc:
            errors.update({e["field"]: e["message"] for e in exc.errors})
    elif not partial:
        # Required custom fields must be given on create.
        try:
            values["extra"] = extra_validate(target=FieldTarget.PERSON, values={},
                                             any_scope=True, definitions=definitions)
        except ValidationError as exc:
            errors.update({e["field"]: e["message"] for e in exc.errors})
    errors = {**_length_errors(Person, values), **errors}  # "extra" is no string: skipped
    if errors:
        raise ValidationError.for_fields(errors)
    return values


def person_values_clean(values: dict[str, Any], *,
                        definitions: list[FieldDefinition] | None = None,
                        today: dt.date | None = None) -> dict[str, Any]:
    """A new person's fields validated and normalized exactly as ``person_create`` does,
    without writing (imports check every row before writing any). Raises ValidationError.
    Pass ``definitions`` (``field_definitions_for(target="person", any_scope=True)``) and
    ``today`` once for many rows."""
    return _clean_person(dict(values), partial=False, definitions=definitions, today=today)


def _card_code_taken(card_code: str | None, exclude_id: int | None = None) -> bool:
    if not card_code:
        return False
    qs = Person.objects.filter(card_code=card_code)
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    return qs.exists()


@transaction.atomic
def person_create(*, actor: User | None, first_name: str, last_name: str,
                  birth_date: dt.date | None = None, email: str = "", phone: str = "",
                  postal_code: str = "", account: Account | None = None,
                  household_size: int | None = None, annual_income: Decimal | None = None,
                  extra: dict[str, Any] | None = None, card_code: str | None = None) -> Person:
    """Create a person. Only first and last name are required (walk-ins are quick). It always
    creates: the doors look for possible duplicates (``selectors.people_find_duplicates``)."""
    values = _clean_person({
        "first_name": first_name, "last_name": last_name, "birth_date": birth_date,
        "email": email, "phone": phone, "postal_code": postal_code,
        "household_size": household_size, "annual_income": annual_income,
        "extra": extra or {}, "card_code": card_code}, partial=False)
    if _card_code_taken(values["card_code"]):
        raise ValidationError.for_fields({"card_code": "Another person has this card code."})
    person = Person.objects.create(account=account, **values)
    audit_record(actor=actor, action="person.create", obj=person, after=snapshot(person))
    return person


@transaction.atomic
def person_update(*, actor: User | None, person: Person, **fields: Any) -> Person:
    """Change any of the person's fields (see PERSON_FIELDS). ``extra`` is a partial update:
    the keys given are validated and set, a key given as null/"" is removed, others stay."""
    unknown = set(fields) - PERSON_FIELDS
    if unknown:
        raise TypeError(f"person_update got unknown fields: {sorted(unknown)}")
    values = _clean_person(dict(fields), partial=True)
    obj = Person.objects.select_for_update().get(pk=person.pk)
    if "card_code" in values and _card_code_taken(values["card_code"], exclude_id=obj.pk):
        raise ValidationError.for_fields({"card_code": "Another person has this card code."})
    before = snapshot(obj)
    if "extra" in values:
        values["extra"] = extra_merge(obj.extra, values["extra"])
    for key, value in values.items():
        setattr(obj, key, value)
    obj.save()
    before, after = changes(before, snapshot(obj))
    audit_record(actor=actor, action="person.update", obj=obj, before=before, after=after)
    return obj


@transaction.atomic
def people_create_many(*, actor: User | None, rows: list[dict[str, Any]],
                       field_prefix: str = "rows") -> list[Person]:
    """Create many people at once (imports): every row is validated first and nothing is
    written if any row is invalid (errors at ``rows.<i>.<field>``); then one bulk insert and
    one audit event for the batch. Rows take person_create's keyword arguments (``account``
    as an Account or ``account_id``)."""
    errors: dict[str, str] = {}
    people: list[Person] = []
    for i, row in enumerate(rows):
        row = dict(row)
        account_id = row.pop("account_id", None)
        account = row.pop("account", None)
        unknown = set(row) - PERSON_FIELDS
        if unknown:
            errors.update({f"{field_prefix}.{i}.{k}": "Unknown field." for k in sorted(unknown)})
            continue
        row.setdefault("first_name", "")
        row.setdefault("last_name", "")
        try:
            values = _clean_person(row, partial=False)
        except ValidationError as exc:
            errors.update({f"{field_prefix}.{i}.{e['field']}": e["message"] for e in exc.errors})
            continue
        person = Person(account_id=account.pk if account else account_id, **values)
        person.fill_keys()
        people.append(person)
    codes = [p.card_code for p in people if p.card_code]
    if codes and (len(set(codes)) != len(codes)
                  or Person.objects.filter(card_code__in=codes).exists()):
        errors[field_prefix] = "Card codes must be unique, in the rows and against existing people."
    account_ids = {p.account_id for p in people if p.account_id is not None}
    found = set(Account.objects.filter(pk__in=account_ids).values_list("pk", flat=True))
    if account_ids - found:
        errors[field_prefix] = (f"Unknown account ids: "
                                f"{', '.join(map(str, sorted(account_ids - found)))}.")
    if errors:
        raise ValidationError.for_fields(errors)
    created = Person.objects.bulk_create(people, batch_size=500)
    ids = [p.pk for p in created if p.pk is not None]
    if len(ids) != len(created):  # backends that return no ids (none we support today)
        raise RuntimeError("bulk_create returned no ids")  # pragma: no cover
    audit_record(actor=actor, action="person.create_many", object_type="people.person",
                 object_ids=ids, after={"count": len(ids)})
    return created


# --- Proof documents ---------------------------------------------------------------------------

@transaction.atomic
def person_document_add(*, actor: User | None, person: Person, document_type: str,
                        verified_on: dt.date, note: str = "") -> PersonDocument:
    """Record that staff verified a proof document (age, address, income) on a date."""
    errors = {}
    if document_type not in DocumentType.values:
        errors["document_type"] = f"Use one of: {', '.join(DocumentType.values)}."
    if not isinstance(verified_on, dt.date):
        errors["verified_on"] = "Must be a date (YYYY-MM-DD)."
    elif verified_on > _today():
        errors["verified_on"] = "The verification date is in the future."
    note = (note or "").strip()
    if len(note) > 300:
        errors["note"] = "At most 300 characters."
    if errors:
        raise ValidationError.for_fields(errors)
    document = PersonDocument.objects.create(person=person, document_type=document_type,
                                             verified_on=verified_on, note=note)
    audit_record(actor=actor, action="person_document.create", obj=document,
                 after=snapshot(document))
    return document


@transaction.atomic
def person_document_delete(*, actor: User | None, document: PersonDocument) -> None:
    audit_record(actor=actor, action="person_document.delete", obj=document,
                 before=snapshot(document))
    document.delete()


# --- Merging two people ------------------------------------------------------------------------

FILLABLE = ["birth_date", "email", "phone", "postal_code", "account_id", "household_size",
            "annual_income"]


def _person_references() -> list[models.ForeignKey]:
    """Every foreign key to Person in the project — enrollments, assignments, disbursements,
    cases, documents, and whatever later areas add — so a merge never leaves one behind."""
    return [field for model in apps.get_models() for field in model._meta.concrete_fields
            if isinstance(field, models.ForeignKey) and field.related_model is Person]


@transaction.atomic
def person_merge(*, actor: User | None, survivor: Person, duplicate: Person) -> Person:
    """Merge ``duplicate`` into ``survivor`` in one transaction: every record pointing at the
    duplicate (enrollments, assignments, disbursements, cases, documents, ...) moves to the
    survivor; the survivor's blank fields take the duplicate's values (its own values win;
    custom field values likewise); the duplicate is deleted. The audit event keeps the
    duplicate's full record and the ids of everything moved.

    Two active enrollments in the same program (the database allows one per person and
    program) become one: ``enrollments_merge`` folds the duplicate's into the survivor's —
    assignments, roster entries, disbursements and cohort memberships move, the earliest
    start date stays — so the completion report counts the person once.
    """
    if survivor.pk == duplicate.pk:
        raise ValidationError.for_fields({"duplicate_id": "A person cannot be merged with "
                                                          "themselves."})
    locked = {p.pk: p for p in Person.objects.select_for_update()
              .filter(pk__in=[survivor.pk, duplicate.pk]).order_by("pk")}
    if len(locked) != 2:
        raise Conflict("One of the two people no longer exists (merged or deleted already?).")
    keep, gone = locked[survivor.pk], locked[duplicate.pk]

    # Participation folds the two people's active enrollments in one program into one before
    # the foreign keys move (people sits below participation: people/signals.py).
    enrollments_merged = [summary for _, answer in signals.people_merging.send(
        sender=Person, actor=actor, keep=keep, gone=gone) for summary in (answer or [])]

    before_keep, record_gone = snapshot(keep), snapshot(gone)
    moved: dict[str, list[int]] = {}
    for field in _person_references():
        model = field.model
        rows = model._base_manager.filter(**{field.attname: gone.pk})
        ids = list(rows.values_list("pk", flat=True))
        if not ids:
            continue
        try:
            with transaction.atomic():
                model._base_manager.filter(pk__in=ids).update(**{field.attname: keep.pk})
        except IntegrityError:
            raise Conflict(f"Both people have {model._meta.verbose_name_plural} that cannot "
                           f"be combined; resolve them first.") from None
        moved.setdefault(f"{model._meta.label_lower}.{field.name}", []).extend(ids)

    for name in FILLABLE:
        if getattr(keep, name) in (None, "") and getattr(gone, name) not in (None, ""):
            setattr(keep, name, getattr(gone, name))
    keep.extra = {**(gone.extra or {}), **(keep.extra or {})}
    card_code = gone.card_code
    gone.delete()
    if not keep.card_code and card_code:
        keep.card_code = card_code  # free now that the duplicate is gone
    keep.save()
    before, after = changes(before_keep, snapshot(keep))
    audit_record(actor=actor, action="person.merge", obj=keep,
                 before={"duplicate": record_gone, **before},
                 after={"moved": moved, **after,
                        **({"enrollments_merged": enrollments_merged}
                           if enrollments_merged else {})})
    return keep


# --- Cases -------------------------------------------------------------------------------------

def _clean_case(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    if "subject" in values:
        values["subject"] = (values["subject"] or "").strip()
        if not values["subject"]:
            errors["subject"] = "A subject is required."
    if "status" in values and values["status"] not in CaseStatus.values:
        errors["status"] = f"Use one of: {', '.join(CaseStatus.values)}."
    if "notes" in values:
        values["notes"] = (values["notes"] or "").strip()
        if len(values["notes"]) > 10_000:
            errors["notes"] = "At most 10,000 characters."
    for key in ("opened_on", "closed_on"):
        value = values.get(key)
        if value is not None and value > _today():
            errors[key] = "The date is in the future."
    errors = {**_length_errors(Case, {k: v for k, v in values.items() if k != "notes"}),
              **errors}
    if errors:
        raise ValidationError.for_fields(errors)
    return values


@transaction.atomic
def case_create(*, actor: User | None, subject: str, person: Person | None = None,
                account: Account | None = None, status: str = CaseStatus.OPEN,
                worker: User | None = None, programs: Iterable[Any] = (),
                opened_on: dt.date | None = None, notes: str = "") -> Case:
    """Open a case for one person or one account. The worker defaults to whoever opens it."""
    if (person is None) == (account is None):
        raise ValidationError.for_fields(
            {"person_id": "A case is for one person or one account (give exactly one)."})
    values = _clean_case({"subject": subject, "status": status, "notes": notes,
                          "opened_on": opened_on or _today()})
    closed_on = _today() if values["status"] == CaseStatus.CLOSED else None
    if closed_on and closed_on < values["opened_on"]:  # pragma: no cover - opened_on <= today
        closed_on = values["opened_on"]
    case = Case.objects.create(person=person, account=account, worker=worker or actor,
                               closed_on=closed_on, **values)
    program_list = list(programs)
    if program_list:
        case.programs.set(program_list)
    audit_record(actor=actor, action="case.create", obj=case,
                 after={**snapshot(case), "programs": sorted(p.pk for p in program_list)})
    return case


CASE_FIELDS = {"subject", "status", "worker", "programs", "notes", "opened_on", "closed_on"}


@transaction.atomic
def case_update(*, actor: User | None, case: Case, **fields: Any) -> Case:
    """Change subject, status, worker, programs, notes or dates. Closing a case sets its
    closing date (today unless given); reopening clears it."""
    unknown = set(fields) - CASE_FIELDS
    if unknown:
        raise TypeError(f"case_update got unknown fields: {sorted(unknown)}")
    programs = fields.pop("programs", None)
    values = _clean_case(dict(fields))
    obj = Case.objects.select_for_update().get(pk=case.pk)
    before = {**snapshot(obj), "programs": sorted(obj.programs.values_list("id", flat=True))}
    for key, value in values.items():
        setattr(obj, key, value)
    if obj.status == CaseStatus.CLOSED and obj.closed_on is None:
        obj.closed_on = _today()
    if obj.status == CaseStatus.OPEN:
        obj.closed_on = None
    if obj.closed_on and obj.closed_on < obj.opened_on:
        raise ValidationError.for_fields({"closed_on": "The case closes before it opened."})
    obj.save()
    if programs is not None:
        obj.programs.set(list(programs))
    after = {**snapshot(obj), "programs": sorted(obj.programs.values_list("id", flat=True))}
    before, after = changes(before, after)
    audit_record(actor=actor, action="case.update", obj=obj, before=before, after=after)
    return obj
