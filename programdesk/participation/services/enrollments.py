"""Enrollments and cohorts, one record at a time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction

from programdesk.core.audit import audit_record, changes, snapshot
from programdesk.core.bulk import (
    db_date,
    db_now,
    insert_rows,
)
from programdesk.core.custom_fields import extra_validate
from programdesk.core.errors import Conflict, ValidationError
from programdesk.core.models import StatusKind, User
from programdesk.core.selectors import status_by_code, status_default
from programdesk.participation.models import (
    CohortMember,
    ProgramEnrollment,
)
from programdesk.participation.services.writers import (
    _missing,
    _today,
)
from programdesk.people.models import Account, Person
from programdesk.programs.models import Program, ProgramCohort

ENROLLMENT = StatusKind.ENROLLMENT
DISBURSEMENT = StatusKind.DISBURSEMENT


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


# --- merging two people's enrollments -------------------------------------------------------

# Which of two disbursements for the same session tells more: what happened beats what was
# expected, and being there beats every kind of not being there.
_BUCKET_RANK = {"delivered": 0, "absent": 1, "excused": 2, "cancelled": 3, "expected": 4}


def _earliest(*days: dt.date | None) -> dt.date | None:
    known = [d for d in days if d is not None]
    return min(known) if known else None


def enrollments_merge(*, actor: User | None, keep: ProgramEnrollment,
                      gone: ProgramEnrollment) -> dict[str, Any]:
    """Fold ``gone`` into ``keep`` — two active enrollments in one program of two records of
    the same person, being merged (``person_merge`` calls this inside its transaction). Every
    assignment, roster entry, disbursement and cohort membership ends up on ``keep``:

    - an assignment of a benefit ``keep`` has too is folded into ``keep``'s: roster entries of
      the same schedule become one (the earlier start, the later end), and where both hold a
      disbursement for the same session the one saying more is kept (delivered, then absent,
      excused, cancelled, expected) and the other deleted — its record is in the audit event;
    - a cohort membership both hold currently stays one, from the earlier day;
    - ``keep`` takes the earliest start and application dates; ``gone`` is deleted.

    Returns what happened, for the person merge's audit event."""
    from programdesk.participation.models import (
        BenefitAssignment,
        BenefitDisbursement,
        ScheduleAssignment,
    )

    if keep.program_id != gone.program_id or keep.pk == gone.pk:
        raise ValidationError("Only two enrollments in the same program can be merged.")
    summary: dict[str, Any] = {"enrollment_id": gone.pk, "into": keep.pk,
                               "assignments_moved": [], "assignments_folded": {},
                               "disbursements_deleted": [], "roster_entries_folded": [],
                               "cohort_memberships_deleted": []}
    kept_by_benefit = dict(BenefitAssignment.objects.filter(enrollment=keep)
                           .values_list("benefit_id", "id"))
    for gone_assignment, benefit_id in (BenefitAssignment.objects.filter(enrollment=gone)
                                        .values_list("id", "benefit_id")):
        kept_assignment = kept_by_benefit.get(benefit_id)
        if kept_assignment is None:
            BenefitAssignment.objects.filter(pk=gone_assignment).update(enrollment=keep)
            summary["assignments_moved"].append(gone_assignment)
            continue
        summary["assignments_folded"][str(gone_assignment)] = kept_assignment
        entries = {schedule: (pk, start, end) for pk, schedule, start, end in
                   ScheduleAssignment.objects.filter(assignment_id=kept_assignment)
                   .values_list("id", "schedule_id", "start_date", "end_date")}
        for pk, schedule, start, end in (ScheduleAssignment.objects
                                         .filter(assignment_id=gone_assignment)
                                         .values_list("id", "schedule_id", "start_date",
                                                      "end_date")):
            if schedule not in entries:
                ScheduleAssignment.objects.filter(pk=pk).update(assignment_id=kept_assignment)
                continue
            kept_pk, kept_start, kept_end = entries[schedule]
            ScheduleAssignment.objects.filter(pk=kept_pk).update(
                start_date=min(start, kept_start),
                end_date=None if end is None or kept_end is None else max(end, kept_end))
            ScheduleAssignment.objects.filter(pk=pk).delete()
            summary["roster_entries_folded"].append(pk)
        kept_sessions = {session: (pk, bucket) for pk, session, bucket in
                         BenefitDisbursement.objects.filter(assignment_id=kept_assignment,
                                                            session__isnull=False)
                         .values_list("id", "session_id", "status__bucket")}
        doomed = []
        for pk, session, bucket in (BenefitDisbursement.objects
                                    .filter(assignment_id=gone_assignment, session__isnull=False)
                                    .values_list("id", "session_id", "status__bucket")):
            if session not in kept_sessions:
                continue
            kept_pk, kept_bucket = kept_sessions[session]
            better = _BUCKET_RANK.get(bucket, 9) < _BUCKET_RANK.get(kept_bucket, 9)
            doomed.append(kept_pk if better else pk)
        if doomed:
            summary["disbursements_deleted"].extend(
                snapshot(d) for d in BenefitDisbursement.objects.filter(pk__in=doomed))
            BenefitDisbursement.objects.filter(pk__in=doomed).delete()
        BenefitDisbursement.objects.filter(assignment_id=gone_assignment).update(
            assignment_id=kept_assignment, enrollment_id=keep.pk)
        BenefitAssignment.objects.filter(pk=gone_assignment).delete()
    BenefitDisbursement.objects.filter(enrollment=gone).update(enrollment=keep)

    kept_cohorts = {cohort: (pk, added) for pk, cohort, added in CohortMember.objects.filter(
        enrollment=keep, removed_on__isnull=True).values_list("id", "cohort_id", "added_on")}
    for pk, cohort, added, removed in CohortMember.objects.filter(enrollment=gone).values_list(
            "id", "cohort_id", "added_on", "removed_on"):
        if removed is None and cohort in kept_cohorts:
            kept_pk, kept_added = kept_cohorts[cohort]
            CohortMember.objects.filter(pk=kept_pk).update(added_on=min(added, kept_added))
            CohortMember.objects.filter(pk=pk).delete()
            summary["cohort_memberships_deleted"].append(pk)
        else:
            CohortMember.objects.filter(pk=pk).update(enrollment=keep)

    before = snapshot(keep)
    keep.start_date = _earliest(keep.start_date, gone.start_date)
    keep.application_date = _earliest(keep.application_date, gone.application_date)
    keep.extra = {**(gone.extra or {}), **(keep.extra or {})}
    keep.save(update_fields=["start_date", "application_date", "extra", "updated_at"])
    record = snapshot(gone)
    gone.delete()
    changed_before, changed_after = changes(before, snapshot(keep))
    audit_record(actor=actor, action="enrollment.merge", obj=keep,
                 before={"merged": record, **changed_before},
                 after={**summary, **changed_after})
    return summary
