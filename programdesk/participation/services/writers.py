"""Participation's building blocks and public bulk writers: resolve who takes part, ensure their
enrollments and assignments, insert session disbursements. They run inside the calling service's
transaction and skip rows a unique constraint says exist, so repeating a call creates nothing.
Other areas (scheduling, imports) write participation's tables only through these."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import Case as CaseWhen
from django.db.models import IntegerField, Value, When
from django.utils import timezone

from programdesk.core.audit import audit_record
from programdesk.core.bulk import (
    DbDates,
    db_date,
    db_datetime,
    db_json,
    db_now,
    id_values,
    ids_sql,
    insert_rows,
    insert_rows_batched,
    update_rows,
)
from programdesk.core.errors import Conflict, NotAllowed, ValidationError
from programdesk.core.models import Bucket, StatusKind, StatusValue, User
from programdesk.core.roles import Cap
from programdesk.core.selectors import status_default, status_first_in_bucket
from programdesk.participation.models import (
    BenefitAssignment,
    BenefitDisbursement,
    ProgramEnrollment,
    RecipientType,
    ScheduleAssignment,
)
from programdesk.people.models import Account, Person
from programdesk.people.selectors import (
    accounts_visible,
    household_snapshot_sql,
    household_snapshots,
    people_visible,
)
from programdesk.programs.eligibility import eligibility_check_many
from programdesk.programs.models import Benefit, Program
from programdesk.scheduling.models import BenefitSchedule, BenefitSession

ENROLLMENT = StatusKind.ENROLLMENT
DISBURSEMENT = StatusKind.DISBURSEMENT


@dataclass
class ParticipationResult:
    enrollments_created: int = 0
    assignments_created: int = 0
    disbursements_created: int = 0
    warnings: list[dict[str, str]] = field(default_factory=list)
    # People left out because failed `block` rules and nobody overrode them (``skip`` mode):
    # {"person_id", "name", "reasons"}, so a page can name them and offer the override.
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def warn(self, code: str, message: str) -> None:
        self.warnings.append({"code": code, "message": message})


class OnIneligible:
    """What adding many people does with those failed `block` rules refuse (no override)."""

    REFUSE = "refuse"  # the whole request is refused (409 eligibility_blocked); nothing written
    SKIP = "skip"  # the others are added; those refused are listed in ``result.skipped``
    CHOICES = (REFUSE, SKIP)


# Who an Enrollee is, whatever enrollment named them: (person id, None) or (None, account id).
EnrolleeKey = tuple[int | None, int | None]


@dataclass(frozen=True)
class Enrollee:
    """Who takes part: a person or an account, with their enrollment when one was named."""

    person_id: int | None
    account_id: int | None
    enrollment_id: int | None = None

    @property
    def key(self) -> EnrolleeKey:
        """(person id, None) or (None, account id): the same participant named twice."""
        return (self.person_id, None) if self.person_id else (None, self.account_id)


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

    seen: dict[EnrolleeKey, Enrollee] = {}
    for i in dict.fromkeys(enrollment_ids):
        _, _, person_id, account_id, _, _ = enrollments[i]
        enrollee = Enrollee(person_id=person_id, account_id=account_id, enrollment_id=i)
        seen.setdefault(enrollee.key, enrollee)
    for pid in dict.fromkeys(person_ids):
        seen.setdefault((pid, None), Enrollee(person_id=pid, account_id=None))
    for aid in dict.fromkeys(account_ids):
        seen.setdefault((None, aid), Enrollee(person_id=None, account_id=aid))
    return list(seen.values())


def active_enrollment_status() -> StatusValue:
    """The status of enrollments made because someone takes part (adding a participant, an
    anonymous disbursement, an imported disbursement): the default enrollment status when it
    is in the active bucket, else the first active-bucket status."""
    default = status_default(ENROLLMENT)
    if default.bucket == "active":
        return default
    return status_first_in_bucket(ENROLLMENT, "active")


def enrollments_ensure(*, program: Program, enrollees: Sequence[Enrollee], on: dt.date
                       ) -> tuple[dict[EnrolleeKey, int], set[int]]:
    """The active enrollment of each enrollee in ``program``, created where missing.

    Returns ({enrollee key: enrollment id}, ids created by this call).
    """
    by_key: dict[EnrolleeKey, int] = {e.key: e.enrollment_id for e in enrollees
                                      if e.enrollment_id}
    wanted = [e for e in enrollees if e.key not in by_key]
    created: set[int] = set()
    if not wanted:
        return by_key, created
    # Insert every one still without an enrollment here, then read them all back once: the
    # unique constraints skip whoever has an active enrollment already, and this call's rows
    # are those stamped with its ``now`` (one read of the enrollments, not one before and one
    # after the insert).
    status = active_enrollment_status()
    stamp = timezone.now()
    program_id = program.pk  # hoisted: ``.pk`` is a property, and this runs once per row
    enrollments_insert_many(now=stamp, enrollments=[
        NewEnrollment(program_id=program_id, person_id=e.person_id, account_id=e.account_id,
                      status=status, start_date=on)
        for e in wanted])
    active = ProgramEnrollment.objects.filter(program=program, is_active=True)
    # 1 or 0, an integer: a boolean column would be converted row by row (10,000 rows).
    is_new = CaseWhen(When(created_at=stamp, then=Value(1)), default=Value(0),
                  output_field=IntegerField())
    for column, ids in [("person_id", [e.person_id for e in wanted if e.person_id]),
                        ("account_id", [e.account_id for e in wanted if e.account_id])]:
        if not ids:
            continue
        for eid, key, new in (active.filter(**{f"{column}__in": id_values(ids)})
                              .values_list("id", column, is_new)):
            by_key[(key, None) if column == "person_id" else (None, key)] = eid
            if new:
                created.add(eid)
    return by_key, created


def assignments_ensure(*, benefit: Benefit, enrollments: dict[int, Enrollee]
                       ) -> tuple[dict[int, int], int]:
    """The assignment of ``benefit`` for each enrollment id, created where missing (an
    ``Enrollee`` with neither person nor account: the anonymous enrollment's assignment).

    Returns ({enrollment id: assignment id}, number created).
    """
    now = db_now()
    # An enrollee with neither person nor account is the program's anonymous enrollment.
    benefit_id = benefit.pk  # hoisted out of the per-row loop
    rows = [(benefit_id, eid, e.person_id, e.account_id,
             e.person_id is None and e.account_id is None, now, now)
            for eid, e in enrollments.items()]
    created = insert_rows_batched(BenefitAssignment,
                                  ["benefit", "enrollment", "person", "account",
                                   "is_anonymous", "created_at", "updated_at"], rows,
                                  ignore_conflicts=True)
    mapping: dict[int, int] = {}
    if enrollments:
        mapping.update(BenefitAssignment.objects.filter(
            enrollment_id__in=id_values(enrollments), benefit=benefit)
                       .values_list("enrollment_id", "id"))
    return mapping, created


@dataclass(frozen=True, slots=True)
class NewEnrollment:
    """An enrollment to insert: its program, who (a person, an account, or nobody with
    ``is_anonymous``), status, dates and custom fields (already validated)."""

    program_id: int
    person_id: int | None
    account_id: int | None
    status: StatusValue
    start_date: dt.date | None
    application_date: dt.date | None = None
    end_date: dt.date | None = None
    extra: dict[str, Any] | None = None
    is_anonymous: bool = False


ENROLLMENT_FIELDS = ["program", "person", "account", "is_anonymous", "status", "is_active",
                     "application_date", "start_date", "end_date", "extra", "created_at",
                     "updated_at"]


def enrollments_insert_many(*, enrollments: Iterable[NewEnrollment],
                            now: dt.datetime | None = None,
                            written: Callable[[int], None] | None = None) -> int:
    """Insert enrollments, skipping each one a unique constraint refuses (an active enrollment
    of the same program and person, account or anonymity made meanwhile); returns how many
    were inserted. ``now`` stamps them (a caller finding its rows by ``created_at``);
    ``written`` hears how many rows each batch wrote."""
    now_db, empty, date = db_datetime(now or timezone.now()), db_json({}), DbDates()
    rows = ((e.program_id, e.person_id, e.account_id, e.is_anonymous, e.status.id,
             e.status.bucket == "active", date[e.application_date], date[e.start_date],
             date[e.end_date], db_json(e.extra) if e.extra else empty, now_db, now_db)
            for e in enrollments)
    return insert_rows_batched(ProgramEnrollment, ENROLLMENT_FIELDS, rows,
                               ignore_conflicts=True, written=written)


DISBURSEMENT_FIELDS = [
    "assignment", "session", "enrollment", "benefit", "program", "person", "account", "case",
    "recipient_type", "recipient_count", "quantity", "unit", "status", "disbursed_on", "extra",
    "created_at", "updated_at",
    # The recipient's household and its size on disbursed_on (people.selectors
    # .household_snapshots): every row builder appends these two.
    "household", "household_size",
]


class NewDisbursement(NamedTuple):
    """A disbursement to insert, its values in ``DISBURSEMENT_FIELDS`` order (the recipient
    copied from its assignment; quantity checked by ``check_quantity``)."""

    assignment_id: int
    session_id: int | None
    enrollment_id: int
    benefit_id: int
    program_id: int
    person_id: int | None
    account_id: int | None
    case_id: int | None
    recipient_type: str
    recipient_count: int
    quantity: Decimal
    unit_id: int
    status_id: int
    disbursed_on: dt.date
    extra: dict[str, Any]


def disbursements_insert_many(*, disbursements: Iterable[NewDisbursement],
                              now: dt.datetime | None = None,
                              written: Callable[[int], None] | None = None) -> int:
    """Insert disbursements, skipping each one a unique constraint refuses (a session's
    disbursement of a participant that exists); returns how many were inserted. ``now`` and
    ``written`` as for ``enrollments_insert_many``. Each row records its recipient's household
    snapshot on its date (``household_snapshots``: three queries for all of them)."""
    now_db, empty, date = db_datetime(now or timezone.now()), db_json({}), DbDates()
    disbursements = list(disbursements)
    households = household_snapshots(
        person_ids=[d.person_id for d in disbursements if d.person_id],
        account_ids=[d.account_id for d in disbursements if d.account_id],
        days={d.disbursed_on for d in disbursements})
    rows = ((*d[:13], date[d.disbursed_on], db_json(d.extra) if d.extra else empty, now_db,
             now_db, *households.of(d.person_id, d.account_id, d.disbursed_on))
            for d in disbursements)
    return insert_rows_batched(BenefitDisbursement, DISBURSEMENT_FIELDS, rows,
                               ignore_conflicts=True, written=written)


def session_disbursements_insert(*, benefit: Benefit, sessions: Sequence[tuple[int, dt.date]],
                                 participants: Sequence[tuple[int, int, Enrollee]],
                                 quantity: Decimal, status: StatusValue,
                                 recipient_type: str = RecipientType.ENROLLMENT,
                                 on_roster: Mapping[int, tuple[dt.date, dt.date | None]]
                                 | None = None) -> int:
    """One disbursement per (participant, session), skipping pairs that exist. The one place
    a session's disbursement row is built.

    ``sessions``: (session id, local date); ``participants``: (assignment id, enrollment id,
    enrollee). ``on_roster`` (assignment id -> (start date, end date or None)) limits each
    participant to the sessions of the days they are on the roster. Returns how many were
    created.
    """
    now, extra = db_now(), db_json({})
    days = {day: db_date(day) for _, day in sessions}
    benefit_id, program_id, unit_id, status_id = (benefit.pk, benefit.program_id,
                                                  benefit.unit_id, status.pk)
    households = household_snapshots(
        person_ids=[e.person_id for _, _, e in participants if e.person_id],
        account_ids=[e.account_id for _, _, e in participants if e.account_id], days=days)

    def on(assignment_id: int, day: dt.date) -> bool:
        if on_roster is None:
            return True
        start, end = on_roster[assignment_id]
        return start <= day and (end is None or day <= end)

    def rows() -> Iterable[tuple[Any, ...]]:
        for session_id, day in sessions:
            disbursed_on = days[day]
            for assignment_id, enrollment_id, e in participants:
                if on(assignment_id, day):
                    yield (assignment_id, session_id, enrollment_id, benefit_id, program_id,
                           e.person_id, e.account_id, None, recipient_type, 1, quantity,
                           unit_id, status_id, disbursed_on, extra, now, now,
                           *households.of(e.person_id, e.account_id, day))

    return insert_rows(BenefitDisbursement, DISBURSEMENT_FIELDS, rows(), ignore_conflicts=True)


def _people_names(person_ids: Iterable[int]) -> dict[int, str]:
    """"Last, First" for each id, as the pages list people; one query."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    return {pid: f"{last}, {first}" for pid, first, last in Person.objects.filter(
        id__in=id_values(ids)).values_list("id", "first_name", "last_name")}


