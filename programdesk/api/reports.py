"""API: reports (docs/api.md, Reports). Every report is a constant number of aggregate
queries; every report is also a CSV or XLSX download (``/reports/<name>.csv``, ``.xlsx``)."""

from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponseBase
from ninja import Query, Router, Schema
from pydantic import Field

from programdesk.api.auth import require
from programdesk.api.pagination import Page, PageParams, paginate
from programdesk.api.schemas import Date, DateTime, Id, QuantityOut
from programdesk.core.db_router import replica_reads
from programdesk.core.errors import ValidationError
from programdesk.core.models import User
from programdesk.core.roles import Cap
from programdesk.reports import demographics, filtering, followups, selectors
from programdesk.reports.exports import FORMATS, XLSX_CONTENT_TYPE, Format, export_response
from programdesk.reports.filtering import ReportFilter
from programdesk.reports.tables import REPORT_TABLES, ReportOptions

router = Router(tags=["reports"])


# --- query parameters ------------------------------------------------------------------------

class ReportQuery(Schema):
    program_id: Id | None = None
    benefit_id: Id | None = None
    cohort_id: Id | None = None
    date_from: Date | None = Field(None, alias="from",
                                   description="First day, inclusive (ISO date)")
    date_to: Date | None = Field(None, alias="to", description="Last day, inclusive")


class AttendanceQuery(ReportQuery):
    schedule_id: Id | None = None
    group_by: Literal["person", "session", "schedule", "cohort"] = Field(
        "person", description="One row per person (default), session, schedule or cohort")


class CompletionQuery(ReportQuery):
    program_id: Id = Field(...)


class RepeatQuery(ReportQuery):
    min_times: int = Field(2, ge=1, le=1000,
                           description="Count people served at least this many times (days)")


class ExportQuery(AttendanceQuery):
    min_times: int = Field(2, ge=1, le=1000)
    min_absences: int = Field(3, ge=1, le=1000)
    days: int = Field(14, ge=1, le=3660)
    year: int = Field(0, ge=0, le=2200, description="new-vs-returning: the year of the "
                                                    "quarters (0 or none: this year)")


class FollowupQuery(PageParams, ReportQuery):
    schedule_id: Id | None = None


class AbsencesQuery(FollowupQuery):
    min_absences: int = Field(3, ge=1, le=1000, description="Consecutive absences at least")


class NotServedQuery(FollowupQuery):
    days: int = Field(14, ge=1, le=3660, description="No delivered service in this many days")


def _filters(user: User, q: ReportQuery) -> ReportFilter:
    return filtering.report_filter(
        user=user, program_id=q.program_id, benefit_id=q.benefit_id, cohort_id=q.cohort_id,
        schedule_id=getattr(q, "schedule_id", None), date_from=q.date_from, date_to=q.date_to)


# --- summary ---------------------------------------------------------------------------------

class UnitQuantityOut(Schema):
    unit: str = Field(description="The unit's code, e.g. `hour`")
    quantity: QuantityOut


class SummaryOut(Schema):
    people_served: int
    accounts_served: int
    households_served: int = Field(description="Distinct households among the delivered "
                                               "disbursements in range")
    individuals_in_households_served: int = Field(
        description="For each household served, its size on its latest delivered disbursement "
                    "in range, summed")
    new_people: int = Field(description="People whose first delivered disbursement ever "
                                        "(within the other filters) falls in the range")
    new_households: int = Field(description="Households whose first delivered disbursement "
                                            "ever (within the other filters) falls in the "
                                            "range")
    anonymous_recipients: int
    disbursements: int
    units: list[UnitQuantityOut]
    attendance_rate: float | None
    sessions_held: int


