"""Participation: enrollments, assignments, rosters, attendance, check-in, cohorts.

The hot paths (adding a thousand people to a 52-session schedule, saving an attendance sheet)
are set-based: every step is one query or one ``executemany`` for all participants, so the
number of queries does not grow with the number of people. Repeating a call creates nothing:
each insert skips rows that a unique constraint says exist already, which also makes two
concurrent identical requests safe.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from programdesk.core.audit import audit_record, changes, snapshot
from programdesk.core.bulk import (
    db_date,
    db_json,
    db_now,
    id_values,
    insert_rows,
    update_rows,
)
from programdesk.core.custom_fields import extra_validate
from programdesk.core.errors import Conflict, NotAllowed, ValidationError
from programdesk.core.models import StatusKind, StatusValue, User
from programdesk.core.roles import Cap
from programdesk.core.selectors import status_by_code, status_default, status_first_in_bucket
from programdesk.participation.models import (
    BenefitAssignment,
    BenefitDisbursement,
    CohortMember,
    ProgramEnrollment,
    RecipientType,
    ScheduleAssignment,
)
from programdesk.people.models import Account, Person
from programdesk.people.selectors import accounts_visible, people_visible
from programdesk.programs.eligibility import eligibility_check_many
from programdesk.programs.models import Benefit, Program, ProgramCohort
from programdesk.scheduling.models import BenefitSchedule, BenefitSession, SessionStatus

ENROLLMENT = StatusKind.ENROLLMENT
DISBURSEMENT = StatusKind.DISBURSEMENT


@dataclass
class ParticipationResult:
    enrollments_created: int = 0
    assignments_created: int = 0
    disbursements_created: int = 0
    warnings: list[dict[str, str]] = field(default_factory=list)

    def warn(self, code: str, message: str) -> None:
        self.warnings.append({"code": code, "message": message})


@dataclass(frozen=True)
class Enrollee:
    """Who takes part: a person or an account, with their enrollment when one was named."""

    person_id: int | None
    account_id: int | None
    enrollment_id: int | None = None

    @property
    def key(self) -> tuple[str, int]:
        return ("p", self.person_id) if self.person_id else ("a", self.account_id or 0)


@dataclass(frozen=True)
class EligibilityOverride:
    """A manager's decision to go on despite failed `block` rules, with the reason (audited)."""

    reason: str


# --- building blocks (run inside the calling service's transaction) --------------------------


def _missing(requested: Iterable[int], found: Iterable[int]) -> list[int]:
    have = set(found)
    return [i for i in dict.fromkeys(requested) if i not in have]


def participants_resolve(*, program: Program, person_ids: Sequence[int] = (),
                         account_ids: Sequence[int] = (), enrollment_ids: Sequence[int] = (),
                         allow_inactive: bool | None = None, user: User | None = None,
                         ) -> list[Enrollee]:
    """Check that every id exists (and is visible to ``user``) and fits the program; return the
    participants, each once. Unknown ids are one field error naming all of them, so nothing is
    written."""
    errors: dict[str, str] = {}
    people_qs = people_visible(user) if user is not None else Person.objects.all()
    accounts_qs = accounts_visible(user) if user is not None else Account.objects.all()
    people = set(people_qs.filter(id__in=id_values(set(person_ids)))
                 .values_list("id", flat=True)) if person_ids else set()
    if missing := _missing(person_ids, people):
        errors["person_ids"] = f"Unknown people: {', '.join(map(str, missing))}."
    accounts = set(accounts_qs.filter(id__in=id_values(set(account_ids)))
                   .values_list("id", flat=True)) if account_ids else set()
    if missing := _missing(account_ids, accounts):
        errors["account_ids"] = f"Unknown accounts: {', '.join(map(str, missing))}."
    enrollments = {
        row[0]: row for row in ProgramEnrollment.objects.filter(
            id__in=id_values(set(enrollment_ids)))
        .values_list("id", "program_id", "person_id", "account_id", "is_anonymous", "is_active")
    } if enrollment_ids else {}
    if missing := _missing(enrollment_ids, enrollments):
        errors["enrollment_ids"] = f"Unknown enrollments: {', '.join(map(str, missing))}."
    if errors:
        raise ValidationError.for_fields(errors)

    if allow_inactive is None:
        allow_inactive = settings.PROGRAMDESK_ALLOW_INACTIVE_ENROLLMENT
    wrong_program = [i for i, row in enrollments.items() if row[1] != program.pk]
    anonymous = [i for i, row in enrollments.items() if row[4]]
    inactive = [i for i, row in enrollments.items() if not row[5]]
    if wrong_program:
        raise ValidationError.for_fields({"enrollment_ids": (
            f"Enrollments {', '.join(map(str, wrong_program))} belong to another program "
            f"than '{program}'.")})
    if anonymous:
        raise ValidationError.for_fields({"enrollment_ids": (
            "The anonymous enrollment cannot be added to a schedule or session; "
            "use an anonymous bulk disbursement.")})
    if inactive and not allow_inactive:
        raise Conflict(
            f"Enrollments {', '.join(map(str, inactive))} are not active. Change their status "
            "first (or turn on PROGRAMDESK_ALLOW_INACTIVE_ENROLLMENT).",
            errors=[{"field": "enrollment_ids", "message": f"Not active: {i}"} for i in inactive])

    seen: dict[tuple[str, int], Enrollee] = {}
    for i in dict.fromkeys(enrollment_ids):
        _, _, person_id, account_id, _, _ = enrollments[i]
        enrollee = Enrollee(person_id=person_id, account_id=account_id, enrollment_id=i)
        seen.setdefault(enrollee.key, enrollee)
    for pid in dict.fromkeys(person_ids):
        seen.setdefault(("p", pid), Enrollee(person_id=pid, account_id=None))
    for aid in dict.fromkeys(account_ids):
        seen.setdefault(("a", aid), Enrollee(person_id=None, account_id=aid))
    return list(seen.values())


