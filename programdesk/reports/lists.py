"""The list exports: people, enrollments, disbursements and sessions as rows for exports.py.

Each ``export_<list>`` returns ``(header, rows)`` where ``rows`` (``Rows``) iterates over a
``values_list`` queryset read with ``.iterator(chunk_size=...)`` — tuples, never model
instances — so an export of a million disbursements holds one chunk at a time; it can also
say how many rows there are before reading them (large exports run as tasks: export_jobs.py).

Filters (the list pages' filters, shared by every list): ``program_id``, ``benefit_id``,
``cohort_id``, ``schedule_id``, ``from``/``to``, ``status``, ``bucket`` and ``search``; what each
means for each list is documented on its function and in docs/reports.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from programdesk.core.models import User
from programdesk.core.roles import Cap
from programdesk.core.scoping import visible
from programdesk.core.selectors import filter_given
from programdesk.participation.models import (
    BenefitAssignment,
    CohortMember,
    ProgramEnrollment,
)
from programdesk.participation.selectors import disbursements_list, enrollments_list
from programdesk.people.selectors import (
    current_household_columns,
    people_search,
    people_visible,
)
from programdesk.programs.selectors import field_definitions_visible
from programdesk.reports.exports import CHUNK_SIZE
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

Table = tuple[list[str], "Rows"]


@dataclass(frozen=True)
class ListFilter:
    report: ReportFilter
    status: str | None = None  # a status code (sessions: scheduled, completed, ...)
    bucket: str | None = None  # a status bucket (disbursements, enrollments)
    search: str | None = None
    person_id: int | None = None  # enrollments, disbursements
    account_id: int | None = None  # enrollments, disbursements
    session_id: int | None = None  # disbursements
    recipient_type: str | None = None  # disbursements: enrollment, walk_in, anonymous


def _search(terms: str | None, *fields: str) -> Q:
    """Every word must match one of the fields (so "ana garcia" finds Ana Garcia). People use
    the people list's own search instead."""
    q = Q()
    for word in (terms or "").split():
        any_field = Q()
        for name in fields:
            any_field |= Q(**{f"{name}__icontains": word})
        q &= any_field
    return q


def _custom_fields(user: User, target: str) -> list[str]:
    """Keys of the active custom fields of ``target`` the user may see (global ones and those of
    visible programs and benefits): one column each, named ``extra.<key>``."""
    qs = field_definitions_visible(user).filter(target=target, is_active=True)
    return list(qs.order_by("order", "id").values_list("key", flat=True))


def _with_custom_fields(user: User, target: str, qs: QuerySet[Any], columns: list[str],
                        header: list[str]) -> Table:
    """The table of ``columns`` (named ``header``), plus one ``extra.<key>`` column per custom
    field of ``target`` the user may see."""
    extra_keys = _custom_fields(user, target)
    if extra_keys:
        columns = [*columns, "extra"]
    header = [*header, *(f"extra.{key}" for key in extra_keys)]
    return header, Rows(qs.values_list(*columns), extra_keys)


class Rows(Iterable[Sequence[Any]]):
    """A list export's rows: tuples from the cursor when iterated (once); the last column,
    when there are custom fields, is ``extra``, spread over one column per key. Before
    reading them, ``more_than`` and ``count`` ask the database how many there are."""

    def __init__(self, qs: QuerySet[Any], extra_keys: list[str], convert: Any = None) -> None:
        self.qs, self.extra_keys, self.convert = qs, extra_keys, convert

    def more_than(self, limit: int) -> bool:
        """Whether there are more than ``limit`` rows: a count that stops at ``limit + 1``."""
        return self.qs[:limit + 1].count() > limit

    def count(self) -> int:
        return self.qs.count()

    def __iter__(self) -> Iterator[Sequence[Any]]:
        for row in self.qs.iterator(chunk_size=CHUNK_SIZE):
            if self.convert is not None:
                row = self.convert(row)
            if self.extra_keys:
                extra = row[-1] or {}
                row = (*row[:-1], *(extra.get(key) for key in self.extra_keys))
            yield row


# --- people ----------------------------------------------------------------------------------

