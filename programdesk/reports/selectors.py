"""Report queries. Every number is one aggregate query over ``BenefitDisbursement`` (which copies
program, benefit, enrollment, person and account from its assignment precisely so reports need no
joins through the roster), scoped to the programs the user may see.

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
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, TypedDict
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    Count,
    DateField,
    DecimalField,
    Exists,
    F,
    Func,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Coalesce, TruncDate, TruncMonth
from django.utils import timezone

from programdesk.core.errors import ValidationError
from programdesk.core.models import ENROLLMENT_BUCKETS, User
from programdesk.core.scoping import visible, visible_or_404
from programdesk.participation.models import (
    BenefitAssignment,
    BenefitDisbursement,
    CohortMember,
    ProgramEnrollment,
    ScheduleAssignment,
)
from programdesk.programs.selectors import benefits_visible, cohorts_visible, programs_visible
from programdesk.scheduling.models import BenefitSchedule, BenefitSession, SessionStatus

DELIVERED = "delivered"
ABSENT = "absent"
EXCUSED = "excused"
EXPECTED = "expected"
CANCELLED = "cancelled"

# Sums of DECIMAL(12,2) over a million rows need more than 12 digits.
SUM_FIELD: DecimalField[Decimal, Decimal] = DecimalField(max_digits=24, decimal_places=2)
CENT = Decimal("0.01")


def cents(value: Decimal | None) -> Decimal:
    """A sum as exactly two decimals. SQLite adds decimals as floats and Django returns its sums
    unrounded (326.130000000000); quantities have two decimals, so their sums do too."""
    return (value or Decimal(0)).quantize(CENT)


# --- filters ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReportFilter:
    """What a report is limited to. Build it with ``report_filter`` (checks visibility)."""

    program_id: int | None = None
    benefit_id: int | None = None
    cohort_id: int | None = None
    schedule_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def as_query(self) -> dict[str, str]:
        """The filter as query-string parameters (links to exports and other reports)."""
        pairs = {"program_id": self.program_id, "benefit_id": self.benefit_id,
                 "cohort_id": self.cohort_id, "schedule_id": self.schedule_id,
                 "from": self.date_from, "to": self.date_to}
        return {k: str(v) for k, v in pairs.items() if v is not None}


def report_filter(*, user: User, program_id: int | None = None, benefit_id: int | None = None,
                  cohort_id: int | None = None, schedule_id: int | None = None,
                  date_from: dt.date | None = None, date_to: dt.date | None = None,
                  ) -> ReportFilter:
    """A checked filter: each object named must be visible to ``user`` (else NotFound, 404) and
    belong to the program named (else a field error, 422); ``from`` must not be after ``to``.
    One small query per object named."""
    errors: dict[str, str] = {}
    program = benefit = cohort = schedule = None
    if program_id is not None:
        program = visible_or_404(programs_visible(user), program_id)
    if benefit_id is not None:
        benefit = visible_or_404(benefits_visible(user), benefit_id)
    if cohort_id is not None:
        cohort = visible_or_404(cohorts_visible(user), cohort_id)
    if schedule_id is not None:
        schedule = visible_or_404(visible(BenefitSchedule.objects.select_related("benefit"),
                                          user, "benefit__program_id"), schedule_id)
    if program is not None:
        for name, obj in [("benefit_id", benefit), ("cohort_id", cohort)]:
            if obj is not None and obj.program_id != program.pk:
                errors[name] = f"Not a {name[:-3]} of program {program.pk}."
        if schedule is not None and schedule.benefit.program_id != program.pk:
            errors["schedule_id"] = f"Not a schedule of program {program.pk}."
    if benefit is not None and schedule is not None and schedule.benefit_id != benefit.pk:
        errors["schedule_id"] = f"Not a schedule of benefit {benefit.pk}."
    if date_from and date_to and date_from > date_to:
        errors["to"] = "The end date is before the start date."
    if errors:
        raise ValidationError.for_fields(errors)
    return ReportFilter(program_id=program_id, benefit_id=benefit_id, cohort_id=cohort_id,
                        schedule_id=schedule_id, date_from=date_from, date_to=date_to)


def _in_cohort(cohort_id: int) -> Exists:
    """The disbursement's enrollment is in the cohort and was not removed before its date."""
    return Exists(CohortMember.objects.filter(
        Q(removed_on__isnull=True) | Q(removed_on__gt=OuterRef("disbursed_on")),
        cohort_id=cohort_id, enrollment_id=OuterRef("enrollment_id")))


def report_disbursements(*, user: User, filters: ReportFilter,
                         dated: bool = True) -> QuerySet[BenefitDisbursement]:
    """Disbursements the report covers (any status): visible, filtered, inside the range."""
    qs = visible(BenefitDisbursement.objects.all(), user)
    f = filters
    if f.program_id is not None:
        qs = qs.filter(program_id=f.program_id)
    if f.benefit_id is not None:
        qs = qs.filter(benefit_id=f.benefit_id)
    if f.schedule_id is not None:
        qs = qs.filter(session__schedule_id=f.schedule_id)
    if f.cohort_id is not None:
        qs = qs.filter(_in_cohort(f.cohort_id))
    if dated and (f.date_from is not None or f.date_to is not None):
        qs = _in_range(qs, f.date_from, f.date_to)
    return qs