def _active_enrollment_status() -> StatusValue:
    """New enrollments made by adding a participant are active: the default enrollment status
    when it is in the active bucket, else the first active-bucket status."""
    default = status_default(ENROLLMENT)
    if default.bucket == "active":
        return default
    return status_first_in_bucket(ENROLLMENT, "active")


def enrollments_ensure(*, program: Program, enrollees: Sequence[Enrollee], on: dt.date
                       ) -> tuple[dict[tuple[str, int], int], set[int]]:
    """The active enrollment of each enrollee in ``program``, created where missing.

    Returns ({enrollee key: enrollment id}, ids created by this call).
    """
    by_key: dict[tuple[str, int], int] = {e.key: e.enrollment_id for e in enrollees
                                          if e.enrollment_id}
    wanted_people = [e.person_id for e in enrollees if e.key not in by_key and e.person_id]
    wanted_accounts = [e.account_id for e in enrollees if e.key not in by_key and e.account_id]

    def existing() -> dict[tuple[str, int], int]:
        found: dict[tuple[str, int], int] = {}
        active = ProgramEnrollment.objects.filter(program=program, is_active=True)
        if wanted_people:
            for eid, pid in (active.filter(person_id__in=id_values(wanted_people))
                             .values_list("id", "person_id")):
                found[("p", pid)] = eid
        if wanted_accounts:
            for eid, aid in (active.filter(account_id__in=id_values(wanted_accounts))
                             .values_list("id", "account_id")):
                found[("a", aid)] = eid
        return found

    before = existing() if (wanted_people or wanted_accounts) else {}
    to_create = [e for e in enrollees if e.key not in by_key and e.key not in before]
    created: set[int] = set()
    if to_create:
        status = _active_enrollment_status()
        now, day = db_now(), db_date(on)
        extra = db_json({})
        rows = [(program.pk, e.person_id, e.account_id, False, status.pk, True, None, day, None,
                 extra, now, now) for e in to_create]
        insert_rows(ProgramEnrollment,
                    ["program", "person", "account", "is_anonymous", "status", "is_active",
                     "application_date", "start_date", "end_date", "extra", "created_at",
                     "updated_at"], rows, ignore_conflicts=True)
        after = existing()
        created = {eid for key, eid in after.items() if key not in before}
        before = after
    by_key.update(before)
    return by_key, created


def assignments_ensure(*, benefit: Benefit, enrollments: dict[int, Enrollee]
                       ) -> tuple[dict[int, int], int]:
    """The assignment of ``benefit`` for each enrollment id, created where missing.

    Returns ({enrollment id: assignment id}, number created).
    """
    now = db_now()
    rows = [(benefit.pk, eid, e.person_id, e.account_id, False, now, now)
            for eid, e in enrollments.items()]
    created = insert_rows(BenefitAssignment,
                          ["benefit", "enrollment", "person", "account", "is_anonymous",
                           "created_at", "updated_at"], rows, ignore_conflicts=True)
    mapping: dict[int, int] = {}
    if enrollments:
        mapping.update(BenefitAssignment.objects.filter(
            enrollment_id__in=id_values(enrollments), benefit=benefit)
                       .values_list("enrollment_id", "id"))
    return mapping, created


