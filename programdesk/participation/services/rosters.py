"""Adding people to schedules and sessions and removing them: set-based, so the number of
queries does not grow with the number of people."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from programdesk.core.audit import audit_record
from programdesk.core.bulk import (
    db_date,
    db_now,
    id_values,
    insert_rows,
)
from programdesk.core.errors import Conflict, ValidationError
from programdesk.core.models import StatusKind, StatusValue, User
from programdesk.core.selectors import status_default
from programdesk.participation.models import (
    BenefitDisbursement,
    RecipientType,
    ScheduleAssignment,
)
from programdesk.participation.services.writers import (
    EligibilityOverride,
    OnIneligible,
    ParticipationResult,
    _check_eligibility,
    _missing,
    _today,
    participants_enroll,
    participants_resolve,
    session_disbursements_insert,
)
from programdesk.scheduling.models import (
    BenefitSchedule,
    BenefitSession,
    SessionStatus,
    session_quantity,
)

ENROLLMENT = StatusKind.ENROLLMENT
DISBURSEMENT = StatusKind.DISBURSEMENT


# --- add and remove participants ------------------------------------------------------------


@transaction.atomic
def schedule_add_participants(
    *, actor: User | None, schedule: BenefitSchedule, person_ids: Sequence[int] = (),
    account_ids: Sequence[int] = (), enrollment_ids: Sequence[int] = (),
    on: dt.date | None = None, override: EligibilityOverride | None = None,
    on_ineligible: str = OnIneligible.REFUSE,
) -> ParticipationResult:
    """Put people, accounts or enrollments on a schedule's roster, with one expected
    disbursement per session from ``on`` (today) onwards. Repeating it creates nothing.
    ``on_ineligible="skip"`` adds the eligible ones and lists the others in
    ``result.skipped``."""
    on = on or _today()
    done = participants_enroll(actor=actor, benefit_id=schedule.benefit_id, on=on,
                               person_ids=person_ids, account_ids=account_ids,
                               enrollment_ids=enrollment_ids, override=override,
                               on_ineligible=on_ineligible)
    if not done.enrollments:
        return done.result  # everyone was left out: nothing to write
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
    quantity = session_quantity(schedule_quantity=schedule.default_quantity,
                                benefit_quantity=benefit.default_quantity)
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


def _roster_now(schedule: BenefitSchedule, on: dt.date) -> Any:
    return (ScheduleAssignment.objects.filter(schedule=schedule)
            .filter(Q(end_date__isnull=True) | Q(end_date__gte=on)))


def _capacity_message(schedule: BenefitSchedule, total: int) -> str:
    places = schedule.capacity or 0
    return (f"'{schedule.name}' has {places} place{'' if places == 1 else 's'}; "
            f"{total} {'person' if total == 1 else 'people'} would be on its roster "
            f"({total - places} over).")


def _check_capacity(*, schedule: BenefitSchedule, joining: int, on: dt.date,
                    result: ParticipationResult) -> None:
    if schedule.capacity is None or joining == 0:
        return
    total = _roster_now(schedule, on).count() + joining
    if total <= schedule.capacity:
        return
    message = _capacity_message(schedule, total)
    if settings.PROGRAMDESK_CAPACITY_MODE == "block":
        raise Conflict(message, type="capacity_exceeded")
    result.warn("capacity_exceeded", message)


@dataclass
class AddPreview:
    """What adding some participants to a schedule would do, read before writing: how many
    would join the roster, whether that goes over its capacity, and who eligibility rules would
    leave out (as ``ParticipationResult.skipped``)."""

    capacity: int | None
    on_roster: int  # roster entries open on the day
    joining: int  # chosen participants not on the roster yet, not refused
    refused: list[dict[str, Any]] = field(default_factory=list)
    capacity_blocks: bool = False  # PROGRAMDESK_CAPACITY_MODE=block

    @property
    def over(self) -> int:
        if self.capacity is None:
            return 0
        return max(0, self.on_roster + self.joining - self.capacity)


def schedule_add_preview(
    *, actor: User | None, schedule: BenefitSchedule, person_ids: Sequence[int] = (),
    account_ids: Sequence[int] = (), enrollment_ids: Sequence[int] = (),
    on: dt.date | None = None,
) -> AddPreview:
    """Read what ``schedule_add_participants`` would do, writing nothing — so a page can warn
    about capacity before the write. Unknown ids raise as the write would."""
    from programdesk.programs.models import Benefit

    on = on or _today()
    benefit = Benefit.objects.select_related("program").get(pk=schedule.benefit_id)
    enrollees = participants_resolve(program=benefit.program, person_ids=person_ids,
                                     account_ids=account_ids, enrollment_ids=enrollment_ids,
                                     user=actor)
    probe = ParticipationResult()
    _check_eligibility(actor=actor, benefit=benefit, enrollees=enrollees, on=on, override=None,
                       result=probe, on_ineligible=OnIneligible.SKIP)
    refused = {s["person_id"] for s in probe.skipped}
    roster = _roster_now(schedule, on)
    on_roster = roster.count()
    present = set()
    for pid, aid, eid in roster.filter(assignment__enrollment__is_active=True).values_list(
            "assignment__person_id", "assignment__account_id", "assignment__enrollment_id"):
        present.update({("p", pid), ("a", aid), ("e", eid)})
    joining = sum(1 for e in enrollees
                  if not (e.person_id and e.person_id in refused)
                  and not ({e.key, ("e", e.enrollment_id)} & present))
    return AddPreview(capacity=schedule.capacity, on_roster=on_roster, joining=joining,
                      refused=probe.skipped,
                      capacity_blocks=settings.PROGRAMDESK_CAPACITY_MODE == "block")


@transaction.atomic
def session_add_participants(
    *, actor: User | None, session: BenefitSession, person_ids: Sequence[int] = (),
    account_ids: Sequence[int] = (), enrollment_ids: Sequence[int] = (),
    override: EligibilityOverride | None = None, status: StatusValue | None = None,
    recipient_type: str | None = None, on_ineligible: str = OnIneligible.REFUSE,
) -> ParticipationResult:
    """Add participants to one session only (the walk-in case): enrollment and assignment are
    reused or made, and one disbursement for this session. People whose enrollment is made on
    the spot are marked walk-ins. They do not join the schedule's roster."""
    if session.status == SessionStatus.CANCELLED:
        raise Conflict("This session is cancelled; nobody can be added to it.")
    done = participants_enroll(actor=actor, benefit_id=session.benefit_id, on=session.local_date,
                               person_ids=person_ids, account_ids=account_ids,
                               enrollment_ids=enrollment_ids, override=override,
                               on_ineligible=on_ineligible)
    if not done.enrollments:
        return done.result  # everyone was left out: nothing to write
    benefit, result, enrollments = done.benefit, done.result, done.enrollments
    assignments, created = done.assignments, done.created
    schedule = BenefitSchedule.objects.get(pk=session.schedule_id)
    quantity = session_quantity(schedule_quantity=schedule.default_quantity,
                                benefit_quantity=benefit.default_quantity)
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


