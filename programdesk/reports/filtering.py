"""What a report covers: its filter (``ReportFilter``, checked by ``report_filter``) and the
disbursements, sessions and enrollments inside it, scoped to the programs the user may see.
The reports (``selectors.py``), the follow-up lists (``followups.py``) and the record lists
(``lists.py``) all start from these, so a filter means the same everywhere.

Only disbursements whose status is in the ``delivered`` bucket count as served or delivered;
the other bucket names are here too, for the same reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connection
from django.db.models import DateField, Exists, Func, Model, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from programdesk.core.errors import ValidationError
from programdesk.core.models import User
from programdesk.core.scoping import visible, visible_or_404
from programdesk.core.selectors import filter_given
from programdesk.participation.models import (
    BenefitAssignment,
    BenefitDisbursement,
    CohortMember,
    ProgramEnrollment,
    ScheduleAssignment,
)
from programdesk.programs.selectors import benefits_visible, cohorts_visible, programs_visible
from programdesk.scheduling.models import BenefitSchedule, BenefitSession

DELIVERED = "delivered"
ABSENT = "absent"
EXCUSED = "excused"
EXPECTED = "expected"
CANCELLED = "cancelled"

M = TypeVar("M", bound=Model)


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


def _named(qs: QuerySet[M], pk: int | None) -> M | None:
    return visible_or_404(qs, pk) if pk is not None else None


def report_filter(*, user: User, program_id: int | None = None, benefit_id: int | None = None,
                  cohort_id: int | None = None, schedule_id: int | None = None,
                  date_from: dt.date | None = None, date_to: dt.date | None = None,
                  ) -> ReportFilter:
    """A checked filter: each object named must be visible to ``user`` (else NotFound, 404) and
    belong to the program named (else a field error, 422); ``from`` must not be after ``to``.
    One small query per object named."""
    errors: dict[str, str] = {}
    program = _named(programs_visible(user), program_id)
    benefit = _named(benefits_visible(user), benefit_id)
    cohort = _named(cohorts_visible(user), cohort_id)
    schedule = _named(visible(BenefitSchedule.objects.select_related("benefit"), user,
                              "benefit__program_id"), schedule_id)
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


def month_to_date(today: dt.date | None = None) -> ReportFilter:
    today = today or timezone.localdate()
    return ReportFilter(date_from=today.replace(day=1), date_to=today)


# --- disbursements -----------------------------------------------------------------------------

def _in_cohort(cohort_id: int) -> Exists:
    """The disbursement's enrollment is in the cohort and was not removed before its date."""
    return Exists(CohortMember.objects.filter(
        Q(removed_on__isnull=True) | Q(removed_on__gt=OuterRef("disbursed_on")),
        cohort_id=cohort_id, enrollment_id=OuterRef("enrollment_id")))


def report_disbursements(*, user: User, filters: ReportFilter,
                         dated: bool = True) -> QuerySet[BenefitDisbursement]:
    """Disbursements the report covers (any status): visible, filtered, inside the range."""
    f = filters
    qs = filter_given(visible(BenefitDisbursement.objects.all(), user), program_id=f.program_id,
                      benefit_id=f.benefit_id, session__schedule_id=f.schedule_id)
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
    return filter_given(qs, **{f"{column}__gte": date_from, f"{column}__lte": date_to})


# --- sessions ----------------------------------------------------------------------------------

def report_sessions(*, user: User, filters: ReportFilter) -> QuerySet[BenefitSession]:
    """Sessions the report covers: visible, of the program/benefit/schedule, dated by local date.
    With a cohort: sessions where at least one of the cohort's members was on the roster."""
    f = filters
    qs = filter_given(visible(BenefitSession.objects.all(), user, "benefit__program_id"),
                      benefit__program_id=f.program_id, benefit_id=f.benefit_id,
                      schedule_id=f.schedule_id, local_date__gte=f.date_from,
                      local_date__lte=f.date_to)
    if f.cohort_id is not None:
        qs = qs.filter(Exists(BenefitDisbursement.objects.filter(
            _in_cohort(f.cohort_id), session_id=OuterRef("pk"))))
    return qs


# --- enrollments -------------------------------------------------------------------------------

def began_on() -> Coalesce:
    """The day an enrollment began: its start date, else its application date, else the day
    the record was made."""
    return Coalesce("start_date", "application_date", TruncDate("created_at"),
                    output_field=DateField())


def enrollments_in(qs: QuerySet[ProgramEnrollment], filters: ReportFilter, *,
                   current_on: dt.date | None = None) -> QuerySet[ProgramEnrollment]:
    """``qs`` limited to the filter's program, benefit (assigned it), schedule (on its roster)
    and cohort (a member). With ``current_on``: on the roster that day and still a member;
    without: ever (the completion report counts whoever was). The dates are not applied here."""
    f = filters
    qs = filter_given(qs, program_id=f.program_id)
    if f.benefit_id is not None:
        qs = qs.filter(Exists(BenefitAssignment.objects.filter(benefit_id=f.benefit_id,
                                                               enrollment_id=OuterRef("pk"))))
    if f.schedule_id is not None:
        on_roster = ScheduleAssignment.objects.filter(
            schedule_id=f.schedule_id, assignment__enrollment_id=OuterRef("pk"))
        if current_on is not None:
            on_roster = on_roster.filter(Q(end_date__isnull=True) | Q(end_date__gte=current_on))
        qs = qs.filter(Exists(on_roster))
    if f.cohort_id is not None:
        member = CohortMember.objects.filter(cohort_id=f.cohort_id, enrollment_id=OuterRef("pk"))
        if current_on is not None:
            member = member.filter(removed_on__isnull=True)
        qs = qs.filter(Exists(member))
    return qs


def report_enrollments(*, user: User, filters: ReportFilter,
                       named_only: bool = True) -> QuerySet[ProgramEnrollment]:
    """Enrollments the completion report covers: named ones (the anonymous enrollment of a
    program only holds anonymous disbursements). The date range selects enrollments that began
    in it (start date, else application date, else the day the record was made)."""
    qs = visible(ProgramEnrollment.objects.all(), user)
    if named_only:
        qs = qs.filter(is_anonymous=False)
    qs = enrollments_in(qs, filters)
    if filters.date_from is not None or filters.date_to is not None:
        qs = filter_given(qs.annotate(began_on=began_on()), began_on__gte=filters.date_from,
                          began_on__lte=filters.date_to)
    return qs
