"""Imports of people, accounts, enrollments and disbursements (past attendance included).

Every import runs in two steps, the same for the page, the command line and the API:

1. **Check** (the dry run, and the first half of every commit): each row is read through the
   column mapping and validated by the same rules as the services that create one record
   (``people.services.person_values_clean``, ``core.custom_fields.extra_validate``,
   ``participation.services.check_quantity``, status values by code or label). People are
   matched to existing records by the duplicate rules (``people.selectors.people_match_rows``)
   and to earlier rows of the same file. Every problem is collected as (row, column, message)
   — all of them, not the first — with a summary of what would happen.
2. **Write**, only when no row has an error: one transaction, all or nothing, with one audit
   event per model and batch of ids (``import.people``, ``import.enrollments``, ...).

Set-based throughout: the lookups (programs, benefits, sessions, statuses, custom fields,
existing people, enrollments, disbursements) are a fixed number of queries whatever the number
of rows, and the writes are ``executemany`` of plain tuples (``core.bulk.insert_rows``).

Importing again never duplicates (docs/imports.md): people are matched, an enrollment that
exists is reused, a session has one disbursement per participant (a database constraint), and
an ad hoc disbursement counts as present when the same recipient already has as many of that
benefit on that date as the file lists.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import models, transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from programdesk.core.audit import audit_record
from programdesk.core.bulk import JsonValues, chunked, db_date, db_datetime, db_json, insert_rows
from programdesk.core.custom_fields import extra_validate, field_definitions_by_benefit
from programdesk.core.errors import Conflict, NotAllowed, ValidationError
from programdesk.core.models import FieldDefinition, FieldTarget, StatusKind, StatusValue, User
from programdesk.core.selectors import status_default
from programdesk.imports import fields as f
from programdesk.imports.fields import ImportKind
from programdesk.imports.parsers import Table
from programdesk.participation.models import (
    BenefitAssignment,
    BenefitDisbursement,
    ProgramEnrollment,
    RecipientType,
)
from programdesk.participation.services.disbursements import (
    anonymous_enrollment_ensure,
    check_quantity,
)
from programdesk.participation.services.writers import (
    DISBURSEMENT_FIELDS,
    Enrollee,
    _active_enrollment_status,
    assignments_ensure,
)
from programdesk.people import matching
from programdesk.people.models import Account, AccountKind, Person
from programdesk.people.selectors import (
    accounts_visible,
    household_snapshots,
    parse_date_loose,
    people_match_rows,
    people_visible,
)
from programdesk.people.services import (
    _clean_account,
    household_memberships_start_many,
    person_values_clean,
)
from programdesk.programs.models import Benefit, Program
from programdesk.scheduling.models import BenefitSchedule, BenefitSession, SessionStatus

Progress = Callable[[str, int, int], None]  # (phase, done, total)
PROGRESS_EVERY = 10_000
AUDIT_IDS_PER_EVENT = 10_000


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem: the row number a spreadsheet shows (the column names are row 1), the
    column as named in the file ("" when the problem is not one column's), the message."""

    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class ImportResult:
    kind: str
    rows: int
    dry_run: bool
    committed: bool = False
    summary: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "rows": self.rows, "dry_run": self.dry_run,
                "committed": self.committed, "summary": self.summary,
                "errors": [e.as_dict() for e in self.errors], "warnings": self.warnings}


class ImportErrors(ValidationError):
    """The rows have errors, so nothing was written. ``result`` lists every one; ``errors``
    carries them as fields ``rows.<row>.<column>`` for the API."""

    def __init__(self, result: ImportResult) -> None:
        count = len(result.errors)
        super().__init__(
            f"{count} error{'' if count == 1 else 's'} in the file; nothing was imported.",
            errors=[{"field": f"rows.{e.row}.{e.column}" if e.column else f"rows.{e.row}",
                     "message": e.message} for e in result.errors],
            row_errors=[e.as_dict() for e in result.errors], summary=result.summary)
        self.result = result


SUMMARY_LABELS = {
    "people_new": "new people",
    "people_matched": "existing people (matched by the duplicate rules, or by id)",
    "people_repeated": "rows naming a person of an earlier row again",
    "accounts_new": "new accounts",
    "accounts_matched": "accounts matched to existing records",
    "enrollments_new": "new enrollments",
    "enrollments_matched": "enrollments that exist already (reused)",
    "disbursements_new": "new disbursements",
    "disbursements_duplicate": "disbursements that exist already (skipped)",
}


# --- the doors call these -----------------------------------------------------------------------


def import_check(*, actor: User | None, kind: str, table: Table, mapping: Sequence[str],
                 progress: Progress | None = None) -> ImportResult:
    """The dry run: every row checked, every error listed, nothing written."""
    run = _Run.start(actor=actor, kind=kind, table=table, mapping=mapping, progress=progress)
    run.plan()
    return run.result


def import_commit(*, actor: User | None, kind: str, table: Table, mapping: Sequence[str],
                  progress: Progress | None = None, filename: str = "",
                  before_commit: Callable[[ImportResult], None] | None = None
                  ) -> ImportResult:
    """Check every row again, then write everything in one transaction — or, when any row
    has an error, nothing (``ImportErrors`` lists them all).

    The check runs before the write transaction opens: on SQLite a write transaction holds
    the database's only write lock, and other users' requests should wait for the writes
    only, not for the reading and matching of 100,000 rows. The constraints (one active
    enrollment, one disbursement per session, unique card codes) still guard the writes.
    ``before_commit`` runs inside the transaction after the writes (the page marks its job
    done there, so the job and the records commit together)."""
    run = _Run.start(actor=actor, kind=kind, table=table, mapping=mapping, progress=progress)
    run.result.dry_run = False
    run.plan()
    if run.result.errors:
        raise ImportErrors(run.result)
    run.result.committed = True
    _write(run, filename=filename, before_commit=before_commit)
    return run.result


def import_allowed_check(*, actor: User | None, kind: str) -> None:
    """Refuse an unknown kind, or a role that may not create what the kind creates."""
    if kind not in f.FIELDS:
        raise ValidationError.for_fields(
            {"kind": f"Unknown kind of import '{kind}'. Use one of: "
                     f"{', '.join(ImportKind.values)}."})
    if actor is not None and not actor.can(f.KIND_CAP[kind]):
        raise NotAllowed(f"Your role ({actor.role}) may not import {kind}.")


# --- reading values ------------------------------------------------------------------------------


_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_TIME_PART = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")


class _Bad(ValueError):
    """A value that cannot be read; the message is for the user."""


@functools.lru_cache(maxsize=65536)  # dates repeat (birth dates, session dates)
def read_date(text: str) -> dt.date:
    """ISO (2026-03-02), US (3/2/2026), or either with a time after it (as spreadsheets
    export dates: 3/2/2026 0:00)."""
    value = parse_date_loose(text)
    # The date of a date and time. Not text[:10]: Excel writes "3/2/2026 0:00".
    found = _TIME_PART.search(text.strip()) if value is None else None
    if found:
        value = parse_date_loose(text.strip()[:found.start()])
    if value is None:
        raise _Bad(f"'{text}' is not a date: use YYYY-MM-DD or M/D/YYYY.")
    return value


