"""Attendance sheets, check-in and kiosk registration."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from programdesk.core.audit import audit_record
from programdesk.core.bulk import (
    db_date,
    db_datetime,
    db_now,
    ids_sql,
    update_rows,
)
from programdesk.core.errors import Conflict, NotFound, ValidationError
from programdesk.core.models import StatusKind, StatusValue, User
from programdesk.core.selectors import status_first_in_bucket
from programdesk.participation.models import (
    BenefitDisbursement,
    ProgramEnrollment,
    RecipientType,
)
from programdesk.participation.services.limits import (
    LimitCandidate,
    LimitOutcome,
    limits_check,
    limits_enforce,
)
from programdesk.participation.services.rosters import (
    session_add_participants,
)
from programdesk.participation.services.writers import (
    EligibilityOverride,
    _today,
    disbursement_household_refresh,
    disbursements_household_refresh,
)
from programdesk.people.models import Account, Person
from programdesk.people.selectors import card_find, people_visible
from programdesk.programs.limits import ServiceLimit, benefit_limit, limit_from_columns
from programdesk.programs.models import UnitOfMeasure
from programdesk.scheduling.models import BenefitSession, SessionStatus
from programdesk.scheduling.services import session_complete

ENROLLMENT = StatusKind.ENROLLMENT
DISBURSEMENT = StatusKind.DISBURSEMENT
# A quantity as the ORM reads it (quantity_field: 2 decimal places), for the audit event.
QUANTITY_STEP = Decimal("0.01")


# --- attendance and check-in ----------------------------------------------------------------


class AttendanceMark(NamedTuple):
    """One row of a sheet. A named tuple, not a dataclass: a sheet's caller makes one per row
    each time it is saved, and a frozen dataclass cost twice as much to make (S4)."""

    disbursement_id: int
    status: str  # a disbursement status code
    quantity: Decimal | None = None


@dataclass(frozen=True)
class _Sheet:
    status: str
    late: bool
    # {disbursement id: (status id, quantity or None, whether its household snapshot needs
    # taking again when it becomes delivered: true or false as the database gives it)}
    current: dict[int, tuple[int, Decimal | None, Any]]
    limit: ServiceLimit | None
    # the disbursement statuses: {code: (id, is_active)}, and the delivered bucket's ids
    statuses: dict[str, tuple[int, bool]]
    delivered_ids: set[int]


# Whether a row's household snapshot can differ from "none": it names an account or a
# household already, or its person was in a household on its day. A row where none of these
# holds is, and stays, in no household — most of a class's rows — and needs no snapshot read.
_MAY_HAVE_HOUSEHOLD = """(d.account_id IS NOT NULL OR d.household_id IS NOT NULL
 OR EXISTS (SELECT 1 FROM people_householdmembership m
            WHERE m.person_id = d.person_id AND m.start_date <= d.disbursed_on
              AND (m.end_date IS NULL OR m.end_date >= d.disbursed_on)))"""


def _sheet_read(*, session_id: int, with_quantity: bool) -> _Sheet | None:
    """The session's status, whether its day is past (late entry), its rows and its
    benefit's service limit — one statement, which also locks the session row until the sheet
    is saved (PostgreSQL; SQLite's write transaction already holds the database). None when
    there is no such session. Quantities are read only when a mark changes some: most sheets
    only set statuses.

    The rows come as one JSON array (one result row, not one per disbursement with the
    session's columns repeated on each): on SQLite a 200-row sheet's read cost a third less."""
    lock = " FOR UPDATE OF s" if connection.features.has_select_for_update_of else ""
    quantity = "d.quantity" if with_quantity else "NULL"
    if connection.vendor == "postgresql":
        agg, array = "json_agg", "json_build_array"
    else:
        agg, array = "json_group_array", "json_array"
    sql = ("SELECT s.status, s.local_date < %s, b.limit_max, b.limit_per, b.limit_days,"  # noqa: S608
           f" b.limit_scope, (SELECT {agg}({array}(d.id, d.status_id, {quantity},"
           f" {_MAY_HAVE_HOUSEHOLD})) FROM participation_benefitdisbursement d"
           " WHERE d.session_id = s.id),"
           f" (SELECT {agg}({array}(v.code, v.id, v.is_active, v.bucket))"
           " FROM core_statusvalue v WHERE v.kind = %s)"
           " FROM scheduling_benefitsession s"
           " JOIN programs_benefit b ON b.id = s.benefit_id WHERE s.id = %s" + lock)
    with connection.cursor() as cursor:
        cursor.execute(sql, [db_date(_today()), DISBURSEMENT.value, session_id])
        found = cursor.fetchone()
    if found is None:
        return None
    rows, statuses = (
        # SQLite's JSON is text; psycopg reads json as Python values, and json_agg of no rows
        # as NULL
        (json.loads(value) if isinstance(value, str) else value or []) for value in found[6:8])
    # (id, status id, quantity, household flag) each; indexing, not unpacking: this runs once
    # per row of every sheet saved.
    if with_quantity:
        current = {r[0]: (r[1], None if r[2] is None
                          else Decimal(str(r[2])).quantize(QUANTITY_STEP), r[3])
                   for r in rows}
    else:
        current = {r[0]: (r[1], None, r[3]) for r in rows}
    return _Sheet(status=found[0], late=bool(found[1]), current=current,
                  limit=limit_from_columns(*found[2:6]),
                  statuses={code: (pk, bool(active)) for code, pk, active, _ in statuses},
                  delivered_ids={pk for _, pk, _, bucket in statuses if bucket == "delivered"})


def _mark_errors(*, index: int, mark: AttendanceMark, statuses: dict[str, tuple[int, bool]],
                 on_sheet: Mapping[int, Any]) -> dict[str, str]:
    """What is wrong with one mark: a status unknown or retired, a quantity below zero, a row
    not on this sheet."""
    errors: dict[str, str] = {}
    value = statuses.get(mark.status)
    if value is None:
        errors[f"records.{index}.status"] = (
            f"Unknown status '{mark.status}'. Use one of: "
            f"{', '.join(c for c, (_, active) in statuses.items() if active)}.")
    elif not value[1]:
        errors[f"records.{index}.status"] = f"The status '{mark.status}' is retired."
    if mark.quantity is not None and mark.quantity < 0:
        errors[f"records.{index}.quantity"] = "Must not be negative."
    if mark.disbursement_id not in on_sheet:
        errors[f"records.{index}.disbursement_id"] = (
            f"Disbursement {mark.disbursement_id} is not on this session.")
    return errors


@dataclass
class _SheetChanges:
    to_status: dict[int, list[int]]  # {new status id: [disbursement ids]}
    ids: list[int]  # every row changing
    quantities: list[tuple[Decimal, int]]  # (new quantity, disbursement id)
    becoming_delivered: list[int]
    in_households: list[int]  # of those, the rows that may be in a household
    before: dict[str, Any]  # the audit event's: {"status": {code: [ids]}, "quantity": {..}}
    after: dict[str, Any]


def _sheet_changes(*, marks: Sequence[AttendanceMark], sheet: _Sheet) -> _SheetChanges:
    """One pass over the marks (a sheet is saved many times an hour): each checked — every
    mark names an active status, a quantity not below zero and a row of this sheet, each row
    once, else a ValidationError naming each bad mark — and the changed rows grouped by their
    new status, which is both what the UPDATE needs and what the audit event shows."""
    current, statuses, delivered_ids = sheet.current, sheet.statuses, sheet.delivered_ids
    codes = {pk: code for code, (pk, _) in statuses.items()}
    active = {code: pk for code, (pk, is_active) in statuses.items() if is_active}
    errors: dict[str, str] = {}
    seen: set[int] = set()
    changes = _SheetChanges(to_status={}, ids=[], quantities=[], becoming_delivered=[],
                            in_households=[], before={"status": {}, "quantity": {}},
                            after={"status": {}, "quantity": {}})
    to_status, before_status = changes.to_status, changes.before["status"]
    becoming, in_households = changes.becoming_delivered, changes.in_households
    for index, mark in enumerate(marks):
        pk = mark.disbursement_id
        seen.add(pk)
        row = current.get(pk)
        new_status = active.get(mark.status)
        if (row is None or new_status is None
                or (mark.quantity is not None and mark.quantity < 0)):
            errors.update(_mark_errors(index=index, mark=mark, statuses=statuses,
                                       on_sheet=current))
            continue
        if errors:
            continue  # nothing will be written: only the rest of the marks are checked
        status_id, quantity, may_have_household = row
        if mark.quantity is not None and mark.quantity != quantity:
            changes.quantities.append((mark.quantity, pk))
            changes.before["quantity"][pk] = str(quantity)
            changes.after["quantity"][pk] = str(mark.quantity)
        elif new_status == status_id:
            continue
        if new_status in delivered_ids and status_id not in delivered_ids:
            becoming.append(pk)
            if may_have_household:
                in_households.append(pk)
        before_status.setdefault(codes[status_id], []).append(pk)
        to_status.setdefault(new_status, []).append(pk)
    if len(seen) != len(marks):
        errors["records"] = "Each disbursement may appear only once."
    if errors:
        raise ValidationError.for_fields(errors)
    changes.after["status"] = {codes[status_id]: ids for status_id, ids in to_status.items()}
    changes.ids = [pk for ids in to_status.values() for pk in ids]
    return changes


@transaction.atomic
def attendance_record(*, actor: User | None, session: BenefitSession,
                      marks: Sequence[AttendanceMark], complete_session: bool = False,
                      override_reason: str = "") -> int:
    """Save a whole attendance sheet in one go. Returns how many disbursements changed.

    Late entry (a past session) is allowed and recorded as such in the audit log. Rows
    becoming delivered are held to the benefit's service limit: past it the whole sheet is
    refused (``ServiceLimitExceeded`` naming each mark), unless a manager gives
    ``override_reason``. A benefit without a limit costs no statement more.
    """
    # Plain values in two reads, not model instances or ORM queries: a sheet is saved many
    # times an hour, and for a 200-row sheet building them cost more than the write itself.
    with_quantity = any(m.quantity is not None for m in marks)
    found = _sheet_read(session_id=session.pk, with_quantity=with_quantity)
    if found is None:
        raise NotFound()
    status, late = found.status, found.late
    # Completing a cancelled session would restore it, which is a manager's (session_update).
    if status == SessionStatus.CANCELLED and (marks or complete_session):
        raise Conflict("This session is cancelled; its attendance cannot be recorded.")
    changes = _sheet_changes(marks=marks, sheet=found)
    changed = _sheet_write(to_status=changes.to_status, ids=changes.ids,
                           quantities=changes.quantities)
    # Rows written weeks ahead count the household as it is on the session's day. The rest
    # of the rows becoming delivered are in no household, as they were written.
    snapshots = disbursements_household_refresh(disbursement_ids=changes.in_households)
    limit_outcome = LimitOutcome()
    if found.limit is not None and changes.becoming_delivered:
        limit_outcome = _sheet_limits(actor=actor, limit=found.limit, marks=marks,
                                      becoming_delivered=changes.becoming_delivered,
                                      snapshots=snapshots, override_reason=override_reason)
    if complete_session and status != SessionStatus.COMPLETED:
        session_complete(session=session)
    audit_record(actor=actor, action="attendance.record_late" if late else "attendance.record",
                 obj=session, object_ids=changes.ids,
                 before={**changes.before, **limit_outcome.audit()},
                 after={**changes.after, "complete_session": complete_session},
                 reason=limit_outcome.reason)
    return changed


def _sheet_write(*, to_status: Mapping[int, list[int]], ids: list[int],
                 quantities: list[tuple[Decimal, int]]) -> int:
    """Write a sheet's changed rows (``ids``; ``to_status``: {new status id: [ids]}) and
    return how many: one UPDATE for all of them, the status chosen per row by a ``CASE`` over
    the id lists of each status (a sheet uses two or three), not a statement per row; then
    the rows whose quantity changes ((new quantity, id) each), which most sheets have none
    of, in one executemany. On SQLite a 200-row sheet's executemany cost twice the set-based
    UPDATE."""
    if not ids:
        return 0
    *cases, (last_status, _) = to_status.items()
    sql, params = "", []
    for status_id, status_ids in cases:
        ids_in, ids_params = ids_sql(status_ids)
        sql += f" WHEN id IN {ids_in} THEN %s"
        params += [*ids_params, status_id]
    every_sql, every_params = ids_sql(ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {BenefitDisbursement._meta.db_table} SET status_id = "  # noqa: S608
            + (f"CASE{sql} ELSE %s END" if cases else "%s")
            + f", updated_at = %s WHERE id IN {every_sql}",
            [*params, last_status, db_now(), *every_params])
        changed = max(cursor.rowcount, 0)
    if quantities:
        update_rows(BenefitDisbursement, ["quantity"], quantities)
    return changed


def _sheet_limits(*, actor: User | None, limit: ServiceLimit, marks: Sequence[AttendanceMark],
                  becoming_delivered: list[int],
                  snapshots: Mapping[int, tuple[int | None, int | None]],
                  override_reason: str) -> LimitOutcome:
    """The service limit of a sheet's rows becoming delivered (already updated, so they are
    left out of what was served before): one read of whose rows they are, then the check."""
    position = {m.disbursement_id: i for i, m in enumerate(marks)}
    rows = (BenefitDisbursement.objects.filter(pk__in=becoming_delivered)
            .values_list("pk", "benefit_id", "person_id", "account_id", "disbursed_on"))
    # Rows not in ``snapshots`` are in no household (attendance_record).
    candidates = [LimitCandidate(benefit_id=benefit_id, person_id=person_id,
                                 account_id=account_id,
                                 household_id=snapshots.get(pk, (None, None))[0],
                                 on=day, field=f"records.{position[pk]}.status")
                  for pk, benefit_id, person_id, account_id, day in rows.order_by()]
    candidates.sort(key=lambda c: c.field)  # the sheet's order: the later marks are refused
    hits = limits_check(limits={candidates[0].benefit_id: limit}, candidates=candidates,
                        exclude_ids=becoming_delivered)
    return limits_enforce(actor=actor, hits=hits, override_reason=override_reason)


# A check-in's row, read (and locked) in one statement with what the answer shows — its unit —
# its benefit's service limit, the delivered default it becomes (`completed`: the first
# active status of the delivered bucket) and whether the person was in a household on the
# row's day (`in_household`: most are in none, and then their snapshot needs no other read).
# Plain SQL: this is the kiosk's hot path, and building the same query with the ORM cost more
# than running it.
_CHECK_IN_ROW = """
SELECT d.*, current.code AS current_code, current.bucket AS current_bucket,
       u.code AS unit_code, u.name AS unit_name,
       v.id AS delivered_id, v.code AS delivered_code, v.label AS delivered_label,
       v.is_default AS delivered_is_default, v."order" AS delivered_order,
       b.limit_max AS b_limit_max, b.limit_per AS b_limit_per, b.limit_days AS b_limit_days,
       b.limit_scope AS b_limit_scope,
       EXISTS (SELECT 1 FROM people_householdmembership m
               WHERE m.person_id = d.person_id AND m.start_date <= d.disbursed_on
               AND (m.end_date IS NULL OR m.end_date >= d.disbursed_on)) AS in_household
FROM participation_benefitdisbursement d
JOIN core_statusvalue current ON current.id = d.status_id
JOIN programs_unitofmeasure u ON u.id = d.unit_id
JOIN programs_benefit b ON b.id = d.benefit_id
LEFT JOIN (SELECT id, code, label, is_default, "order" FROM core_statusvalue
           WHERE kind = %s AND bucket = 'delivered' AND is_active
           ORDER BY "order", id LIMIT 1) v ON 1 = 1
WHERE d.session_id = %s AND d.person_id = %s
ORDER BY d.id LIMIT 1"""


def _check_in_row(*, session_id: int, person_id: int) -> BenefitDisbursement | None:
    lock = " FOR UPDATE OF d" if connection.features.has_select_for_update_of else ""
    found = list(BenefitDisbursement.objects.raw(
        _CHECK_IN_ROW + lock, [DISBURSEMENT.value, session_id, person_id]))
    if not found:
        return None
    row: Any = found[0]
    row.unit = UnitOfMeasure(id=row.unit_id, code=row.unit_code, name=row.unit_name)
    return found[0]


@transaction.atomic
def check_in(*, actor: User | None, session: BenefitSession, person_id: int,
             override_reason: str = "") -> BenefitDisbursement:
    """A person checks in to a session: their disbursement becomes the delivered default
    (`completed`); someone not on it is added as a walk-in, completed. Twice is once. Past the
    benefit's service limit it is refused (``ServiceLimitExceeded``; a kiosk is only told to
    see a staff member) unless a manager gives ``override_reason``.

    On the roster — nearly every check-in — it is three statements: the row (locked, with the
    delivered default, the benefit's limit and whether the person is in a household read
    alongside), the UPDATE of its status, the audit event. Someone in a household adds the
    snapshot's three reads; a limit adds the count (and the lock, on PostgreSQL)."""
    on_session = BenefitDisbursement.objects.filter(session=session, person_id=person_id)
    existing = _check_in_row(session_id=session.pk, person_id=person_id)
    if existing is None:
        delivered = status_first_in_bucket(DISBURSEMENT, "delivered")
        # Someone the user may not see is "unknown", exactly like an id nobody has (the
        # enrollment below would refuse them too, but naming another field).
        people = people_visible(actor) if actor is not None else Person.objects.all()
        if not people.filter(pk=person_id).exists():
            raise ValidationError.for_fields({"person_id": f"Unknown person {person_id}."})
        session_add_participants(actor=actor, session=session, person_ids=[person_id],
                                 status=delivered, recipient_type=RecipientType.WALK_IN)
        disbursement = on_session.select_related("status", "unit", "benefit").get()
        outcome = _check_in_limit(actor=actor, disbursement=disbursement,
                                  limit=benefit_limit(disbursement.benefit),
                                  override_reason=override_reason, written=True)
        audit_record(actor=actor, action="session.check_in", obj=disbursement,
                     after={"status": delivered.code, "walk_in": True},
                     before=outcome.audit() or None, reason=outcome.reason)
        return disbursement
    read: Any = existing  # with the raw query's extra columns
    if read.delivered_id is None:
        status_first_in_bucket(DISBURSEMENT, "delivered")  # says none is configured (409)
    delivered = StatusValue(id=read.delivered_id, kind=DISBURSEMENT, code=read.delivered_code,
                            label=read.delivered_label, bucket="delivered",
                            is_default=bool(read.delivered_is_default), is_active=True,
                            order=read.delivered_order)
    before = read.current_code
    changes = existing.status_id != delivered.pk
    if changes:
        outcome = LimitOutcome()
        if read.current_bucket != "delivered":
            # Written weeks ahead: the household as it is on the session's day (taken before
            # the limit counts it). Someone in no household then, recorded in none, keeps
            # (None, None) — ``HouseholdSnapshots.of`` for a person without a membership —
            # without the snapshot's reads.
            if read.in_household or existing.household_id is not None \
                    or existing.household_size is not None:
                disbursement_household_refresh(existing)
            outcome = _check_in_limit(
                actor=actor, disbursement=existing, override_reason=override_reason,
                limit=limit_from_columns(read.b_limit_max, read.b_limit_per, read.b_limit_days,
                                         read.b_limit_scope), written=False)
        existing.updated_at = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute("UPDATE participation_benefitdisbursement SET status_id = %s, "
                           "updated_at = %s WHERE id = %s",
                           [delivered.pk, db_datetime(existing.updated_at), existing.pk])
        audit_record(actor=actor, action="session.check_in", obj=existing,
                     before={"status": before, **outcome.audit()},
                     after={"status": delivered.code}, reason=outcome.reason)
    existing.status = delivered
    return existing


