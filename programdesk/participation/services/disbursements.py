"""Disbursements outside sessions: ad hoc for one client, bulk walk-in, bulk anonymous, bulk by
enrollment — and corrections. Each call is all or nothing; bulk calls are set-based."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from programdesk.core.audit import audit_record, changes, snapshot
from programdesk.core.bulk import (
    db_date,
    db_datetime,
    db_json,
    db_now,
    insert_rows,
    insert_rows_batched,
)
from programdesk.core.errors import Conflict, NotFound, ValidationError
from programdesk.core.models import StatusKind, StatusValue, User
from programdesk.core.selectors import status_first_in_bucket
from programdesk.participation.models import (
    BenefitAssignment,
    BenefitDisbursement,
    ProgramEnrollment,
    RecipientType,
)
from programdesk.participation.services.enrollments import _validated_extra_for
from programdesk.participation.services.limits import (
    LimitCandidate,
    LimitOutcome,
    OverLimit,
    limits_check,
    limits_enforce,
)
from programdesk.participation.services.rosters import session_add_participants
from programdesk.participation.services.writers import (
    DISBURSEMENT_FIELDS,
    EligibilityOverride,
    Enrollee,
    NewEnrollment,
    ParticipationResult,
    _check_eligibility,
    _require_active_benefit,
    active_enrollment_status,
    assignments_ensure,
    disbursement_household_refresh,
    enrollments_ensure,
    enrollments_insert_many,
    participants_enroll,
)
from programdesk.people.models import Account, Case, Person
from programdesk.people.selectors import HouseholdSnapshots, household_snapshots
from programdesk.programs.limits import benefit_limit
from programdesk.programs.models import Benefit
from programdesk.programs.quantities import QUANTITY_MAX as QUANTITY_MAX  # for services.*
from programdesk.programs.quantities import check_quantity
from programdesk.scheduling.models import BenefitSchedule, BenefitSession, SessionStatus

DISBURSEMENT = StatusKind.DISBURSEMENT
MAX_LINES = 50


@dataclass
class BulkResult:
    disbursements_created: int = 0
    enrollments_created: int = 0
    warnings: list[dict[str, str]] = field(default_factory=list)
    disbursement_ids: list[int] = field(default_factory=list)
    # Recipients left out by ``over_limit="skip"``: {person_id, account_id, last_served_on}.
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def warn(self, code: str, message: str) -> None:
        self.warnings.append({"code": code, "message": message})


@dataclass(frozen=True)
class DisbursementLine:
    """One line of an ad hoc disbursement: a benefit, how much (in the benefit's unit), and
    optionally a status code and the benefit's extra fields."""

    benefit_id: int
    quantity: Decimal
    status: str | None = None
    extra: dict[str, Any] | None = None


def _status(code: str | None, field_name: str) -> StatusValue:
    """The given disbursement status, or the delivered default (`completed`): ad hoc and bulk
    disbursements are given on the spot."""
    if code is None:
        return status_first_in_bucket(DISBURSEMENT, "delivered")
    value = StatusValue.objects.filter(kind=DISBURSEMENT, code=code).first()
    if value is None or not value.is_active:
        known = ", ".join(StatusValue.objects.filter(kind=DISBURSEMENT, is_active=True)
                          .values_list("code", flat=True))
        raise ValidationError.for_fields(
            {field_name: f"Unknown or retired status '{code}'. Use one of: {known}."})
    return value


def _visible_benefits(actor: User | None, ids: Sequence[int]) -> dict[int, Benefit]:
    qs = Benefit.objects.select_related("program", "unit").filter(id__in=set(ids))
    if actor is not None and (programs := actor.visible_program_ids()) is not None:
        qs = qs.filter(program_id__in=programs)
    return {b.pk: b for b in qs}


def _schedule_warning(benefit: Benefit, result: BulkResult | ParticipationResult) -> None:
    if BenefitSchedule.objects.filter(benefit=benefit).exists():
        result.warn("benefit_has_schedule", (
            f"'{benefit.name}' has a schedule: people on it may be counted twice if they also "
            "get this disbursement. Leave out people who are on its sessions."))


def _select_new_ids(benefit: Benefit, disbursed_on: dt.date, created_at: Any) -> list[int]:
    """The ids of the rows this call inserted: same benefit and day (an index), no session,
    this call's exact timestamp — one query, with no list of the call's enrollments to send."""
    return sorted(BenefitDisbursement.objects.filter(
        benefit=benefit, disbursed_on=disbursed_on, session__isnull=True,
        created_at=created_at).values_list("id", flat=True))


def _snapshots(enrollees: Sequence[Enrollee], on: dt.date) -> HouseholdSnapshots:
    return household_snapshots(person_ids=[e.person_id for e in enrollees if e.person_id],
                               account_ids=[e.account_id for e in enrollees if e.account_id],
                               days=[on])


@dataclass
class _LimitGate:
    """The service limit of a bulk call, checked between eligibility and enrolling (so people
    skipped get no enrollment either): ``participants_enroll`` calls it with the enrollees and
    writes only those it returns. Keeps the household snapshots it took for the insert."""

    actor: User | None
    benefit: Benefit
    on: dt.date
    delivered: bool
    override_reason: str
    over_limit: str
    field_name: str
    households: HouseholdSnapshots | None = None
    outcome: LimitOutcome = field(default_factory=LimitOutcome)

    def __call__(self, enrollees: list[Enrollee]) -> list[Enrollee]:
        limit = benefit_limit(self.benefit)
        if limit is None or not self.delivered:
            return enrollees
        self.households = _snapshots(enrollees, self.on)
        candidates = [(e, LimitCandidate(
            benefit_id=self.benefit.pk, person_id=e.person_id, account_id=e.account_id,
            household_id=self.households.of(e.person_id, e.account_id, self.on)[0],
            on=self.on, field=self.field_name)) for e in enrollees]
        hits = limits_check(limits={self.benefit.pk: limit},
                            candidates=[c for _, c in candidates])
        self.outcome = limits_enforce(actor=self.actor, hits=hits,
                                      override_reason=self.override_reason,
                                      over_limit=self.over_limit)
        left_out = self.outcome.skipped_candidates
        return [e for e, c in candidates if c not in left_out]

    def report(self, result: BulkResult) -> dict[str, Any]:
        """Lists the skipped in the answer; returns what the audit event adds."""
        result.skipped = [{"person_id": h.candidate.person_id,
                           "account_id": h.candidate.account_id,
                           "last_served_on": h.last_served_on.isoformat()}
                          for h in self.outcome.skipped]
        return self.outcome.audit()


def _audit_kwargs(done: Any, gate: _LimitGate) -> dict[str, Any]:
    """The eligibility override's and the limit override's reasons and what they overrode."""
    kwargs = done.audit_kwargs()
    if gate.outcome.overridden:
        kwargs["before"] = {**(kwargs.get("before") or {}), **gate.outcome.audit()}
        kwargs["reason"] = "; ".join(dict.fromkeys(
            r for r in (kwargs.get("reason", ""), gate.outcome.reason) if r))
    return kwargs


def _insert_ad_hoc(*, benefit: Benefit, participants: Sequence[tuple[int, int, Enrollee]],
                   quantity: Decimal, status: StatusValue, disbursed_on: dt.date,
                   recipient_type: str, extra: dict[str, Any], recipient_count: int = 1,
                   case_id: int | None = None, households: HouseholdSnapshots | None = None
                   ) -> tuple[int, list[int]]:
    now = timezone.now()
    now_value = db_datetime(now)
    day, extra_value = db_date(disbursed_on), db_json(extra)
    # Constants hoisted: this runs once per row of a bulk of 10,000.
    benefit_id, program_id, unit_id, status_id = (benefit.pk, benefit.program_id,
                                                  benefit.unit_id, status.pk)
    if households is None:
        households = _snapshots([e for _, _, e in participants], disbursed_on)
    rows = ((assignment_id, None, enrollment_id, benefit_id, program_id, e.person_id,
             e.account_id, case_id, recipient_type, recipient_count, quantity, unit_id,
             status_id, day, extra_value, now_value, now_value,
             *households.of(e.person_id, e.account_id, disbursed_on))
            for assignment_id, enrollment_id, e in participants)
    # A bulk load: multi-row statements on SQLite, COPY on PostgreSQL (core.bulk).
    created = insert_rows_batched(BenefitDisbursement, DISBURSEMENT_FIELDS, rows, copy=True)
    return created, _select_new_ids(benefit, disbursed_on, now)


# --- ad hoc ---------------------------------------------------------------------------------


@dataclass
class AdHocResult:
    disbursements: list[BenefitDisbursement]
    warnings: list[dict[str, str]]


def _ad_hoc_request_check(*, person: Person | None, account: Account | None, case: Case | None,
                          lines: Sequence[DisbursementLine]) -> None:
    """One client (a person or an account), the case theirs, one to MAX_LINES lines."""
    if (person is None) == (account is None):
        raise ValidationError.for_fields({"person_id": "Name exactly one of person or account."})
    if case is not None and (case.person_id, case.account_id) != (
            getattr(person, "pk", None), getattr(account, "pk", None)):
        raise ValidationError.for_fields({"case_id": "The case belongs to another client."})
    if not lines:
        raise ValidationError.for_fields({"items": "Add at least one benefit."})
    if len(lines) > MAX_LINES:
        raise ValidationError.for_fields({"items": f"At most {MAX_LINES} lines at once."})


@transaction.atomic
def disbursements_create_ad_hoc(
    *, actor: User | None, person: Person | None = None, account: Account | None = None,
    case: Case | None = None, disbursed_on: dt.date, lines: Sequence[DisbursementLine],
    override: EligibilityOverride | None = None, override_reason: str = "",
) -> AdHocResult:
    """Several benefits for one client at once ("a bus pass, an hour of job coaching and 30
    minutes of résumé review"). Missing enrollments and assignments are made on the spot;
    disbursements whose enrollment was made on the spot are walk-ins. A delivered line past
    its benefit's service limit refuses the call (``ServiceLimitExceeded``) unless a manager
    gives ``override_reason``."""
    _ad_hoc_request_check(person=person, account=account, case=case, lines=lines)
    benefits = _visible_benefits(actor, [line.benefit_id for line in lines])
    errors: dict[str, str] = {}
    for i, line in enumerate(lines):
        if line.benefit_id not in benefits:
            errors[f"items.{i}.benefit_id"] = f"Unknown benefit {line.benefit_id}."
    if errors:
        raise ValidationError.for_fields(errors)
    inactive = sorted({benefits[line.benefit_id].name for line in lines
                       if not benefits[line.benefit_id].is_active})
    if inactive:
        raise Conflict(f"Not active, so nothing can be disbursed: {', '.join(inactive)}.")
    prepared = []
    for i, line in enumerate(lines):
        benefit = benefits[line.benefit_id]
        prepared.append((
            benefit, check_quantity(line.quantity, f"items.{i}.quantity"),
            _status(line.status, f"items.{i}.status"),
            _validated_extra_for(target="disbursement", values=line.extra,
                                 program_id=benefit.program_id, benefit_id=benefit.pk,
                                 field_prefix=f"items.{i}.extra")))

    enrollee = Enrollee(person_id=getattr(person, "pk", None),
                        account_id=getattr(account, "pk", None))
    result = ParticipationResult()
    overrides: dict[str, Any] = {}
    for benefit in {b.pk: b for b, *_ in prepared}.values():
        audit = _check_eligibility(actor=actor, benefit=benefit, enrollees=[enrollee],
                                   on=disbursed_on, override=override, result=result)
        if audit:
            overrides[str(benefit.pk)] = audit
    rows = []
    created_enrollments: set[int] = set()
    household_id, household_size = household_snapshots(
        person_ids=[enrollee.person_id] if enrollee.person_id else [],
        account_ids=[enrollee.account_id] if enrollee.account_id else [],
        days=[disbursed_on]).of(enrollee.person_id, enrollee.account_id, disbursed_on)
    limit_outcome = _ad_hoc_limits(actor=actor, prepared=prepared, enrollee=enrollee,
                                   household_id=household_id, on=disbursed_on,
                                   override_reason=override_reason)
    for benefit, quantity, status, extra in prepared:
        by_key, created = enrollments_ensure(program=benefit.program, enrollees=[enrollee],
                                             on=disbursed_on)
        created_enrollments |= created
        enrollment_id = by_key[enrollee.key]
        assignments, _ = assignments_ensure(benefit=benefit,
                                            enrollments={enrollment_id: enrollee})
        rows.append(BenefitDisbursement(
            assignment_id=assignments[enrollment_id], enrollment_id=enrollment_id,
            benefit=benefit, program_id=benefit.program_id, person=person, account=account,
            case=case, recipient_type=(RecipientType.WALK_IN if enrollment_id in
                                       created_enrollments else RecipientType.ENROLLMENT),
            recipient_count=1, quantity=quantity, unit_id=benefit.unit_id, status=status,
            disbursed_on=disbursed_on, extra=extra, household_id=household_id,
            household_size=household_size))
    disbursements = BenefitDisbursement.objects.bulk_create(rows)
    audit_record(actor=actor, action="disbursement.create_ad_hoc",
                 object_type="participation.benefitdisbursement",
                 object_ids=[d.pk for d in disbursements],
                 after={"person_id": enrollee.person_id, "account_id": enrollee.account_id,
                        "case_id": getattr(case, "pk", None),
                        "lines": [{"benefit_id": b.pk, "quantity": str(q), "status": s.code}
                                  for b, q, s, _ in prepared]},
                 reason="; ".join(dict.fromkeys(
                     [o["reason"] for o in overrides.values()]
                     + ([limit_outcome.reason] if limit_outcome.reason else []))),
                 before=({"eligibility_overridden": overrides} if overrides else {})
                 | limit_outcome.audit() or None)
    return AdHocResult(disbursements=disbursements, warnings=result.warnings)


def _ad_hoc_limits(*, actor: User | None, prepared: Sequence[tuple[Benefit, Decimal, StatusValue,
                                                                    Any]],
                   enrollee: Enrollee, household_id: int | None, on: dt.date,
                   override_reason: str) -> LimitOutcome:
    """The service limits of an ad hoc call's delivered lines (two lines of one benefit count
    twice). No statement when no line's benefit has a limit."""
    limits = {b.pk: limit for b, _, s, _ in prepared
              if s.bucket == "delivered" and (limit := benefit_limit(b)) is not None}
    if not limits:
        return LimitOutcome()
    hits = limits_check(limits=limits, candidates=[
        LimitCandidate(benefit_id=b.pk, person_id=enrollee.person_id,
                       account_id=enrollee.account_id, household_id=household_id, on=on,
                       field=f"items.{i}.benefit_id")
        for i, (b, _, s, _) in enumerate(prepared) if s.bucket == "delivered"])
    return limits_enforce(actor=actor, hits=hits, override_reason=override_reason)


# --- bulk -----------------------------------------------------------------------------------


def _bulk_start(benefit: Benefit, quantity: Decimal, status_code: str | None, on: dt.date,
                extra: dict[str, Any] | None) -> tuple[BulkResult, Decimal, StatusValue,
                                                       dict[str, Any]]:
    _require_active_benefit(benefit)
    result = BulkResult()
    quantity = check_quantity(quantity)
    status = _status(status_code, "status")
    extra = _validated_extra_for(target="disbursement", values=extra,
                                 program_id=benefit.program_id, benefit_id=benefit.pk)
    _schedule_warning(benefit, result)
    return result, quantity, status, extra


def _merge(result: BulkResult, participation: ParticipationResult) -> None:
    result.warnings += participation.warnings


@transaction.atomic
def disbursements_bulk_walk_in(
    *, actor: User | None, benefit: Benefit, quantity: Decimal, disbursed_on: dt.date,
    person_ids: Sequence[int] = (), account_ids: Sequence[int] = (), status: str | None = None,
    extra: dict[str, Any] | None = None, add_to_upcoming_session: bool = False,
    override: EligibilityOverride | None = None, override_reason: str = "",
    over_limit: str = OverLimit.REFUSE,
) -> BulkResult:
    """The same benefit to many people or accounts who did not enroll in advance: what is
    missing (enrollment, assignment) is made, and every disbursement is a walk-in. Past the
    benefit's service limit: ``over_limit`` refuses the call or skips those people (listed in
    ``skipped``), unless a manager gives ``override_reason``."""
    benefit = Benefit.objects.select_related("program").get(pk=benefit.pk)
    result, quantity, status_value, extra = _bulk_start(benefit, quantity, status,
                                                        disbursed_on, extra)
    gate = _LimitGate(actor=actor, benefit=benefit, on=disbursed_on,
                      delivered=status_value.bucket == "delivered",
                      override_reason=override_reason, over_limit=over_limit,
                      field_name="person_ids")
    done = participants_enroll(actor=actor, benefit_id=benefit.pk, on=disbursed_on,
                               person_ids=person_ids, account_ids=account_ids,
                               override=override, limits_gate=gate)
    _merge(result, done.result)
    result.enrollments_created = len(done.created)
    enrollments, assignments = done.enrollments, done.assignments
    result.disbursements_created, result.disbursement_ids = _insert_ad_hoc(
        benefit=benefit, participants=[(assignments[eid], eid, e)
                                       for eid, e in enrollments.items()],
        quantity=quantity, status=status_value, disbursed_on=disbursed_on,
        recipient_type=RecipientType.WALK_IN, extra=extra, households=gate.households)
    gate.report(result)
    session = None
    if add_to_upcoming_session:
        session = (BenefitSession.objects.filter(benefit=benefit, local_date__gte=disbursed_on)
                   .exclude(status=SessionStatus.CANCELLED).order_by("start").first())
        if session is None:
            result.warn("no_upcoming_session", "The benefit has no upcoming session; nobody "
                                               "was added to one.")
        else:
            added = session_add_participants(
                actor=actor, session=session, enrollment_ids=list(enrollments),
                override=override)
            result.warn("added_to_session", (
                f"{added.disbursements_created} added to the session of "
                f"{session.local_date:%Y-%m-%d}."))
    audit_record(actor=actor, action="disbursement.bulk_walk_in", obj=benefit,
                 object_ids=result.disbursement_ids,
                 after={"quantity": str(quantity), "status": status_value.code,
                        "disbursed_on": disbursed_on.isoformat(),
                        "enrollments_created": sorted(done.created),
                        "session_id": getattr(session, "pk", None),
                        "skipped": result.skipped},
                 **_audit_kwargs(done, gate))
    return result


def anonymous_enrollment_ensure(*, program_id: int, on: dt.date) -> int:
    """The program's anonymous enrollment, made on demand (one per program; no personal data).
    With no per-record limits in our database, one enrollment serves any volume."""
    existing = ProgramEnrollment.objects.filter(program_id=program_id, is_anonymous=True,
                                                is_active=True)
    found = existing.values_list("id", flat=True).first()
    if found:
        return found
    enrollments_insert_many(enrollments=[NewEnrollment(
        program_id=program_id, person_id=None, account_id=None,
        status=active_enrollment_status(), start_date=on, is_anonymous=True)])
    return existing.values_list("id", flat=True).get()


@transaction.atomic
def disbursements_bulk_anonymous(
    *, actor: User | None, benefit: Benefit, quantity: Decimal, disbursed_on: dt.date,
    number_of_recipients: int, status: str | None = None, extra: dict[str, Any] | None = None,
) -> BulkResult:
    """"40 meals to 40 people on Wednesday night": one disbursement on the program's anonymous
    enrollment with ``recipient_count`` people. No personal data at all."""
    benefit = Benefit.objects.select_related("program").get(pk=benefit.pk)
    result, quantity, status_value, extra = _bulk_start(benefit, quantity, status,
                                                        disbursed_on, extra)
    if not isinstance(number_of_recipients, int) or number_of_recipients < 1:
        raise ValidationError.for_fields({"number_of_recipients": "At least 1."})
    had_enrollment = ProgramEnrollment.objects.filter(
        program_id=benefit.program_id, is_anonymous=True, is_active=True).exists()
    enrollment_id = anonymous_enrollment_ensure(program_id=benefit.program_id, on=disbursed_on)
    result.enrollments_created = 0 if had_enrollment else 1
    now = db_now()
    insert_rows(BenefitAssignment, ["benefit", "enrollment", "person", "account",
                                    "is_anonymous", "created_at", "updated_at"],
                [(benefit.pk, enrollment_id, None, None, True, now, now)],
                ignore_conflicts=True)
    assignment_id = BenefitAssignment.objects.get(benefit=benefit, enrollment_id=enrollment_id).pk
    disbursement = BenefitDisbursement.objects.create(
        assignment_id=assignment_id, enrollment_id=enrollment_id, benefit=benefit,
        program_id=benefit.program_id, recipient_type=RecipientType.ANONYMOUS,
        recipient_count=number_of_recipients, quantity=quantity, unit_id=benefit.unit_id,
        status=status_value, disbursed_on=disbursed_on, extra=extra)
    result.disbursements_created, result.disbursement_ids = 1, [disbursement.pk]
    audit_record(actor=actor, action="disbursement.bulk_anonymous", obj=disbursement,
                 after=snapshot(disbursement))
    return result


@transaction.atomic
def disbursements_bulk_enrollment(
    *, actor: User | None, benefit: Benefit, quantity: Decimal, disbursed_on: dt.date,
    enrollment_ids: Sequence[int], status: str | None = None,
    extra: dict[str, Any] | None = None, override: EligibilityOverride | None = None,
    override_reason: str = "", over_limit: str = OverLimit.REFUSE,
) -> BulkResult:
    """Benefits delivered outside sessions to enrollments picked from the program; the
    service limit as for ``disbursements_bulk_walk_in``."""
    benefit = Benefit.objects.select_related("program").get(pk=benefit.pk)
    result, quantity, status_value, extra = _bulk_start(benefit, quantity, status,
                                                        disbursed_on, extra)
    if not enrollment_ids:
        raise ValidationError.for_fields({"enrollment_ids": "Pick at least one enrollment."})
    gate = _LimitGate(actor=actor, benefit=benefit, on=disbursed_on,
                      delivered=status_value.bucket == "delivered",
                      override_reason=override_reason, over_limit=over_limit,
                      field_name="enrollment_ids")
    done = participants_enroll(actor=actor, benefit_id=benefit.pk, on=disbursed_on,
                               enrollment_ids=enrollment_ids, override=override,
                               limits_gate=gate)
    _merge(result, done.result)
    enrollments, assignments = done.enrollments, done.assignments
    result.disbursements_created, result.disbursement_ids = _insert_ad_hoc(
        benefit=benefit, participants=[(assignments[eid], eid, e)
                                       for eid, e in enrollments.items()],
        quantity=quantity, status=status_value, disbursed_on=disbursed_on,
        recipient_type=RecipientType.ENROLLMENT, extra=extra, households=gate.households)
    gate.report(result)
    audit_record(actor=actor, action="disbursement.bulk_enrollment", obj=benefit,
                 object_ids=result.disbursement_ids,
                 after={"quantity": str(quantity), "status": status_value.code,
                        "disbursed_on": disbursed_on.isoformat(),
                        "skipped": result.skipped},
                 **_audit_kwargs(done, gate))
    return result


# --- corrections ----------------------------------------------------------------------------


@transaction.atomic
def disbursement_update(*, actor: User | None, disbursement: BenefitDisbursement,
                        status: str | None = None, quantity: Decimal | None = None,
                        extra: dict[str, Any] | None = None, override_reason: str = ""
                        ) -> BenefitDisbursement:
    """Correct a disbursement. One becoming delivered is held to its benefit's service limit
    like a new one (``override_reason``: a manager going past it)."""
    try:
        disbursement = (BenefitDisbursement.objects.select_for_update()
                        .select_related("status", "benefit").get(pk=disbursement.pk))
    except BenefitDisbursement.DoesNotExist:
        raise NotFound() from None
    before = snapshot(disbursement)
    limit_outcome = LimitOutcome()
    if status is not None:
        new_status = _status(status, "status")
        if new_status.bucket == "delivered" and disbursement.status.bucket != "delivered":
            limit_outcome = _becoming_delivered_limit(actor=actor, disbursement=disbursement,
                                                      override_reason=override_reason)
        disbursement.status = new_status
    if quantity is not None:
        disbursement.quantity = check_quantity(quantity)
    if extra is not None:
        disbursement.extra = _validated_extra_for(
            target="disbursement", values={**disbursement.extra, **extra},
            program_id=disbursement.program_id, benefit_id=disbursement.benefit_id)
    disbursement.save(update_fields=["status", "quantity", "extra", "updated_at"])
    old, new = changes(before, snapshot(disbursement))
    audit_record(actor=actor, action="disbursement.update", obj=disbursement,
                 before={**old, **limit_outcome.audit()}, after=new, reason=limit_outcome.reason)
    return disbursement


def _becoming_delivered_limit(*, actor: User | None, disbursement: BenefitDisbursement,
                              override_reason: str) -> LimitOutcome:
    limit = benefit_limit(disbursement.benefit)
    if limit is None:
        return LimitOutcome()
    # The household as on its date, as for any row becoming delivered.
    disbursement_household_refresh(disbursement)
    hits = limits_check(limits={disbursement.benefit_id: limit}, candidates=[LimitCandidate(
        benefit_id=disbursement.benefit_id, person_id=disbursement.person_id,
        account_id=disbursement.account_id, household_id=disbursement.household_id,
        on=disbursement.disbursed_on, field="status")])
    return limits_enforce(actor=actor, hits=hits, override_reason=override_reason)


@transaction.atomic
def disbursement_delete(*, actor: User | None, disbursement: BenefitDisbursement,
                        reason: str = "") -> None:
    """Delete a disbursement (a manager's correction). The audit event keeps what it was."""
    audit_record(actor=actor, action="disbursement.delete", obj=disbursement,
                 before=snapshot(disbursement), reason=reason)
    disbursement.delete()