# --- the sessions' side (scheduling's signals land here: participation/receivers.py) ---------


def roster_disbursements_insert(*, actor: User | None, schedule: BenefitSchedule,
                                sessions: Sequence[BenefitSession]) -> int:
    """People on the schedule's roster are expected at sessions added later too: one
    disbursement at the default status per (roster entry active that day, new session), as
    adding a participant does for the sessions that exist. Set-based: a fixed number of
    queries whatever the size. Returns how many were created."""
    if not sessions:
        return 0
    entries = list(ScheduleAssignment.objects.filter(
        schedule=schedule, assignment__enrollment__is_active=True).values_list(
        "assignment_id", "assignment__enrollment_id", "assignment__person_id",
        "assignment__account_id", "start_date", "end_date"))
    if not entries:
        return 0
    created = session_disbursements_insert(
        benefit=schedule.benefit, sessions=[(s.pk, s.local_date) for s in sessions],
        participants=[(a, eid, Enrollee(person_id=pid, account_id=aid))
                      for a, eid, pid, aid, _, _ in entries],
        quantity=schedule.session_quantity, status=status_default(DISBURSEMENT),
        on_roster={a: (start, end) for a, _, _, _, start, end in entries})
    if created:
        # The sessions are new: every disbursement on them was made just now.
        ids = list(BenefitDisbursement.objects.filter(
            session_id__in=[s.pk for s in sessions]).values_list("pk", flat=True))
        audit_record(actor=actor, action="disbursement.create",
                     object_type="participation.benefitdisbursement", object_ids=ids,
                     after={"schedule_id": schedule.pk, "reason": "roster on new sessions"})
    return created