# SQLite without range statistics (Debian's has no STAT4) walks the disbursed_on index for any
# range, then fetches each row: for a year of a million rows that is 4-5 times slower than
# reading the table straight through. Beyond this many days, say "no index" to SQLite.
SQLITE_INDEX_MAX_DAYS = 92


class _NoIndex(Func):
    """``+column``: SQLite's documented way to keep one term from using an index. Same value."""

    template = "+%(expressions)s"
    output_field = DateField()


def _in_range(qs: QuerySet[BenefitDisbursement], date_from: dt.date | None,
              date_to: dt.date | None) -> QuerySet[BenefitDisbursement]:
    column: Any = "disbursed_on"
    if connection.vendor == "sqlite":
        width = (date_to or timezone.localdate()) - (date_from or dt.date.min)
        if width.days > SQLITE_INDEX_MAX_DAYS:
            qs = qs.alias(unindexed_on=_NoIndex("disbursed_on"))
            column = "unindexed_on"
    if date_from is not None:
        qs = qs.filter(**{f"{column}__gte": date_from})
    if date_to is not None:
        qs = qs.filter(**{f"{column}__lte": date_to})
    return qs


def report_sessions(*, user: User, filters: ReportFilter) -> QuerySet[BenefitSession]:
    """Sessions the report covers: visible, of the program/benefit/schedule, dated by local date.
    With a cohort: sessions where at least one of the cohort's members was on the roster."""
    qs = visible(BenefitSession.objects.all(), user, "benefit__program_id")
    f = filters
    if f.program_id is not None:
        qs = qs.filter(benefit__program_id=f.program_id)
    if f.benefit_id is not None:
        qs = qs.filter(benefit_id=f.benefit_id)
    if f.schedule_id is not None:
        qs = qs.filter(schedule_id=f.schedule_id)
    if f.cohort_id is not None:
        qs = qs.filter(Exists(BenefitDisbursement.objects.filter(
            _in_cohort(f.cohort_id), session_id=OuterRef("pk"))))
    if f.date_from is not None:
        qs = qs.filter(local_date__gte=f.date_from)
    if f.date_to is not None:
        qs = qs.filter(local_date__lte=f.date_to)
    return qs


def rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


# --- summary ---------------------------------------------------------------------------------

class UnitTotal(TypedDict):
    unit: str
    quantity: Decimal


class Summary(TypedDict):
    people_served: int
    accounts_served: int
    anonymous_recipients: int
    disbursements: int
    units: list[UnitTotal]
    attendance_rate: float | None
    attended: int
    absent: int
    sessions_held: int


