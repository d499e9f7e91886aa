"""Reads for participation: rosters, attendance sheets, roll-ups, enrollments, check-in search."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from programdesk.core.models import User
from programdesk.core.scoping import visible
from programdesk.core.selectors import filter_given
from programdesk.participation.models import (
    BenefitDisbursement,
    CohortMember,
    ProgramEnrollment,
    ScheduleAssignment,
)
from programdesk.people.models import Person
from programdesk.people.selectors import household_label
from programdesk.programs.models import ProgramCohort
from programdesk.scheduling.models import BenefitSchedule, BenefitSession

DELIVERED = Q(status__bucket="delivered")
ABSENT = Q(status__bucket="absent")
EXCUSED = Q(status__bucket="excused")
EXPECTED = Q(status__bucket="expected")


def attendance_rate(delivered: int, absent: int) -> float | None:
    """delivered / (delivered + absent); excused counts in neither; None when nothing counts."""
    return delivered / (delivered + absent) if delivered + absent else None


@dataclass(frozen=True)
class Tally:
    delivered: int = 0
    absent: int = 0
    excused: int = 0
    expected: int = 0
    cancelled: int = 0

    @property
    def rate(self) -> float | None:
        return attendance_rate(self.delivered, self.absent)

    @property
    def total(self) -> int:
        return self.delivered + self.absent + self.excused + self.expected + self.cancelled


TALLY = {
    "delivered": Count("id", filter=DELIVERED),
    "absent": Count("id", filter=ABSENT),
    "excused": Count("id", filter=EXCUSED),
    "expected": Count("id", filter=EXPECTED),
    "cancelled": Count("id", filter=Q(status__bucket="cancelled")),
}


def tally(qs: QuerySet[BenefitDisbursement]) -> Tally:
    return Tally(**qs.aggregate(**TALLY))


def tally_by(qs: QuerySet[BenefitDisbursement], key: str) -> dict[Any, Tally]:
    """One grouped query: {key value: Tally}."""
    return {row.pop(key): Tally(**row) for row in qs.values(key).annotate(**TALLY).order_by()}


# --- rosters and sheets ---------------------------------------------------------------------


def _display(first: str | None, last: str | None, account: str | None) -> str:
    if first or last:
        return f"{last}, {first}"
    return account or "Anonymous"


@dataclass(frozen=True)
class RosterEntry:
    assignment_id: int
    enrollment_id: int
    person_id: int | None
    account_id: int | None
    name: str
    start: dt.date
    end: dt.date | None
    tally: Tally


def schedule_roster(*, schedule: BenefitSchedule, include_ended: bool = True,
                    on: dt.date | None = None) -> list[RosterEntry]:
    """The schedule's roster with each participant's attendance on its sessions."""
    on = on or timezone.localdate()
    entries = ScheduleAssignment.objects.filter(schedule=schedule)
    if not include_ended:
        entries = entries.filter(Q(end_date__isnull=True) | Q(end_date__gte=on))
    rows = list(entries.values_list(
        "assignment_id", "assignment__enrollment_id", "assignment__person_id",
        "assignment__account_id", "assignment__person__first_name",
        "assignment__person__last_name", "assignment__account__name", "start_date", "end_date"))
    tallies = tally_by(BenefitDisbursement.objects.filter(session__schedule=schedule),
                       "assignment_id")
    roster = [RosterEntry(a, e, p, acc, _display(first, last, acc_name), start, end,
                          tallies.get(a, Tally()))
              for a, e, p, acc, first, last, acc_name, start, end in rows]
    return sorted(roster, key=lambda r: r.name.lower())


@dataclass(frozen=True)
class SheetRow:
    disbursement_id: int
    assignment_id: int
    enrollment_id: int
    person_id: int | None
    account_id: int | None
    name: str
    status: str
    bucket: str
    quantity: Decimal
    recipient_type: str
    # The card codes that name this row, space-separated: the person's and their household's,
    # or the household's (a scan on the sheet finds the row; web/scan.js).
    cards: str = ""
    # The household served, as recorded on the row (its snapshot of the session's date).
    household: str = ""
    household_size: int | None = None


def session_sheet(*, session: BenefitSession) -> list[SheetRow]:
    """Everyone expected at (or recorded for) a session: its disbursements, by name."""
    rows = (BenefitDisbursement.objects.filter(session=session)
            .values_list("id", "assignment_id", "enrollment_id", "person_id", "account_id",
                         "person__first_name", "person__last_name", "account__name",
                         "status__code", "status__bucket", "quantity", "recipient_type",
                         "person__card_code", "person__account__card_code",
                         "account__card_code", "household__name", "household_size"))
    sheet = [SheetRow(d, a, e, p, acc, _display(first, last, acc_name), code, bucket, q, rt,
                      " ".join(c.upper() for c in (c1, c2, c3) if c),
                      household_label(home) if home else "", size)
             for d, a, e, p, acc, first, last, acc_name, code, bucket, q, rt, c1, c2, c3, home,
             size in rows]
    return sorted(sheet, key=lambda r: r.name.lower())


def session_tally(*, session: BenefitSession) -> Tally:
    return tally(BenefitDisbursement.objects.filter(session=session))


def schedule_tally(*, schedule: BenefitSchedule) -> Tally:
    return tally(BenefitDisbursement.objects.filter(session__schedule=schedule))


def consecutive_absences(*, schedule: BenefitSchedule, today: dt.date | None = None
                         ) -> dict[int, int]:
    """For each assignment on the schedule: how many of its most recent recorded sessions in a
    row were absences (sessions still expected don't break or extend a run)."""
    today = today or timezone.localdate()
    rows = (BenefitDisbursement.objects
            .filter(session__schedule=schedule, session__local_date__lte=today)
            .exclude(status__bucket__in=["expected", "cancelled"])
            .order_by("assignment_id", "-session__start")
            .values_list("assignment_id", "status__bucket"))
    runs: dict[int, int] = {}
    closed: set[int] = set()
    for assignment_id, bucket in rows:
        if assignment_id in closed:
            continue
        if bucket == "absent":
            runs[assignment_id] = runs.get(assignment_id, 0) + 1
        else:
            closed.add(assignment_id)
            runs.setdefault(assignment_id, 0)
    return runs


def person_participation(*, person: Person) -> dict[str, Any]:
    """A person's attendance rate over all their session disbursements and last service."""
    qs = BenefitDisbursement.objects.filter(person=person)
    return {
        "tally": tally(qs.filter(session__isnull=False)),
        "last_service": qs.filter(DELIVERED).aggregate(last=Max("disbursed_on"))["last"],
    }


def enrollment_tallies(*, enrollment_ids: list[int]) -> dict[int, Tally]:
    return tally_by(BenefitDisbursement.objects.filter(enrollment_id__in=enrollment_ids,
                                                       session__isnull=False), "enrollment_id")


# --- enrollments and cohorts ----------------------------------------------------------------


def enrollments_visible(user: User) -> QuerySet[ProgramEnrollment]:
    return visible(ProgramEnrollment.objects.all(), user)


def enrollments_list(*, user: User, program_id: int | None = None, status: str | None = None,
                     bucket: str | None = None, cohort_id: int | None = None,
                     person_id: int | None = None, account_id: int | None = None,
                     search: str = "") -> QuerySet[ProgramEnrollment]:
    qs = filter_given(
        enrollments_visible(user).select_related("program", "person", "account", "status"),
        program_id=program_id, status__code=status or None, status__bucket=bucket or None,
        person_id=person_id, account_id=account_id)
    if cohort_id:
        qs = qs.filter(cohort_memberships__cohort_id=cohort_id,
                       cohort_memberships__removed_on__isnull=True)
    for term in search.split()[:4]:
        qs = qs.filter(Q(person__first_name__icontains=term) | Q(person__last_name__icontains=term)
                       | Q(account__name__icontains=term))
    return qs.order_by(Lower("person__last_name"), Lower("person__first_name"),
                       Lower("account__name"), "id")


def cohort_members(*, cohort: ProgramCohort) -> list[dict[str, Any]]:
    """Current members with their attendance."""
    members = list(CohortMember.objects.filter(cohort=cohort, removed_on__isnull=True)
                   .select_related("enrollment__person", "enrollment__account",
                                   "enrollment__status"))
    tallies = enrollment_tallies(enrollment_ids=[m.enrollment_id for m in members])
    rows = [{"member": m, "enrollment": m.enrollment,
             "name": _display(getattr(m.enrollment.person, "first_name", None),
                              getattr(m.enrollment.person, "last_name", None),
                              getattr(m.enrollment.account, "name", None)),
             "tally": tallies.get(m.enrollment_id, Tally())} for m in members]
    return sorted(rows, key=lambda r: str(r["name"]).lower())


# --- the paper roster -----------------------------------------------------------------------


@dataclass(frozen=True)
class RosterLine:
    """One line of a session's paper roster."""

    disbursement_id: int
    person_id: int | None
    account_id: int | None
    first_name: str
    last_name: str
    name: str  # the person's full name, or the household's
    card_code: str  # the person's card, else their household's; "" when neither has one
    status: str  # the row's status code now
    bucket: str


def session_roster(*, session: BenefitSession) -> list[RosterLine]:
    """The session's named rows (anonymous counts are not ticked by name) with their card
    codes, by last name then first name: what a printed roster lists. One query."""
    rows = (BenefitDisbursement.objects.filter(session=session)
            .exclude(person__isnull=True, account__isnull=True)
            .values_list("id", "person_id", "account_id", "person__first_name",
                         "person__last_name", "account__name", "person__card_code",
                         "person__account__card_code", "account__card_code", "status__code",
                         "status__bucket"))
    lines = [RosterLine(pk, person, account, first or "", last or "",
                        _display(first, last, account_name),
                        own_card or household_card or account_card or "", code, bucket)
             for (pk, person, account, first, last, account_name, own_card, household_card,
                  account_card, code, bucket) in rows]
    return sorted(lines, key=lambda r: ((r.last_name or r.name).lower(), r.first_name.lower(),
                                        r.disbursement_id))


# The roster file's columns: the disbursements import's own field names, so the import maps
# them by itself (card_code is not one of them: it is there for the eye and is ignored).
ROSTER_COLUMNS = ("person_id", "account_id", "first_name", "last_name", "card_code",
                  "benefit", "schedule", "session_date", "status")


def session_roster_file(*, session: BenefitSession
                        ) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """The roster as a file the disbursements import reads back (docs/front-desk.md): one row
    per person (or household) with the benefit and schedule ids and the session's date, and
    the status the row has now. Writing ``x`` (or a status: ``completed``, ``absent``...) in
    Status and importing the file marks the session's rows; rows left as they were change
    nothing, and names added at the bottom are recorded as attendance too."""
    rows = [(line.person_id, line.account_id if line.person_id is None else None,
             line.first_name, line.last_name, line.card_code, session.benefit_id,
             session.schedule_id, session.local_date, line.status)
            for line in session_roster(session=session)]
    return ROSTER_COLUMNS, rows


# --- the kiosk ------------------------------------------------------------------------------


def kiosk_sessions(*, user: User, day: dt.date | None = None, location: str = ""
                   ) -> QuerySet[BenefitSession]:
    """Today's sessions (not cancelled) the kiosk can check people in to."""
    day = day or timezone.localdate()
    qs = visible(BenefitSession.objects.filter(local_date=day).exclude(status="cancelled"),
                 user, "benefit__program_id").select_related("benefit", "schedule")
    if location:
        qs = qs.filter(location__iexact=location)
    return qs.order_by("start")


def kiosk_search(*, session: BenefitSession, query: str, limit: int = 10,
                 user: User | None = None) -> list[dict[str, Any]]:
    """People whose name starts with what was typed (each word matching a first or last name),
    or whose card code matches — among those ``user`` may see. The kiosk shows first name and
    last initial only."""
    from programdesk.people.selectors import people_visible

    query = query.strip()
    if len(query) < 2:
        return []
    people = people_visible(user) if user is not None else Person.objects.all()
    card = people.filter(card_code__iexact=query)
    for term in query.split()[:3]:
        people = people.filter(Q(first_name__istartswith=term) | Q(last_name__istartswith=term))
    matches = list(card[:1]) or list(people.order_by("first_name", "last_name", "id")[:limit])
    on_sheet = set(BenefitDisbursement.objects.filter(
        session=session, person_id__in=[p.pk for p in matches])
        .values_list("person_id", flat=True))
    names = [p.kiosk_name for p in matches]
    # Two "Kai G." look alike: the month each registered tells them apart, saying nothing else.
    return [{"person_id": p.pk, "display_name": p.kiosk_name, "on_roster": p.pk in on_sheet,
             "registered": p.created_at if names.count(p.kiosk_name) > 1 else None}
            for p in matches]


def _postal_key(value: str) -> str:
    return "".join(value.split()).upper()


def kiosk_likely_matches(*, first_name: str, last_name: str, postal_code: str = "",
                         user: User | None = None, limit: int = 3) -> list[dict[str, Any]]:
    """People registering at the kiosk may be registered already: those with the same or a
    similar name (people's duplicate matching), unless both postal codes are known and differ.
    Only what a kiosk may show: first name and last initial, and the month they registered
    (which tells two "Kai G." apart without saying anything about them)."""
    from programdesk.people.selectors import people_find_duplicates

    postal = _postal_key(postal_code)
    found = []
    for match in people_find_duplicates(first_name=first_name, last_name=last_name, user=user,
                                        limit=20):
        theirs = _postal_key(match.person.postal_code or "")
        if postal and theirs and postal != theirs:
            continue
        found.append({"person_id": match.person.pk, "display_name": match.person.kiosk_name,
                      "registered": match.person.created_at})
    return found[:limit]


# --- disbursements --------------------------------------------------------------------------


def disbursements_list(*, user: User, person_id: int | None = None,
                       account_id: int | None = None, benefit_id: int | None = None,
                       program_id: int | None = None, session_id: int | None = None,
                       case_id: int | None = None, recipient_type: str | None = None,
                       status: str | None = None, date_from: dt.date | None = None,
                       date_to: dt.date | None = None, search: str = ""
                       ) -> QuerySet[BenefitDisbursement]:
    """Disbursements the user may see, newest first, filtered."""
    qs = visible(BenefitDisbursement.objects.all(), user).select_related(
        "benefit", "program", "person", "account", "status", "unit", "session")
    qs = filter_given(qs, person_id=person_id, account_id=account_id, benefit_id=benefit_id,
                      program_id=program_id, session_id=session_id, case_id=case_id,
                      recipient_type=recipient_type or None, status__code=status or None,
                      disbursed_on__gte=date_from, disbursed_on__lte=date_to)
    for term in search.split()[:4]:
        qs = qs.filter(Q(person__first_name__icontains=term) | Q(person__last_name__icontains=term)
                       | Q(account__name__icontains=term))
    return qs.order_by("-disbursed_on", "-id")


def on_benefit_rosters(*, benefit_id: int, on: dt.date | None = None
                       ) -> tuple[set[int], set[int]]:
    """Who is on a roster of one of the benefit's schedules (an entry not ended before ``on``,
    today): their person ids and enrollment ids, for the bulk page's schedule warning (they
    already get a disbursement per session and would be counted twice)."""
    on = on or timezone.localdate()
    rows = ScheduleAssignment.objects.filter(
        Q(end_date__isnull=True) | Q(end_date__gte=on), schedule__benefit_id=benefit_id,
    ).values_list("assignment__person_id", "assignment__enrollment_id")
    return ({p for p, _ in rows if p is not None}, {e for _, e in rows})