DISBURSEMENT_FIELDS = [
    "assignment", "session", "enrollment", "benefit", "program", "person", "account", "case",
    "recipient_type", "recipient_count", "quantity", "unit", "status", "disbursed_on", "extra",
    "created_at", "updated_at",
]


def session_disbursements_insert(*, benefit: Benefit, sessions: Sequence[tuple[int, dt.date]],
                                 participants: Sequence[tuple[int, int, Enrollee]],
                                 quantity: Decimal, status: StatusValue,
                                 recipient_type: str = RecipientType.ENROLLMENT) -> int:
    """One disbursement per (participant, session), skipping pairs that exist.

    ``sessions``: (session id, local date); ``participants``: (assignment id, enrollment id,
    enrollee). Returns how many were created.
    """
    now, extra = db_now(), db_json({})
    days = {day: db_date(day) for _, day in sessions}
    benefit_id, program_id, unit_id, status_id = (benefit.pk, benefit.program_id,
                                                  benefit.unit_id, status.pk)

    def rows() -> Iterable[tuple[Any, ...]]:
        for session_id, day in sessions:
            disbursed_on = days[day]
            for assignment_id, enrollment_id, e in participants:
                yield (assignment_id, session_id, enrollment_id, benefit_id, program_id,
                       e.person_id, e.account_id, None, recipient_type, 1, quantity, unit_id,
                       status_id, disbursed_on, extra, now, now)

    return insert_rows(BenefitDisbursement, DISBURSEMENT_FIELDS, rows(), ignore_conflicts=True)


def _check_eligibility(*, actor: User | None, benefit: Benefit, enrollees: Sequence[Enrollee],
                       on: dt.date, override: EligibilityOverride | None,
                       result: ParticipationResult) -> dict[str, Any] | None:
    """Warn on failed `warn` rules; refuse failed `block` rules unless a manager overrides.

    Returns what to audit about an override, or None.
    """
    person_ids = [e.person_id for e in enrollees if e.person_id]
    if not person_ids:
        return None
    decisions = eligibility_check_many(person_ids=person_ids, benefit_id=benefit.pk, on=on)
    if not any(d.results for d in decisions.values()):
        return None  # no rules apply
    blocked = {pid: d for pid, d in decisions.items() if d.blocked}
    for pid, decision in decisions.items():
        for reason in decision.warnings:
            result.warn("eligibility", f"Person {pid}: {reason}")
    if not blocked:
        return None
    reasons = {pid: [r.reason for r in d.failures if r.mode == "block"]
               for pid, d in blocked.items()}
    if override is None:
        raise Conflict(
            f"{len(blocked)} of the people do not meet this benefit's eligibility rules. "
            "A manager may override with a reason.",
            errors=[{"field": "person_ids", "message": f"Person {pid}: {'; '.join(r)}"}
                    for pid, r in reasons.items()],
            type="eligibility_blocked",
        )
    if actor is None or not actor.can(Cap.MANAGE_PROGRAMS):
        raise NotAllowed("Only a manager may override eligibility rules.")
    if not override.reason.strip():
        raise ValidationError.for_fields(
            {"override_reason": "Say why the eligibility rules are overridden."})
    for pid, r in reasons.items():
        result.warn("eligibility_overridden", f"Person {pid}: {'; '.join(r)}")
    return {"reason": override.reason.strip(),
            "overridden": {str(pid): r for pid, r in reasons.items()}}


def _require_active_benefit(benefit: Benefit) -> None:
    if not benefit.is_active:
        raise Conflict(f"The benefit '{benefit.name}' is not active; activate it before "
                       "adding participants.")


def _today() -> dt.date:
    return timezone.localdate()


@dataclass
class Enrolled:
    """Participants resolved, checked, enrolled and assigned: what every "add" path shares."""

    benefit: Benefit
    result: ParticipationResult
    enrollments: dict[int, Enrollee]  # enrollment id -> who
    created: set[int]  # enrollment ids made by this call
    assignments: dict[int, int]  # enrollment id -> assignment id
    override_audit: dict[str, Any] | None

    def audit_kwargs(self) -> dict[str, Any]:
        """The override's reason and what it overrode, for the call's audit event."""
        if not self.override_audit:
            return {"reason": ""}
        return {"reason": self.override_audit["reason"],
                "before": {"eligibility_overridden": self.override_audit["overridden"]}}