@router.get("/summary", response=SummaryOut)
def summary(request: HttpRequest, q: Query[ReportQuery]) -> Any:
    """Who was served and what was delivered. Only disbursements in the `delivered` bucket with
    `disbursed_on` inside `from`..`to` count: `people_served` distinct people,
    `accounts_served` distinct accounts, `households_served` distinct households (the
    household each disbursement recorded on its date), `individuals_in_households_served` the
    sum over those households of the size recorded on each one's latest delivered disbursement
    in range, `new_people` / `new_households` those whose first delivered disbursement ever
    (with the same program, benefit, cohort and schedule filters) is in range,
    `anonymous_recipients` the sum of anonymous
    disbursements' recipient counts, `units` the quantity per unit. `attendance_rate` =
    delivered / (delivered + absent) over session disbursements (excused in neither; null when
    none). `sessions_held` = sessions with status `completed` whose local date is in range."""
    user = require(request, Cap.READ_RECORDS)
    with replica_reads():  # reports read from the replica, if any
        return selectors.report_summary(user=user, filters=_filters(user, q))


# --- demographics ----------------------------------------------------------------------------

class BandCountOut(Schema):
    band: str
    count: int


class SizeCountOut(Schema):
    size: str = Field(description="`1`…`7`, `8+`")
    count: int


class TefapOut(Schema):
    households: int = Field(description="Households served (as `households`)")
    households_with_children: int = Field(
        description="Households with a registered member aged 0-17 on the household's latest "
                    "delivery in range")
    households_without_children: int
    persons: int = Field(description="Their sizes on their latest delivery in range, summed "
                                     "(declared members included)")
    children_0_17: int = Field(description="Registered members aged 0-17 on that day")
    adults_18_59: int
    seniors_60_plus: int
    people_not_in_a_household: int = Field(
        description="People served in range whose deliveries recorded no household: in none "
                    "of the TEFAP counts above")


class DemographicsOut(Schema):
    people: int = Field(description="People served (as the summary's `people_served`)")
    households: int = Field(description="Households served (as `households_served`)")
    age_bands: list[BandCountOut] = Field(
        description="People by whole-years age on their first delivery in range: `0-5`, "
                    "`6-13`, `14-17`, `18-24`, `25-44`, `45-54`, `55-59`, `60-64`, `65-74`, "
                    "`75+`, `unknown` (no birth date)")
    household_sizes: list[SizeCountOut] = Field(
        description="Households by the size recorded on their latest delivery in range")
    income_bands: list[BandCountOut] = Field(
        description="Households by annual income as a percentage of the income guideline for "
                    "that size: `0-50`, `51-75`, `76-100`, `101-125`, `126-150`, `151-175`, "
                    "`176-200`, `201-250`, `251+` (upper bounds inclusive), `unknown` (no "
                    "income, or no guideline for the size)")
    tefap: TefapOut


@router.get("/demographics", response=DemographicsOut)
def demographics_report(request: HttpRequest, q: Query[ReportQuery]) -> Any:
    """Who was served, with the summary's filters: people by age band, households by size and
    by income as a share of the income guideline, and the TEFAP block. Only delivered
    disbursements dated in range count. A household's size is the one recorded on its latest
    delivery in range, its members are those on that day; its income is the household's
    current `annual_income` and the guideline is the income guideline table as it is now (the
    table has no year). Three queries whatever the number of rows. The rows behind each
    number: `/reports/rows/?measure=…&band=…` on the site (docs/reports.md)."""
    user = require(request, Cap.READ_RECORDS)
    with replica_reads():  # reports read from the replica, if any
        return demographics.report_demographics(user=user, filters=_filters(user, q))


# --- attendance ------------------------------------------------------------------------------

class AttendanceCountsOut(Schema):
    attended: int
    absent: int
    excused: int
    rate: float | None


class AttendanceRowOut(AttendanceCountsOut):
    person_id: int | None
    account_id: int | None
    session_id: int | None
    schedule_id: int | None
    cohort_id: int | None
    local_date: Date | None
    name: str


class AttendanceOut(Schema):
    group_by: str
    rows: list[AttendanceRowOut]
    totals: AttendanceCountsOut