def export_people(*, user: User, filters: ListFilter) -> Table:
    """People, as the people list shows them (``people_visible``, ``people_search``): a user
    limited to programs gets the people enrolled in them and those enrolled nowhere yet.
    ``program_id``: enrolled in the program (any status; ``status``/``bucket`` narrow the
    enrollment); ``benefit_id``: assigned the benefit; ``cohort_id``: ever in the cohort;
    ``from``/``to``: served (a delivered disbursement) in the range, within the program/benefit
    when given; ``search``: the people list's search. Income and household size only for roles
    that may see eligibility details."""
    f = filters.report
    qs = people_search(people_visible(user), filters.search or "")
    if f.program_id is not None or filters.status or filters.bucket:
        wanted = filter_given(ProgramEnrollment.objects.filter(person_id=OuterRef("pk")),
                              program_id=f.program_id, status__code=filters.status or None,
                              status__bucket=filters.bucket or None)
        qs = qs.filter(Exists(visible(wanted, user)))
    if f.benefit_id is not None:
        qs = qs.filter(Exists(BenefitAssignment.objects.filter(person_id=OuterRef("pk"),
                                                               benefit_id=f.benefit_id)))
    if f.cohort_id is not None:
        qs = qs.filter(Exists(CohortMember.objects.filter(
            cohort_id=f.cohort_id, enrollment__person_id=OuterRef("pk"))))
    if f.date_from is not None or f.date_to is not None:
        served = report_disbursements(user=user, filters=f).filter(
            person_id=OuterRef("pk"), status__bucket=DELIVERED)
        qs = qs.filter(Exists(served))

    columns = ["id", "first_name", "last_name", "birth_date", "email", "phone", "postal_code",
               "card_code", "account_id", "account__name"]
    header = ["id", "first_name", "last_name", "birth_date", "email", "phone", "postal_code",
              "card_code", "account_id", "account"]
    if user.can(Cap.SEE_ELIGIBILITY):
        columns += ["household_size", "annual_income"]
        header += ["household_size", "annual_income"]
    # The household the person lives in now and, for those who see eligibility details (the
    # size is one), its size now (a disbursement carries the size as it was on its date).
    qs = qs.annotate(**current_household_columns())
    columns.append("current_household_id")
    header.append("current_household_id")
    if user.can(Cap.SEE_ELIGIBILITY):
        columns.append("current_household_size")
        header.append("current_household_size")
    columns.append("created_at")
    header.append("created_at")
    return _with_custom_fields(user, "person", qs.order_by("last_name", "first_name", "id"),
                               columns, header)


# --- enrollments -----------------------------------------------------------------------------

def export_enrollments(*, user: User, filters: ListFilter) -> Table:
    """Enrollments, named and anonymous, as the enrollments list selects them
    (``participation.selectors.enrollments_list``: program, status code, bucket, current cohort
    members, person, account, name search), plus ``benefit_id`` (assigned the benefit),
    ``schedule_id`` (on its roster) and ``from``/``to`` (began in the range: start date, else
    application date, else the day it was recorded — as the completion report)."""
    f = filters.report
    qs = enrollments_list(user=user, program_id=f.program_id, status=filters.status,
                          bucket=filters.bucket, cohort_id=f.cohort_id,
                          person_id=filters.person_id, account_id=filters.account_id,
                          search=filters.search or "")
    if f.benefit_id or f.schedule_id or f.date_from or f.date_to:
        covered = report_enrollments(user=user, named_only=False, filters=ReportFilter(
            benefit_id=f.benefit_id, schedule_id=f.schedule_id, date_from=f.date_from,
            date_to=f.date_to))
        qs = qs.filter(pk__in=covered.values("pk"))
    columns = ["id", "program_id", "program__name", "person_id", "person__first_name",
               "person__last_name", "account_id", "account__name", "is_anonymous",
               "status__code", "status__bucket", "is_active", "application_date", "start_date",
               "end_date"]
    header = ["id", "program_id", "program", "person_id", "first_name", "last_name",
              "account_id", "account", "is_anonymous", "status", "bucket", "is_active",
              "application_date", "start_date", "end_date"]
    return _with_custom_fields(user, "enrollment", qs, columns, header)


