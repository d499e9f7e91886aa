"""Random but valid data for report tests, and plain-Python reference computations over it.

``build_world(seed)`` writes several programs, benefits with different units, people, accounts,
anonymous enrollments, schedules whose sessions have every status, cohorts with removed members,
and disbursements in every bucket with dates inside and outside the test range. The ``ref_*``
functions then count by looping over every row, the way a person with the spreadsheet would.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from programdesk.core.models import StatusValue
from programdesk.participation.models import (
    BenefitAssignment,
    BenefitDisbursement,
    CohortMember,
    ProgramEnrollment,
    ScheduleAssignment,
)
from programdesk.people.models import Account, Person
from programdesk.programs.models import Program, ProgramCohort, UnitOfMeasure
from programdesk.reports.filtering import ReportFilter
from programdesk.scheduling.models import BenefitSession
from tests.factories import (
    AccountFactory,
    BenefitFactory,
    CohortFactory,
    PersonFactory,
    ProgramFactory,
    ScheduleFactory,
    SessionFactory,
    unit,
)

BASE = dt.date(2026, 3, 15)  # "today" for the follow-up lists
RANGE = (dt.date(2026, 2, 1), dt.date(2026, 3, 31))  # the date range the tests filter on
POSTAL_CODES = ["02119", "02120", "02121", ""]
ENROLLMENT_CODES = ["applied", "waitlisted", "enrolled", "in_progress", "completed", "withdrawn",
                    "denied"]
DISBURSEMENT_CODES = ["enrolled", "completed", "absent", "excused", "cancelled"]
SESSION_STATUSES = ["scheduled", "completed", "cancelled", "postponed"]


def day(rng: random.Random) -> dt.date:
    """A date from a month before the test range to two months after it."""
    return dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(150))


@dataclass
class World:
    programs: list[Any] = field(default_factory=list)
    benefits: list[Any] = field(default_factory=list)
    schedules: list[Any] = field(default_factory=list)
    cohorts: list[Any] = field(default_factory=list)


def _enroll(rng: random.Random, program: Program, people: list[Person],
            households: list[Account], status_of: dict[tuple[str, str], StatusValue]
            ) -> list[ProgramEnrollment]:
    """Enrollments: each person at most one active; some with an older, inactive one too."""
    enrollments: list[ProgramEnrollment] = []
    for enrollee in people + households:
        kind = "person" if isinstance(enrollee, Person) else "account"
        codes = rng.sample(ENROLLMENT_CODES, k=rng.choice([1, 1, 2]))
        has_active = False
        for code in codes:
            value = status_of[("enrollment", code)]
            if value.bucket == "active":
                if has_active:
                    continue
                has_active = True
            began = day(rng)
            enrollments.append(ProgramEnrollment.objects.create(
                program=program, status=value, is_active=value.bucket == "active",
                start_date=began if rng.random() < 0.6 else None,
                application_date=began if rng.random() < 0.5 else None,
                **{kind: enrollee}))
    return enrollments


def _cohort(rng: random.Random, program: Program, enrollments: list[ProgramEnrollment]
            ) -> ProgramCohort:
    cohort = CohortFactory(program=program)
    for enrollment in rng.sample(enrollments, k=len(enrollments) // 3):
        added = day(rng) - dt.timedelta(days=60)
        removed = day(rng) if rng.random() < 0.3 else None
        CohortMember.objects.create(cohort=cohort, enrollment=enrollment, added_on=added,
                                    removed_on=max(removed, added) if removed else None)
    return cohort


def build_world(seed: int, *, people: int = 24, programs: int = 3) -> World:
    rng = random.Random(seed)
    world = World()
    status_of = {(s.kind, s.code): s for s in StatusValue.objects.all()}
    folks = [PersonFactory(postal_code=rng.choice(POSTAL_CODES)) for _ in range(people)]
    households = [AccountFactory() for _ in range(4)]
    units = ["hour", "meal", "session", "kit"]
    for _ in range(programs):
        program = ProgramFactory()
        world.programs.append(program)
        benefits = [BenefitFactory(program=program, unit=unit(rng.choice(units)))
                    for _ in range(2)]
        world.benefits += benefits

        enrollments = _enroll(rng, program, rng.sample(folks, k=people * 2 // 3),
                              rng.sample(households, k=2), status_of)
        anonymous = ProgramEnrollment.objects.create(
            program=program, person=None, is_anonymous=True,
            status=status_of[("enrollment", "enrolled")], is_active=True)

        # Cohorts: members come and go.
        for _ in range(2):
            world.cohorts.append(_cohort(rng, program, enrollments))

        for benefit in benefits:
            assignments = [BenefitAssignment.objects.create(
                benefit=benefit, enrollment=e, person=e.person, account=e.account)
                for e in enrollments if rng.random() < 0.7]
            anon_assignment = BenefitAssignment.objects.create(
                benefit=benefit, enrollment=anonymous, is_anonymous=True)

            schedule = ScheduleFactory(benefit=benefit, timezone=rng.choice(
                ["America/New_York", "America/Los_Angeles", "Europe/Berlin"]))
            world.schedules.append(schedule)
            roster = [a for a in assignments if rng.random() < 0.6]
            for a in roster:
                ScheduleAssignment.objects.create(schedule=schedule, assignment=a,
                                                  start_date=dt.date(2026, 1, 1))
            dates = sorted(rng.sample(range(150), k=8))
            for offset in dates:
                session = SessionFactory(
                    schedule=schedule, local_date=dt.date(2026, 1, 1) + dt.timedelta(offset),
                    status=rng.choice(SESSION_STATUSES))
                seen: set[int] = set()
                for a in roster:
                    # One disbursement per person per session keeps "consecutive" well defined.
                    who = a.person_id or -a.account_id
                    if rng.random() < 0.15 or who in seen:
                        continue
                    seen.add(who)
                    _disburse(rng, a, status_of, session=session)
                if rng.random() < 0.3:
                    _disburse(rng, anon_assignment, status_of, session=session,
                              recipient_count=rng.randint(1, 9))

            # Ad hoc and bulk, named and anonymous, at any date.
            for a in rng.sample(assignments, k=min(len(assignments), 10)):
                for _ in range(rng.randint(1, 3)):
                    _disburse(rng, a, status_of,
                              recipient_type=rng.choice(["enrollment", "walk_in"]))
            for _ in range(4):
                _disburse(rng, anon_assignment, status_of, recipient_count=rng.randint(1, 40))
    _household_snapshots(random.Random(seed * 7919), households)
    return world


def _household_snapshots(rng: random.Random, households: list[Any]) -> None:
    """Each named disbursement's household snapshot: the account itself, or a household the
    person lived in then (or none), of a size that varies between rows as households do."""
    rows = list(BenefitDisbursement.objects.exclude(recipient_type="anonymous").order_by("id"))
    for d in rows:
        d.household_id = d.account_id or rng.choice([None, *(h.pk for h in households)])
        d.household_size = rng.randint(1, 7) if d.household_id else None
    BenefitDisbursement.objects.bulk_update(rows, ["household", "household_size"],
                                            batch_size=500)


def _disburse(rng: random.Random, a: BenefitAssignment, status_of: dict[Any, StatusValue], *,
              session: BenefitSession | None = None, recipient_count: int = 1,
              recipient_type: str = "enrollment") -> BenefitDisbursement:
    weights = [2, 5, 3, 1, 1]
    code = rng.choices(DISBURSEMENT_CODES, weights=weights)[0]
    return BenefitDisbursement.objects.create(
        assignment=a, session=session, enrollment_id=a.enrollment_id, benefit=a.benefit,
        program_id=a.benefit.program_id, person_id=a.person_id, account_id=a.account_id,
        recipient_type="anonymous" if a.is_anonymous else recipient_type,
        recipient_count=recipient_count,
        quantity=Decimal(rng.randint(0, 600)) / 100, unit=a.benefit.unit,
        status=status_of[("disbursement", code)],
        disbursed_on=session.local_date if session else day(rng))


# --- the reference computations: plain loops over every row ----------------------------------

class Rows:
    """Every row the references need, read once."""

    def __init__(self) -> None:
        self.bucket = {s.pk: s.bucket for s in StatusValue.objects.all()}
        self.code = {s.pk: s.code for s in StatusValue.objects.all()}
        self.sessions = {s.pk: s for s in BenefitSession.objects.select_related("benefit")}
        self.disbursements = list(BenefitDisbursement.objects.all())
        self.members = list(CohortMember.objects.all())
        self.enrollments = {e.pk: e for e in ProgramEnrollment.objects.all()}
        self.assignments = {a.pk: a for a in BenefitAssignment.objects.all()}
        self.roster = list(ScheduleAssignment.objects.all())
        self.postal = {p.pk: p.postal_code for p in Person.objects.all()}

    def in_cohort(self, d: BenefitDisbursement, cohort_id: int) -> bool:
        return any(m.cohort_id == cohort_id and m.enrollment_id == d.enrollment_id
                   and (m.removed_on is None or m.removed_on > d.disbursed_on)
                   for m in self.members)

    def schedule_of(self, d: BenefitDisbursement) -> int | None:
        return self.sessions[d.session_id].schedule_id if d.session_id else None

    def included(self, d: BenefitDisbursement, f: ReportFilter, visible: set[int] | None = None,
                 dated: bool = True) -> bool:
        if visible is not None and d.program_id not in visible:
            return False
        if f.program_id and d.program_id != f.program_id:
            return False
        if f.benefit_id and d.benefit_id != f.benefit_id:
            return False
        if f.schedule_id and self.schedule_of(d) != f.schedule_id:
            return False
        if f.cohort_id and not self.in_cohort(d, f.cohort_id):
            return False
        if dated and f.date_from and d.disbursed_on < f.date_from:
            return False
        return not (dated and f.date_to and d.disbursed_on > f.date_to)

    def of(self, f: ReportFilter, visible: set[int] | None = None,
           dated: bool = True) -> list[BenefitDisbursement]:
        return [d for d in self.disbursements if self.included(d, f, visible, dated)]


def ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def _held_in(rows: Rows, s: BenefitSession, f: ReportFilter, visible: set[int] | None) -> bool:
    """The session was held (completed) and the filter covers it."""
    if s.status != "completed":
        return False
    if visible is not None and s.benefit.program_id not in visible:
        return False
    if f.program_id and s.benefit.program_id != f.program_id:
        return False
    if f.benefit_id and s.benefit_id != f.benefit_id:
        return False
    if f.schedule_id and s.schedule_id != f.schedule_id:
        return False
    if f.date_from and s.local_date < f.date_from:
        return False
    if f.date_to and s.local_date > f.date_to:
        return False
    return not f.cohort_id or any(d.session_id == s.pk and rows.in_cohort(d, f.cohort_id)
                                  for d in rows.disbursements)


def _latest_household_sizes(rows: Rows, f: ReportFilter, visible: set[int] | None
                            ) -> dict[int, tuple[dt.date, int, int]]:
    """Each household served in range: (date, id, size) of its latest delivered row (by date,
    then id), whose size counts."""
    latest: dict[int, tuple[dt.date, int, int]] = {}
    for d in rows.of(f, visible):
        if rows.bucket[d.status_id] == "delivered" and d.household_id:
            key = (d.disbursed_on, d.pk, d.household_size or 0)
            latest[d.household_id] = max(latest.get(d.household_id, key), key)
    return latest


def _new_in_range(rows: Rows, f: ReportFilter, visible: set[int] | None
                  ) -> tuple[set[int], set[int]]:
    """People and households whose first delivered row ever (the other filters applying) is
    in range."""
    first_person: dict[int, dt.date] = {}
    first_household: dict[int, dt.date] = {}
    for d in rows.of(f, visible, dated=False):
        if rows.bucket[d.status_id] != "delivered":
            continue
        if d.person_id:
            first_person[d.person_id] = min(first_person.get(d.person_id, d.disbursed_on),
                                            d.disbursed_on)
        if d.household_id:
            first_household[d.household_id] = min(
                first_household.get(d.household_id, d.disbursed_on), d.disbursed_on)

    def in_range(day: dt.date) -> bool:
        return not ((f.date_from and day < f.date_from) or (f.date_to and day > f.date_to))

    return ({p for p, first in first_person.items() if in_range(first)},
            {h for h, first in first_household.items() if in_range(first)})


def ref_summary(rows: Rows, f: ReportFilter, visible: set[int] | None = None) -> dict[str, Any]:
    people: set[int] = set()
    accounts: set[int] = set()
    anonymous = count = attended = absent = 0
    units: dict[str, Decimal] = defaultdict(Decimal)
    unit_code = {u.pk: u.code for u in UnitOfMeasure.objects.all()}
    for d in rows.of(f, visible):
        bucket = rows.bucket[d.status_id]
        if bucket == "delivered":
            count += 1
            if d.person_id:
                people.add(d.person_id)
            if d.account_id:
                accounts.add(d.account_id)
            if d.recipient_type == "anonymous":
                anonymous += d.recipient_count
            units[unit_code[d.unit_id]] += d.quantity
        if d.session_id and bucket == "delivered":
            attended += 1
        if d.session_id and bucket == "absent":
            absent += 1
    held = sum(1 for s in rows.sessions.values() if _held_in(rows, s, f, visible))
    latest = _latest_household_sizes(rows, f, visible)
    new_people, new_households = _new_in_range(rows, f, visible)
    return {
        "people_served": len(people), "accounts_served": len(accounts),
        "households_served": len(latest),
        "individuals_in_households_served": sum(size for _, _, size in latest.values()),
        "new_people": len(new_people), "new_households": len(new_households),
        "anonymous_recipients": anonymous, "disbursements": count,
        "units": [{"unit": u, "quantity": q} for u, q in sorted(units.items())],
        "attendance_rate": ratio(attended, attended + absent), "attended": attended,
        "absent": absent, "sessions_held": held,
    }


def ref_attendance(rows: Rows, f: ReportFilter, group_by: str,
                   visible: set[int] | None = None) -> tuple[dict[Any, tuple[int, int, int]],
                                                          tuple[int, int, int]]:
    """{key: (attended, absent, excused)} and the totals."""
    groups: dict[Any, Counter[str]] = defaultdict(Counter)
    totals: Counter[str] = Counter()
    for d in rows.of(f, visible):
        if not d.session_id:
            continue
        bucket = rows.bucket[d.status_id]
        if bucket not in {"delivered", "absent", "excused"}:
            continue
        totals[bucket] += 1
        keys: list[Any]
        if group_by == "person":
            keys = [(d.person_id, d.account_id)]
        elif group_by == "session":
            keys = [d.session_id]
        elif group_by == "schedule":
            keys = [rows.schedule_of(d)]
        else:
            keys = sorted({m.cohort_id for m in rows.members
                           if m.enrollment_id == d.enrollment_id
                           and (m.removed_on is None or m.removed_on > d.disbursed_on)
                           and (not f.cohort_id or m.cohort_id == f.cohort_id)})
        for key in keys:
            groups[key][bucket] += 1

    def triple(c: Counter[str]) -> tuple[int, int, int]:
        return (c["delivered"], c["absent"], c["excused"])

    return {k: triple(c) for k, c in groups.items()}, triple(totals)


def began_on(e: ProgramEnrollment) -> dt.date:
    return e.start_date or e.application_date or timezone.localdate(e.created_at)


def ref_completion(rows: Rows, f: ReportFilter, visible: set[int] | None = None,
                   ) -> dict[str, int]:
    buckets = {s.pk: s.bucket for s in StatusValue.objects.filter(kind="enrollment")}
    counts: Counter[str] = Counter()
    for e in rows.enrollments.values():
        if e.is_anonymous or (visible is not None and e.program_id not in visible):
            continue
        if f.program_id and e.program_id != f.program_id:
            continue
        if f.benefit_id and not any(a.enrollment_id == e.pk and a.benefit_id == f.benefit_id
                                    for a in rows.assignments.values()):
            continue
        if f.cohort_id and not any(m.cohort_id == f.cohort_id and m.enrollment_id == e.pk
                                   for m in rows.members):
            continue
        if f.date_from and began_on(e) < f.date_from:
            continue
        if f.date_to and began_on(e) > f.date_to:
            continue
        counts[buckets[e.status_id]] += 1
    return dict(counts)


def ref_units_by_month(rows: Rows, f: ReportFilter) -> dict[tuple[str, int], tuple[Decimal, int]]:
    """{(YYYY-MM, benefit id): (quantity, disbursements)} of delivered disbursements."""
    out: dict[tuple[str, int], tuple[Decimal, int]] = {}
    for d in rows.of(f):
        if rows.bucket[d.status_id] != "delivered":
            continue
        key = (d.disbursed_on.strftime("%Y-%m"), d.benefit_id)
        quantity, n = out.get(key, (Decimal(0), 0))
        out[key] = (quantity + d.quantity, n + 1)
    return out


def ref_repeat(rows: Rows, f: ReportFilter) -> tuple[Counter[int], dict[str, tuple[int, int]]]:
    """Days served per person → {times: people}; {postal code: (people, people with 2+)}."""
    days: dict[int, set[dt.date]] = defaultdict(set)
    for d in rows.of(f):
        if rows.bucket[d.status_id] == "delivered" and d.person_id:
            days[d.person_id].add(d.disbursed_on)
    distribution = Counter(len(v) for v in days.values())
    by_code: dict[str, tuple[int, int]] = {}
    for person_id, served in days.items():
        code = rows.postal[person_id]
        people, repeat = by_code.get(code, (0, 0))
        by_code[code] = (people + 1, repeat + (len(served) >= 2))
    return distribution, by_code


def ref_absence_streaks(rows: Rows, f: ReportFilter, minimum: int = 3,
                        ) -> dict[tuple[int, int], tuple[int, dt.date]]:
    """Walk each person's sessions of each schedule from the latest back: count absences
    (those the filter covers, of an active enrollment) until an attended session; skip the rest."""
    by_key: dict[tuple[int, int], list[BenefitDisbursement]] = defaultdict(list)
    for d in rows.disbursements:
        if d.session_id and d.person_id:
            by_key[(d.person_id, rows.schedule_of(d))].append(d)
    out = {}
    for key, ds in by_key.items():
        streak, last = 0, None
        for d in sorted(ds, key=lambda d: rows.sessions[d.session_id].start, reverse=True):
            bucket = rows.bucket[d.status_id]
            if bucket == "delivered":
                break
            if (bucket == "absent" and rows.included(d, f, dated=False)
                    and rows.enrollments[d.enrollment_id].is_active):
                streak += 1
                last = max(last or d.disbursed_on, d.disbursed_on)
        if streak >= minimum:
            out[key] = (streak, last)
    return out


def ref_not_served(rows: Rows, f: ReportFilter, today: dt.date, days: int = 14) -> set[int]:
    out = set()
    for e in rows.enrollments.values():
        if not e.is_active or e.is_anonymous:
            continue
        if f.program_id and e.program_id != f.program_id:
            continue
        if f.benefit_id and not any(a.enrollment_id == e.pk and a.benefit_id == f.benefit_id
                                    for a in rows.assignments.values()):
            continue
        if f.cohort_id and not any(m.cohort_id == f.cohort_id and m.enrollment_id == e.pk
                                   and m.removed_on is None for m in rows.members):
            continue
        if began_on(e) > today - dt.timedelta(days=days):
            continue
        served_recently = any(
            d.enrollment_id == e.pk and rows.bucket[d.status_id] == "delivered"
            and (today - d.disbursed_on).days < days
            and (not f.benefit_id or d.benefit_id == f.benefit_id)
            for d in rows.disbursements)
        if not served_recently:
            out.add(e.pk)
    return out


def ref_unrecorded_sessions(rows: Rows, f: ReportFilter, now: dt.datetime) -> set[int]:
    out = set()
    for s in rows.sessions.values():
        if s.end >= now or s.status not in {"scheduled", "completed"}:
            continue
        if f.program_id and s.benefit.program_id != f.program_id:
            continue
        if f.benefit_id and s.benefit_id != f.benefit_id:
            continue
        if f.date_from and s.local_date < f.date_from:
            continue
        if f.date_to and s.local_date > f.date_to:
            continue
        mine = [d for d in rows.disbursements if d.session_id == s.pk]
        if f.cohort_id and not any(rows.in_cohort(d, f.cohort_id) for d in mine):
            continue
        if any(rows.bucket[d.status_id] != "expected" for d in mine):
            continue
        if s.status == "completed" and not mine:
            continue
        out.add(s.pk)
    return out
