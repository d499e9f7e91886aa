"""Attendance sheets, check-in and kiosk registration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from programdesk.core.audit import audit_record
from programdesk.core.bulk import (
    db_now,
    update_rows,
)
from programdesk.core.errors import Conflict, ValidationError
from programdesk.core.models import StatusKind, StatusValue, User
from programdesk.core.selectors import status_first_in_bucket
from programdesk.participation.models import (
    BenefitDisbursement,
    RecipientType,
)
from programdesk.participation.services.rosters import (
    session_add_participants,
)
from programdesk.participation.services.writers import (
    EligibilityOverride,
    _today,
    disbursements_household_refresh,
)
from programdesk.people.models import Person
from programdesk.people.selectors import people_visible
from programdesk.scheduling.models import BenefitSession, SessionStatus
from programdesk.scheduling.services import session_complete

ENROLLMENT = StatusKind.ENROLLMENT
DISBURSEMENT = StatusKind.DISBURSEMENT


# --- attendance and check-in ----------------------------------------------------------------


@dataclass(frozen=True)
class AttendanceMark:
    disbursement_id: int
    status: str  # a disbursement status code
    quantity: Decimal | None = None


def _marks_errors(marks: Sequence[AttendanceMark], statuses: dict[str, tuple[int, bool]]
                  ) -> dict[str, str]:
    """Each mark's status known and not retired, its quantity not negative."""
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
    return errors


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
    values = StatusValue.objects.filter(kind=DISBURSEMENT).values_list("pk", "code", "is_active",
                                                                        "bucket")
    statuses = {code: (pk, active) for pk, code, active, _ in values}
    delivered_ids = {pk for pk, _, _, bucket in values if bucket == "delivered"}
    errors = _marks_errors(marks, statuses)
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
    becoming_delivered: list[int] = []
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
        if new_status in delivered_ids and status_id not in delivered_ids:
            becoming_delivered.append(mark.disbursement_id)
        before["status"].setdefault(codes[status_id], []).append(mark.disbursement_id)
        after["status"].setdefault(mark.status, []).append(mark.disbursement_id)
        if quantity_changes:
            before["quantity"][mark.disbursement_id] = str(quantity)
            after["quantity"][mark.disbursement_id] = str(mark.quantity)
    # COALESCE keeps the quantity of rows whose mark gave none.
    changed = update_rows(BenefitDisbursement, ["status", "quantity", "updated_at"], rows,
                          keep_if_null={"quantity"})
    disbursements_household_refresh(disbursement_ids=becoming_delivered)
    if complete_session and status != SessionStatus.COMPLETED:
        session_complete(session=session)
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
        before, before_bucket = existing.status.code, existing.status.bucket
        existing.status = delivered
        existing.save(update_fields=["status", "updated_at"])
        if existing.status.bucket != before_bucket:
            disbursements_household_refresh(disbursement_ids=[existing.pk])
            existing.refresh_from_db(fields=["household", "household_size"])
        audit_record(actor=actor, action="session.check_in", obj=existing,
                     before={"status": before}, after={"status": delivered.code})
    return existing


@transaction.atomic
def kiosk_register(*, actor: User | None, session: BenefitSession, first_name: str,
                   last_name: str, postal_code: str = "", extra: dict[str, Any] | None = None,
                   new_person_confirmed: bool = False) -> Person:
    """Someone unknown registers at the kiosk with the few fields the program needs and is
    checked in as a walk-in, in one step. When someone with that name (and no other postal
    code) is registered already, nothing is written and a Conflict (`possible_duplicate`)
    carries the likely matches — only what the kiosk may show — so the kiosk asks "is this
    you?"; ``new_person_confirmed`` is the answer "no, I'm new"."""
    from programdesk.participation.selectors import kiosk_likely_matches
    from programdesk.people.services import person_create

    if not new_person_confirmed:
        matches = kiosk_likely_matches(first_name=first_name, last_name=last_name,
                                       postal_code=postal_code, user=actor)
        if matches:
            raise Conflict("Someone with this name is registered already.",
                           type="possible_duplicate", matches=matches)
    person = person_create(actor=actor, first_name=first_name, last_name=last_name,
                           postal_code=postal_code, extra=extra)
    check_in(actor=actor, session=session, person_id=person.pk)
    return person


@transaction.atomic
def session_add_new_person(*, actor: User | None, session: BenefitSession, first_name: str,
                           last_name: str, postal_code: str = "",
                           override: EligibilityOverride | None = None) -> Person:
    """Create a person with the few fields a front desk asks (the attendance sheet's quick add)
    and add them to this session only, as a walk-in, not checked in: the sheet records their
    attendance with the others. One transaction: when the session refuses them (cancelled, an
    eligibility rule that blocks) the person is not created either, so trying again never
    leaves a stray record. Looking for duplicates is the door's job
    (``people.selectors.people_find_duplicates``), before it calls this."""
    from programdesk.people.services import person_create

    person = person_create(actor=actor, first_name=first_name, last_name=last_name,
                           postal_code=postal_code)
    session_add_participants(actor=actor, session=session, person_ids=[person.pk],
                             override=override)
    return person