def session_disbursements_delete(*, actor: User | None, schedule: BenefitSchedule,
                                 session_ids: Sequence[int]) -> int:
    """Delete the still-expected disbursements of sessions about to be deleted. Recorded ones
    (attendance, cancellations) stay, and their protecting foreign key then keeps the session.
    Returns how many were deleted."""
    if not session_ids:
        return 0
    expected = BenefitDisbursement.objects.filter(session_id__in=session_ids,
                                                  status__bucket=Bucket.EXPECTED)
    ids = list(expected.values_list("pk", flat=True))
    if not ids:
        return 0
    BenefitDisbursement.objects.filter(session_id__in=session_ids,
                                       status__bucket=Bucket.EXPECTED).delete()
    audit_record(actor=actor, action="disbursement.delete",
                 object_type="participation.benefitdisbursement", object_ids=ids,
                 before={"schedule_id": schedule.pk, "status_bucket": "expected"})
    return len(ids)


def session_disbursements_set_status(*, actor: User | None, session: BenefitSession,
                                     bucket: str, to: StatusValue) -> int:
    """Move the session's disbursements whose status is in ``bucket`` to ``to`` (cancelling a
    session, or restoring it). Returns how many moved."""
    ids = list(BenefitDisbursement.objects.filter(session=session, status__bucket=bucket)
               .values_list("pk", flat=True))
    if not ids:
        return 0
    BenefitDisbursement.objects.filter(pk__in=ids).update(status=to, updated_at=timezone.now())
    audit_record(actor=actor, action="disbursement.update",
                 object_type="participation.benefitdisbursement", object_ids=ids,
                 after={"status": to.code, "session_id": session.pk})
    return len(ids)


