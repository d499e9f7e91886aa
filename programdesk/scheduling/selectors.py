"""Reads of schedules and sessions, scoped to the programs the user may see.

A session's counts and roster are its disbursements, participation's rows: scheduling sits
below participation and reads them only through the reverse relation participation declares
(``BenefitSession.disbursements``), never by importing it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet

from programdesk.core.errors import NotFound, ValidationError
from programdesk.core.models import Bucket, User
from programdesk.core.scoping import id_or_404, visible, visible_or_404
from programdesk.core.selectors import filter_given
from programdesk.programs.models import Benefit
from programdesk.scheduling import recurrence
from programdesk.scheduling.models import BenefitSchedule, BenefitSession

PROGRAM = "benefit__program_id"
# The buckets a session's counts show, in the order pages list them.
COUNT_BUCKETS = (Bucket.EXPECTED, Bucket.DELIVERED, Bucket.ABSENT, Bucket.EXCUSED)


def schedules_visible(*, user: User, benefit_id: int | None = None,
                      program_id: int | None = None) -> QuerySet[BenefitSchedule]:
    qs = BenefitSchedule.objects.select_related("benefit__program").annotate(
        session_count=Count("sessions"))
    qs = filter_given(qs, benefit_id=benefit_id, benefit__program_id=program_id)
    return visible(qs, user, PROGRAM).order_by("benefit__program__name", "benefit__name",
                                               "first_date", "id")


def schedule_get(*, user: User, pk: Any) -> BenefitSchedule:
    """The schedule if the user may see its program, else NotFound."""
    return visible_or_404(visible(BenefitSchedule.objects.select_related(
        "benefit__program", "benefit__unit"), user, PROGRAM), pk)


def sessions_visible(*, user: User) -> QuerySet[BenefitSession]:
    return visible(BenefitSession.objects.select_related("schedule", "benefit__program"),
                   user, PROGRAM)


def session_get(*, user: User, pk: Any) -> BenefitSession:
    return visible_or_404(sessions_visible(user=user), pk)


def session_for_check_in(*, user: User, pk: Any) -> BenefitSession:
    """``session_get`` for the kiosk's hot path (every check-in looks its session up): the
    session alone, by one plain query — Django building the ``select_related`` query cost a
    check-in more than its own write (S7: 1.8 ms of ~7). Its benefit is read if used (a
    walk-in's)."""
    sql = f"SELECT s.* FROM {BenefitSession._meta.db_table} s WHERE s.id = %s"  # noqa: S608
    params: list[Any] = [id_or_404(pk)]
    ids = user.visible_program_ids()
    if ids is not None:
        if not ids:
            raise NotFound()
        sql += (f" AND s.benefit_id IN (SELECT b.id FROM {Benefit._meta.db_table} b"  # noqa: S608
                f" WHERE b.program_id IN ({', '.join(['%s'] * len(ids))}))")
        params += sorted(ids)
    found = list(BenefitSession.objects.raw(sql, params))
    if not found:
        raise NotFound()
    return found[0]


def with_counts(qs: QuerySet[BenefitSession]) -> QuerySet[BenefitSession]:
    """Each session annotated with its disbursements by bucket (``expected``, ``delivered``,
    ``absent``, ``excused``, ``cancelled``) — one query for the whole list."""
    return qs.annotate(**{
        str(bucket): Count("disbursements", filter=Q(disbursements__status__bucket=bucket))
        for bucket in (*COUNT_BUCKETS, Bucket.CANCELLED)
    })


def _filtered(qs: QuerySet[BenefitSession], program_id: int | None,
              benefit_id: int | None) -> QuerySet[BenefitSession]:
    return filter_given(qs, benefit__program_id=program_id, benefit_id=benefit_id).order_by(
        "start", "id")


def sessions_for_day(*, user: User, day: dt.date, program_id: int | None = None,
                     benefit_id: int | None = None) -> QuerySet[BenefitSession]:
    """Sessions whose local date (in their schedule's zone) is ``day``."""
    return _filtered(sessions_visible(user=user).filter(local_date=day), program_id, benefit_id)


def sessions_between(*, user: User, start: dt.date, end: dt.date, program_id: int | None = None,
                     benefit_id: int | None = None) -> QuerySet[BenefitSession]:
    """Sessions with a local date from ``start`` to ``end`` inclusive (week view, dashboard)."""
    qs = sessions_visible(user=user).filter(local_date__gte=start, local_date__lte=end)
    return _filtered(qs, program_id, benefit_id)


def schedule_sessions_with_counts(*, schedule: BenefitSchedule) -> QuerySet[BenefitSession]:
    """The schedule's sessions, each with its disbursement counts by bucket, in one query."""
    return with_counts(BenefitSession.objects.filter(schedule=schedule).select_related(
        "schedule")).order_by("start", "id")


def session_counts(*, session: BenefitSession) -> dict[str, int]:
    """``{"expected": n, "delivered": n, "absent": n, "excused": n, "cancelled": n}``."""
    buckets = (*COUNT_BUCKETS, Bucket.CANCELLED)
    row = session.disbursements.aggregate(**{
        str(b): Count("id", filter=Q(status__bucket=b)) for b in buckets})
    return {str(b): row[b] or 0 for b in buckets}


def session_roster(*, session: BenefitSession) -> QuerySet[Any]:
    """The session's disbursements (its roster and walk-ins), people first by name."""
    return (session.disbursements.all()
            .select_related("status", "person", "account")
            .order_by("person__last_name", "person__first_name", "account__name", "id"))


def schedule_summary(*, schedule: BenefitSchedule) -> dict[str, Any]:
    """Counts for the schedule page: sessions by status, first and last session."""
    sessions = BenefitSession.objects.filter(schedule=schedule)
    row = sessions.aggregate(
        total=Count("id"),
        scheduled=Count("id", filter=Q(status="scheduled")),
        completed=Count("id", filter=Q(status="completed")),
        cancelled=Count("id", filter=Q(status="cancelled")),
        postponed=Count("id", filter=Q(status="postponed")),
    )
    return row


def schedule_description(schedule: BenefitSchedule) -> str:
    """The schedule's rule in words ("Weekly on Tuesday and Thursday, 20 times"); empty for a
    stored rule that does not parse (written outside the services)."""
    try:
        rule = recurrence.rule_from_json(schedule.recurrence, first=schedule.first_wall_start)
    except ValidationError:
        return ""
    return recurrence.describe(rule, schedule.first_wall_start)


def sessions_after(*, schedule: BenefitSchedule, after: dt.date
                   ) -> tuple[list[BenefitSession], list[BenefitSession]]:
    """What deleting the sessions after ``after`` would do, for its confirmation: the sessions
    that would go (each with ``expected``, its still-expected places) and those kept because
    they hold recorded attendance (each with ``recorded``). The same rule as
    services.schedule_sessions_delete_future."""
    later = (BenefitSession.objects.filter(schedule=schedule, local_date__gt=after)
             .annotate(recorded=Count("disbursements", filter=~Q(
                           disbursements__status__bucket=Bucket.EXPECTED)),
                       expected=Count("disbursements", filter=Q(
                           disbursements__status__bucket=Bucket.EXPECTED)))
             .order_by("start"))
    sessions = list(later)
    return ([s for s in sessions if not s.recorded],
            [s for s in sessions if s.recorded])