def participants_enroll(*, actor: User | None, benefit_id: int, on: dt.date,
                        person_ids: Sequence[int] = (), account_ids: Sequence[int] = (),
                        enrollment_ids: Sequence[int] = (),
                        override: EligibilityOverride | None = None) -> Enrolled:
    """Resolve the participants, apply eligibility, then reuse or create each one's active
    enrollment in the benefit's program and their assignment of the benefit — set-based."""
    benefit = Benefit.objects.select_related("program").get(pk=benefit_id)
    _require_active_benefit(benefit)
    result = ParticipationResult()
    enrollees = participants_resolve(program=benefit.program, person_ids=person_ids,
                                     account_ids=account_ids, enrollment_ids=enrollment_ids,
                                     user=actor)
    if not enrollees:
        raise ValidationError.for_fields({"person_ids": "Name at least one participant."})
    override_audit = _check_eligibility(actor=actor, benefit=benefit, enrollees=enrollees, on=on,
                                        override=override, result=result)
    by_key, created = enrollments_ensure(program=benefit.program, enrollees=enrollees, on=on)
    result.enrollments_created = len(created)
    enrollments = {by_key[e.key]: e for e in enrollees}
    assignments, result.assignments_created = assignments_ensure(benefit=benefit,
                                                                 enrollments=enrollments)
    return Enrolled(benefit, result, enrollments, created, assignments, override_audit)


# --- add and remove participants ------------------------------------------------------------


@transaction.atomic
def schedule_add_participants(
    *, actor: User | None, schedule: BenefitSchedule, person_ids: Sequence[int] = (),
    account_ids: Sequence[int] = (), enrollment_ids: Sequence[int] = (),
    on: dt.date | None = None, override: EligibilityOverride | None = None,
) -> ParticipationResult:
    """Put people, accounts or enrollments on a schedule's roster, with one expected
    disbursement per session from ``on`` (today) onwards. Repeating it creates nothing."""
    on = on or _today()
    done = participants_enroll(actor=actor, benefit_id=schedule.benefit_id, on=on,
                               person_ids=person_ids, account_ids=account_ids,
                               enrollment_ids=enrollment_ids, override=override)
    benefit, result, enrollments = done.benefit, done.result, done.enrollments
    assignments, created = done.assignments, done.created
    assignment_ids = list(assignments.values())

    # The roster: new entries, and entries that had ended are opened again from today.
    roster = ScheduleAssignment.objects.filter(schedule=schedule)
    already: set[int] = set()
    if assignment_ids:
        already.update(roster.filter(assignment_id__in=id_values(assignment_ids))
                       .filter(Q(end_date__isnull=True) | Q(end_date__gte=on))
                       .values_list("assignment_id", flat=True))
    joining = [a for a in assignment_ids if a not in already]
    _check_capacity(schedule=schedule, joining=len(joining), on=on, result=result)
    now = db_now()
    insert_rows(ScheduleAssignment, ["schedule", "assignment", "start_date", "end_date",
                                     "created_at", "updated_at"],
                [(schedule.pk, a, db_date(on), None, now, now) for a in joining],
                ignore_conflicts=True)
    if joining:
        roster.filter(assignment_id__in=id_values(joining),
                      end_date__isnull=False).update(
            start_date=on, end_date=None, updated_at=timezone.now())

    sessions = list(BenefitSession.objects.filter(schedule=schedule, local_date__gte=on)
                    .exclude(status=SessionStatus.CANCELLED).values_list("id", "local_date"))
    quantity = (schedule.default_quantity if schedule.default_quantity is not None
                else benefit.default_quantity)
    participants = [(assignments[eid], eid, e) for eid, e in enrollments.items()]
    result.disbursements_created = session_disbursements_insert(
        benefit=benefit, sessions=sessions, participants=participants, quantity=quantity,
        status=status_default(DISBURSEMENT))

    audit_record(
        actor=actor, action="schedule.add_participants", obj=schedule,
        object_ids=sorted(enrollments),
        after={"enrollment_ids": sorted(enrollments), "enrollments_created": sorted(created),
               "assignment_ids": sorted(assignment_ids), "session_ids": [s for s, _ in sessions],
               "disbursements_created": result.disbursements_created, "from": on.isoformat()},
        **done.audit_kwargs(),
    )
    return result


def _check_capacity(*, schedule: BenefitSchedule, joining: int, on: dt.date,
                    result: ParticipationResult) -> None:
    if schedule.capacity is None or joining == 0:
        return
    current = (ScheduleAssignment.objects.filter(schedule=schedule)
               .filter(Q(end_date__isnull=True) | Q(end_date__gte=on)).count())
    total = current + joining
    if total <= schedule.capacity:
        return
    message = (f"'{schedule.name}' has {schedule.capacity} places; {total} people would be on "
               "its roster.")
    if settings.PROGRAMDESK_CAPACITY_MODE == "block":
        raise Conflict(message, type="capacity_exceeded")
    result.warn("capacity_exceeded", message)