def session_disbursements_redate(*, session: BenefitSession) -> int:
    """A moved session's disbursements carry its new local date (``disbursed_on``); the
    session's own audit event records the move — and the household snapshot of the new date."""
    moved = BenefitDisbursement.objects.filter(session=session).update(
        disbursed_on=session.local_date, updated_at=timezone.now())
    if moved:
        disbursements_household_refresh(disbursement_ids=list(
            BenefitDisbursement.objects.filter(session=session).values_list("pk", flat=True)))
    return moved


def session_disbursements_mark(*, marks: Sequence[tuple[int, int]]) -> list[int]:
    """Mark session disbursements still expected with a recorded status — ``marks`` are
    (disbursement id, status id), as a ticked paper roster's import gives them. A row recorded
    meanwhile (no longer in the expected bucket) is left as it is: the import never overwrites
    attendance taken. Rows becoming delivered take their household snapshot of the day. A
    constant number of statements; returns the ids marked (the caller audits them)."""
    if not marks:
        return []
    wanted = dict(marks)
    still_expected = set(BenefitDisbursement.objects.filter(
        id__in=id_values(list(wanted)), session__isnull=False, status__bucket="expected")
        .values_list("id", flat=True))
    rows = [(status, db_now(), pk) for pk, status in marks if pk in still_expected]
    update_rows(BenefitDisbursement, ["status", "updated_at"], rows)
    delivered = set(StatusValue.objects.filter(
        id__in={status for _, status in marks}, bucket="delivered").values_list("id", flat=True))
    disbursements_household_refresh(disbursement_ids=[
        pk for status, _, pk in rows if status in delivered])
    return [pk for _, _, pk in rows]