def read_decimal(text: str) -> Decimal:
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _Bad(f"'{text}' is not a number.") from None
    if not value.is_finite():
        raise _Bad(f"'{text}' is not a number.")
    return value


def read_int(text: str) -> int:
    value = read_decimal(text)
    if value != value.to_integral_value():
        raise _Bad(f"'{text}' is not a whole number.")
    # Before int(): "1e999999999" would build a number of a billion digits (minutes of CPU).
    if value and value.adjusted() >= 18:
        raise _Bad(f"'{text}' is too large a number.")
    return int(value)


def _id(text: str) -> int | None:
    """A number that may be a record's id (names win: see ``_Named``)."""
    return int(text) if text.isdigit() and len(text) < 19 else None


def _key(text: str) -> str:
    """Names compared without case and extra spaces."""
    return " ".join(text.split()).lower()


class _Named:
    """Records found by name (case-insensitive) or, for a number that is no record's name,
    by id. ``rows``: (id, name, *other values)."""

    def __init__(self, rows: Iterable[tuple[Any, ...]]) -> None:
        self.by_id: dict[int, tuple[Any, ...]] = {}
        self.by_name: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for row in rows:
            self.by_id[row[0]] = row
            self.by_name[_key(row[1])].append(row)

    def find(self, text: str) -> list[tuple[Any, ...]]:
        found = self.by_name.get(_key(text))
        if found:
            return found
        pk = _id(text)
        return [self.by_id[pk]] if pk is not None and pk in self.by_id else []


class _Statuses:
    """A kind's status values by code or label, case-insensitively."""

    def __init__(self, kind: str) -> None:
        self.values = list(StatusValue.objects.filter(kind=kind).order_by("order", "id"))
        self.kind = kind
        self.by_word: dict[str, StatusValue] = {}
        for value in self.values:  # codes win over labels
            self.by_word.setdefault(value.label.strip().lower(), value)
        for value in self.values:
            self.by_word[value.code.lower()] = value

    def first_in_bucket(self, bucket: str) -> StatusValue:
        """As ``core.selectors.status_first_in_bucket``, without a query."""
        for value in self.values:
            if value.bucket == bucket and value.is_active:
                return value
        raise Conflict(f"No active {self.kind} status in the {bucket} bucket is configured")

    def get(self, text: str) -> StatusValue:
        value = self.by_word.get(text.strip().lower())
        if value is None:
            known = ", ".join(v.code for v in self.values if v.is_active)
            raise _Bad(f"Unknown {self.kind} status '{text}'. Use one of: {known}.")
        if not value.is_active:
            raise _Bad(f"The status '{value.code}' is retired.")
        return value


# --- one run ------------------------------------------------------------------------------------


# A person a row names: ("p", existing person id) or ("n", index of a new person);
# an account: ("a", account id) or ("na", index of a new account); nobody: ("anon", program id).
Ref = tuple[str, int]


@dataclass(slots=True)
class _NewPerson:
    values: dict[str, Any]
    account: Ref | None
    first_row: int


@dataclass
class _NewAccount:
    name: str
    kind: str = AccountKind.HOUSEHOLD
    email: str = ""
    phone: str = ""
    postal_code: str = ""