@transaction.atomic
def session_add_participants(
    *, actor: User | None, session: BenefitSession, person_ids: Sequence[int] = (),
    account_ids: Sequence[int] = (), enrollment_ids: Sequence[int] = (),
    override: EligibilityOverride | None = None, status: StatusValue | None = None,
    recipient_type: str | None = None,
) -> ParticipationResult:
    """Add participants to one session only (the walk-in case): enrollment and assignment are
    reused or made, and one disbursement for this session. People whose enrollment is made on
    the spot are marked walk-ins. They do not join the schedule's roster."""
    if session.status == SessionStatus.CANCELLED:
        raise Conflict("This session is cancelled; nobody can be added to it.")
    done = participants_enroll(actor=actor, benefit_id=session.benefit_id, on=session.local_date,
                               person_ids=person_ids, account_ids=account_ids,
                               enrollment_ids=enrollment_ids, override=override)
    benefit, result, enrollments = done.benefit, done.result, done.enrollments
    assignments, created = done.assignments, done.created
    schedule = BenefitSchedule.objects.get(pk=session.schedule_id)
    quantity = (schedule.default_quantity if schedule.default_quantity is not None
                else benefit.default_quantity)
    status = status or status_default(DISBURSEMENT)
    if recipient_type is not None:
        groups = [(recipient_type, list(enrollments))]
    else:
        groups = [(RecipientType.WALK_IN, [eid for eid in enrollments if eid in created]),
                  (RecipientType.ENROLLMENT, [eid for eid in enrollments if eid not in created])]
    for kind, eids in groups:
        if eids:
            result.disbursements_created += session_disbursements_insert(
                benefit=benefit, sessions=[(session.pk, session.local_date)],
                participants=[(assignments[eid], eid, enrollments[eid]) for eid in eids],
                quantity=quantity, status=status, recipient_type=kind)
    audit_record(
        actor=actor, action="session.add_participants", obj=session,
        object_ids=sorted(enrollments),
        after={"enrollment_ids": sorted(enrollments), "enrollments_created": sorted(created),
               "disbursements_created": result.disbursements_created, "status": status.code},
        **done.audit_kwargs(),
    )
    return result


@transaction.atomic
def schedule_remove_participants(*, actor: User | None, schedule: BenefitSchedule,
                                 assignment_ids: Sequence[int],
                                 from_date: dt.date | None = None) -> int:
    """Take people off a schedule from ``from_date`` (today): their roster entry ends the day
    before (an entry that would end before it began is removed), and their disbursements for
    sessions from that date still at the default status are deleted. Recorded attendance is
    never deleted. Returns the number deleted."""
    from_date = from_date or _today()
    entries = {a: (start, end) for a, start, end in ScheduleAssignment.objects
               .filter(schedule=schedule, assignment_id__in=set(assignment_ids))
               .values_list("assignment_id", "start_date", "end_date")}
    if missing := _missing(assignment_ids, entries):
        raise ValidationError.for_fields({"assignment_ids": (
            f"Not on this schedule's roster: {', '.join(map(str, missing))}.")})
    last_day = from_date - dt.timedelta(days=1)
    roster = ScheduleAssignment.objects.filter(schedule=schedule)
    # An entry that would end before it starts never mattered: it goes; others end yesterday.
    never = [a for a, (start, _) in entries.items() if last_day < start]
    ending = [a for a, (start, end) in entries.items()
              if a not in never and (end is None or end > last_day)]
    roster.filter(assignment_id__in=never).delete()
    roster.filter(assignment_id__in=ending).update(end_date=last_day, updated_at=timezone.now())
    doomed = BenefitDisbursement.objects.filter(
        assignment_id__in=list(entries), session__schedule=schedule,
        session__local_date__gte=from_date, status=status_default(DISBURSEMENT))
    deleted, _ = doomed.delete()
    audit_record(actor=actor, action="schedule.remove_participants", obj=schedule,
                 object_ids=sorted(entries),
                 after={"assignment_ids": sorted(entries), "from": from_date.isoformat(),
                        "disbursements_deleted": deleted})
    return deleted


# --- attendance and check-in ----------------------------------------------------------------


@dataclass(frozen=True)
class AttendanceMark:
    disbursement_id: int
    status: str  # a disbursement status code
    quantity: Decimal | None = None