@dataclass(frozen=True)
class CardCheckIn:
    """What a scanned card did: checked someone in (``disbursement``), or — a household's card
    with several members who may be checking in — nothing yet, and ``choices`` to pick from
    (person id and what a kiosk may show: first name and last initial)."""

    disbursement: BenefitDisbursement | None = None
    choices: tuple[dict[str, Any], ...] = ()


def _household_candidates(*, actor: User | None, session: BenefitSession, account: Account
                          ) -> list[Person]:
    """The household's current members (those ``actor`` may see) who are on the session's
    sheet or actively enrolled in its program: who a household card may be checking in."""
    members = (people_visible(actor) if actor is not None else Person.objects.all()).filter(
        account_id=account.pk)
    on_sheet = BenefitDisbursement.objects.filter(session=session, person_id__isnull=False,
                                                  person__in=members).values("person_id")
    enrolled = ProgramEnrollment.objects.filter(
        program_id=session.benefit.program_id, is_active=True, person_id__isnull=False,
        person__in=members).values("person_id")
    return list(members.filter(Q(pk__in=on_sheet) | Q(pk__in=enrolled))
                .order_by("first_name", "last_name", "id"))


def _household_row_check_in(*, actor: User | None, session: BenefitSession,
                            account: Account) -> BenefitDisbursement | None:
    """The session's row for the household itself (an account enrollment), checked in — the
    delivered default, as a person's check-in — or None when it has none."""
    row = BenefitDisbursement.objects.filter(session=session, account=account,
                                             person__isnull=True).first()
    if row is None:
        return None
    delivered = status_first_in_bucket(DISBURSEMENT, "delivered")
    attendance_record(actor=actor, session=session,
                      marks=[AttendanceMark(disbursement_id=row.pk, status=delivered.code)])
    return BenefitDisbursement.objects.select_related("status", "unit", "person").get(pk=row.pk)