@dataclass
class _Run:
    actor: User | None
    kind: str
    table: Table
    mapping: list[str]
    progress: Progress
    today: dt.date
    result: ImportResult
    # (row number, {field: text}) for every data row, in file order
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    column_of: dict[str, str] = field(default_factory=dict)
    extra_fields: list[str] = field(default_factory=list)
    definitions: list[FieldDefinition] = field(default_factory=list)  # of the kind's target
    bad: set[int] = field(default_factory=set)
    # (row index, column) of cells refused while reading: no second error about them
    bad_cells: set[tuple[int, str]] = field(default_factory=set)
    # what the write step does, filled by plan()
    person_of: dict[int, Ref] = field(default_factory=dict)
    new_people: list[_NewPerson] = field(default_factory=list)
    new_accounts: list[_NewAccount] = field(default_factory=list)
    new_accounts_by_key: dict[str, int] = field(default_factory=dict)
    enrollments: list[dict[str, Any]] = field(default_factory=list)
    disbursements: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def start(cls, *, actor: User | None, kind: str, table: Table, mapping: Sequence[str],
              progress: Progress | None) -> _Run:
        import_allowed_check(actor=actor, kind=kind)
        mapping = list(mapping)
        definitions = f.custom_definitions(kind)
        f.mapping_check(kind, table.headers, mapping, definitions)
        run = cls(actor=actor, kind=kind, table=table, mapping=mapping, definitions=definitions,
                  progress=progress or (lambda phase, done, total: None),
                  today=timezone.localdate(),
                  result=ImportResult(kind=kind, rows=len(table.rows), dry_run=True))
        columns = [(i, name) for i, name in enumerate(mapping) if name]
        run.column_of = {name: table.headers[i] for i, name in columns}
        names = [name for _, name in columns]
        run.extra_fields = [name for name in names if name.startswith(f.EXTRA)]
        pick = operator.itemgetter(*(i for i, _ in columns))
        if len(columns) == 1:
            run.rows = [(number, {names[0]: pick(cells)}) for number, cells in table.rows]
        else:
            run.rows = [(number, dict(zip(names, pick(cells), strict=True)))
                        for number, cells in table.rows]
        by_number = {number: index for index, (number, _) in enumerate(run.rows)}
        for cell in table.cell_errors:
            run.result.errors.append(RowError(cell.row, table.headers[cell.column],
                                              cell.message))
            if cell.row in by_number:
                run.bad.add(by_number[cell.row])
                run.bad_cells.add((by_number[cell.row], table.headers[cell.column]))
        return run

    # errors

    # scoping: a row can only ever match or name people and accounts the importing user may
    # see (the command line, with no user, sees everyone). Querysets, not id sets: each lookup
    # below stays one query with the visibility condition in it, however many rows.

    def people_scope(self) -> QuerySet[Person]:
        return people_visible(self.actor) if self.actor is not None else Person.objects.all()

    def accounts_scope(self) -> QuerySet[Account]:
        return accounts_visible(self.actor) if self.actor is not None else Account.objects.all()

    def error(self, index: int, name: str, message: str) -> None:
        """An error on row ``index`` about field ``name`` (a field, ``extra.<key>``, or "")."""
        self.bad.add(index)
        column = self.column_of.get(name, "")
        if column and (index, column) in self.bad_cells:
            return
        if not column and name:
            label = dict(f.field_choices(self.kind)).get(name)
            if name.startswith(f.EXTRA):
                label = f"custom field {name[len(f.EXTRA):]}"
            message = f"{label or name}: {message}"
        self.result.errors.append(RowError(self.rows[index][0], column, message))

    def errors_from(self, index: int, exc: ValidationError, prefix: str = "") -> None:
        for e in exc.errors:
            name = e["field"] or ""
            if prefix and name.startswith(prefix):
                name = name[len(prefix):]
            self.error(index, name, e["message"])

    def tick(self, phase: str, done: int) -> None:
        if done % PROGRESS_EVERY == 0:
            self.progress(phase, done, len(self.rows))

    def every(self) -> list[tuple[int, dict[str, str]]]:
        """(index, values) of every row: each is checked whole, so every error is listed."""
        return [(i, values) for i, (_, values) in enumerate(self.rows)]

    # planning

    def plan(self) -> None:
        self.progress("checking", 0, len(self.rows))
        {ImportKind.PEOPLE: self._plan_people, ImportKind.ACCOUNTS: self._plan_accounts,
         ImportKind.ENROLLMENTS: self._plan_enrollments,
         ImportKind.DISBURSEMENTS: self._plan_disbursements}[ImportKind(self.kind)]()
        self.result.errors.sort(key=lambda e: e.row)
        self.progress("checked", len(self.rows), len(self.rows))

    def _count(self, name: str, n: int = 1) -> None:
        self.result.summary[name] = self.result.summary.get(name, 0) + n

    # people -------------------------------------------------------------------------------

    def _plan_people(self) -> None:
        self._people(self.every(), definitions=self.definitions, with_extra=True)
        self._summary_people()

    def _summary_people(self) -> None:
        """People counted once each (an attendance file names a person on many rows)."""
        refs = [ref for i, ref in self.person_of.items()
                if ref[0] in {"p", "n"} and i not in self.bad]
        distinct = set(refs)
        self.result.summary.update({
            "people_new": len(self.new_people),
            "people_matched": sum(1 for ref in distinct if ref[0] == "p"),
            "people_repeated": len(refs) - len(distinct),
            "accounts_new": len(self.new_accounts)})

    def _person_values(self, index: int, values: dict[str, str], *, full: bool
                       ) -> dict[str, Any]:
        """The person fields of one row as values (a field that cannot be read is an error
        and left out, so the other fields are still checked)."""
        get = values.get
        person: dict[str, Any] = {"first_name": get("first_name", ""),
                                  "last_name": get("last_name", ""), "email": get("email", ""),
                                  "phone": get("phone", ""),
                                  "postal_code": get("postal_code", "")}
        text = values.get("birth_date", "")
        if text:
            try:
                person["birth_date"] = read_date(text)
            except _Bad as exc:
                self.error(index, "birth_date", str(exc))
        if full:
            if get("household_size"):
                try:
                    person["household_size"] = read_int(values["household_size"])
                except _Bad as exc:
                    self.error(index, "household_size", str(exc))
            if get("annual_income"):
                try:
                    person["annual_income"] = read_decimal(values["annual_income"])
                except _Bad as exc:
                    self.error(index, "annual_income", str(exc))
            if get("card_code"):
                person["card_code"] = values["card_code"]
            person["extra"] = {k[len(f.EXTRA):]: values[k] for k in self.extra_fields
                               if values[k]} if self.extra_fields else {}
        return person

    def _people(self, rows: list[tuple[int, dict[str, str]]], *,
                definitions: list[FieldDefinition], with_extra: bool) -> None:
        """Resolve the person of each row: an id given, an existing person matched by the
        duplicate rules, a person of an earlier row, or a new person."""
        by_id: dict[int, list[int]] = defaultdict(list)
        cleaned: list[tuple[int, dict[str, Any]]] = []
        for n, (index, values) in enumerate(rows, 1):
            if n % PROGRESS_EVERY == 0:
                self.progress("checking", n, len(self.rows))
            if values.get("person_id"):
                pk = _id(values["person_id"])
                if pk is None:
                    self.error(index, "person_id", f"'{values['person_id']}' is not an id.")
                else:
                    by_id[pk].append(index)
                continue
            person = self._person_values(index, values, full=with_extra)
            try:
                person = person_values_clean(person, definitions=definitions if with_extra
                                             else [], today=self.today)
            except ValidationError as exc:
                self.errors_from(index, exc)
                continue
            if index not in self.bad:
                cleaned.append((index, person))

        if by_id:
            found = set(self.people_scope().filter(pk__in=JsonValues(list(by_id), cast="bigint"))
                        .values_list("pk", flat=True))
            for pk, indexes in by_id.items():
                for index in indexes:
                    if pk in found:
                        self.person_of[index] = ("p", pk)
                    else:
                        self.error(index, "person_id", f"No person with id {pk}.")

        self.progress("matching people", 0, len(self.rows))
        matches = people_match_rows([p for _, p in cleaned], among=self.people_scope())
        unmatched = [(i, p) for (i, p), m in zip(cleaned, matches, strict=True) if m is None]
        by_name = self._match_by_name_only([p for _, p in unmatched])
        required = [d for d in definitions if d.required and d.program_id is None
                    and d.benefit_id is None] if not with_extra else []
        new_by_identity: dict[tuple[Any, ...], int] = {}
        person_of = self.person_of
        for (index, person), match in zip(cleaned, matches, strict=True):
            if match is None and by_name:
                match = by_name.get(id(person))
            if match is not None:
                person_of[index] = ("p", match)
                continue
            identity = _identity(person)
            if identity in new_by_identity:
                person_of[index] = ("n", new_by_identity[identity])
                continue
            if required:
                labels = ", ".join(d.label for d in required)
                self.error(index, "", f"This person is new and people need {labels}: import "
                                      "them first (people import), then this file.")
                continue
            new_by_identity[identity] = len(self.new_people)
            person_of[index] = ("n", len(self.new_people))
            self.new_people.append(_NewPerson(values=person, account=None, first_row=index))

        self._card_codes()
        self._people_accounts()

    def _match_by_name_only(self, people: list[dict[str, Any]]) -> dict[int, int]:
        """Rows with nothing but a name are the existing person of that exact name with
        nothing else recorded either (no birth date, email or phone) — nothing tells them
        apart, and a re-import must not make them again. The oldest the user may see wins.
        One query."""
        bare = [p for p in people if not (p.get("birth_date") or p["email"] or p["phone"])]
        if not bare:
            return {}
        keys = sorted({matching.sound_key(p["last_name"]) for p in bare} - {""})
        found: dict[tuple[str, str], int] = {}
        rows = (self.people_scope().filter(last_name_key__in=JsonValues(keys),
                                      birth_date__isnull=True, email="", phone_key="")
                .order_by("-id").values_list("id", "first_name", "last_name"))
        for pk, first, last in rows.iterator(5000):
            found[(matching.fold(first), matching.fold(last))] = pk  # the oldest last
        result = {}
        for p in bare:
            match = found.get((matching.fold(p["first_name"]), matching.fold(p["last_name"])))
            if match is not None:
                result[id(p)] = match
        return result

    def _card_codes(self) -> None:
        codes: dict[str, int] = {}
        for person in self.new_people:
            code = person.values.get("card_code")
            if not code:
                continue
            if code in codes:
                self.error(person.first_row, "card_code",
                           f"The card code {code} is also on row "
                           f"{self.rows[codes[code]][0]}.")
            codes.setdefault(code, person.first_row)
        if codes:
            taken = set(Person.objects.filter(card_code__in=JsonValues(list(codes)))
                        .values_list("card_code", flat=True))
            for code in sorted(c for c in taken if c):
                self.error(codes[code], "card_code", f"Another person has the card code {code}.")

    def _people_accounts(self) -> None:
        """The account column of new people: an existing account by id or name (the one with
        the person's postal code when several share the name), else a new household."""
        wanted = [(p, self.rows[p.first_row][1]) for p in self.new_people]
        wanted = [(p, v) for p, v in wanted if v.get("account") or v.get("account_id")]
        if not wanted:
            return
        by_id = self._accounts_by_id([v.get("account_id", "") for _, v in wanted])
        names = self._accounts_by_name([v["account"] for _, v in wanted if v.get("account")])
        for person, values in wanted:
            index = person.first_row
            if values.get("account_id"):
                pk = _id(values["account_id"])
                if pk is None or pk not in by_id:
                    self.error(index, "account_id", f"No account with id {values['account_id']}.")
                    continue
                person.account = ("a", pk)
                continue
            name = " ".join(values["account"].split())
            candidates = names.get(_key(name), [])
            if len(candidates) > 1:
                same = [c for c in candidates if c[2] == person.values.get("postal_code")]
                candidates = same if len(same) == 1 else candidates
            if len(candidates) > 1:
                self.error(index, "account", f"{len(candidates)} accounts are named '{name}': "
                                             "give the account id instead.")
                continue
            if candidates:
                person.account = ("a", candidates[0][0])
                continue
            person.account = ("na", self._new_account(_NewAccount(
                name=name, postal_code=person.values.get("postal_code", ""))))

    def _new_account(self, account: _NewAccount) -> int:
        key = _key(account.name)
        if key not in self.new_accounts_by_key:
            self.new_accounts_by_key[key] = len(self.new_accounts)
            self.new_accounts.append(account)
        return self.new_accounts_by_key[key]

    def _accounts_by_id(self, texts: Iterable[str]) -> set[int]:
        ids = {pk for t in texts if t and (pk := _id(t)) is not None}
        if not ids:
            return set()
        return set(self.accounts_scope().filter(pk__in=JsonValues(sorted(ids), cast="bigint"))
                   .values_list("pk", flat=True))

    def _accounts_by_name(self, names: Iterable[str]) -> dict[str, list[tuple[int, str, str,
                                                                              str]]]:
        """Existing accounts by name (case-insensitive; those the user may see, like people
        matching — an account they may not see is as if it did not exist):
        {name key: [(id, name, postal code, kind)]}, oldest first. One query."""
        keys = sorted({_key(n) for n in names if n})
        if not keys:
            return {}
        found: dict[str, list[tuple[int, str, str, str]]] = defaultdict(list)
        exact = sorted({" ".join(n.split()) for n in names if n})
        # SQLite's lower() folds ASCII letters only: the exact spelling is looked up too, so
        # "Ñandú" finds "Ñandú" on every database.
        rows = (self.accounts_scope().annotate(lower_name=Lower("name"))
                .filter(Q(lower_name__in=JsonValues(keys)) | Q(name__in=JsonValues(exact)))
                .order_by("id").values_list("id", "name", "postal_code", "kind"))
        for row in rows:
            found[_key(row[1])].append(row)
        return found

    # accounts -----------------------------------------------------------------------------

    def _plan_accounts(self) -> None:
        kinds = {k.value: k.value for k in AccountKind}
        kinds.update({k.label.lower(): k.value for k in AccountKind})
        kinds.update({"organisation": "organization", "org": "organization",
                      "family": "household"})
        cleaned: list[tuple[int, dict[str, Any]]] = []
        for n, (index, values) in enumerate(self.every(), 1):
            self.tick("checking", n)
            kind_text = values.get("kind", "").strip().lower()
            kind = kinds.get(kind_text) if kind_text else AccountKind.HOUSEHOLD
            if kind is None:
                self.error(index, "kind", f"'{values['kind']}' is not a kind of account: use "
                                          "household or organization.")
                kind = AccountKind.HOUSEHOLD  # to check the other fields
            try:
                account = _clean_account({"name": values.get("name", ""), "kind": kind,
                                          "email": values.get("email", ""),
                                          "phone": values.get("phone", ""),
                                          "postal_code": values.get("postal_code", "")})
            except ValidationError as exc:
                self.errors_from(index, exc)
                continue
            account["name"] = " ".join(account["name"].split())
            if index not in self.bad:
                cleaned.append((index, account))
        existing = self._accounts_by_name([a["name"] for _, a in cleaned])
        planned: dict[str, list[tuple[int, str, str, str]]] = defaultdict(list)
        for _index, account in cleaned:
            key = _key(account["name"])
            postal = matching.postal_key(account["postal_code"])
            same_kind = [c for c in existing.get(key, []) if c[3] == account["kind"]]
            if _account_match(same_kind, postal) is not None:
                self._count("accounts_matched")
                continue
            if _account_match([c for c in planned[key] if c[3] == account["kind"]],
                              postal) is not None:
                self._count("accounts_matched")
                continue
            planned[key].append((len(self.new_accounts), account["name"],
                                 account["postal_code"], account["kind"]))
            self.new_accounts.append(_NewAccount(**account))
        self.result.summary = {"accounts_new": len(self.new_accounts),
                               "accounts_matched": self.result.summary.get("accounts_matched",
                                                                           0)}

    # enrollees (enrollments and disbursements) ----------------------------------------------

    def _enrollees(self, *, anonymous_ok: bool) -> None:
        """Who each row is about: a person (existing or new), an account (existing), or —
        for anonymous disbursements — nobody. Fills ``person_of`` for people and accounts."""
        person_fields = ("person_id", "first_name", "last_name", "birth_date", "email", "phone")
        people_rows, account_rows = [], []
        for index, values in self.every():
            if any(values.get(k) for k in person_fields):
                people_rows.append((index, values))
            elif values.get("account") or values.get("account_id"):
                account_rows.append((index, values))
            elif anonymous_ok and values.get("recipient_count"):
                continue  # anonymous: the program's anonymous enrollment
            else:
                self.error(index, "", "Name the person (first and last name, or person id) or "
                                      "the account" + (", or give the number of recipients "
                                                       "for an anonymous disbursement"
                                                       if anonymous_ok else "") + ".")
        if people_rows:
            self._people(people_rows, definitions=f.custom_definitions(ImportKind.PEOPLE),
                         with_extra=False)
        by_id = self._accounts_by_id([v.get("account_id", "") for _, v in account_rows])
        names = self._accounts_by_name([v["account"] for _, v in account_rows
                                        if v.get("account") and not v.get("account_id")])
        for index, values in account_rows:
            if values.get("account_id"):
                pk = _id(values["account_id"])
                if pk is None or pk not in by_id:
                    self.error(index, "account_id", f"No account with id {values['account_id']}.")
                else:
                    self.person_of[index] = ("a", pk)
                continue
            candidates = names.get(_key(values["account"]), [])
            if len(candidates) == 1:
                self.person_of[index] = ("a", candidates[0][0])
            elif candidates:
                self.error(index, "account", f"{len(candidates)} accounts are named "
                                             f"'{values['account']}': give the account id.")
            else:
                self.error(index, "account", f"No account named '{values['account']}': import "
                                             "accounts first.")

    def _programs(self) -> _Named:
        qs = Program.objects.all()
        if self.actor is not None and (ids := self.actor.visible_program_ids()) is not None:
            qs = qs.filter(pk__in=ids)
        return _Named(qs.values_list("id", "name"))

    def _find_one(self, index: int, name: str, named: _Named, text: str, noun: str,
                  within: Callable[[tuple[Any, ...]], bool] | None = None,
                  hint: str = "") -> tuple[Any, ...] | None:
        found = named.find(text)
        if within is not None:
            found = [r for r in found if within(r)]
        if len(found) == 1:
            return found[0]
        if found:
            self.error(index, name, f"{len(found)} {noun}s are named '{text}'{hint}.")
        else:
            self.error(index, name, f"No {noun} named '{text}'.")
        return None

    # enrollments ----------------------------------------------------------------------------

    def _plan_enrollments(self) -> None:
        programs = self._programs()
        statuses = _Statuses(StatusKind.ENROLLMENT)
        default = status_default(StatusKind.ENROLLMENT)
        definitions = [d for d in self.definitions if d.benefit_id is None]
        planned: list[dict[str, Any]] = []
        for n, (index, values) in enumerate(self.every(), 1):
            self.tick("checking", n)
            row: dict[str, Any] = {"index": index}
            program = self._find_one(index, "program", programs, values.get("program", ""),
                                     "program") if values.get("program") else None
            if program is None and not values.get("program"):
                self.error(index, "program", "A program is required.")
            row["program"] = program[0] if program else None
            try:
                row["status"] = statuses.get(values["status"]) if values.get("status") \
                    else default
            except _Bad as exc:
                self.error(index, "status", str(exc))
            for name in ("application_date", "start_date", "end_date"):
                try:
                    row[name] = read_date(values[name]) if values.get(name) else None
                except _Bad as exc:
                    self.error(index, name, str(exc))
            if row.get("start_date") and row.get("end_date") and \
                    row["end_date"] < row["start_date"]:
                self.error(index, "end_date", "The end date is before the start date.")
            if program is not None:  # which custom fields apply depends on the program
                extra = {k[len(f.EXTRA):]: values[k] for k in self.extra_fields}
                try:
                    row["extra"] = extra_validate(
                        target=FieldTarget.ENROLLMENT, values=extra, definitions=[
                            d for d in definitions if d.program_id in (None, program[0])])
                except ValidationError as exc:
                    self.errors_from(index, exc)
            if index not in self.bad:
                planned.append(row)
        self._enrollees(anonymous_ok=False)
        planned = [r for r in planned if r["index"] not in self.bad]
        existing = self._existing_enrollments({r["program"] for r in planned})
        seen_active: set[tuple[int, Ref]] = set()
        seen_exact: set[tuple[Any, ...]] = set()
        for row in planned:
            ref = self.person_of[row["index"]]
            status: StatusValue = row["status"]
            active = status.bucket == "active"
            exact = (row["program"], ref, status.pk, row["start_date"])
            if (active and ((row["program"], ref) in existing["active"]
                            or (row["program"], ref) in seen_active)) \
                    or exact in existing["exact"] or exact in seen_exact:
                self._count("enrollments_matched")
                continue
            if active:
                seen_active.add((row["program"], ref))
            seen_exact.add(exact)
            row["ref"] = ref
            self.enrollments.append(row)
        self._summary_people()
        self.result.summary["enrollments_new"] = len(self.enrollments)
        self.result.summary.setdefault("enrollments_matched", 0)

    def _existing_enrollments(self, programs: set[int]) -> dict[str, set[Any]]:
        """The enrollments in these programs of the people and accounts the rows name:
        {"active": {(program, ref)}, "exact": {(program, ref, status id, start date)}}."""
        people = sorted({ref[1] for ref in self.person_of.values() if ref[0] == "p"})
        accounts = sorted({ref[1] for ref in self.person_of.values() if ref[0] == "a"})
        out: dict[str, set[Any]] = {"active": set(), "exact": set()}
        if not programs:
            return out
        for kind, ids, column in (("p", people, "person_id"), ("a", accounts, "account_id")):
            if not ids:
                continue
            qs = (ProgramEnrollment.objects.filter(program_id__in=sorted(programs))
                  .filter(**{f"{column}__in": JsonValues(ids, cast="bigint")})
                  .values_list("program_id", column, "status_id", "start_date", "is_active"))
            for program, who, status, start, is_active in qs.iterator(5000):
                ref = (kind, who)
                if is_active:
                    out["active"].add((program, ref))
                out["exact"].add((program, ref, status, start))
        return out

    # disbursements --------------------------------------------------------------------------

    def _plan_disbursements(self) -> None:
        programs = self._programs()
        visible = set(programs.by_id)
        benefits = _Named(Benefit.objects.filter(program_id__in=visible).values_list(
            "id", "name", "program_id", "is_active", "unit_id", "default_quantity"))
        schedules = _Named(BenefitSchedule.objects.filter(benefit__program_id__in=visible)
                           .values_list("id", "name", "benefit_id", "default_quantity"))
        statuses = _Statuses(StatusKind.DISBURSEMENT)
        delivered = statuses.first_in_bucket("delivered")

        planned: list[dict[str, Any]] = []
        for n, (index, values) in enumerate(self.every(), 1):
            self.tick("checking", n)
            row = self._disbursement_row(index, values, programs, benefits, schedules,
                                         statuses, delivered)
            if row is not None:
                planned.append(row)
        self._sessions(planned)
        for row in planned:
            # A session's default quantity is its schedule's, else the benefit's.
            schedule = schedules.by_id.get(row["schedule"]) if row["schedule"] else None
            if schedule is not None and schedule[3] is not None:
                row["quantity_default"] = schedule[3]
        self._disbursement_extra(planned)
        self._enrollees(anonymous_ok=True)
        planned = [r for r in planned if r["index"] not in self.bad]
        for row in planned:
            row["ref"] = self.person_of.get(row["index"], ("anon", row["program"]))
        self._plan_disbursement_writes(planned)
        self._summary_people()

    def _disbursement_row(self, index: int, values: dict[str, str], programs: _Named,
                          benefits: _Named, schedules: _Named, statuses: _Statuses,
                          delivered: StatusValue) -> dict[str, Any] | None:
        """One row's benefit (or schedule), date, quantity, status and number of recipients,
        each checked (all of them, whatever else is wrong); None when any is wrong."""
        target = self._disbursement_target(index, values, programs, benefits, schedules)
        row: dict[str, Any] = {"index": index}
        schedule = values.get("schedule")
        date_text = values.get("session_date") or (values.get("disbursed_on")
                                                   if schedule else "")
        row["session_date"] = None
        if date_text:
            try:
                row["session_date"] = read_date(date_text)
            except _Bad as exc:
                self.error(index, "session_date" if values.get("session_date")
                           else "disbursed_on", str(exc))
        elif values.get("disbursed_on"):
            try:
                row["disbursed_on"] = read_date(values["disbursed_on"])
            except _Bad as exc:
                self.error(index, "disbursed_on", str(exc))
        else:
            self.error(index, "disbursed_on", "A date is required.")
        if values.get("quantity"):
            try:
                row["quantity"] = check_quantity(read_decimal(values["quantity"]))
            except _Bad as exc:
                self.error(index, "quantity", str(exc))
            except ValidationError as exc:
                self.errors_from(index, exc)
        try:
            row["status"] = statuses.get(values["status"]) if values.get("status") \
                else delivered
        except _Bad as exc:
            self.error(index, "status", str(exc))
        row["recipient_count"] = 1
        if values.get("recipient_count"):
            try:
                row["recipient_count"] = read_int(values["recipient_count"])
                if row["recipient_count"] < 1:
                    raise _Bad("At least 1.")
            except _Bad as exc:
                self.error(index, "recipient_count", str(exc))
        row["extra_in"] = {k[len(f.EXTRA):]: values[k] for k in self.extra_fields}
        if target is None or index in self.bad:
            return None
        benefit, schedule_id = target
        row.update(benefit=benefit[0], program=benefit[2], unit=benefit[4],
                   schedule=schedule_id, quantity_default=benefit[5])
        return row

    def _disbursement_target(self, index: int, values: dict[str, str], programs: _Named,
                             benefits: _Named, schedules: _Named
                             ) -> tuple[tuple[Any, ...], int | None] | None:
        """(the benefit, the schedule's id or None) a row names; None with an error."""
        program = None
        if values.get("program"):
            program = self._find_one(index, "program", programs, values["program"], "program")
            if program is None:
                return None
        if values.get("schedule"):
            schedule = self._find_one(
                index, "schedule", schedules, values["schedule"], "schedule",
                within=lambda s: (program is None or benefits.by_id[s[2]][2] == program[0])
                and (not values.get("benefit") or benefits.by_id[s[2]] in
                     benefits.find(values["benefit"])),
                hint=": add the benefit or the program to tell them apart")
            if schedule is None:
                return None
            benefit = benefits.by_id[schedule[2]]
        elif values.get("benefit"):
            found = self._find_one(
                index, "benefit", benefits, values["benefit"], "benefit",
                within=lambda b: program is None or b[2] == program[0],
                hint=" in different programs: add a program column")
            if found is None:
                return None
            benefit, schedule = found, None
        else:
            self.error(index, "benefit", "A benefit (or a schedule) is required.")
            return None
        if not benefit[3]:
            self.error(index, "benefit", f"The benefit '{benefit[1]}' is not active.")
            return None
        return benefit, schedule[0] if schedule else None

    def _sessions(self, planned: list[dict[str, Any]]) -> None:
        """The session of each attendance row: the benefit's (or schedule's) session on the
        row's date. One query for every row."""
        wanted = [r for r in planned if r.get("session_date")]
        if not wanted:
            return
        days = [r["session_date"] for r in wanted]
        sessions: dict[tuple[int, dt.date], list[tuple[int, int, str]]] = defaultdict(list)
        qs = (BenefitSession.objects.filter(benefit_id__in={r["benefit"] for r in wanted},
                                            local_date__gte=min(days), local_date__lte=max(days))
              .order_by("start").values_list("id", "schedule_id", "benefit_id", "local_date",
                                             "status"))
        for pk, schedule, benefit, day, status in qs.iterator(5000):
            sessions[(benefit, day)].append((pk, schedule, status))
        for row in wanted:
            day = row["session_date"]
            found = sessions.get((row["benefit"], day), [])
            if row["schedule"] is not None:
                found = [s for s in found if s[1] == row["schedule"]]
            column = "session_date" if "session_date" in self.column_of else "disbursed_on"
            if not found:
                self.error(row["index"], column, f"There is no session on {day:%Y-%m-%d}"
                           + (" of this schedule." if row["schedule"] else
                              " of this benefit."))
            elif len(found) > 1:
                self.error(row["index"], column, f"{len(found)} sessions of this benefit are "
                           f"on {day:%Y-%m-%d}: add a schedule column to say which.")
            elif found[0][2] == SessionStatus.CANCELLED:
                self.error(row["index"], column, f"The session on {day:%Y-%m-%d} was "
                                                 "cancelled.")
            else:
                row["session"] = found[0][0]
                row["schedule"] = found[0][1]
                row["disbursed_on"] = day

    def _disbursement_extra(self, planned: list[dict[str, Any]]) -> None:
        """Custom fields, against the fields of each row's benefit (and its program)."""
        if not self.definitions:  # none defined: nothing to check (nor to map)
            for row in planned:
                row["extra"] = row.pop("extra_in")
            return
        by_benefit = field_definitions_by_benefit(
            target=FieldTarget.DISBURSEMENT, benefit_ids={r["benefit"] for r in planned})
        for row in planned:
            try:
                row["extra"] = extra_validate(target=FieldTarget.DISBURSEMENT,
                                              values=row.pop("extra_in"),
                                              definitions=by_benefit.get(row["benefit"], []))
            except ValidationError as exc:
                self.errors_from(row["index"], exc)

    def _plan_disbursement_writes(self, planned: list[dict[str, Any]]) -> None:
        for row in planned:
            if row["recipient_count"] > 1 and row["ref"][0] != "anon":
                self.error(row["index"], "recipient_count", "Only anonymous rows (no person or "
                                                            "account) count several recipients.")
            if row.get("quantity") is None:
                row["quantity"] = row["quantity_default"]
        planned = [r for r in planned if r["index"] not in self.bad]
        # Enrollments: the active one of each (program, enrollee), made where missing.
        existing = self._existing_enrollments({r["program"] for r in planned})["active"]
        anonymous = set(ProgramEnrollment.objects.filter(
            program_id__in={r["program"] for r in planned if r["ref"][0] == "anon"},
            is_anonymous=True, is_active=True).values_list("program_id", flat=True))
        needed: dict[tuple[int, Ref], dt.date] = {}
        anonymous_needed: set[int] = set()
        for row in planned:
            pair = (row["program"], row["ref"])
            if row["ref"][0] == "anon":
                if row["program"] not in anonymous:
                    anonymous_needed.add(row["program"])
            elif pair not in existing:
                day = row["disbursed_on"]
                needed[pair] = min(day, needed.get(pair, day))
        # The anonymous enrollments are made by anonymous_enrollment_ensure when writing.
        self.enrollments = [{"program": p, "ref": ref, "start_date": day}
                            for (p, ref), day in needed.items()]
        self.result.summary["enrollments_new"] = len(self.enrollments) + len(anonymous_needed)

        # Duplicates: a session has one disbursement per participant; ad hoc ones are
        # counted per (recipient, benefit, date).
        on_session, ad_hoc = self._existing_disbursements(planned)
        seen_session: set[tuple[Ref, int]] = set()
        seen_ad_hoc: Counter[tuple[Ref, int, dt.date]] = Counter()
        for row in planned:
            if row.get("session"):
                key = (row["ref"], row["session"])
                if key in on_session or key in seen_session:
                    self._count("disbursements_duplicate")
                    continue
                seen_session.add(key)
            else:
                day_key = (row["ref"], row["benefit"], row["disbursed_on"])
                seen_ad_hoc[day_key] += 1
                if seen_ad_hoc[day_key] <= ad_hoc.get(day_key, 0):
                    self._count("disbursements_duplicate")
                    continue
            self.disbursements.append(row)
        self.result.summary["disbursements_new"] = len(self.disbursements)
        self.result.summary.setdefault("disbursements_duplicate", 0)

    def _existing_disbursements(self, planned: list[dict[str, Any]]
                                ) -> tuple[set[tuple[Ref, int]], Counter[Any]]:
        on_session: set[tuple[Ref, int]] = set()
        ad_hoc: Counter[tuple[Ref, int, dt.date]] = Counter()
        sessions = sorted({r["session"] for r in planned if r.get("session")})
        for chunk in chunked(sessions):
            for session, person, account, program in (
                    BenefitDisbursement.objects.filter(session_id__in=chunk)
                    .values_list("session_id", "person_id", "account_id", "program_id")):
                on_session.add((_ref(person, account, program), session))
        plain = [r for r in planned if not r.get("session")]
        if plain:
            days = [r["disbursed_on"] for r in plain]
            qs = (BenefitDisbursement.objects.filter(
                session__isnull=True, benefit_id__in={r["benefit"] for r in plain},
                disbursed_on__gte=min(days), disbursed_on__lte=max(days))
                .values("person_id", "account_id", "program_id", "benefit_id", "disbursed_on")
                .annotate(n=Count("id")).order_by())
            for item in qs:
                ref = _ref(item["person_id"], item["account_id"], item["program_id"])
                ad_hoc[(ref, item["benefit_id"], item["disbursed_on"])] += item["n"]
        return on_session, ad_hoc