@transaction.atomic
def attendance_record(*, actor: User | None, session: BenefitSession,
                      marks: Sequence[AttendanceMark], complete_session: bool = False,
                      ) -> int:
    """Save a whole attendance sheet in one go. Returns how many disbursements changed.

    Late entry (a past session) is allowed and recorded as such in the audit log.
    """
    # Plain values, not model instances: a sheet is saved many times an hour, and for a
    # 200-row sheet building instances costs as much as the write itself.
    status, local_date = (BenefitSession.objects.select_for_update().filter(pk=session.pk)
                          .values_list("status", "local_date").get())
    # Completing a cancelled session would restore it, which is a manager's (session_update).
    if status == SessionStatus.CANCELLED and (marks or complete_session):
        raise Conflict("This session is cancelled; its attendance cannot be recorded.")
    # code -> (id, is_active)
    statuses = {code: (pk, active) for pk, code, active in StatusValue.objects.filter(
        kind=DISBURSEMENT).values_list("pk", "code", "is_active")}
    errors: dict[str, str] = {}
    for i, mark in enumerate(marks):
        value = statuses.get(mark.status)
        if value is None:
            errors[f"records.{i}.status"] = (
                f"Unknown status '{mark.status}'. Use one of: "
                f"{', '.join(c for c, (_, active) in statuses.items() if active)}.")
        elif not value[1]:
            errors[f"records.{i}.status"] = f"The status '{mark.status}' is retired."
        if mark.quantity is not None and mark.quantity < 0:
            errors[f"records.{i}.quantity"] = "Must not be negative."
    ids = [m.disbursement_id for m in marks]
    if len(set(ids)) != len(ids):
        errors["records"] = "Each disbursement may appear only once."
    # The whole sheet in one read (cheaper than an IN list of every id on it); quantities only
    # when some are being changed (most sheets only set statuses).
    with_quantity = any(m.quantity is not None for m in marks)
    sheet = BenefitDisbursement.objects.filter(session=session)
    current: dict[int, tuple[int, Decimal | None]] = (
        {i: (s, q) for i, s, q in sheet.values_list("id", "status_id", "quantity")}
        if with_quantity else {i: (s, None) for i, s in sheet.values_list("id", "status_id")})
    for i, mark in enumerate(marks):
        if mark.disbursement_id not in current:
            errors[f"records.{i}.disbursement_id"] = (
                f"Disbursement {mark.disbursement_id} is not on this session.")
    if errors:
        raise ValidationError.for_fields(errors)

    codes = {pk: code for code, (pk, _) in statuses.items()}
    now = db_now()
    rows: list[tuple[Any, ...]] = []
    # The audit event groups ids by status ({code: [ids]}) and lists changed quantities.
    before: dict[str, Any] = {"status": {}, "quantity": {}}
    after: dict[str, Any] = {"status": {}, "quantity": {}}
    for mark in marks:
        status_id, quantity = current[mark.disbursement_id]
        new_status = statuses[mark.status][0]
        quantity_changes = mark.quantity is not None and mark.quantity != quantity
        if new_status == status_id and not quantity_changes:
            continue
        rows.append((new_status, mark.quantity, now, mark.disbursement_id))
        before["status"].setdefault(codes[status_id], []).append(mark.disbursement_id)
        after["status"].setdefault(mark.status, []).append(mark.disbursement_id)
        if quantity_changes:
            before["quantity"][mark.disbursement_id] = str(quantity)
            after["quantity"][mark.disbursement_id] = str(mark.quantity)
    # COALESCE keeps the quantity of rows whose mark gave none.
    changed = update_rows(BenefitDisbursement, ["status", "quantity", "updated_at"], rows,
                          keep_if_null={"quantity"})
    if complete_session and status != SessionStatus.COMPLETED:
        session.status = SessionStatus.COMPLETED
        session.save(update_fields=["status", "updated_at"])
    late = local_date < _today()
    audit_record(actor=actor, action="attendance.record_late" if late else "attendance.record",
                 obj=session, object_ids=[r[-1] for r in rows], before=before,
                 after={**after, "complete_session": complete_session})
    return changed


@transaction.atomic
def check_in(*, actor: User | None, session: BenefitSession, person_id: int
             ) -> BenefitDisbursement:
    """A person checks in to a session: their disbursement becomes the delivered default
    (`completed`); someone not on it is added as a walk-in, completed. Twice is once."""
    delivered = status_first_in_bucket(DISBURSEMENT, "delivered")
    on_session = BenefitDisbursement.objects.filter(session=session, person_id=person_id)
    existing = (on_session.select_for_update().select_related("status", "unit")
                .order_by().first())
    if existing is None:
        # Someone the user may not see is "unknown", exactly like an id nobody has (the
        # enrollment below would refuse them too, but naming another field).
        people = people_visible(actor) if actor is not None else Person.objects.all()
        if not people.filter(pk=person_id).exists():
            raise ValidationError.for_fields({"person_id": f"Unknown person {person_id}."})
        session_add_participants(actor=actor, session=session, person_ids=[person_id],
                                 status=delivered, recipient_type=RecipientType.WALK_IN)
        disbursement = on_session.select_related("status", "unit").get()
        audit_record(actor=actor, action="session.check_in", obj=disbursement,
                     after={"status": delivered.code, "walk_in": True})
        return disbursement
    if existing.status_id != delivered.pk:
        before = existing.status.code
        existing.status = delivered
        existing.save(update_fields=["status", "updated_at"])
        audit_record(actor=actor, action="session.check_in", obj=existing,
                     before={"status": before}, after={"status": delivered.code})
    return existing