@transaction.atomic
def check_in_card(*, actor: User | None, session: BenefitSession, code: str,
                  person_id: int | None = None) -> CardCheckIn:
    """Check in whoever a scanned card names. A person's card checks that person in
    (``check_in``: a walk-in when not on the sheet). A household's card checks in the
    household's own row when the session has one; else the member ``person_id`` when given
    (one of the household's members on the sheet or enrolled in the program), else the only
    such member, else nothing yet: the answer's ``choices`` say whom to pick from. A code
    nobody (visible) has is a ValidationError on ``code``; a revoked code a Conflict
    (``card_revoked``): the card was replaced and the old one no longer works."""
    found = card_find(user=actor, code=code)
    if found is None:
        raise ValidationError.for_fields({"code": "No card has this code."})
    if found.revoked:
        raise Conflict("This card was replaced and no longer works. Please ask a staff member "
                       "for the new card.", type="card_revoked")
    if found.person is not None:
        return CardCheckIn(disbursement=check_in(actor=actor, session=session,
                                                 person_id=found.person.pk))
    account = found.account
    assert account is not None  # card_find names a person or an account
    row = _household_row_check_in(actor=actor, session=session, account=account)
    if row is not None:
        return CardCheckIn(disbursement=row)
    candidates = _household_candidates(actor=actor, session=session, account=account)
    if person_id is not None:
        if person_id not in {p.pk for p in candidates}:
            raise ValidationError.for_fields({"person_id": (
                "This person is not a member of the card's household on this session's list.")})
        return CardCheckIn(disbursement=check_in(actor=actor, session=session,
                                                 person_id=person_id))
    if not candidates:
        raise Conflict("No one in this household is on this session's list or enrolled in its "
                       "program. Please ask a staff member.", type="card_no_member")
    if len(candidates) == 1:
        return CardCheckIn(disbursement=check_in(actor=actor, session=session,
                                                 person_id=candidates[0].pk))
    return CardCheckIn(choices=tuple({"person_id": p.pk, "display_name": p.kiosk_name}
                                     for p in candidates))


def _check_in_limit(*, actor: User | None, disbursement: BenefitDisbursement,
                    limit: ServiceLimit | None, override_reason: str, written: bool
                    ) -> LimitOutcome:
    """A check-in against its benefit's service limit; ``written``: the row is delivered
    already (a walk-in's, just added), so it is not one of the earlier deliveries."""
    if limit is None:
        return LimitOutcome()
    d = disbursement
    hits = limits_check(limits={d.benefit_id: limit}, candidates=[LimitCandidate(
        benefit_id=d.benefit_id, person_id=d.person_id, account_id=d.account_id,
        household_id=d.household_id, on=d.disbursed_on, field="person_id")],
        exclude_ids=[d.pk] if written else ())
    return limits_enforce(actor=actor, hits=hits, override_reason=override_reason)


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