@router.get("/attendance", response=AttendanceOut)
def attendance(request: HttpRequest, q: Query[AttendanceQuery]) -> Any:
    """Attendance at sessions for a schedule, a program or a cohort (at least one of them):
    `attended` (delivered), `absent`, `excused` and `rate` = attended / (attended + absent),
    null when neither. Rows per person by default; `group_by=session|schedule|cohort` for the
    other views. A member of two cohorts appears in both cohort rows; totals count each
    disbursement once."""
    user = require(request, Cap.READ_RECORDS)
    with replica_reads():  # reports read from the replica, if any
        if q.schedule_id is None and q.program_id is None and q.cohort_id is None:
            raise ValidationError.for_fields(
                {"schedule_id": "Give schedule_id, program_id or cohort_id."})
        return selectors.report_attendance(user=user, filters=_filters(user, q),
                                           group_by=q.group_by)


# --- completion ------------------------------------------------------------------------------

class StatusCountOut(Schema):
    code: str
    label: str
    bucket: str
    count: int


class CompletionOut(Schema):
    by_bucket: dict[str, int]
    completion_rate: float | None
    enrollments: int
    by_status: list[StatusCountOut]


@router.get("/completion", response=CompletionOut)
def completion(request: HttpRequest, q: Query[CompletionQuery]) -> Any:
    """Named enrollments of a program (optionally of a cohort — anyone who was ever a member —
    or assigned a benefit, or begun within `from`..`to`) per status bucket, and
    `completion_rate` = completed / (completed + withdrawn), null when neither."""
    user = require(request, Cap.READ_RECORDS)
    with replica_reads():  # reports read from the replica, if any
        return selectors.report_completion(user=user, filters=_filters(user, q))


# --- units by benefit and month --------------------------------------------------------------

class UnitsMonthOut(Schema):
    month: str = Field(description="YYYY-MM")
    program_id: int
    benefit_id: int
    benefit: str
    unit: str
    quantity: QuantityOut
    disbursements: int


class UnitsByMonthOut(Schema):
    rows: list[UnitsMonthOut]


@router.get("/units-by-month", response=UnitsByMonthOut)
def units_by_month(request: HttpRequest, q: Query[ReportQuery]) -> Any:
    """Delivered quantity and number of delivered disbursements per benefit and calendar month
    of `disbursed_on`."""
    user = require(request, Cap.READ_RECORDS)
    with replica_reads():  # reports read from the replica, if any
        return {"rows": selectors.report_units_by_month(user=user, filters=_filters(user, q))}


# --- repeat participation --------------------------------------------------------------------

class TimesOut(Schema):
    times: int
    people: int


class PostalCodeOut(Schema):
    postal_code: str
    people_served: int
    repeat_people: int


class RepeatOut(Schema):
    min_times: int
    people_served: int
    repeat_people: int
    distribution: list[TimesOut]
    by_postal_code: list[PostalCodeOut]


@router.get("/repeat-participation", response=RepeatOut)
def repeat_participation(request: HttpRequest, q: Query[RepeatQuery]) -> Any:
    """How many times people were served, a time being a day with at least one delivered
    disbursement: the distribution (`times` → `people`), how many were served `min_times` or
    more (`repeat_people`), and both per postal code (empty string: none recorded)."""
    user = require(request, Cap.READ_RECORDS)
    with replica_reads():  # reports read from the replica, if any
        return selectors.report_repeat_participation(user=user, filters=_filters(user, q),
                                                     min_times=q.min_times)


# --- follow-up lists -------------------------------------------------------------------------

class AbsenceOut(Schema):
    person_id: int
    first_name: str
    last_name: str
    program_id: int
    program: str
    schedule_id: int
    schedule: str
    absences: int
    last_absent_on: Date


@router.get("/follow-ups/absences", response=Page[AbsenceOut])
def followup_absences(request: HttpRequest, q: Query[AbsencesQuery]) -> Any:
    """People (with an active enrollment) absent from their last `min_absences` or more
    recorded sessions of a schedule — absences since they last attended it. Excused sessions
    and sessions without attendance taken are skipped."""
    user = require(request, Cap.READ_RECORDS)
    with replica_reads():  # reports read from the replica, if any
        qs = followups.followups_absences(user=user, filters=_filters(user, q),
                                          min_absences=q.min_absences)
        return paginate(qs, q, lambda v: {
            "person_id": v["person_id"], "first_name": v["person__first_name"],
            "last_name": v["person__last_name"], "program_id": v["program_id"],
            "program": v["program__name"], "schedule_id": v["session__schedule_id"],
            "schedule": v["session__schedule__name"], "absences": v["absences"],
            "last_absent_on": v["last_absent_on"]})


