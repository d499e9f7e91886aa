"""Planning a disbursements import (past attendance included): each row's benefit or schedule,
date (and session), quantity, status, number of recipients and custom fields; who received it;
the enrollments to make; and which disbursements exist already.

Importing again never duplicates: a session has one disbursement per participant, and an ad
hoc disbursement counts as present when the same recipient already has as many of that
benefit on that date as the file lists."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import Count

from programdesk.core.bulk import chunked
from programdesk.core.custom_fields import extra_validate, field_definitions_by_benefit
from programdesk.core.errors import ValidationError
from programdesk.core.models import FieldTarget, StatusKind, StatusValue
from programdesk.imports.planning.enrollments import existing_enrollments
from programdesk.imports.planning.named import find_one, programs_named
from programdesk.imports.planning.people import people_summary
from programdesk.imports.planning.recipients import recipients_resolve
from programdesk.imports.planning.sessions import sessions_find
from programdesk.imports.run import Anonymous, ImportRun, Recipient, recipient_of_row
from programdesk.imports.values import (
    NamedRecords,
    StatusWords,
    UnreadableValue,
    read_date,
    read_decimal,
    read_int,
)
from programdesk.participation.models import BenefitDisbursement, ProgramEnrollment
from programdesk.participation.services import (
    LimitCandidate,
    check_quantity,
    limit_hits_described,
    limits_check,
)
from programdesk.people.selectors import household_snapshots
from programdesk.programs.limits import benefit_limit
from programdesk.programs.models import Benefit
from programdesk.scheduling.models import BenefitSchedule


@dataclass
class _Named:
    """What the rows may name, each found with one query."""

    programs: NamedRecords
    benefits: NamedRecords  # (id, name, program id, is active, unit id, default quantity)
    schedules: NamedRecords  # (id, name, benefit id, default quantity)
    statuses: StatusWords
    delivered: StatusValue

    @classmethod
    def load(cls, run: ImportRun) -> _Named:
        programs = programs_named(run)
        visible = set(programs.by_id)
        statuses = StatusWords(StatusKind.DISBURSEMENT)
        return cls(
            programs=programs,
            benefits=NamedRecords(Benefit.objects.filter(program_id__in=visible).values_list(
                "id", "name", "program_id", "is_active", "unit_id", "default_quantity")),
            schedules=NamedRecords(BenefitSchedule.objects.filter(
                benefit__program_id__in=visible).values_list("id", "name", "benefit_id",
                                                              "default_quantity")),
            statuses=statuses, delivered=statuses.first_in_bucket("delivered"))


def plan_disbursements(run: ImportRun) -> None:
    named = _Named.load(run)
    planned: list[dict[str, Any]] = []
    for n, (index, values) in enumerate(run.each_row(), 1):
        run.progress_every("checking", n)
        row = _disbursement_row(run, index, values, named)
        if row is not None:
            planned.append(row)
    sessions_find(run, planned)
    for row in planned:
        # A session's default quantity is its schedule's, else the benefit's.
        schedule = named.schedules.by_id.get(row["schedule"]) if row["schedule"] else None
        if schedule is not None and schedule[3] is not None:
            row["quantity_default"] = schedule[3]
    _extra_check(run, planned)
    recipients_resolve(run, anonymous_ok=True)
    planned = [r for r in planned if r["index"] not in run.bad]
    for row in planned:
        row["recipient"] = run.recipient_of.get(row["index"]) or Anonymous(row["program"])
    planned = _quantities_and_counts_check(run, planned)
    _enrollments_plan(run, planned)
    _new_disbursements_plan(run, planned)
    people_summary(run)


def _disbursement_row(run: ImportRun, index: int, values: dict[str, str], named: _Named
                      ) -> dict[str, Any] | None:
    """One row's benefit (or schedule), date, quantity, status and number of recipients,
    each checked (all of them, whatever else is wrong); None when any is wrong."""
    target = _target(run, index, values, named)
    row: dict[str, Any] = {"index": index}
    _dates_read(run, index, values, row)
    _amounts_read(run, index, values, row, named)
    row["extra_in"] = run.extra_values(values)
    if target is None or index in run.bad:
        return None
    benefit, schedule_id = target
    row.update(benefit=benefit[0], program=benefit[2], unit=benefit[4],
               schedule=schedule_id, quantity_default=benefit[5])
    return row


def _dates_read(run: ImportRun, index: int, values: dict[str, str], row: dict[str, Any]
                ) -> None:
    """``session_date`` (a session's date: attendance) or ``disbursed_on`` (ad hoc); with a
    schedule, the disbursement date names the session."""
    date_text = values.get("session_date") or (values.get("disbursed_on")
                                               if values.get("schedule") else "")
    row["session_date"] = None
    if date_text:
        name, key = ("session_date" if values.get("session_date") else "disbursed_on",
                     "session_date")
    elif values.get("disbursed_on"):
        name = key = "disbursed_on"
        date_text = values["disbursed_on"]
    else:
        run.error(index, "disbursed_on", "A date is required.")
        return
    try:
        row[key] = read_date(date_text)
    except UnreadableValue as exc:
        run.error(index, name, str(exc))


def _amounts_read(run: ImportRun, index: int, values: dict[str, str], row: dict[str, Any],
                  named: _Named) -> None:
    """Quantity (checked as every disbursement's), status and number of recipients."""
    if values.get("quantity"):
        try:
            row["quantity"] = check_quantity(read_decimal(values["quantity"]))
        except UnreadableValue as exc:
            run.error(index, "quantity", str(exc))
        except ValidationError as exc:
            run.errors_from(index, exc)
    try:
        row["status"] = _status_read(values.get("status", ""), named)
    except UnreadableValue as exc:
        run.error(index, "status", str(exc))
    row["recipient_count"] = 1
    if values.get("recipient_count"):
        try:
            row["recipient_count"] = read_int(values["recipient_count"])
            if row["recipient_count"] < 1:
                raise UnreadableValue("At least 1.")
        except UnreadableValue as exc:
            run.error(index, "recipient_count", str(exc))


# A tick typed from a paper roster: the delivered default (unless a status is named so).
TICKS = {"x", "✓", "✔", "yes", "y"}


def _status_read(text: str, named: _Named) -> StatusValue:
    """A status code or label; empty or a tick (``x``): the delivered default."""
    word = text.strip().lower()
    if not word or (word in TICKS and word not in named.statuses.by_word):
        return named.delivered
    return named.statuses.read(text)


def _target(run: ImportRun, index: int, values: dict[str, str], named: _Named
            ) -> tuple[tuple[Any, ...], int | None] | None:
    """(the benefit, the schedule's id or None) a row names; None with an error."""
    program = None
    if values.get("program"):
        program = find_one(run, index, "program", named.programs, values["program"], "program")
        if program is None:
            return None
    benefits = named.benefits
    schedule = None
    if values.get("schedule"):
        schedule = find_one(
            run, index, "schedule", named.schedules, values["schedule"], "schedule",
            within=lambda s: (program is None or benefits.by_id[s[2]][2] == program[0])
            and (not values.get("benefit") or benefits.by_id[s[2]] in
                 benefits.find(values["benefit"])),
            hint=": add the benefit or the program to tell them apart")
        benefit = benefits.by_id[schedule[2]] if schedule is not None else None
    elif values.get("benefit"):
        benefit = find_one(run, index, "benefit", benefits, values["benefit"], "benefit",
                           within=lambda b: program is None or b[2] == program[0],
                           hint=" in different programs: add a program column")
    else:
        run.error(index, "benefit", "A benefit (or a schedule) is required.")
        return None
    if benefit is None:
        return None
    if not benefit[3]:
        run.error(index, "benefit", f"The benefit '{benefit[1]}' is not active.")
        return None
    return benefit, schedule[0] if schedule else None


def _extra_check(run: ImportRun, planned: list[dict[str, Any]]) -> None:
    """Custom fields, against the fields of each row's benefit (and its program)."""
    if not run.definitions:  # none defined: nothing to check (nor to map)
        for row in planned:
            row["extra"] = row.pop("extra_in")
        return
    by_benefit = field_definitions_by_benefit(
        target=FieldTarget.DISBURSEMENT, benefit_ids={r["benefit"] for r in planned})
    for row in planned:
        try:
            row["extra"] = extra_validate(target=FieldTarget.DISBURSEMENT,
                                          values=row.pop("extra_in"),
                                          definitions=by_benefit.get(row["benefit"], []))
        except ValidationError as exc:
            run.errors_from(row["index"], exc)


def _quantities_and_counts_check(run: ImportRun, planned: list[dict[str, Any]]
                                 ) -> list[dict[str, Any]]:
    """Only anonymous rows count several recipients; a row without a quantity takes the
    default. The rows still without errors."""
    for row in planned:
        if row["recipient_count"] > 1 and not isinstance(row["recipient"], Anonymous):
            run.error(row["index"], "recipient_count", "Only anonymous rows (no person or "
                                                       "account) count several recipients.")
        if row.get("quantity") is None:
            row["quantity"] = row["quantity_default"]
    return [r for r in planned if r["index"] not in run.bad]


def _enrollments_plan(run: ImportRun, planned: list[dict[str, Any]]) -> None:
    """The active enrollment of each (program, recipient), to be made where missing, starting
    on the recipient's first disbursement date in the file."""
    existing = existing_enrollments(run, {r["program"] for r in planned}).active
    anonymous = set(ProgramEnrollment.objects.filter(
        program_id__in={r["program"] for r in planned if isinstance(r["recipient"], Anonymous)},
        is_anonymous=True, is_active=True).values_list("program_id", flat=True))
    needed: dict[tuple[int, Recipient], dt.date] = {}
    anonymous_needed: set[int] = set()
    for row in planned:
        pair = (row["program"], row["recipient"])
        if isinstance(row["recipient"], Anonymous):
            if row["program"] not in anonymous:
                anonymous_needed.add(row["program"])
        elif pair not in existing:
            day = row["disbursed_on"]
            needed[pair] = min(day, needed.get(pair, day))
    # The anonymous enrollments are made by anonymous_enrollment_ensure when writing.
    run.enrollments = [{"program": p, "recipient": who, "start_date": day}
                       for (p, who), day in needed.items()]
    run.result.summary["enrollments_new"] = len(run.enrollments) + len(anonymous_needed)


def _new_disbursements_plan(run: ImportRun, planned: list[dict[str, Any]]) -> None:
    """The rows' disbursements but those that exist: a session has one disbursement per
    participant; ad hoc ones are counted per (recipient, benefit, date)."""
    on_session, ad_hoc = _existing_disbursements(planned)
    seen_session: set[tuple[Recipient, int]] = set()
    seen_ad_hoc: Counter[tuple[Recipient, int, dt.date]] = Counter()
    duplicates = 0
    for row in planned:
        if row.get("session"):
            key = (row["recipient"], row["session"])
            duplicate = key in on_session or key in seen_session
            if key in on_session and key not in seen_session:
                _mark_plan(run, row, on_session[key])
            seen_session.add(key)
        else:
            day_key = (row["recipient"], row["benefit"], row["disbursed_on"])
            seen_ad_hoc[day_key] += 1
            duplicate = seen_ad_hoc[day_key] <= ad_hoc.get(day_key, 0)
        if duplicate:
            duplicates += 1
        else:
            run.disbursements.append(row)
    run.result.summary["disbursements_duplicate"] = duplicates - len(run.marks)
    run.result.summary["disbursements_new"] = len(run.disbursements)
    if run.marks:
        run.result.summary["disbursements_marked"] = len(run.marks)
    disbursement_limits_check(run, lock=False)


def _mark_plan(run: ImportRun, row: dict[str, Any], existing: tuple[int, int, str]) -> None:
    """A row for a session disbursement that exists: still expected (the roster printed
    before the session), it is marked with the row's status — a ticked paper roster imported
    back (docs/front-desk.md); recorded already, it is skipped as a duplicate."""
    pk, status_id, bucket = existing
    if bucket == "expected" and row["status"].pk != status_id:
        run.marks.append((pk, row["status"].pk))


def disbursement_limits_check(run: ImportRun, *, lock: bool) -> None:
    """The new delivered rows against their benefits' service limits (what was delivered
    before, and the file's own earlier rows): a row past one is a row error naming when and
    where the recipient was last served. No override: a manager logs that one by hand. The
    dry run checks without locking; the write checks again inside its transaction, locking.
    Constant queries: the limits, the household snapshots, the count (and, for errors, the
    places and names)."""
    delivered = [r for r in run.disbursements if r["status"].bucket == "delivered"
                 and not isinstance(r["recipient"], Anonymous)]
    benefit_ids = {r["benefit"] for r in delivered}
    if not benefit_ids:
        return
    limits = {b.pk: limit for b in Benefit.objects.filter(pk__in=benefit_ids,
                                                          limit_max__isnull=False)
              if (limit := benefit_limit(b)) is not None}
    delivered = [r for r in delivered if r["benefit"] in limits]
    if not delivered:
        return
    # A new person or account has no id before the write: counted there, by the file's rows.
    who = [(getattr(r["recipient"], "person_id", None), getattr(r["recipient"], "account_id",
                                                                None)) for r in delivered]
    snapshots = household_snapshots(person_ids={p for p, _ in who if p},
                                     account_ids={a for _, a in who if a},
                                     days={r["disbursed_on"] for r in delivered})
    by_candidate: dict[LimitCandidate, int] = {}
    for r, (person_id, account_id) in zip(delivered, who, strict=True):
        by_candidate[LimitCandidate(
            benefit_id=r["benefit"], person_id=person_id, account_id=account_id,
            household_id=snapshots.of(person_id, account_id, r["disbursed_on"])[0],
            on=r["disbursed_on"], field=str(r["index"]))] = r["index"]
    hits = limits_check(limits=limits, candidates=list(by_candidate), lock=lock)
    for hit in limit_hits_described(hits):
        run.error(by_candidate[hit.candidate], "", hit.message())


def _existing_disbursements(planned: list[dict[str, Any]]
                            ) -> tuple[dict[tuple[Recipient, int], tuple[int, int, str]],
                                       Counter[Any]]:
    """({(recipient, session): (id, status id, status bucket)} of the rows' sessions, Counter
    of (recipient, benefit, date) of ad hoc disbursements of the rows' benefits and dates)."""
    on_session: dict[tuple[Recipient, int], tuple[int, int, str]] = {}
    ad_hoc: Counter[tuple[Recipient, int, dt.date]] = Counter()
    sessions = sorted({r["session"] for r in planned if r.get("session")})
    for chunk in chunked(sessions):
        for session, person, account, program, pk, status, bucket in (
                BenefitDisbursement.objects.filter(session_id__in=chunk)
                .values_list("session_id", "person_id", "account_id", "program_id", "id",
                             "status_id", "status__bucket")):
            on_session[(recipient_of_row(person, account, program), session)] = (
                pk, status, bucket)
    plain = [r for r in planned if not r.get("session")]
    if plain:
        days = [r["disbursed_on"] for r in plain]
        qs = (BenefitDisbursement.objects.filter(
            session__isnull=True, benefit_id__in={r["benefit"] for r in plain},
            disbursed_on__gte=min(days), disbursed_on__lte=max(days))
            .values("person_id", "account_id", "program_id", "benefit_id", "disbursed_on")
            .annotate(n=Count("id")).order_by())
        for item in qs:
            who = recipient_of_row(item["person_id"], item["account_id"], item["program_id"])
            ad_hoc[(who, item["benefit_id"], item["disbursed_on"])] += item["n"]
    return on_session, ad_hoc
