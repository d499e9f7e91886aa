"""Report queries. Every number is one aggregate query over ``BenefitDisbursement`` (which copies
program, benefit, enrollment, person and account from its assignment precisely so reports need no
joins through the roster), scoped to the programs the user may see. What a filter covers is
``filtering.py``; the follow-up lists are ``followups.py``.

The counting rules (docs/api.md, Reports; docs/reports.md says them in plain words):

- Only disbursements whose status is in the ``delivered`` bucket count as served or delivered,
  and only when ``disbursed_on`` (a session's disbursement: the session's local date) is inside
  ``from``..``to`` inclusive.
- Attendance rate = delivered / (delivered + absent) over *session* disbursements; excused counts
  in neither; ``None`` when there are none.
- Cohort filter: disbursements of enrollments in the cohort, dated before the day the member was
  removed (when removed); enrollments that were ever members for completion.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any, Literal, TypedDict
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, DecimalField, F, Min, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber, TruncMonth
from django.utils import timezone

from programdesk.core.models import ENROLLMENT_BUCKETS, User
from programdesk.core.scoping import visible
from programdesk.core.selectors import filter_given
from programdesk.participation.models import BenefitDisbursement
from programdesk.reports.filtering import (
    ABSENT,
    CANCELLED,
    DELIVERED,
    EXCUSED,
    ReportFilter,
    report_disbursements,
    report_enrollments,
    report_sessions,
)
from programdesk.scheduling.models import BenefitSession, SessionStatus

# Sums of DECIMAL(12,2) over a million rows need more than 12 digits.
SUM_FIELD: DecimalField[Decimal, Decimal] = DecimalField(max_digits=24, decimal_places=2)
CENT = Decimal("0.01")


def cents(value: Decimal | None) -> Decimal:
    """A sum as exactly two decimals. SQLite adds decimals as floats and Django returns its sums
    unrounded (326.130000000000); quantities have two decimals, so their sums do too."""
    return (value or Decimal(0)).quantize(CENT)


def rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


# --- summary ---------------------------------------------------------------------------------

class UnitTotal(TypedDict):
    unit: str
    quantity: Decimal


class Summary(TypedDict):
    people_served: int
    accounts_served: int
    households_served: int
    individuals_in_households_served: int
    new_people: int
    new_households: int
    anonymous_recipients: int
    disbursements: int
    units: list[UnitTotal]
    attendance_rate: float | None
    attended: int
    absent: int
    sessions_held: int


def _households_served(qs: QuerySet[BenefitDisbursement]) -> tuple[int, int]:
    """(households served, individuals in them) over delivered disbursements ``qs``: each
    household counted once, with the ``household_size`` of its latest delivered disbursement
    in the range (the latest date; the latest row on that date). One query."""
    latest = Window(RowNumber(), partition_by=[F("household_id")],
                    order_by=[F("disbursed_on").desc(), F("id").desc()])
    totals = (qs.filter(household_id__isnull=False).annotate(latest=latest).filter(latest=1)
              .aggregate(households=Count("id"), individuals=Sum("household_size")))
    return totals["households"], totals["individuals"] or 0


def _first_served_in_range(qs: QuerySet[BenefitDisbursement], column: str,
                           filters: ReportFilter) -> int:
    """How many distinct ``column`` values (person, household) had their first delivered
    disbursement ever — among ``qs``: the report's filters but any date — inside the range.
    One query."""
    firsts = (qs.filter(**{f"{column}__isnull": False}).values(column)
              .annotate(first=Min("disbursed_on")))
    return filter_given(firsts, first__gte=filters.date_from,
                        first__lte=filters.date_to).count()


def report_summary(*, user: User, filters: ReportFilter) -> Summary:
    """Six queries whatever the number of rows: the totals, units per unit, sessions held,
    households served, new people, new households. Four without a date range: everyone served
    is then new — their first delivery ever is inside an open range — so new people and new
    households are the people and households served (the same rows, the same filters), and
    two scans of every delivered row are not made again."""
    delivered = Q(status__bucket=DELIVERED)
    at_session = Q(session__isnull=False)
    qs = report_disbursements(user=user, filters=filters).filter(
        status__bucket__in=[DELIVERED, ABSENT])
    totals = qs.aggregate(
        people_served=Count("person_id", distinct=True, filter=delivered),
        accounts_served=Count("account_id", distinct=True, filter=delivered),
        anonymous_recipients=Sum("recipient_count",
                                 filter=delivered & Q(recipient_type="anonymous")),
        disbursements=Count("id", filter=delivered),
        attended=Count("id", filter=delivered & at_session),
        absent=Count("id", filter=Q(status__bucket=ABSENT) & at_session),
    )
    units = [UnitTotal(unit=row["unit__code"], quantity=cents(row["quantity"]))
             for row in qs.filter(delivered).values("unit__code")
             .annotate(quantity=Sum("quantity", output_field=SUM_FIELD)).order_by("unit__code")]
    sessions_held = report_sessions(user=user, filters=filters).filter(
        status=SessionStatus.COMPLETED).count()
    households_served, individuals = _households_served(qs.filter(delivered))
    if filters.date_from is None and filters.date_to is None:
        new_people, new_households = totals["people_served"], households_served
    else:
        ever = report_disbursements(user=user, filters=filters, dated=False).filter(delivered)
        new_people = _first_served_in_range(ever, "person_id", filters)
        new_households = _first_served_in_range(ever, "household_id", filters)
    attended, absent = totals["attended"], totals["absent"]
    return Summary(
        people_served=totals["people_served"],
        accounts_served=totals["accounts_served"],
        households_served=households_served,
        individuals_in_households_served=individuals,
        new_people=new_people,
        new_households=new_households,
        anonymous_recipients=totals["anonymous_recipients"] or 0,
        disbursements=totals["disbursements"],
        units=units,
        attendance_rate=rate(attended, attended + absent),
        attended=attended,
        absent=absent,
        sessions_held=sessions_held,
    )


# --- attendance ------------------------------------------------------------------------------

GroupBy = Literal["person", "session", "schedule", "cohort"]


class AttendanceCounts(TypedDict):
    attended: int
    absent: int
    excused: int
    rate: float | None


class AttendanceRow(AttendanceCounts):
    person_id: int | None
    account_id: int | None
    session_id: int | None
    schedule_id: int | None
    cohort_id: int | None
    local_date: dt.date | None
    name: str


class Attendance(TypedDict):
    group_by: str
    rows: list[AttendanceRow]
    totals: AttendanceCounts


_COUNTS = {
    "attended": Count("id", filter=Q(status__bucket=DELIVERED)),
    "absent": Count("id", filter=Q(status__bucket=ABSENT)),
    "excused": Count("id", filter=Q(status__bucket=EXCUSED)),
}


def _counts(row: dict[str, Any]) -> AttendanceCounts:
    return AttendanceCounts(attended=row["attended"], absent=row["absent"],
                            excused=row["excused"],
                            rate=rate(row["attended"], row["attended"] + row["absent"]))


def display_name(first: str | None, last: str | None, account: str | None) -> str:
    """A person's full name, else the account's name, else "Anonymous"."""
    if first or last:
        return f"{first} {last}"
    return account or "Anonymous"


def report_attendance(*, user: User, filters: ReportFilter,
                      group_by: GroupBy = "person") -> Attendance:
    """Attendance at sessions (delivered = attended, absent, excused) per person, session,
    schedule or cohort, and in total. Two queries: the grouped rows and the totals."""
    qs = report_disbursements(user=user, filters=filters).filter(
        session__isnull=False, status__bucket__in=[DELIVERED, ABSENT, EXCUSED])
    totals = _counts(qs.aggregate(**_COUNTS))
    rows: list[AttendanceRow] = []

    def row(values: dict[str, Any], name: str, **ids: Any) -> AttendanceRow:
        base: dict[str, Any] = {"person_id": None, "account_id": None, "session_id": None,
                                "schedule_id": None, "cohort_id": None, "local_date": None}
        return AttendanceRow(**{**base, **ids}, name=name, **_counts(values))  # type: ignore

    if group_by == "person":
        for v in (qs.values("person_id", "account_id", "person__first_name",
                            "person__last_name", "account__name")
                  .annotate(**_COUNTS)
                  .order_by("person__last_name", "person__first_name", "account__name",
                            "person_id", "account_id")):
            rows.append(row(v, display_name(v["person__first_name"], v["person__last_name"],
                                            v["account__name"]),
                            person_id=v["person_id"], account_id=v["account_id"]))
    elif group_by == "session":
        for v in (qs.values("session_id", "session__schedule_id", "session__local_date",
                            "session__schedule__name")
                  .annotate(**_COUNTS).order_by("session__local_date", "session_id")):
            rows.append(row(v, f"{v['session__schedule__name']} {v['session__local_date']}",
                            session_id=v["session_id"], schedule_id=v["session__schedule_id"],
                            local_date=v["session__local_date"]))
    elif group_by == "schedule":
        for v in (qs.values("session__schedule_id", "session__schedule__name")
                  .annotate(**_COUNTS).order_by("session__schedule__name",
                                                "session__schedule_id")):
            rows.append(row(v, v["session__schedule__name"],
                            schedule_id=v["session__schedule_id"]))
    else:
        # Join each disbursement to the cohorts its enrollment was in on that date. A member of
        # two cohorts counts in both rows, so the totals come from their own query above.
        membership = Q(enrollment__cohort_memberships__cohort_id__isnull=False) & (
            Q(enrollment__cohort_memberships__removed_on__isnull=True)
            | Q(enrollment__cohort_memberships__removed_on__gt=F("disbursed_on")))
        if filters.cohort_id is not None:
            # In the same filter() call, so it constrains the same join.
            membership &= Q(enrollment__cohort_memberships__cohort_id=filters.cohort_id)
        by_cohort = qs.filter(membership)
        for v in (by_cohort.values("enrollment__cohort_memberships__cohort_id",
                                   "enrollment__cohort_memberships__cohort__name")
                  .annotate(**_COUNTS).order_by("enrollment__cohort_memberships__cohort__name")):
            rows.append(row(v, v["enrollment__cohort_memberships__cohort__name"],
                            cohort_id=v["enrollment__cohort_memberships__cohort_id"]))
    return Attendance(group_by=group_by, rows=rows, totals=totals)


# --- completion ------------------------------------------------------------------------------

class StatusCount(TypedDict):
    code: str
    label: str
    bucket: str
    count: int


class Completion(TypedDict):
    enrollments: int
    by_bucket: dict[str, int]
    by_status: list[StatusCount]
    completion_rate: float | None


def report_completion(*, user: User, filters: ReportFilter) -> Completion:
    """Enrollments per status and bucket; completion rate = completed / (completed + withdrawn).
    One grouped query."""
    per_status = list(report_enrollments(user=user, filters=filters)
                      .values("status__code", "status__label", "status__bucket",
                              "status__order", "status_id")
                      .annotate(n=Count("id")).order_by("status__order", "status_id"))
    by_bucket = dict.fromkeys(ENROLLMENT_BUCKETS, 0)
    for v in per_status:
        by_bucket[v["status__bucket"]] += v["n"]
    completed, withdrawn = by_bucket["completed"], by_bucket["withdrawn"]
    return Completion(
        enrollments=sum(by_bucket.values()),
        by_bucket=by_bucket,
        by_status=[StatusCount(code=v["status__code"], label=v["status__label"],
                               bucket=v["status__bucket"], count=v["n"]) for v in per_status],
        completion_rate=rate(completed, completed + withdrawn),
    )


# --- units by benefit and month --------------------------------------------------------------

class UnitsMonthRow(TypedDict):
    month: str
    program_id: int
    benefit_id: int
    benefit: str
    unit: str
    quantity: Decimal
    disbursements: int


def report_units_by_month(*, user: User, filters: ReportFilter) -> list[UnitsMonthRow]:
    """Delivered quantity per benefit and calendar month (of ``disbursed_on``). One query."""
    qs = (report_disbursements(user=user, filters=filters).filter(status__bucket=DELIVERED)
          .annotate(month=TruncMonth("disbursed_on"))
          .values("month", "benefit_id", "benefit__name", "benefit__program_id", "unit__code")
          .annotate(quantity=Sum("quantity", output_field=SUM_FIELD), n=Count("id"))
          .order_by("month", "benefit__name", "benefit_id", "unit__code"))
    return [UnitsMonthRow(month=v["month"].strftime("%Y-%m"), program_id=v["benefit__program_id"],
                          benefit_id=v["benefit_id"], benefit=v["benefit__name"],
                          unit=v["unit__code"], quantity=cents(v["quantity"]),
                          disbursements=v["n"])
            for v in qs]


# --- repeat participation --------------------------------------------------------------------

class TimesCount(TypedDict):
    times: int
    people: int


class PostalCodeRow(TypedDict):
    postal_code: str
    people_served: int
    repeat_people: int


class RepeatParticipation(TypedDict):
    min_times: int
    people_served: int
    repeat_people: int
    distribution: list[TimesCount]
    by_postal_code: list[PostalCodeRow]


def report_repeat_participation(*, user: User, filters: ReportFilter,
                                min_times: int = 2) -> RepeatParticipation:
    """How often people were served: a "time" is a day with at least one delivered
    disbursement. People served ``min_times`` or more times, in all and by postal code.

    One query: per person the number of days served (a grouped subquery), then people counted per
    (postal code, days) around it — a few hundred rows at most, rolled up here.
    """
    per_person = (report_disbursements(user=user, filters=filters)
                  .filter(status__bucket=DELIVERED, person_id__isnull=False)
                  .values("person_id")
                  .annotate(postal=F("person__postal_code"),
                            times=Count("disbursed_on", distinct=True))
                  .values("postal", "times").order_by())
    inner_sql, params = per_person.query.sql_with_params()
    postal, times = (connection.ops.quote_name(c) for c in ("postal", "times"))
    sql = (f"SELECT served.{postal}, served.{times}, COUNT(*) FROM ({inner_sql}) served "  # noqa: S608
           f"GROUP BY served.{postal}, served.{times}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        grouped = cursor.fetchall()
    distribution: Counter[int] = Counter()
    by_code: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for postal_code, times, people in grouped:
        distribution[times] += people
        entry = by_code[postal_code or ""]
        entry[0] += people
        if times >= min_times:
            entry[1] += people
    return RepeatParticipation(
        min_times=min_times,
        people_served=sum(distribution.values()),
        repeat_people=sum(n for times, n in distribution.items() if times >= min_times),
        distribution=[TimesCount(times=t, people=n) for t, n in sorted(distribution.items())],
        by_postal_code=[PostalCodeRow(postal_code=code, people_served=n, repeat_people=r)
                        for code, (n, r) in sorted(by_code.items(),
                                                   key=lambda kv: (-kv[1][1], -kv[1][0], kv[0]))],
    )



# --- dashboard -------------------------------------------------------------------------------

class TodaySession(TypedDict):
    id: int
    schedule_id: int
    schedule: str
    benefit: str
    program: str
    start: dt.datetime
    status: str
    location: str
    expected: int
    checked_in: int


def sessions_today(*, user: User, now: dt.datetime | None = None) -> list[TodaySession]:
    """Sessions held today in their own time zone, with how many are expected (on the roster,
    not cancelled) and checked in (delivered). One query: any zone's "today" is within two days
    of the server's, so those days are fetched and each kept when its local date is today."""
    now = now or timezone.now()
    server_today = timezone.localdate(now)
    window = (server_today - dt.timedelta(days=2), server_today + dt.timedelta(days=2))
    qs = (visible(BenefitSession.objects.filter(local_date__range=window), user,
                  "benefit__program_id")
          .values("id", "schedule_id", "schedule__name", "schedule__timezone", "benefit__name",
                  "benefit__program__name", "local_date", "start", "status", "location",
                  "schedule__location")
          .annotate(expected=Count("disbursements",
                                   filter=~Q(disbursements__status__bucket=CANCELLED)),
                    checked_in=Count("disbursements",
                                     filter=Q(disbursements__status__bucket=DELIVERED)))
          .order_by("start", "id"))
    today: list[TodaySession] = []
    for v in qs:
        zone = ZoneInfo(v["schedule__timezone"])
        if v["local_date"] != now.astimezone(zone).date():
            continue
        today.append(TodaySession(
            id=v["id"], schedule_id=v["schedule_id"], schedule=v["schedule__name"],
            benefit=v["benefit__name"], program=v["benefit__program__name"],
            start=v["start"].astimezone(zone), status=v["status"],
            location=v["location"] or v["schedule__location"], expected=v["expected"],
            checked_in=v["checked_in"]))
    return today
