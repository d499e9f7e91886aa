"""Writing a checked import: accounts, people, household memberships and facts, enrollments,
disbursements, in one transaction,
through the public bulk writers of the areas that own those tables
(``people.services.accounts_insert_many`` / ``people_insert_many``,
``participation.services.enrollments_insert_many`` / ``assignments_ensure`` /
``anonymous_enrollment_ensure`` / ``disbursements_insert_many``), with one audit event per
model and 10,000 ids (``import.accounts``, ``import.people``, ...)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from programdesk.core.audit import audit_record
from programdesk.core.bulk import JsonValues, chunked, ids_inserted, last_id
from programdesk.core.errors import Conflict
from programdesk.imports.planning.disbursements import disbursement_limits_check
from programdesk.imports.results import ImportErrors, ImportResult
from programdesk.imports.run import Anonymous, ImportRun
from programdesk.participation.models import (
    BenefitDisbursement,
    ProgramEnrollment,
    RecipientType,
)
from programdesk.participation.services import (
    Enrollee,
    NewDisbursement,
    NewEnrollment,
    active_enrollment_status,
    anonymous_enrollment_ensure,
    assignments_ensure,
    disbursements_insert_many,
    enrollments_insert_many,
    session_disbursements_mark,
)
from programdesk.people.models import Account, Person
from programdesk.people.services import (
    accounts_insert_many,
    household_memberships_insert_many,
    households_facts_fill_many,
    people_insert_many,
)
from programdesk.programs.models import Benefit

AUDIT_IDS_PER_EVENT = 10_000

# (program id, person id, account id): whose active enrollment; neither id: the anonymous one
EnrollmentKey = tuple[int, int | None, int | None]


@transaction.atomic
def import_write(run: ImportRun, *, filename: str,
                 before_commit: Callable[[ImportResult], None] | None) -> None:
    """Write a checked run: accounts, people, enrollments, disbursements, in one transaction
    with one audit event per model (and per 10,000 ids)."""
    writer = _Writer(run, filename)
    run.progress("writing", 0, writer.total)
    writer.accounts()
    writer.people()
    writer.memberships()
    writer.household_facts()
    writer.enrollments()
    writer.disbursements()
    writer.marks()
    if before_commit is not None:
        before_commit(run.result)
    run.progress("done", writer.total, writer.total)


class _Writer:
    """Writes a checked run's rows; new people and accounts learn their ids as they are
    written, so the rows naming them find them."""

    def __init__(self, run: ImportRun, filename: str) -> None:
        self.run = run
        self.filename = filename
        self.now = timezone.now()
        self.written = 0
        self.total = (len(run.new_accounts) + len(run.new_people) + len(run.enrollments)
                      + len(run.disbursements) + len(run.marks) + len(run.memberships))

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

    @staticmethod
    def all_written(ids: list[int], expected: int) -> list[int]:
        if len(ids) != expected:
            raise Conflict("Records changed while the file was being imported (a card code or "
                           "an enrollment added at the same moment?). Nothing was imported; "
                           "check the file again.")
        return ids

    def accounts(self) -> None:
        accounts = self.run.new_accounts
        if not accounts:
            return
        ids = self.all_written(accounts_insert_many(accounts=[
            {"name": a.name, "kind": a.kind, "email": a.email, "phone": a.phone,
             "postal_code": a.postal_code} for a in accounts]), len(accounts))
        for account, pk in zip(accounts, ids, strict=True):
            account.account_id = pk
        self.audit(Account, "import.accounts", ids)
        self.step(len(accounts))

    def people(self) -> None:
        people = self.run.new_people
        if not people:
            return
        # People given a household become its current members from today (the writer
        # starts their memberships).
        ids = self.all_written(people_insert_many(actor=self.run.actor, people=[
            (p.values, p.account.account_id if p.account is not None else None)
            for p in people], written=self.step, keys=[p.keys for p in people]), len(people))
        for person, pk in zip(people, ids, strict=True):
            person.person_id = pk
        self.audit(Person, "import.people", ids)

    def memberships(self) -> None:
        """A households import's memberships (people and households new to the import were
        written just before, so each knows its id)."""
        planned = self.run.memberships
        if not planned:
            return
        ids = household_memberships_insert_many(actor=self.run.actor, memberships=[
            {"person_id": m["recipient"].person_id, "account_id": m["household"].account_id,
             "relationship": m["relationship"], "start_date": m["start_date"],
             "end_date": m["end_date"]} for m in planned])
        self.all_written(ids, len(planned))
        self.step(len(planned))

    def household_facts(self) -> None:
        facts = self.run.household_facts
        if facts:
            households_facts_fill_many(actor=self.run.actor, facts={
                h.account_id: values for h, values in facts.items()
                if h.account_id is not None})

    def enrollments(self) -> None:
        """Enrollments of an enrollment import (their own status, dates and custom fields),
        or the active enrollments a disbursement import needs."""
        planned = self.run.enrollments
        if not planned:
            return
        active = active_enrollment_status()
        before = last_id(ProgramEnrollment)
        # A rival active enrollment made meanwhile is skipped here, then caught below.
        enrollments_insert_many(enrollments=(
            NewEnrollment(program_id=row["program"], person_id=row["recipient"].person_id,
                          account_id=row["recipient"].account_id,
                          status=row.get("status", active), start_date=row.get("start_date"),
                          application_date=row.get("application_date"),
                          end_date=row.get("end_date"), extra=row.get("extra"))
            for row in planned), now=self.now, written=self.step)
        ids = self.all_written(ids_inserted(ProgramEnrollment, after_id=before,
                                            created_at=self.now), len(planned))
        self.audit(ProgramEnrollment, "import.enrollments", ids)

    def disbursements(self) -> None:
        planned = self.run.disbursements
        if not planned:
            return
        # Limits again, now inside the write's transaction and locking: a delivery recorded
        # since the check would otherwise go past one.
        disbursement_limits_check(self.run, lock=True)
        if self.run.result.errors:
            raise ImportErrors(self.run.result)
        enrollment_of = self._active_enrollments(planned)
        assignment_of = self._assignments(planned, enrollment_of)

        def rows() -> Iterable[NewDisbursement]:
            for row in planned:
                who = row["recipient"]
                person, account = who.person_id, who.account_id
                enrollment = enrollment_of[(row["program"], person, account)]
                yield NewDisbursement(
                    assignment_of[(row["benefit"], enrollment)], row.get("session"), enrollment,
                    row["benefit"], row["program"], person, account, None,
                    RecipientType.ANONYMOUS if isinstance(who, Anonymous)
                    else RecipientType.ENROLLMENT, row["recipient_count"], row["quantity"],
                    row["unit"], row["status"].pk, row["disbursed_on"], row["extra"])

        before = last_id(BenefitDisbursement)
        # A session's disbursement recorded meanwhile is skipped (one per participant).
        disbursements_insert_many(disbursements=rows(), now=self.now, written=self.step)
        ids = ids_inserted(BenefitDisbursement, after_id=before, created_at=self.now)
        skipped = len(planned) - len(ids)
        if skipped:
            summary = self.run.result.summary
            summary["disbursements_new"] -= skipped
            summary["disbursements_duplicate"] = summary.get("disbursements_duplicate",
                                                             0) + skipped
        self.audit(BenefitDisbursement, "import.disbursements", ids)

    def marks(self) -> None:
        """Session rows still expected that the file records (a ticked paper roster)."""
        if not self.run.marks:
            return
        ids = session_disbursements_mark(marks=self.run.marks)
        if len(ids) < len(self.run.marks):  # recorded meanwhile: left as they were
            summary = self.run.result.summary
            summary["disbursements_marked"] = len(ids)
            summary["disbursements_duplicate"] = (summary.get("disbursements_duplicate", 0)
                                                  + len(self.run.marks) - len(ids))
        self.step(len(self.run.marks))
        self.audit(BenefitDisbursement, "import.disbursements_marked", ids)

    def _active_enrollments(self, planned: list[dict[str, Any]]) -> dict[EnrollmentKey, int]:
        """The active enrollment of each (program, recipient) the rows need (the import made
        the missing ones just before). A few queries, whatever the number of rows."""
        found: dict[EnrollmentKey, int] = {}
        programs = {r["program"] for r in planned}
        people = sorted({p for r in planned if (p := r["recipient"].person_id)})
        accounts = sorted({a for r in planned if (a := r["recipient"].account_id)})
        for ids, column in ((people, "person_id"), (accounts, "account_id")):
            if not ids:
                continue
            qs = (ProgramEnrollment.objects.filter(is_active=True, program_id__in=programs)
                  .filter(**{f"{column}__in": JsonValues(ids, cast="bigint")})
                  .values_list("id", "program_id", column))
            for pk, program, who in qs.iterator(5000):
                key = (program, who, None) if column == "person_id" else (program, None, who)
                found[key] = pk
        first_day: dict[int, dt.date] = {}
        for row in planned:
            if isinstance(row["recipient"], Anonymous):
                day = row["disbursed_on"]
                first_day[row["program"]] = min(day, first_day.get(row["program"], day))
        for program, day in sorted(first_day.items()):
            found[(program, None, None)] = anonymous_enrollment_ensure(program_id=program,
                                                                       on=day)
        return found

    def _assignments(self, planned: list[dict[str, Any]],
                     enrollment_of: dict[EnrollmentKey, int]) -> dict[tuple[int, int], int]:
        """The assignment of each (benefit, enrollment), made where missing: one insert and
        one look-up per benefit."""
        wanted: dict[int, dict[int, Enrollee]] = defaultdict(dict)
        for row in planned:
            person, account = row["recipient"].person_id, row["recipient"].account_id
            enrollment = enrollment_of[(row["program"], person, account)]
            wanted[row["benefit"]][enrollment] = Enrollee(person_id=person, account_id=account)
        found: dict[tuple[int, int], int] = {}
        benefits = Benefit.objects.in_bulk(set(wanted))
        for benefit_id, enrollments in wanted.items():
            mapping, _ = assignments_ensure(benefit=benefits[benefit_id],
                                            enrollments=enrollments)
            found.update(((benefit_id, e), a) for e, a in mapping.items())
        return found