def _ref(person: int | None, account: int | None, program: int) -> Ref:
    if person:
        return ("p", person)
    if account:
        return ("a", account)
    return ("anon", program)


def _identity(person: dict[str, Any]) -> tuple[Any, ...]:
    """Rows of one file are the same new person when their names fold to the same letters
    and they have the same birth date — or, without one, the same email and phone."""
    first, last = matching.fold(person["first_name"]), matching.fold(person["last_name"])
    if person.get("birth_date"):
        return (first, last, person["birth_date"])
    return (first, last, None, person["email"], matching.phone_key(person["phone"]))


def _account_match(candidates: list[tuple[int, str, str, str]], postal: str
                   ) -> tuple[int, str, str, str] | None:
    """An account of the same name and kind is the same account when the postal codes agree
    or one of them is missing; the oldest wins."""
    same = [c for c in candidates if matching.postal_key(c[2]) == postal]
    if same:
        return same[0]
    loose = [c for c in candidates if not c[2] or not postal]
    return loose[0] if loose else None


# --- writing ------------------------------------------------------------------------------------


PERSON_FIELDS = ["first_name", "last_name", "birth_date", "email", "phone", "postal_code",
                 "account", "household_size", "annual_income", "card_code", "extra",
                 "first_name_key", "last_name_key", "phone_key", "created_at", "updated_at"]