def report_summary(*, user: User, filters: ReportFilter) -> Summary:
    """Three queries whatever the number of rows: the totals, units per unit, sessions held."""
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
    attended, absent = totals["attended"], totals["absent"]
    return Summary(
        people_served=totals["people_served"],
        accounts_served=totals["accounts_served"],
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


def report_enrollments(*, user: User, filters: ReportFilter,
                       named_only: bool = True) -> QuerySet[ProgramEnrollment]:
    """Enrollments the completion report covers: named ones (the anonymous enrollment of a
    program only holds anonymous disbursements). The date range selects enrollments that began
    in it (start date, else application date, else the day the record was made)."""
    qs = visible(ProgramEnrollment.objects.all(), user)
    if named_only:
        qs = qs.filter(is_anonymous=False)
    f = filters
    if f.program_id is not None:
        qs = qs.filter(program_id=f.program_id)
    if f.benefit_id is not None:
        qs = qs.filter(Exists(BenefitAssignment.objects.filter(benefit_id=f.benefit_id,
                                                               enrollment_id=OuterRef("pk"))))
    if f.schedule_id is not None:
        qs = qs.filter(Exists(ScheduleAssignment.objects.filter(
            schedule_id=f.schedule_id, assignment__enrollment_id=OuterRef("pk"))))
    if f.cohort_id is not None:
        qs = qs.filter(Exists(CohortMember.objects.filter(cohort_id=f.cohort_id,
                                                          enrollment_id=OuterRef("pk"))))
    if f.date_from is not None or f.date_to is not None:
        qs = qs.annotate(began_on=_began_on())
        if f.date_from is not None:
            qs = qs.filter(began_on__gte=f.date_from)
        if f.date_to is not None:
            qs = qs.filter(began_on__lte=f.date_to)
    return qs


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



# --- follow-up lists -------------------------------------------------------------------------

def followups_absences(*, user: User, filters: ReportFilter,
                       min_absences: int = 3) -> QuerySet[Any]:
    """People whose latest ``min_absences`` or more recorded sessions of a schedule were all
    absences: absences after their last attended session of that schedule. Excused sessions and
    sessions without attendance taken neither break nor extend the run. Only people whose
    enrollment is still active. One grouped query (a NOT EXISTS for "attended since")."""
    attended_later = BenefitDisbursement.objects.filter(
        person_id=OuterRef("person_id"), session__schedule_id=OuterRef("session__schedule_id"),
        session__start__gt=OuterRef("session__start"), status__bucket=DELIVERED)
    return (report_disbursements(user=user, filters=filters, dated=False)
            .filter(session__isnull=False, person_id__isnull=False, status__bucket=ABSENT,
                    enrollment__is_active=True)
            .filter(~Exists(attended_later))
            .values("person_id", "person__first_name", "person__last_name",
                    "session__schedule_id", "session__schedule__name", "program_id",
                    "program__name")
            .annotate(absences=Count("id"), last_absent_on=Max("disbursed_on"))
            .filter(absences__gte=min_absences)
            .order_by("-absences", "person__last_name", "person__first_name", "person_id",
                      "session__schedule_id"))


def _began_on() -> Coalesce:
    return Coalesce("start_date", "application_date", TruncDate("created_at"),
                    output_field=DateField())


def followups_not_served(*, user: User, filters: ReportFilter, days: int = 14,
                         today: dt.date | None = None) -> QuerySet[Any]:
    """Active enrollments (people and accounts) that began at least ``days`` days ago and have
    no delivered disbursement dated in the last ``days`` days (today included). With a benefit:
    enrollments assigned that benefit, not served it. One query."""
    today = today or timezone.localdate()
    since = today - dt.timedelta(days=days - 1)
    served = BenefitDisbursement.objects.filter(enrollment_id=OuterRef("pk"),
                                                status__bucket=DELIVERED)
    if filters.benefit_id is not None:
        served = served.filter(benefit_id=filters.benefit_id)
    qs = visible(ProgramEnrollment.objects.filter(is_active=True, is_anonymous=False), user)
    f = filters
    if f.program_id is not None:
        qs = qs.filter(program_id=f.program_id)
    if f.benefit_id is not None:
        qs = qs.filter(Exists(BenefitAssignment.objects.filter(benefit_id=f.benefit_id,
                                                               enrollment_id=OuterRef("pk"))))
    if f.schedule_id is not None:
        qs = qs.filter(Exists(ScheduleAssignment.objects.filter(
            Q(end_date__isnull=True) | Q(end_date__gte=today),
            schedule_id=f.schedule_id, assignment__enrollment_id=OuterRef("pk"))))
    if f.cohort_id is not None:
        qs = qs.filter(Exists(CohortMember.objects.filter(
            cohort_id=f.cohort_id, enrollment_id=OuterRef("pk"), removed_on__isnull=True)))
    last_served = served.order_by("-disbursed_on").values("disbursed_on")[:1]
    return (qs.annotate(began_on=_began_on())
            .filter(began_on__lte=today - dt.timedelta(days=days))
            .filter(~Exists(served.filter(disbursed_on__gte=since)))
            .annotate(last_served_on=last_served)
            .values("id", "program_id", "program__name", "person_id", "person__first_name",
                    "person__last_name", "account_id", "account__name", "began_on",
                    "last_served_on")
            .order_by(F("last_served_on").asc(nulls_first=True), "person__last_name",
                      "person__first_name", "account__name", "id"))


def followups_unrecorded_sessions(*, user: User, filters: ReportFilter,
                                  now: dt.datetime | None = None) -> QuerySet[Any]:
    """Sessions that have ended without attendance taken: every disbursement still expected.
    A scheduled session with nobody on it counts too (nobody closed it); a session marked
    completed with nobody on it does not (it was held, empty). Cancelled and postponed sessions
    never count. One query."""
    now = now or timezone.now()
    recorded = (BenefitDisbursement.objects.filter(session_id=OuterRef("pk"))
                .exclude(status__bucket=EXPECTED))
    anyone = BenefitDisbursement.objects.filter(session_id=OuterRef("pk"))
    return (report_sessions(user=user, filters=filters)
            .filter(end__lt=now, status__in=[SessionStatus.SCHEDULED, SessionStatus.COMPLETED])
            .filter(~Exists(recorded))
            .filter(Q(status=SessionStatus.SCHEDULED) | Exists(anyone))
            .values("id", "schedule_id", "schedule__name", "schedule__timezone", "benefit_id",
                    "benefit__name", "benefit__program_id", "benefit__program__name",
                    "local_date", "start", "status")
            .annotate(expected=Count("disbursements"))
            .order_by("-start", "-id"))


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


def month_to_date(today: dt.date | None = None) -> ReportFilter:
    today = today or timezone.localdate()
    return ReportFilter(date_from=today.replace(day=1), date_to=today)