@transaction.atomic
def kiosk_register(*, actor: User | None, session: BenefitSession, first_name: str,
                   last_name: str, postal_code: str = "", extra: dict[str, Any] | None = None
                   ) -> Person:
    """Someone unknown registers at the kiosk with the few fields the program needs and is
    checked in as a walk-in, in one step."""
    from programdesk.people.services import person_create

    person = person_create(actor=actor, first_name=first_name, last_name=last_name,
                           postal_code=postal_code, extra=extra)
    check_in(actor=actor, session=session, person_id=person.pk)
    return person


# --- enrollments and cohorts ----------------------------------------------------------------


def _apply_status_dates(enrollment: ProgramEnrollment, bucket: str, on: dt.date) -> None:
    """Status changes set the dates users expect, never overwriting one already set."""
    if bucket in {"applied", "waitlisted"} and enrollment.application_date is None:
        enrollment.application_date = on
    elif bucket == "active" and enrollment.start_date is None:
        enrollment.start_date = on
    elif bucket in {"completed", "withdrawn", "denied"} and enrollment.end_date is None:
        enrollment.end_date = max(on, enrollment.start_date) if enrollment.start_date else on


def _second_active(program_id: int, enrollment: ProgramEnrollment) -> Conflict:
    who = (f"person {enrollment.person_id}" if enrollment.person_id
           else f"account {enrollment.account_id}" if enrollment.account_id else "anonymous")
    same = ProgramEnrollment.objects.filter(program_id=program_id, is_active=True)
    if enrollment.person_id:
        same = same.filter(person_id=enrollment.person_id)
    elif enrollment.account_id:
        same = same.filter(account_id=enrollment.account_id)
    else:
        same = same.filter(is_anonymous=True)
    existing = same.exclude(pk=enrollment.pk).values_list("id", flat=True).first()
    return Conflict(f"There is already an active enrollment (#{existing}) for {who} in this "
                    "program; a participant has one active enrollment per program at a time.",
                    existing_enrollment_id=existing)


@transaction.atomic
def enrollment_create(*, actor: User | None, program: Program, person: Person | None = None,
                      account: Account | None = None, is_anonymous: bool = False,
                      status: str | None = None, application_date: dt.date | None = None,
                      start_date: dt.date | None = None, end_date: dt.date | None = None,
                      cohort: ProgramCohort | None = None, extra: dict[str, Any] | None = None,
                      ) -> ProgramEnrollment:
    named = [x for x in (person, account) if x is not None]
    if is_anonymous and named:
        raise ValidationError.for_fields({"is_anonymous": "An anonymous enrollment names nobody."})
    if not is_anonymous and len(named) != 1:
        raise ValidationError.for_fields(
            {"person_id": "Name exactly one of person or account (or is_anonymous)."})
    value = status_by_code(ENROLLMENT, status) if status else status_default(ENROLLMENT)
    if start_date and end_date and end_date < start_date:
        raise ValidationError.for_fields({"end_date": "The end date is before the start date."})
    if cohort is not None and cohort.program_id != program.pk:
        raise ValidationError.for_fields({"cohort_id": "The cohort belongs to another program."})
    enrollment = ProgramEnrollment(
        program=program, person=person, account=account, is_anonymous=is_anonymous,
        status=value, is_active=value.bucket == "active", application_date=application_date,
        start_date=start_date, end_date=end_date, extra=_validated_extra(program, extra))
    _apply_status_dates(enrollment, value.bucket, _today())
    try:
        with transaction.atomic():
            enrollment.save()
    except IntegrityError:
        raise _second_active(program.pk, enrollment) from None
    audit_record(actor=actor, action="enrollment.create", obj=enrollment,
                 after=snapshot(enrollment))
    if cohort is not None:
        cohort_add_members(actor=actor, cohort=cohort, enrollment_ids=[enrollment.pk])
    return enrollment