ACCOUNT_FIELDS = ["name", "kind", "email", "phone", "postal_code", "created_at", "updated_at"]
ENROLLMENT_FIELDS = ["program", "person", "account", "is_anonymous", "status", "is_active",
                     "application_date", "start_date", "end_date", "extra", "created_at",
                     "updated_at"]


class _Writer:
    """Writes a checked run's rows. Everything happens inside one transaction (``_write``)."""

    def __init__(self, run: _Run, filename: str) -> None:
        self.run = run
        self.filename = filename
        self.now = timezone.now()
        self.now_db = db_datetime(self.now)
        self.person_ids: list[int] = []
        self.account_ids: list[int] = []
        self.written = 0
        self.dates: dict[dt.date | None, Any] = {None: None}
        self.total = (len(run.new_accounts) + len(run.new_people) + len(run.enrollments)
                      + len(run.disbursements))

    def date(self, value: dt.date | None) -> Any:
        """``db_date``, once per distinct date."""
        if value not in self.dates:
            self.dates[value] = db_date(value)
        return self.dates[value]

    def step(self, count: int) -> None:
        self.written += count
        self.run.progress("writing", self.written, self.total)

    def audit(self, model: type[models.Model], action: str, ids: list[int]) -> None:
        summary = {"file": self.filename, "rows": self.run.result.rows,
                   **self.run.result.summary}
        for n, chunk in enumerate(chunked(ids, AUDIT_IDS_PER_EVENT)):
            audit_record(actor=self.run.actor, action=action,
                         object_type=model._meta.label_lower, object_ids=chunk,
                         after=summary if n == 0 else {"file": self.filename,
                                                       "batch": n + 1})

    def new_ids(self, model: type[models.Model], before: int, expected: int) -> list[int]:
        """The ids of the rows this import just inserted, in insertion order: above the
        highest id before, with this import's exact timestamp."""
        ids = list(model._default_manager.filter(id__gt=before, created_at=self.now)
                   .order_by("id").values_list("id", flat=True))
        if len(ids) != expected:
            raise Conflict("Records changed while the file was being imported (a card code or "
                           "an enrollment added at the same moment?). Nothing was imported; "
                           "check the file again.")
        return ids

    @staticmethod
    def last_id(model: type[models.Model]) -> int:
        return model._default_manager.order_by("-id").values_list("id", flat=True).first() or 0

    def accounts(self) -> None:
        accounts = self.run.new_accounts
        if not accounts:
            return
        before = self.last_id(Account)
        insert_rows(Account, ACCOUNT_FIELDS, (
            (a.name, a.kind, a.email, a.phone, a.postal_code, self.now_db, self.now_db)
            for a in accounts))
        self.account_ids = self.new_ids(Account, before, len(accounts))
        self.audit(Account, "import.accounts", self.account_ids)
        self.step(len(accounts))

    def account_id(self, ref: Ref | None) -> int | None:
        if ref is None:
            return None
        return ref[1] if ref[0] == "a" else self.account_ids[ref[1]]

    def people(self) -> None:
        people = self.run.new_people
        if not people:
            return
        empty, now, date = db_json({}), self.now_db, self.date
        sound_key, phone_key = matching.sound_key, matching.phone_key  # sound_key is cached

        def rows() -> Iterable[tuple[Any, ...]]:
            for person in people:
                v = person.values
                extra = v.get("extra")
                account = None if person.account is None else self.account_id(person.account)
                yield (v["first_name"], v["last_name"], date(v.get("birth_date")), v["email"],
                       v["phone"], v["postal_code"], account, v.get("household_size"),
                       v.get("annual_income"), v.get("card_code"),
                       db_json(extra) if extra else empty, sound_key(v["first_name"]),
                       sound_key(v["last_name"]), phone_key(v["phone"]), now, now)

        before = self.last_id(Person)
        for batch in chunked(rows(), PROGRESS_EVERY):
            insert_rows(Person, PERSON_FIELDS, batch)
            self.step(len(batch))
        self.person_ids = self.new_ids(Person, before, len(people))
        self.audit(Person, "import.people", self.person_ids)
        # Those imported into a household are its current members from today.
        accounts = [self.account_id(person.account) for person in people]
        household_memberships_start_many(
            actor=self.run.actor, start_date=timezone.localdate(),
            members=[(pid, aid) for pid, aid in zip(self.person_ids, accounts, strict=True)
                     if aid is not None])

    def person(self, ref: Ref) -> tuple[int | None, int | None]:
        """(person id, account id) of an enrollee."""
        kind, pk = ref
        if kind == "p":
            return pk, None
        if kind == "n":
            return self.person_ids[pk], None
        if kind == "a":
            return None, pk
        return None, None

    def enrollments(self) -> None:
        """Enrollments of an enrollment import (their own status, dates and custom fields),
        or the active enrollments a disbursement import needs."""
        planned = self.run.enrollments
        if not planned:
            return
        active = _active_enrollment_status()
        empty = db_json({})

        def rows() -> Iterable[tuple[Any, ...]]:
            for row in planned:
                person, account = self.person(row["ref"])
                status: StatusValue = row.get("status", active)
                extra = row.get("extra")
                yield (row["program"], person, account, False, status.pk,
                       status.bucket == "active", self.date(row.get("application_date")),
                       self.date(row.get("start_date")), self.date(row.get("end_date")),
                       db_json(extra) if extra else empty, self.now_db, self.now_db)

        before = self.last_id(ProgramEnrollment)
        for batch in chunked(rows(), PROGRESS_EVERY):
            # A rival active enrollment made meanwhile is skipped here, then caught below.
            insert_rows(ProgramEnrollment, ENROLLMENT_FIELDS, batch, ignore_conflicts=True)
            self.step(len(batch))
        ids = self.new_ids(ProgramEnrollment, before, len(planned))
        self.audit(ProgramEnrollment, "import.enrollments", ids)

    def disbursements(self) -> None:
        planned = self.run.disbursements
        if not planned:
            return
        enrollment_of = self._active_enrollments(planned)
        assignment_of = self._assignments(planned, enrollment_of)
        recipients = [self.person(row["ref"]) for row in planned]
        households = household_snapshots(
            person_ids=[p for p, _ in recipients if p], account_ids=[a for _, a in recipients if a],
            days=[row["disbursed_on"] for row in planned])

        def rows() -> Iterable[tuple[Any, ...]]:
            empty = db_json({})
            for row in planned:
                person, account = self.person(row["ref"])
                enrollment = enrollment_of[(row["program"], row["ref"])]
                anonymous = row["ref"][0] == "anon"
                yield (assignment_of[(row["benefit"], enrollment)], row.get("session"),
                       enrollment, row["benefit"], row["program"], person, account, None,
                       RecipientType.ANONYMOUS if anonymous else RecipientType.ENROLLMENT,
                       row["recipient_count"], row["quantity"], row["unit"], row["status"].pk,
                       self.date(row["disbursed_on"]),
                       db_json(row["extra"]) if row["extra"] else empty, self.now_db,
                       self.now_db, *households.of(person, account, row["disbursed_on"]))

        before = self.last_id(BenefitDisbursement)
        created = 0
        for batch in chunked(rows(), PROGRESS_EVERY):
            # A session's disbursement recorded meanwhile is skipped (one per participant).
            created += insert_rows(BenefitDisbursement, DISBURSEMENT_FIELDS, batch,
                                   ignore_conflicts=True)
            self.step(len(batch))
        ids = list(BenefitDisbursement.objects.filter(id__gt=before, created_at=self.now)
                   .order_by("id").values_list("id", flat=True))
        skipped = len(planned) - len(ids)
        if skipped:
            summary = self.run.result.summary
            summary["disbursements_new"] -= skipped
            summary["disbursements_duplicate"] = summary.get("disbursements_duplicate",
                                                             0) + skipped
        self.audit(BenefitDisbursement, "import.disbursements", ids)

    def _active_enrollments(self, planned: list[dict[str, Any]]) -> dict[tuple[int, Ref], int]:
        """The active enrollment of each (program, enrollee) the rows need (the import made
        the missing ones just before). A few queries, whatever the number of rows."""
        found: dict[tuple[int, Ref], int] = {}
        programs = {r["program"] for r in planned}
        people = sorted({p for r in planned if (p := self.person(r["ref"])[0])})
        accounts = sorted({a for r in planned if (a := self.person(r["ref"])[1])})
        for kind, ids, column in (("p", people, "person_id"), ("a", accounts, "account_id")):
            if not ids:
                continue
            qs = (ProgramEnrollment.objects.filter(is_active=True, program_id__in=programs)
                  .filter(**{f"{column}__in": JsonValues(ids, cast="bigint")})
                  .values_list("id", "program_id", column))
            for pk, program, who in qs.iterator(5000):
                found[(program, (kind, who))] = pk
        by_new = {pk: n for n, pk in enumerate(self.person_ids)}
        for (program, (kind, who)), pk in list(found.items()):
            if kind == "p" and who in by_new:
                found[(program, ("n", by_new[who]))] = pk
        first_day: dict[int, dt.date] = {}
        for row in planned:
            if row["ref"][0] == "anon":
                day = row["disbursed_on"]
                first_day[row["program"]] = min(day, first_day.get(row["program"], day))
        for program, day in sorted(first_day.items()):
            found[(program, ("anon", program))] = anonymous_enrollment_ensure(
                program_id=program, on=day)
        return found

    def _assignments(self, planned: list[dict[str, Any]],
                     enrollment_of: dict[tuple[int, Ref], int]) -> dict[tuple[int, int], int]:
        """The assignment of each (benefit, enrollment), made where missing: one insert and
        one look-up per benefit."""
        wanted: dict[int, dict[int, Enrollee]] = defaultdict(dict)
        anonymous: dict[int, set[int]] = defaultdict(set)
        for row in planned:
            enrollment = enrollment_of[(row["program"], row["ref"])]
            if row["ref"][0] == "anon":
                anonymous[row["benefit"]].add(enrollment)
            else:
                person, account = self.person(row["ref"])
                wanted[row["benefit"]][enrollment] = Enrollee(person_id=person,
                                                              account_id=account)
        found: dict[tuple[int, int], int] = {}
        benefits = Benefit.objects.in_bulk(set(wanted) | set(anonymous))
        for benefit_id, enrollments in wanted.items():
            mapping, _ = assignments_ensure(benefit=benefits[benefit_id],
                                            enrollments=enrollments)
            found.update(((benefit_id, e), a) for e, a in mapping.items())
        for benefit_id, enrollment_ids in anonymous.items():
            insert_rows(BenefitAssignment, ["benefit", "enrollment", "person", "account",
                                            "is_anonymous", "created_at", "updated_at"],
                        [(benefit_id, e, None, None, True, self.now_db, self.now_db)
                         for e in enrollment_ids], ignore_conflicts=True)
            for e, a in BenefitAssignment.objects.filter(
                    benefit_id=benefit_id, enrollment_id__in=enrollment_ids).values_list(
                    "enrollment_id", "id"):
                found[(benefit_id, e)] = a
        return found


@transaction.atomic
def _write(run: _Run, *, filename: str,
           before_commit: Callable[[ImportResult], None] | None) -> None:
    """Write a checked run: accounts, people, enrollments, disbursements, in one transaction
    with one audit event per model (and per 10,000 ids)."""
    writer = _Writer(run, filename)
    run.progress("writing", 0, writer.total)
    writer.accounts()
    writer.people()
    writer.enrollments()
    writer.disbursements()
    if before_commit is not None:
        before_commit(run.result)
    run.progress("done", writer.total, writer.total)
