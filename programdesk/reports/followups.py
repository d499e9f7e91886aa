"""Follow-up lists: who needs a call (absent again and again, not served lately) and which
sessions still wait for their attendance. Each is one query over what the filter covers
(``filtering.py``); the pages and the API show them, ``lists.py`` downloads them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from programdesk.core.models import User
from programdesk.core.scoping import visible
from programdesk.core.selectors import filter_given
from programdesk.participation.models import BenefitDisbursement, ProgramEnrollment
from programdesk.reports.filtering import (
    ABSENT,
    DELIVERED,
    EXPECTED,
    ReportFilter,
    began_on,
    enrollments_in,
    report_disbursements,
    report_sessions,
)
from programdesk.reports.selectors import display_name
from programdesk.scheduling.models import SessionStatus


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


def followups_not_served(*, user: User, filters: ReportFilter, days: int = 14,
                         today: dt.date | None = None) -> QuerySet[Any]:
    """Active enrollments (people and accounts) that began at least ``days`` days ago and have
    no delivered disbursement dated in the last ``days`` days (today included). With a benefit:
    enrollments assigned that benefit, not served it. One query."""
    today = today or timezone.localdate()
    since = today - dt.timedelta(days=days - 1)
    served = filter_given(BenefitDisbursement.objects.filter(
        enrollment_id=OuterRef("pk"), status__bucket=DELIVERED), benefit_id=filters.benefit_id)
    qs = enrollments_in(
        visible(ProgramEnrollment.objects.filter(is_active=True, is_anonymous=False), user),
        filters, current_on=today)
    last_served = served.order_by("-disbursed_on").values("disbursed_on")[:1]
    return (qs.annotate(began_on=began_on())
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


def followups_overview(*, user: User, filters: ReportFilter, min_absences: int, days: int,
                       limit: int) -> dict[str, Any]:
    """The three follow-up lists, each its first ``limit`` rows and its length (six queries):
    the follow-ups page and the dashboard."""
    absences = followups_absences(user=user, filters=filters, min_absences=min_absences)
    not_served = followups_not_served(user=user, filters=filters, days=days)
    unrecorded = followups_unrecorded_sessions(user=user, filters=filters)
    return {
        "absences": list(absences[:limit]), "absences_count": absences.count(),
        "not_served": [{**v, "name": display_name(v["person__first_name"],
                                                  v["person__last_name"], v["account__name"])}
                       for v in not_served[:limit]],
        "not_served_count": not_served.count(),
        "unrecorded": list(unrecorded[:limit]), "unrecorded_count": unrecorded.count(),
    }