# --- disbursements ---------------------------------------------------------------------------

def export_disbursements(*, user: User, filters: ListFilter) -> Table:
    """Disbursements as the disbursements list selects them
    (``participation.selectors.disbursements_list``: program, benefit, person, account,
    session, recipient type, status code, ``from``/``to`` on ``disbursed_on``, name search),
    newest first, plus the reports' ``cohort_id`` and ``schedule_id`` and ``bucket``.
    ``bucket=delivered`` with the summary's filters gives exactly the rows it counts."""
    f = filters.report
    qs = disbursements_list(user=user, person_id=filters.person_id,
                            account_id=filters.account_id, benefit_id=f.benefit_id,
                            program_id=f.program_id, session_id=filters.session_id,
                            recipient_type=filters.recipient_type, status=filters.status,
                            date_from=f.date_from, date_to=f.date_to,
                            search=filters.search or "")
    if f.cohort_id is not None or f.schedule_id is not None:
        qs = qs.filter(pk__in=report_disbursements(
            user=user, dated=False,
            filters=ReportFilter(cohort_id=f.cohort_id, schedule_id=f.schedule_id)).values("pk"))
    qs = filter_given(qs, status__bucket=filters.bucket or None)
    columns = ["id", "disbursed_on", "program_id", "program__name", "benefit_id",
               "benefit__name", "session_id", "assignment_id", "enrollment_id", "person_id",
               "person__first_name", "person__last_name", "account_id", "account__name",
               "case_id", "recipient_type", "recipient_count", "quantity", "unit__code",
               "status__code", "status__bucket", "household_id", "household_size"]
    header = ["id", "disbursed_on", "program_id", "program", "benefit_id", "benefit",
              "session_id", "assignment_id", "enrollment_id", "person_id", "first_name",
              "last_name", "account_id", "account", "case_id", "recipient_type",
              "recipient_count", "quantity", "unit", "status", "bucket", "household_id",
              "household_size"]
    return _with_custom_fields(user, "disbursement", qs, columns, header)


# --- sessions --------------------------------------------------------------------------------

def export_sessions(*, user: User, filters: ListFilter) -> Table:
    """Sessions with the reports' filters (``from``/``to`` on the local date), ``status``
    (scheduled, completed, cancelled, postponed) and ``search`` (schedule, benefit or location);
    times in the schedule's own time zone; roster and attendance counts."""
    qs = filter_given(report_sessions(user=user, filters=filters.report),
                      status=filters.status or None)
    qs = qs.filter(_search(filters.search, "schedule__name", "benefit__name", "location"))
    bucket = "disbursements__status__bucket"
    counted = (
        qs.values("id")  # group by session for the counts
        .annotate(on_roster=Count("disbursements", filter=~Q(**{bucket: CANCELLED})),
                  attended=Count("disbursements", filter=Q(**{bucket: DELIVERED})),
                  absent=Count("disbursements", filter=Q(**{bucket: ABSENT})),
                  excused=Count("disbursements", filter=Q(**{bucket: EXCUSED})))
        .order_by("start", "id")
        .values_list("id", "local_date", "start", "end", "schedule__timezone",
                     "benefit__program_id", "benefit__program__name", "benefit_id",
                     "benefit__name", "schedule_id", "schedule__name", "status", "location",
                     "on_roster", "attended", "absent", "excused"))
    header = ["id", "local_date", "start", "end", "timezone", "program_id", "program",
              "benefit_id", "benefit", "schedule_id", "schedule", "status", "location",
              "on_roster", "attended", "absent", "excused"]
    zones: dict[str, ZoneInfo] = {}

    def local_times(row: tuple[Any, ...]) -> tuple[Any, ...]:
        zone = zones.setdefault(row[4], ZoneInfo(row[4]))
        return (row[0], row[1], row[2].astimezone(zone), row[3].astimezone(zone), *row[4:])

    return header, Rows(counted, [], local_times)


LISTS = {
    "people": export_people,
    "enrollments": export_enrollments,
    "disbursements": export_disbursements,
    "sessions": export_sessions,
}
