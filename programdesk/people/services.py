"""Writes for people, accounts, cases and proof documents; merging two people."""

from __future__ import annotations

import datetime as dt
import functools
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from programdesk.core.audit import audit_record, changes, snapshot
from programdesk.core.bulk import (
    DbDates,
    db_date,
    db_datetime,
    db_json,
    db_now,
    id_values,
    ids_inserted,
    insert_rows,
    insert_rows_batched,
    last_id,
    update_rows,
)
from programdesk.core.custom_fields import ExtraRules, extra_merge, field_definitions_for
from programdesk.core.errors import Conflict, NotFound, ValidationError
from programdesk.core.models import FieldDefinition, FieldTarget, User
from programdesk.core.text import name_problem
from programdesk.people import matching, signals
from programdesk.people.models import (
    Account,
    AccountKind,
    Case,
    CaseStatus,
    DocumentType,
    HouseholdMembership,
    Person,
    PersonDocument,
    Relationship,
    RevokedCardCode,
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


def _income(value: Any) -> tuple[Decimal | None, str]:
    """A yearly income as an amount, or the reason it is not one."""
    try:
        income = Decimal(str(value))
    except InvalidOperation:
        return None, "An amount from 0 to 9,999,999,999.99."
    if not income.is_finite() or not 0 <= income <= MAX_INCOME:
        return None, "An amount from 0 to 9,999,999,999.99."
    if income != income.quantize(Decimal("0.01")):
        return None, "At most 2 decimals."
    return income, ""


# --- Accounts ----------------------------------------------------------------------------------

def account_values_clean(values: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalize account fields (those given); every problem is reported at once.
    Raises ValidationError. Account create and update, and the accounts import, check with it."""
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
    _household_values_clean(values, errors)
    errors = {**_length_errors(Account, values), **errors}
    if errors:
        raise ValidationError.for_fields(errors)
    return values


def _household_values_clean(values: dict[str, Any], errors: dict[str, str]) -> None:
    """A household's declared size (members not registered here) and yearly income."""
    size = values.get("declared_size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int)
                             or not 0 <= size <= MAX_HOUSEHOLD_SIZE):
        errors["declared_size"] = f"A whole number from 0 to {MAX_HOUSEHOLD_SIZE}."
    if values.get("annual_income") is not None:
        income, problem = _income(values["annual_income"])
        if problem:
            errors["annual_income"] = problem
        else:
            values["annual_income"] = income


@transaction.atomic
def account_create(*, actor: User | None, name: str, kind: str = AccountKind.HOUSEHOLD,
                   email: str = "", phone: str = "", postal_code: str = "",
                   declared_size: int | None = None,
                   annual_income: Decimal | None = None) -> Account:
    values = account_values_clean({"name": name, "kind": kind, "email": email, "phone": phone,
                                   "postal_code": postal_code, "declared_size": declared_size,
                                   "annual_income": annual_income})
    if values["kind"] != AccountKind.HOUSEHOLD and (declared_size or annual_income is not None):
        raise ValidationError.for_fields(
            {"declared_size": "Only a household has a declared size and an income."})
    account = Account.objects.create(**values)
    audit_record(actor=actor, action="account.create", obj=account, after=snapshot(account))
    return account


ACCOUNT_FIELDS = {"name", "kind", "email", "phone", "postal_code", "declared_size",
                  "annual_income"}


@transaction.atomic
def account_update(*, actor: User | None, account: Account, **fields: Any) -> Account:
    """Change any of name, kind, email, phone, postal_code, declared_size, annual_income. A
    household whose memberships (current or past) exist stays a household: its dated members
    and the disbursements that counted them depend on it."""
    unknown = set(fields) - ACCOUNT_FIELDS
    if unknown:
        raise TypeError(f"account_update got unknown fields: {sorted(unknown)}")
    values = account_values_clean(dict(fields))
    obj = Account.objects.select_for_update().get(pk=account.pk)
    if values.get("kind", obj.kind) != obj.kind:
        if HouseholdMembership.objects.filter(account=obj).exists():
            raise Conflict(f"{obj.name} has household members (now or in the past), so it "
                           "stays a household.")
        if Person.objects.filter(account=obj).exists():
            raise Conflict(f"{obj.name} has members; take them out before changing its kind.")
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


@dataclass(frozen=True, slots=True)
class PersonRules:
    """The rules of a person's fields, compiled once: custom field definitions
    (``ExtraRules``), the column lengths, today's date. ``check`` is THE person validation —
    ``person_create``, ``person_update``, ``people_create_many`` and the imports all go
    through it (``_clean_person``, ``person_values_clean``); an import compiles the rules
    once and checks its 100,000 rows with them, and a valid row raises nothing."""

    today: dt.date
    extra: ExtraRules
    # (field, max length) of the person fields with a column length (PERSON_FIELDS: the
    # only fields a person's values may have)
    limits: tuple[tuple[str, int], ...]

    @classmethod
    def compile(cls, *, definitions: list[FieldDefinition] | None = None,
                today: dt.date | None = None) -> PersonRules:
        """``definitions``: the person field definitions (one query when not given)."""
        if definitions is None:
            definitions = field_definitions_for(target=FieldTarget.PERSON, any_scope=True)
        return cls(today=today or _today(),
                   extra=ExtraRules.compile(definitions, any_scope=True),
                   limits=tuple((name, limit) for name, limit in _max_lengths(Person).items()
                                if name in PERSON_FIELDS))

    def check(self, values: dict[str, Any], *, partial: bool = False) -> dict[str, str]:
        """Normalize ``values`` in place; every problem as {field: message} (empty: valid).
        ``partial`` (an update): only the fields given; required custom fields may be absent.
        """
        errors: dict[str, str] = {}
        _names_clean(values, errors)
        _contacts_clean(values, errors)
        # The optional rules only when their field is given.
        get = values.get
        if get("birth_date") is not None:
            _birth_date_check(values, errors, today=self.today)
        if get("household_size") is not None:
            _household_size_check(values, errors)
        if get("annual_income") is not None:
            _income_clean(values, errors)
        if "extra" in values or not partial:
            # On create, the required custom fields must be given even when extra is not.
            extra, problems = self.extra.check(get("extra", {}), partial=partial)
            if problems:
                errors.update(problems)
            else:
                values["extra"] = extra
        if self._too_long(values):
            errors = {**_length_errors(Person, values), **errors}  # extra is no string
        return errors

    def _too_long(self, values: dict[str, Any]) -> bool:
        """Whether a string is longer than its column. The limited fields are strings (or
        None, or absent) once normalized, so their length is enough: no type test."""
        get = values.get
        for name, limit in self.limits:  # noqa: SIM110 (a loop: any() of a generator is slower)
            if len(get(name) or "") > limit:
                return True
        return False


def _clean_person(values: dict[str, Any], *, partial: bool,
                  definitions: list[FieldDefinition] | None = None,
                  today: dt.date | None = None) -> dict[str, Any]:
    """Validate and normalize person fields (``PersonRules``); every problem is reported at
    once. ``definitions`` (the person field definitions) and ``today`` save a query and a
    clock read."""
    if definitions is None and partial and "extra" not in values:
        definitions = []  # custom fields untouched: no query for their definitions
    errors = PersonRules.compile(definitions=definitions, today=today).check(
        values, partial=partial)
    if errors:
        raise ValidationError.for_fields(errors)
    return values


# The rules of _clean_person, one a field or two: each normalizes ``values`` in place and
# adds its problems to ``errors``.


def _names_clean(values: dict[str, Any], errors: dict[str, str]) -> None:
    for key, label in (("first_name", "first name"), ("last_name", "last name")):
        if key in values:
            values[key] = name = " ".join((values[key] or "").split())
            if not name:
                errors[key] = f"A {label} is required."
            # printable ASCII has no problem: name_problem only for the rest (it says None)
            elif not (name.isascii() and name.isprintable()) and (
                    problem := name_problem(name)):
                errors[key] = f"The {label} {problem}"


def _contacts_clean(values: dict[str, Any], errors: dict[str, str]) -> None:
    """Email (compared as ``matching.email_key``), phone, postal code and card code."""
    if "email" in values:
        # stripped, lower case: matching.email_key
        values["email"] = email = (values["email"] or "").strip().lower()
        if email and (message := _email_error(email)):
            errors["email"] = message
    if "phone" in values:
        values["phone"] = (values["phone"] or "").strip()
    if "postal_code" in values:
        values["postal_code"] = (values["postal_code"] or "").strip().upper()
    if "card_code" in values:
        values["card_code"] = (values["card_code"] or "").strip() or None


def _birth_date_check(values: dict[str, Any], errors: dict[str, str], *,
                      today: dt.date | None) -> None:
    birth_date = values["birth_date"]
    if not isinstance(birth_date, dt.date):
        errors["birth_date"] = "Must be a date (YYYY-MM-DD)."
    elif birth_date > (today or _today()):
        errors["birth_date"] = "The birth date is in the future."
    elif birth_date < EARLIEST_BIRTH_DATE:
        errors["birth_date"] = f"The birth date is before {EARLIEST_BIRTH_DATE}."


def _household_size_check(values: dict[str, Any], errors: dict[str, str]) -> None:
    size = values["household_size"]
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_HOUSEHOLD_SIZE:
        errors["household_size"] = f"A whole number from 1 to {MAX_HOUSEHOLD_SIZE}."


def _income_clean(values: dict[str, Any], errors: dict[str, str]) -> None:
    income = values["annual_income"]
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


def person_values_clean(values: dict[str, Any], *,
                        definitions: list[FieldDefinition] | None = None,
                        today: dt.date | None = None) -> dict[str, Any]:
    """A new person's fields validated and normalized exactly as ``person_create`` does,
    without writing (imports check every row before writing any). Raises ValidationError.
    Pass ``definitions`` (``field_definitions_for(target="person", any_scope=True)``) and
    ``today`` once for many rows — or compile ``PersonRules`` once and ``check`` each row."""
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
    if account is not None and account.kind == AccountKind.HOUSEHOLD:
        _membership_start(actor=actor, person=person, account=account,
                          relationship=Relationship.OTHER, start_date=_today())
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
    if "account" in values:
        # The account is the current household: changing it moves the person (the old
        # membership ends the day before, a new one starts today), taking it away ends it.
        account = values.pop("account")
        if getattr(account, "pk", None) != obj.account_id:
            _account_change(actor=actor, person=obj, account=account)
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
                       field_prefix: str = "rows") -> list[int]:
    """Create many people at once: every row is validated first and nothing is written if any
    row is invalid (errors at ``rows.<i>.<field>``); then one bulk insert and one audit event
    for the batch. Rows take person_create's keyword arguments (``account`` as an Account or
    ``account_id``). Returns the new ids, in the rows' order."""
    errors: dict[str, str] = {}
    people: list[tuple[dict[str, Any], int | None]] = []
    # The custom field definitions and today once for the batch, not a query for every row.
    definitions = field_definitions_for(target=FieldTarget.PERSON, any_scope=True)
    today = _today()
    for i, row in enumerate(rows):
        row = dict(row)
        account_id = row.pop("account_id", None)
        account = row.pop("account", None)
        unknown = set(row) - PERSON_FIELDS
        if unknown:
            errors.update({f"{field_prefix}.{i}.{k}": "Unknown field." for k in sorted(unknown)})
            continue
        for key in ("first_name", "last_name", "email", "phone", "postal_code"):
            row.setdefault(key, "")
        try:
            values = person_values_clean(row, definitions=definitions, today=today)
        except ValidationError as exc:
            errors.update({f"{field_prefix}.{i}.{e['field']}": e["message"] for e in exc.errors})
            continue
        people.append((values, account.pk if account else account_id))
    errors.update(_people_many_conflicts(people, field_prefix=field_prefix))
    if errors:
        raise ValidationError.for_fields(errors)
    ids = people_insert_many(actor=actor, people=people)
    audit_record(actor=actor, action="person.create_many", object_type="people.person",
                 object_ids=ids, after={"count": len(ids)})
    return ids


def _people_many_conflicts(people: list[tuple[dict[str, Any], int | None]], *,
                           field_prefix: str) -> dict[str, str]:
    """Card codes taken twice or already, and accounts that do not exist."""
    errors = {}
    codes = [values["card_code"] for values, _ in people if values.get("card_code")]
    if codes and (len(set(codes)) != len(codes)
                  or Person.objects.filter(card_code__in=codes).exists()):
        errors[field_prefix] = "Card codes must be unique, in the rows and against existing people."
    account_ids = {account_id for _, account_id in people if account_id is not None}
    found = set(Account.objects.filter(pk__in=account_ids).values_list("pk", flat=True))
    if account_ids - found:
        errors[field_prefix] = (f"Unknown account ids: "
                                f"{', '.join(map(str, sorted(account_ids - found)))}.")
    return errors


# --- Bulk writers ------------------------------------------------------------------------------
# Building blocks for services that write many records at once (people_create_many, the
# imports): they insert values already checked by ``person_values_clean`` /
# ``account_values_clean``, inside the caller's transaction, which audits. One ``executemany``
# of plain tuples per batch (core/bulk.py); a unique card code still holds in the database.

PERSON_INSERT_COLUMNS = [
    "first_name", "last_name", "birth_date", "email", "phone", "postal_code", "account",
    "household_size", "annual_income", "card_code", "extra", "first_name_key", "last_name_key",
    "phone_key", "created_at", "updated_at"]
ACCOUNT_INSERT_COLUMNS = ["name", "kind", "email", "phone", "postal_code", "created_at",
                          "updated_at"]


def accounts_insert_many(*, accounts: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert accounts (values from ``account_values_clean``: name, kind, email, phone,
    postal_code); returns their ids in order."""
    if not accounts:
        return []
    now = timezone.now()
    now_db = db_datetime(now)
    before = last_id(Account)
    insert_rows(Account, ACCOUNT_INSERT_COLUMNS, (
        (a["name"], a["kind"], a["email"], a["phone"], a["postal_code"], now_db, now_db)
        for a in accounts))
    return ids_inserted(Account, after_id=before, created_at=now)


def people_insert_many(*, actor: User | None,
                       people: Sequence[tuple[Mapping[str, Any], int | None]],
                       written: Callable[[int], None] | None = None,
                       keys: Sequence[matching.PersonKeys] | None = None) -> list[int]:
    """Insert people: (values from ``person_values_clean``, account id or None) each, with
    their matching keys (``keys``, one per person, when the caller computed them already:
    ``matching.person_keys`` of the same values); returns their ids in order. ``written``
    hears how many rows each batch wrote (an import's progress). Those given a household
    become its current members from today (``household_memberships_start_many``, which audits
    them as ``actor``'s: the caller's audit event names the people only)."""
    if not people:
        return []
    if keys is None:
        keys = [matching.person_keys(v["first_name"], v["last_name"], v["email"], v["phone"])
                for v, _ in people]
    now = timezone.now()
    now_db, empty, date = db_datetime(now), db_json({}), DbDates()

    def rows() -> Iterable[tuple[Any, ...]]:
        for (v, account_id), k in zip(people, keys, strict=True):
            extra = v.get("extra")
            yield (v["first_name"], v["last_name"], date[v.get("birth_date")], v["email"],
                   v["phone"], v["postal_code"], account_id, v.get("household_size"),
                   v.get("annual_income"), v.get("card_code"),
                   db_json(extra) if extra else empty, k.first_sound, k.last_sound, k.phone,
                   now_db, now_db)

    before = last_id(Person)
    insert_rows_batched(Person, PERSON_INSERT_COLUMNS, rows(), written=written, copy=True)
    ids = ids_inserted(Person, after_id=before, created_at=now)
    if len(ids) == len(people):  # else the caller refuses the whole batch
        household_memberships_start_many(
            actor=actor, start_date=timezone.localdate(now),
            members=[(pk, account_id) for pk, (_, account_id) in zip(ids, people, strict=True)
                     if account_id is not None],
            start_dates={pk: v["household_start_date"]
                         for pk, (v, _) in zip(ids, people, strict=True)
                         if v.get("household_start_date")})
    return ids


def household_memberships_start_many(*, actor: User | None,
                                     members: Sequence[tuple[int, int]],
                                     start_date: dt.date,
                                     start_dates: Mapping[int, dt.date] | None = None) -> int:
    """Current memberships (``other``) from ``start_date`` for people just given an account
    in bulk (``people_insert_many``: ``people_create_many``, the people import): each (person
    id, account id) whose account is a household. Someone who has a current household already
    is skipped (the partial unique index, ON CONFLICT DO NOTHING). Runs inside the caller's
    transaction; set-based; audited as one event. ``start_dates`` gives some people's own
    start ({person id: date}: the people import's household start date). Returns how many
    started."""
    account_ids = {a for _, a in members}
    if not account_ids:
        return 0
    households = set(Account.objects.filter(pk__in=id_values(account_ids),
                                            kind=AccountKind.HOUSEHOLD)
                     .values_list("pk", flat=True))
    now, day, dates = db_now(), db_date(start_date), DbDates()
    own = start_dates or {}
    rows = [(p, a, Relationship.OTHER.value, dates[own[p]] if p in own else day, None, now, now)
            for p, a in members if a in households]
    if not rows:
        return 0
    before = last_id(HouseholdMembership)
    created = insert_rows_batched(HouseholdMembership, [
        "person", "account", "relationship", "start_date", "end_date", "created_at",
        "updated_at"], rows, ignore_conflicts=True)
    ids = list(HouseholdMembership.objects.filter(pk__gt=before).values_list("pk", flat=True))
    audit_record(actor=actor, action="household_membership.create_many",
                 object_type="people.householdmembership", object_ids=ids,
                 after={"count": created, "start_date": start_date.isoformat()})
    return created


MEMBERSHIP_INSERT_COLUMNS = ["person", "account", "relationship", "start_date", "end_date",
                             "created_at", "updated_at"]


def household_memberships_insert_many(*, actor: User | None,
                                      memberships: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert dated memberships checked by the caller (the households import): each
    ``{person_id, account_id, relationship, start_date, end_date}`` of a household. The
    current ones (no end date) make the household the person's ``account`` (set-based, one
    statement). The one-current-household and one-current-head indexes still hold: a rival
    membership recorded meanwhile → Conflict, nothing written (the caller's transaction rolls
    back). Returns the new ids in order; audited as one event (and one for the people moved)."""
    if not memberships:
        return []
    now = db_now()
    date = DbDates()
    before = last_id(HouseholdMembership)
    try:
        with transaction.atomic():
            insert_rows_batched(HouseholdMembership, MEMBERSHIP_INSERT_COLUMNS, (
                (m["person_id"], m["account_id"], m["relationship"], date[m["start_date"]],
                 date[m.get("end_date")], now, now) for m in memberships))
    except IntegrityError:
        raise Conflict("Household memberships changed while the file was being imported (a "
                       "current household or head recorded at the same moment?). Nothing was "
                       "imported; check the file again.") from None
    ids = list(HouseholdMembership.objects.filter(pk__gt=before).order_by("pk")
               .values_list("pk", flat=True))
    audit_record(actor=actor, action="household_membership.create_many",
                 object_type="people.householdmembership", object_ids=ids,
                 after={"count": len(ids)})
    current = {m["person_id"]: m["account_id"] for m in memberships if m.get("end_date") is None}
    if current:
        update_rows(Person, ["account", "updated_at"],
                    ((account, now, person) for person, account in current.items()))
        audit_record(actor=actor, action="person.update_many", object_type="people.person",
                     object_ids=sorted(current), after={"account": "current household"})
    return ids


def households_facts_fill_many(*, actor: User | None,
                               facts: Mapping[int, Mapping[str, Any]]) -> int:
    """Set households' declared size and yearly income (values checked by
    ``account_values_clean``): ``{account id: {declared_size?, annual_income?}}``; a fact not
    given is kept. One statement; audited as one event with each account's new values.
    Disbursements already recorded keep their household snapshot. Returns how many."""
    if not facts:
        return 0
    now = db_now()
    updated = update_rows(Account, ["declared_size", "annual_income", "updated_at"], (
        (f.get("declared_size"), f.get("annual_income"), now, pk) for pk, f in facts.items()),
        keep_if_null={"declared_size", "annual_income"})
    audit_record(actor=actor, action="account.update_many", object_type="people.account",
                 object_ids=sorted(facts),
                 after={str(pk): {k: str(v) for k, v in f.items() if v is not None}
                        for pk, f in facts.items()})
    return updated


# --- Households --------------------------------------------------------------------------------
#
# A person is a current member (no end date) of at most one household, and a household has at
# most one current head: both are partial unique indexes, checked here first for a clear
# message. ``Person.account`` is the current household; these functions keep it in step. The
# person's row is locked first, so two desks changing the same person queue.

def _require_household(account: Account, field: str = "account_id") -> None:
    if account.kind != AccountKind.HOUSEHOLD:
        raise ValidationError.for_fields({field: f"{account.name} is not a household."})


def _locked_person(person: Person) -> Person:
    try:
        return Person.objects.select_for_update().get(pk=person.pk)
    except Person.DoesNotExist:
        raise NotFound() from None


def _current_membership(person: Person) -> HouseholdMembership | None:
    return (HouseholdMembership.objects.select_for_update().select_related("account")
            .filter(person=person, end_date__isnull=True).first())


def _membership_out(m: HouseholdMembership) -> dict[str, Any]:
    return {"person_id": m.person_id, "account_id": m.account_id,
            "relationship": m.relationship, "start_date": m.start_date.isoformat(),
            "end_date": m.end_date.isoformat() if m.end_date else None}


def _membership_start(*, actor: User | None, person: Person, account: Account,
                      relationship: str, start_date: dt.date) -> HouseholdMembership:
    """A new current membership. The person has none now (the caller ended it)."""
    errors = {}
    if relationship not in Relationship.values:
        errors["relationship"] = f"Use one of: {', '.join(Relationship.values)}."
    if start_date > _today():
        errors["start_date"] = "The membership cannot start in the future."
    last_end = (HouseholdMembership.objects.filter(person=person, end_date__isnull=False)
                .order_by("-end_date").values_list("end_date", flat=True).first())
    if last_end is not None and start_date <= last_end:
        errors["start_date"] = (f"{person.full_name}'s previous household membership ran "
                                f"until {last_end}; start after it.")
    if errors:
        raise ValidationError.for_fields(errors)
    if relationship == Relationship.HEAD:
        head = (HouseholdMembership.objects.filter(account=account, end_date__isnull=True,
                                                   relationship=Relationship.HEAD)
                .select_related("person").first())
        if head is not None:
            raise Conflict(
                f"{account.name} already has a head of household: {head.person.full_name}. "
                "End that membership (or choose another relationship) first.",
                errors=[{"field": "relationship", "message": "The household has a head."}])
    try:
        with transaction.atomic():
            membership = HouseholdMembership.objects.create(
                person=person, account=account, relationship=relationship,
                start_date=start_date)
    except IntegrityError:
        # Another desk got there between the check and the insert.
        raise Conflict(f"{person.full_name} or {account.name} changed meanwhile (a current "
                       "household or head was recorded); reload and try again.") from None
    if person.account_id != account.pk:
        _person_account_set(actor=actor, person=person, account=account)
    audit_record(actor=actor, action="household_membership.start", obj=membership,
                 after=_membership_out(membership))
    return membership


def _person_account_set(*, actor: User | None, person: Person, account: Account | None
                        ) -> None:
    """``Person.account`` follows the current household (audited on the person)."""
    before = person.account_id
    person.account = account
    person.save(update_fields=["account", "updated_at"])
    audit_record(actor=actor, action="person.update", obj=person,
                 before={"account_id": before}, after={"account_id": person.account_id})


def _membership_close(*, actor: User | None, membership: HouseholdMembership,
                      end_date: dt.date) -> HouseholdMembership | None:
    """End a membership on ``end_date`` (its last day). One that would end before it started
    never took effect (a same-day correction): it is deleted, and the audit event keeps it."""
    if end_date < membership.start_date:
        audit_record(actor=actor, action="household_membership.delete", obj=membership,
                     before=_membership_out(membership))
        membership.delete()
        return None
    membership.end_date = end_date
    membership.save(update_fields=["end_date", "updated_at"])
    audit_record(actor=actor, action="household_membership.end", obj=membership,
                 before={"end_date": None}, after={"end_date": end_date.isoformat()})
    return membership


def _account_change(*, actor: User | None, person: Person, account: Account | None) -> None:
    """``person.account`` set to another account (or none) through person_update."""
    today = _today()
    current = _current_membership(person)
    if account is not None and account.kind == AccountKind.HOUSEHOLD:
        if current is not None:
            _membership_close(actor=actor, membership=current,
                              end_date=today - dt.timedelta(days=1))
        _membership_start(actor=actor, person=person, account=account,
                          relationship=Relationship.OTHER, start_date=today)
        return
    if current is not None:
        _membership_close(actor=actor, membership=current, end_date=today)
    person.account = account


@transaction.atomic
def household_member_add(*, actor: User | None, account: Account, person: Person,
                         relationship: str = Relationship.OTHER,
                         start_date: dt.date | None = None) -> HouseholdMembership:
    """Make the person a current member of the household from ``start_date`` (today). A
    person already in a household → Conflict naming it (end or move first); a second head →
    Conflict."""
    _require_household(account)
    person = _locked_person(person)
    current = _current_membership(person)
    if current is not None:
        where = ("this household" if current.account_id == account.pk
                 else f"the household {current.account.name} (#{current.account_id})")
        raise Conflict(f"{person.full_name} is already a current member of {where}. End that "
                       "membership or move them instead.",
                       errors=[{"field": "person_id",
                                "message": f"Current member of {current.account.name}."}],
                       household_id=current.account_id)
    return _membership_start(actor=actor, person=person, account=account,
                             relationship=relationship, start_date=start_date or _today())


@transaction.atomic
def household_member_end(*, actor: User | None, account: Account, person: Person,
                         end_date: dt.date | None = None) -> HouseholdMembership:
    """End the person's current membership of the household; ``end_date`` (default today) is
    their last day in it. They then belong to no household."""
    person = _locked_person(person)
    current = _current_membership(person)
    if current is None or current.account_id != account.pk:
        raise Conflict(f"{person.full_name} is not a current member of {account.name}.")
    end_date = end_date or _today()
    if end_date > _today():
        raise ValidationError.for_fields({"end_date": "The end date is in the future."})
    if end_date < current.start_date:
        raise ValidationError.for_fields(
            {"end_date": f"The membership started on {current.start_date}; end it on or "
                         "after that day."})
    ended = _membership_close(actor=actor, membership=current, end_date=end_date)
    assert ended is not None  # end_date >= start_date
    if person.account_id == account.pk:
        _person_account_set(actor=actor, person=person, account=None)
    return ended


@transaction.atomic
def household_member_move(*, actor: User | None, person: Person, account: Account,
                          relationship: str = Relationship.OTHER,
                          on: dt.date | None = None) -> HouseholdMembership:
    """Move the person to another household from ``on`` (today): the current membership ends
    the day before and a new one starts. Moving into the household they are in → Conflict."""
    _require_household(account)
    on = on or _today()
    person = _locked_person(person)
    current = _current_membership(person)
    if current is not None:
        if current.account_id == account.pk:
            raise Conflict(f"{person.full_name} is already a current member of {account.name}.")
        if on < current.start_date:
            raise ValidationError.for_fields(
                {"start_date": f"{person.full_name} joined {current.account.name} on "
                               f"{current.start_date}; move them on or after that day."})
        _membership_close(actor=actor, membership=current, end_date=on - dt.timedelta(days=1))
    return _membership_start(actor=actor, person=person, account=account,
                             relationship=relationship, start_date=on)


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


# --- check-in cards ---------------------------------------------------------------------------

# Crockford's base 32: no I, L, O or U, so a code read aloud or typed from the card is not
# mistaken (1/I/L, 0/O). 12 characters are 60 random bits: guessing a live code is hopeless.
CARD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CARD_CODE_LENGTH = 12


def card_code_new() -> str:
    """A fresh random card code, grouped for reading: ``7KQ3-XM2D-9RTB``."""
    raw = "".join(secrets.choice(CARD_ALPHABET) for _ in range(CARD_CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, CARD_CODE_LENGTH, 4))


def _card_code_free(code: str) -> bool:
    return not (Person.objects.filter(card_code__iexact=code).exists()
                or Account.objects.filter(card_code__iexact=code).exists()
                or RevokedCardCode.objects.filter(code__iexact=code).exists())


def _card_holder(*, person: Person | None, account: Account | None) -> Person | Account:
    if (person is None) == (account is None):
        raise TypeError("A card is a person's or a household's: give exactly one.")
    holder: Person | Account = person if person is not None else account  # type: ignore[assignment]
    # Locked, so two staff re-issuing the same card at once make one code, not two.
    return type(holder).objects.select_for_update().get(pk=holder.pk)


def _card_code_revoke(holder: Person | Account) -> str | None:
    """Remember the holder's current code as revoked; the code it had, or None."""
    old = holder.card_code
    if old:
        RevokedCardCode.objects.create(
            code=old, person=holder if isinstance(holder, Person) else None,
            account=holder if isinstance(holder, Account) else None)
    return old


@transaction.atomic
def card_issue(*, actor: User | None, person: Person | None = None,
               account: Account | None = None) -> str:
    """Give a person or a household (exactly one) a new random card code and return it. A
    holder who has one gets a new one and the old one is revoked: a lost card stops working
    the moment its replacement is printed. Codes are unique across people, households and
    revoked codes alike."""
    holder = _card_holder(person=person, account=account)
    for _ in range(5):
        code = card_code_new()
        if _card_code_free(code):
            break
    else:  # 60 random bits: only a broken random source gets here
        raise Conflict("Could not make a card code that is not taken; try again.")
    old = _card_code_revoke(holder)
    holder.card_code = code
    holder.save(update_fields=["card_code", "updated_at"])
    kind = "person" if isinstance(holder, Person) else "account"
    audit_record(actor=actor, action=f"{kind}.card_issue", obj=holder,
                 before={"card_code": old}, after={"card_code": code})
    return code


@transaction.atomic
def card_revoke(*, actor: User | None, person: Person | None = None,
                account: Account | None = None) -> str:
    """Take a person's or a household's card away (lost, not replaced yet): the code is
    revoked, and a scan of it is refused as a replaced card. Returns the revoked code; a
    Conflict when the holder has no card."""
    holder = _card_holder(person=person, account=account)
    old = _card_code_revoke(holder)
    if old is None:
        raise Conflict("There is no card to revoke.")
    holder.card_code = None
    holder.save(update_fields=["card_code", "updated_at"])
    kind = "person" if isinstance(holder, Person) else "account"
    audit_record(actor=actor, action=f"{kind}.card_revoke", obj=holder,
                 before={"card_code": old}, after={"card_code": None})
    return old