def disbursements_household_refresh(*, disbursement_ids: Sequence[int]
                                    ) -> dict[int, tuple[int | None, int | None]]:
    """Take the household snapshot again for expected rows becoming delivered: a session's
    rows are written weeks ahead, and whoever moved meanwhile must count where they lived on
    the day. Dated memberships give the same answer on any later call. Only rows whose
    snapshot differs are written. Returns {id: (household id, size)}.

    One plain-SQL statement computes every row's snapshot on its date, by the rule of
    ``HouseholdSnapshots.of`` (``people.selectors.household_snapshot_sql``), beside the one
    stored; a second, the UPDATE, only when one differs (someone moved since the row was
    written). An attendance sheet runs this on every save: re-reading its rows and the
    memberships through the ORM cost more than the sheet's own UPDATE."""
    if not disbursement_ids:
        return {}
    ids, params = ids_sql([int(pk) for pk in disbursement_ids])
    sql = household_snapshot_sql(
        "SELECT id AS ref, person_id, account_id, disbursed_on AS day,"  # noqa: S608
        " household_id AS stored_id, household_size AS stored_size"
        f" FROM {BenefitDisbursement._meta.db_table} WHERE id IN {ids}",
        passthrough=("stored_id", "stored_size"))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    changed = [(household, size, pk) for pk, household, size, stored, stored_size in found
               if (household, size) != (stored, stored_size)]
    if changed:
        update_rows(BenefitDisbursement, ["household", "household_size"], changed)
    return {pk: (household, size) for pk, household, size, _, _ in found}


def disbursement_household_refresh(disbursement: BenefitDisbursement) -> None:
    """``disbursements_household_refresh`` for one row already read (a check-in's): its
    snapshot taken again as on its date, written only when it differs."""
    d = disbursement
    d.household_id, d.household_size = _household_refresh([(
        d.pk, d.person_id, d.account_id, d.disbursed_on, d.household_id,
        d.household_size)])[d.pk]


def _household_refresh(rows: list[tuple[Any, ...]]) -> dict[int, tuple[int | None, int | None]]:
    """(id, person id, account id, disbursed_on, household id, size) each."""
    households = household_snapshots(person_ids=[r[1] for r in rows if r[1]],
                                     account_ids=[r[2] for r in rows if r[2]],
                                     days={r[3] for r in rows})
    snapshots = {pk: households.of(person_id, account_id, day)
                 for pk, person_id, account_id, day, _, _ in rows}
    changed = [(*snapshots[pk], pk) for pk, _, _, _, household, size in rows
               if snapshots[pk] != (household, size)]
    if changed:
        update_rows(BenefitDisbursement, ["household", "household_size"], changed)
    return snapshots