class NotServedOut(Schema):
    enrollment_id: int
    program_id: int
    program: str
    person_id: int | None
    account_id: int | None
    name: str
    began_on: Date
    last_served_on: Date | None


@router.get("/follow-ups/not-served", response=Page[NotServedOut])
def followup_not_served(request: HttpRequest, q: Query[NotServedQuery]) -> Any:
    """Active enrollments begun at least `days` days ago with no delivered disbursement in the
    last `days` days (today included), longest-unserved first."""
    user = require(request, Cap.READ_RECORDS)
    with replica_reads():  # reports read from the replica, if any
        qs = followups.followups_not_served(user=user, filters=_filters(user, q), days=q.days)
        return paginate(qs, q, lambda v: {
            "enrollment_id": v["id"], "program_id": v["program_id"], "program": v["program__name"],
            "person_id": v["person_id"], "account_id": v["account_id"],
            "name": selectors.display_name(v["person__first_name"], v["person__last_name"],
                                           v["account__name"]),
            "began_on": v["began_on"], "last_served_on": v["last_served_on"]})


class UnrecordedSessionOut(Schema):
    session_id: int
    local_date: Date
    start: DateTime
    status: str
    program_id: int
    program: str
    benefit_id: int
    benefit: str
    schedule_id: int
    schedule: str
    on_roster: int


@router.get("/follow-ups/unrecorded-sessions", response=Page[UnrecordedSessionOut])
def followup_unrecorded_sessions(request: HttpRequest, q: Query[FollowupQuery]) -> Any:
    """Sessions that have ended (scheduled or completed) with no attendance taken: every
    disbursement still in the `expected` bucket. `from`/`to` limit the sessions' local dates.
    Most recent first."""
    user = require(request, Cap.READ_RECORDS)
    with replica_reads():  # reports read from the replica, if any
        qs = followups.followups_unrecorded_sessions(user=user, filters=_filters(user, q))
        return paginate(qs, q, lambda v: {
            "session_id": v["id"], "local_date": v["local_date"],
            "start": v["start"].astimezone(ZoneInfo(v["schedule__timezone"])),
            "status": v["status"], "program_id": v["benefit__program_id"],
            "program": v["benefit__program__name"], "benefit_id": v["benefit_id"],
            "benefit": v["benefit__name"], "schedule_id": v["schedule_id"],
            "schedule": v["schedule__name"], "on_roster": v["expected"]})


# --- downloads -------------------------------------------------------------------------------

def _export_view(name: str, fmt: Format) -> Any:
    def view(request: HttpRequest, q: Query[ExportQuery]) -> HttpResponseBase:
        user = require(request, Cap.READ_RECORDS)
        with replica_reads():  # reports read from the replica, if any
            filters = _filters(user, q)
            options = ReportOptions(group_by=q.group_by, min_times=q.min_times,
                                    min_absences=q.min_absences, days=q.days, year=q.year)
            header, rows = REPORT_TABLES[name](user, filters, options)
            return export_response(fmt, filename=f"report-{name}", header=header, rows=rows,
                                   title=name)

    view.__name__ = f"export_{name.replace('-', '_')}_{fmt}"
    view.__doc__ = (f"The `{name}` report as {fmt.upper()}, with the same filters as the "
                    f"report. Text cells starting with =, +, -, @, tab or CR are prefixed "
                    f"with ' against formula injection.")
    return view


_MEDIA_TYPES = {"csv": "text/csv", "xlsx": XLSX_CONTENT_TYPE}

for _name in REPORT_TABLES:
    for _fmt in FORMATS:
        router.get(f"/{_name}.{_fmt}", operation_id=f"report_{_name.replace('-', '_')}_{_fmt}",
                   response={200: None}, openapi_extra={"responses": {200: {
                       "description": f"A {_fmt.upper()} file",
                       "content": {_MEDIA_TYPES[_fmt]: {}}}}})(_export_view(_name, _fmt))