def _validated_extra_for(*, target: str, values: dict[str, Any] | None,
                         program_id: int | None = None, benefit_id: int | None = None,
                         field_prefix: str = "extra") -> dict[str, Any]:
    """Custom field values checked against the admin's field definitions."""
    return extra_validate(target=target, values=values, program_id=program_id,
                          benefit_id=benefit_id, field_prefix=field_prefix)


def _validated_extra(program: Program, extra: dict[str, Any] | None) -> dict[str, Any]:
    return _validated_extra_for(target="enrollment", values=extra, program_id=program.pk)


@transaction.atomic
def enrollment_update(*, actor: User | None, enrollment: ProgramEnrollment,
                      status: str | None = None, application_date: dt.date | None = None,
                      start_date: dt.date | None = None, end_date: dt.date | None = None,
                      extra: dict[str, Any] | None = None) -> ProgramEnrollment:
    enrollment = ProgramEnrollment.objects.select_for_update().get(pk=enrollment.pk)
    before = snapshot(enrollment)
    if application_date is not None:
        enrollment.application_date = application_date
    if start_date is not None:
        enrollment.start_date = start_date
    if end_date is not None:
        enrollment.end_date = end_date
    if status is not None:
        value = status_by_code(ENROLLMENT, status)
        enrollment.status = value
        enrollment.is_active = value.bucket == "active"
        _apply_status_dates(enrollment, value.bucket, _today())
    start, end = enrollment.start_date, enrollment.end_date
    if start and end and end < start:
        raise ValidationError.for_fields({"end_date": "The end date is before the start date."})
    if extra is not None:
        merged = {**enrollment.extra, **extra}
        enrollment.extra = _validated_extra(enrollment.program, merged)
    try:
        with transaction.atomic():
            enrollment.save(update_fields=["status", "is_active", "application_date",
                                           "start_date", "end_date", "extra", "updated_at"])
    except IntegrityError:
        raise _second_active(enrollment.program_id, enrollment) from None
    old, new = changes(before, snapshot(enrollment))
    audit_record(actor=actor, action="enrollment.update", obj=enrollment, before=old, after=new)
    return enrollment


@transaction.atomic
def cohort_add_members(*, actor: User | None, cohort: ProgramCohort,
                       enrollment_ids: Sequence[int], on: dt.date | None = None) -> int:
    """Add enrollments of the cohort's program to it. Members already in it stay as they are.
    Returns how many joined."""
    on = on or _today()
    found = dict(ProgramEnrollment.objects.filter(id__in=set(enrollment_ids))
                 .values_list("id", "program_id"))
    if missing := _missing(enrollment_ids, found):
        raise ValidationError.for_fields(
            {"enrollment_ids": f"Unknown enrollments: {', '.join(map(str, missing))}."})
    other = [i for i, p in found.items() if p != cohort.program_id]
    if other:
        raise ValidationError.for_fields({"enrollment_ids": (
            f"Enrollments {', '.join(map(str, other))} belong to another program.")})
    # Lock the cohort so two desks cannot both take its last place.
    ProgramCohort.objects.select_for_update().filter(pk=cohort.pk).first()
    current = CohortMember.objects.filter(cohort=cohort, removed_on__isnull=True)
    members = set(current.filter(enrollment_id__in=list(found))
                  .values_list("enrollment_id", flat=True))
    joining = [i for i in dict.fromkeys(enrollment_ids) if i not in members]
    if cohort.max_members is not None and current.count() + len(joining) > cohort.max_members:
        raise Conflict(f"The cohort '{cohort.name}' holds at most {cohort.max_members} members.")
    now = db_now()
    added = insert_rows(CohortMember, ["cohort", "enrollment", "added_on", "removed_on",
                                       "created_at", "updated_at"],
                        [(cohort.pk, i, db_date(on), None, now, now) for i in joining],
                        ignore_conflicts=True)
    audit_record(actor=actor, action="cohort.add_members", obj=cohort, object_ids=joining,
                 after={"enrollment_ids": joining})
    return added


@transaction.atomic
def cohort_remove_members(*, actor: User | None, cohort: ProgramCohort,
                          enrollment_ids: Sequence[int], on: dt.date | None = None) -> int:
    on = on or _today()
    members = CohortMember.objects.filter(cohort=cohort, removed_on__isnull=True,
                                          enrollment_id__in=set(enrollment_ids))
    removed = 0
    for member in members:
        member.removed_on = max(on, member.added_on)
        member.save(update_fields=["removed_on", "updated_at"])
        removed += 1
    audit_record(actor=actor, action="cohort.remove_members", obj=cohort,
                 object_ids=list(enrollment_ids), after={"enrollment_ids": list(enrollment_ids)})
    return removed
