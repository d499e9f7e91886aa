"""One import run: the file's rows read through the mapping, the errors found so far, and what
the planning modules decide to write (``planning/``), which ``writer`` then writes.

Who a row is about is one of four small types (``Recipient``): an existing person, a person
the import creates (``NewPerson``; rows naming the same new person share one), an existing
account, or nobody (``Anonymous``: the program's anonymous enrollment). Each answers
``person_id`` and ``account_id`` — a new person's once the writer has inserted it."""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.db.models import QuerySet
from django.utils import timezone

from programdesk.core.errors import ValidationError
from programdesk.core.models import FieldDefinition, User
from programdesk.imports import fields
from programdesk.imports.parsers import Table
from programdesk.imports.results import ImportResult, RowError
from programdesk.people.matching import PersonKeys
from programdesk.people.models import Account, AccountKind, Person
from programdesk.people.selectors import accounts_visible, people_visible

Progress = Callable[[str, int, int], None]  # (phase, done, total)
PROGRESS_EVERY = 10_000


# --- who a row is about ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExistingPerson:
    person_id: int
    account_id: ClassVar[None] = None


@dataclass(frozen=True, slots=True)
class ExistingAccount:
    account_id: int
    person_id: ClassVar[None] = None


@dataclass(eq=False, slots=True)
class NewAccount:
    """An account the import creates; ``account_id`` is set by the writer."""

    name: str
    kind: str = AccountKind.HOUSEHOLD
    email: str = ""
    phone: str = ""
    postal_code: str = ""
    account_id: int | None = None


@dataclass(eq=False, slots=True)
class NewPerson:
    """A person the import creates, from the checked values of the first row naming them;
    ``person_id`` is set by the writer. Compared by identity: one object per new person."""

    values: dict[str, Any]
    first_row: int
    keys: PersonKeys  # its matching keys, computed once: matched by them, written with them
    account: ExistingAccount | NewAccount | None = None
    person_id: int | None = None
    account_id: ClassVar[None] = None


@dataclass(frozen=True, slots=True)
class Anonymous:
    """Nobody named: the program's anonymous enrollment (anonymous disbursements)."""

    program_id: int
    person_id: ClassVar[None] = None
    account_id: ClassVar[None] = None


Recipient = ExistingPerson | NewPerson | ExistingAccount | Anonymous


def recipient_of_row(person_id: int | None, account_id: int | None, program_id: int
                     ) -> ExistingPerson | ExistingAccount | Anonymous:
    """The recipient of an existing enrollment or disbursement row."""
    if person_id:
        return ExistingPerson(person_id)
    if account_id:
        return ExistingAccount(account_id)
    return Anonymous(program_id)


# --- the run --------------------------------------------------------------------------------


@dataclass
class ImportRun:
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
    # what the writer does, filled by the planning modules
    recipient_of: dict[int, Recipient] = field(default_factory=dict)
    new_people: list[NewPerson] = field(default_factory=list)
    new_accounts: list[NewAccount] = field(default_factory=list)
    new_accounts_by_key: dict[str, NewAccount] = field(default_factory=dict)
    enrollments: list[dict[str, Any]] = field(default_factory=list)
    disbursements: list[dict[str, Any]] = field(default_factory=list)
    # (disbursement id, status id): session rows still expected that the file records (a
    # ticked paper roster)
    marks: list[tuple[int, int]] = field(default_factory=list)
    # households import: memberships ({recipient, household, relationship, start_date,
    # end_date}) and each household's facts ({declared_size?, annual_income?})
    memberships: list[dict[str, Any]] = field(default_factory=list)
    household_facts: dict[ExistingAccount | NewAccount, dict[str, Any]] = field(
        default_factory=dict)
    person_names: dict[int, str] = field(default_factory=dict)  # for messages

    @classmethod
    def start(cls, *, actor: User | None, kind: str, table: Table, mapping: Sequence[str],
              progress: Progress | None) -> ImportRun:
        """The rows read through the mapping (checked against the kind's fields), with the
        parser's cell errors already listed."""
        mapping = list(mapping)
        definitions = fields.custom_definitions(kind)
        fields.mapping_check(kind, table.headers, mapping, definitions)
        run = cls(actor=actor, kind=kind, table=table, mapping=mapping, definitions=definitions,
                  progress=progress or (lambda phase, done, total: None),
                  today=timezone.localdate(),
                  result=ImportResult(kind=kind, rows=len(table.rows), dry_run=True))
        columns = [(i, name) for i, name in enumerate(mapping) if name]
        run.column_of = {name: table.headers[i] for i, name in columns}
        names = [name for _, name in columns]
        run.extra_fields = [name for name in names if name.startswith(fields.EXTRA)]
        pick = operator.itemgetter(*(i for i, _ in columns))
        if len(columns) == 1:
            run.rows = [(number, {names[0]: pick(cells)}) for number, cells in table.rows]
        else:
            run.rows = [(number, dict(zip(names, pick(cells), strict=True)))
                        for number, cells in table.rows]
        run._cell_errors_add()
        return run

    def _cell_errors_add(self) -> None:
        by_number = {number: index for index, (number, _) in enumerate(self.rows)}
        headers = self.table.headers
        for cell in self.table.cell_errors:
            self.result.errors.append(RowError(cell.row, headers[cell.column], cell.message))
            if cell.row in by_number:
                self.bad.add(by_number[cell.row])
                self.bad_cells.add((by_number[cell.row], headers[cell.column]))

    # scoping: a row can only ever match or name people and accounts the importing user may
    # see (the command line, with no user, sees everyone). Querysets, not id sets: each lookup
    # stays one query with the visibility condition in it, however many rows.

    def people_scope(self) -> QuerySet[Person]:
        return people_visible(self.actor) if self.actor is not None else Person.objects.all()

    def accounts_scope(self) -> QuerySet[Account]:
        return accounts_visible(self.actor) if self.actor is not None else Account.objects.all()

    # errors

    def error(self, index: int, name: str, message: str) -> None:
        """An error on row ``index`` about field ``name`` (a field, ``extra.<key>``, or "")."""
        self.bad.add(index)
        column = self.column_of.get(name, "")
        if column and (index, column) in self.bad_cells:
            return
        if not column and name:
            label = dict(fields.field_choices(self.kind)).get(name)
            if name.startswith(fields.EXTRA):
                label = f"custom field {name[len(fields.EXTRA):]}"
            message = f"{label or name}: {message}"
        self.result.errors.append(RowError(self.rows[index][0], column, message))

    def errors_from(self, index: int, exc: ValidationError, prefix: str = "") -> None:
        for e in exc.errors:
            name = e["field"] or ""
            if prefix and name.startswith(prefix):
                name = name[len(prefix):]
            self.error(index, name, e["message"])

    # walking the rows

    def progress_every(self, phase: str, done: int) -> None:
        """Report progress every ``PROGRESS_EVERY`` rows."""
        if done % PROGRESS_EVERY == 0:
            self.progress(phase, done, len(self.rows))

    def each_row(self) -> list[tuple[int, dict[str, str]]]:
        """(index, values) of every row: each is checked whole, so every error is listed."""
        return [(i, values) for i, (_, values) in enumerate(self.rows)]

    def extra_values(self, values: dict[str, str], *, skip_empty: bool = False
                     ) -> dict[str, str]:
        """The row's custom-field cells by field key."""
        if not self.extra_fields:
            return {}
        cut = len(fields.EXTRA)
        return {k[cut:]: values[k] for k in self.extra_fields
                if not skip_empty or values[k]}
