"""Planning an enrollments import: each row's program, status, dates and custom fields, and
who it enrolls. An enrollment that exists already (the active one of the same program and
person or account, or one with the same status and start date) is reused, not made again."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from programdesk.core.bulk import JsonValues
from programdesk.core.custom_fields import extra_validate
from programdesk.core.errors import ValidationError
from programdesk.core.models import FieldTarget, StatusKind, StatusValue
from programdesk.core.selectors import status_default
from programdesk.imports.planning.named import find_one, programs_named
from programdesk.imports.planning.people import people_summary
from programdesk.imports.planning.recipients import recipients_resolve
from programdesk.imports.run import ExistingAccount, ExistingPerson, ImportRun, Recipient
from programdesk.imports.values import NamedRecords, StatusWords, UnreadableValue, read_date
from programdesk.participation.models import ProgramEnrollment

_DATES = ("application_date", "start_date", "end_date")


@dataclass
class ExistingEnrollments:
    """The enrollments of the people and accounts the rows name, in the rows' programs."""

    active: set[tuple[int, Recipient]] = field(default_factory=set)  # (program, who)
    # (program, who, status id, start date)
    exact: set[tuple[Any, ...]] = field(default_factory=set)


def plan_enrollments(run: ImportRun) -> None:
    planned = _enrollment_rows_checked(run)
    recipients_resolve(run, anonymous_ok=False)
    planned = [r for r in planned if r["index"] not in run.bad]
    existing = existing_enrollments(run, {r["program"] for r in planned})
    seen_active: set[tuple[int, Recipient]] = set()
    seen_exact: set[tuple[Any, ...]] = set()
    matched = 0
    for row in planned:
        who = run.recipient_of[row["index"]]
        status: StatusValue = row["status"]
        active = status.bucket == "active"
        pair = (row["program"], who)
        exact = (row["program"], who, status.pk, row["start_date"])
        if (active and (pair in existing.active or pair in seen_active)) \
                or exact in existing.exact or exact in seen_exact:
            matched += 1
            continue
        if active:
            seen_active.add(pair)
        seen_exact.add(exact)
        row["recipient"] = who
        run.enrollments.append(row)
    people_summary(run)
    run.result.summary["enrollments_new"] = len(run.enrollments)
    run.result.summary["enrollments_matched"] = matched


def _enrollment_rows_checked(run: ImportRun) -> list[dict[str, Any]]:
    """Every row's program, status, dates and custom fields, each checked; the rows with no
    error so far."""
    programs = programs_named(run)
    statuses = StatusWords(StatusKind.ENROLLMENT)
    default = status_default(StatusKind.ENROLLMENT)
    definitions = [d for d in run.definitions if d.benefit_id is None]
    planned: list[dict[str, Any]] = []
    for n, (index, values) in enumerate(run.each_row(), 1):
        run.progress_every("checking", n)
        row: dict[str, Any] = {"index": index}
        program = _program_of_row(run, index, values, programs)
        row["program"] = program[0] if program else None
        try:
            row["status"] = statuses.read(values["status"]) if values.get("status") \
                else default
        except UnreadableValue as exc:
            run.error(index, "status", str(exc))
        _dates_read(run, index, values, row)
        if program is not None:  # which custom fields apply depends on the program
            try:
                row["extra"] = extra_validate(
                    target=FieldTarget.ENROLLMENT, values=run.extra_values(values),
                    definitions=[d for d in definitions if d.program_id in (None, program[0])])
            except ValidationError as exc:
                run.errors_from(index, exc)
        if index not in run.bad:
            planned.append(row)
    return planned


def _program_of_row(run: ImportRun, index: int, values: dict[str, str],
                    programs: NamedRecords) -> tuple[Any, ...] | None:
    if not values.get("program"):
        run.error(index, "program", "A program is required.")
        return None
    return find_one(run, index, "program", programs, values["program"], "program")


def _dates_read(run: ImportRun, index: int, values: dict[str, str], row: dict[str, Any]
                ) -> None:
    for name in _DATES:
        try:
            row[name] = read_date(values[name]) if values.get(name) else None
        except UnreadableValue as exc:
            run.error(index, name, str(exc))
    if row.get("start_date") and row.get("end_date") and row["end_date"] < row["start_date"]:
        run.error(index, "end_date", "The end date is before the start date.")


def existing_enrollments(run: ImportRun, programs: set[int]) -> ExistingEnrollments:
    """The enrollments in these programs of the people and accounts the rows name. One query
    for people, one for accounts."""
    found = ExistingEnrollments()
    if not programs:
        return found
    recipients = run.recipient_of.values()
    people = sorted({w.person_id for w in recipients if isinstance(w, ExistingPerson)})
    accounts = sorted({w.account_id for w in recipients if isinstance(w, ExistingAccount)})
    kinds: list[tuple[type[ExistingPerson] | type[ExistingAccount], list[int], str]] = [
        (ExistingPerson, people, "person_id"), (ExistingAccount, accounts, "account_id")]
    for kind, ids, column in kinds:
        if not ids:
            continue
        qs = (ProgramEnrollment.objects.filter(program_id__in=sorted(programs))
              .filter(**{f"{column}__in": JsonValues(ids, cast="bigint")})
              .values_list("program_id", column, "status_id", "start_date", "is_active"))
        for program, pk, status, start, is_active in qs.iterator(5000):
            who = kind(pk)
            if is_active:
                found.active.add((program, who))
            found.exact.add((program, who, status, start))
    return found