def _check_eligibility(*, actor: User | None, benefit: Benefit, enrollees: Sequence[Enrollee],
                       on: dt.date, override: EligibilityOverride | None,
                       result: ParticipationResult,
                       on_ineligible: str = OnIneligible.REFUSE) -> dict[str, Any] | None:
    """Warn on failed `warn` rules; failed `block` rules refuse the request unless a manager
    overrides — or, with ``on_ineligible="skip"``, leave those people out: they are listed in
    ``result.skipped`` (by name, with the reasons) and the caller drops them.

    Returns what to audit about an override, or None.
    """
    person_ids = [e.person_id for e in enrollees if e.person_id]
    if not person_ids:
        return None
    decisions = eligibility_check_many(person_ids=person_ids, benefit_id=benefit.pk, on=on)
    if not any(d.results for d in decisions.values()):
        return None  # no rules apply
    blocked = {pid: d for pid, d in decisions.items() if d.blocked}
    names = _people_names(pid for pid, d in decisions.items() if d.failures)
    for pid, decision in decisions.items():
        for reason in decision.warnings:
            result.warn("eligibility", f"{names.get(pid, pid)}: {reason}")
    if not blocked:
        return None
    reasons = {pid: [r.reason for r in d.failures if r.mode == "block"]
               for pid, d in blocked.items()}
    if override is None and on_ineligible == OnIneligible.SKIP:
        result.skipped.extend(sorted(
            ({"person_id": pid, "name": names.get(pid, str(pid)), "reasons": r}
             for pid, r in reasons.items()), key=lambda s: (s["name"], s["person_id"])))
        return None
    if override is None:
        raise Conflict(
            f"{_who_do(len(blocked))} not meet this benefit's eligibility rules. "
            "A manager may override with a reason.",
            errors=[{"field": "person_ids", "message": f"{names.get(pid, pid)}: {'; '.join(r)}"}
                    for pid, r in reasons.items()],
            type="eligibility_blocked",
        )
    if actor is None or not actor.can(Cap.MANAGE_PROGRAMS):
        raise NotAllowed("Only a manager may override eligibility rules.")
    if not override.reason.strip():
        raise ValidationError.for_fields(
            {"override_reason": "Say why the eligibility rules are overridden."})
    for pid, r in reasons.items():
        result.warn("eligibility_overridden", f"{names.get(pid, pid)}: {'; '.join(r)}")
    return {"reason": override.reason.strip(),
            "overridden": {str(pid): r for pid, r in reasons.items()}}


def _who_do(n: int) -> str:
    """"1 person does", "3 people do" — the subject of the refusal's sentence."""
    return "1 person does" if n == 1 else f"{n} people do"


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
                        override: EligibilityOverride | None = None,
                        on_ineligible: str = OnIneligible.REFUSE,
                        limits_gate: Callable[[list[Enrollee]], list[Enrollee]] | None = None
                        ) -> Enrolled:
    """Resolve the participants, apply eligibility, then reuse or create each one's active
    enrollment in the benefit's program and their assignment of the benefit — set-based.
    With ``on_ineligible="skip"`` people failed `block` rules refuse are left out (listed in
    ``result.skipped``); when that leaves nobody, nothing is written. ``limits_gate`` (a
    bulk disbursement's service limit) may refuse, or return the enrollees to go on with."""
    benefit = Benefit.objects.select_related("program").get(pk=benefit_id)
    _require_active_benefit(benefit)
    result = ParticipationResult()
    enrollees = participants_resolve(program=benefit.program, person_ids=person_ids,
                                     account_ids=account_ids, enrollment_ids=enrollment_ids,
                                     user=actor)
    if not enrollees:
        raise ValidationError.for_fields({"person_ids": "Name at least one participant."})
    if on_ineligible not in OnIneligible.CHOICES:
        raise ValidationError.for_fields({"on_ineligible": (
            f"Choose one of: {', '.join(OnIneligible.CHOICES)}.")})
    override_audit = _check_eligibility(actor=actor, benefit=benefit, enrollees=enrollees, on=on,
                                        override=override, result=result,
                                        on_ineligible=on_ineligible)
    if result.skipped:
        left_out = {s["person_id"] for s in result.skipped}
        enrollees = [e for e in enrollees if e.person_id not in left_out]
        if not enrollees:
            return Enrolled(benefit, result, {}, set(), {}, None)
    if limits_gate is not None:
        enrollees = limits_gate(list(enrollees))
        if not enrollees:
            return Enrolled(benefit, result, {}, set(), {}, override_audit)
    by_key, created = enrollments_ensure(program=benefit.program, enrollees=enrollees, on=on)
    result.enrollments_created = len(created)
    enrollments = {by_key[e.key]: e for e in enrollees}
    assignments, result.assignments_created = assignments_ensure(benefit=benefit,
                                                                 enrollments=enrollments)
    return Enrolled(benefit, result, enrollments, created, assignments, override_audit)


