"""Reads for the offline front desk: the roster a device keeps, and the conflicts staff see."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from programdesk.core.models import User
from programdesk.core.roles import Cap, Role
from programdesk.core.scoping import visible
from programdesk.offline.models import ConflictState, SyncConflict
from programdesk.participation.models import BenefitDisbursement
from programdesk.participation.selectors import kiosk_sessions
from programdesk.programs.selectors import benefits_visible

# A device keeps at most this many people per session (a food pantry's busiest day is far below),
# and per walk-in benefit.
ROSTER_LIMIT = 2000
# The walk-in pages a device may keep at once (offline.js asks for the ones opened on it).
WALK_IN_BENEFITS_MAX = 20
# Who a walk-in page offers offline: the people its program served in this many days.
WALK_IN_RECENT_DAYS = 90


def offline_roster(*, user: User, day: dt.date | None = None) -> list[dict[str, Any]]:
    """Today's sessions the user may check people in to, each with who is on it — only what the
    front desk needs offline: a display name (first name and last initial for a kiosk login),
    household size, card code and the ids a record names. Never income, documents, birth
    dates or notes. Two queries."""
    sessions = list(kiosk_sessions(user=user, day=day))
    kiosk = user.role == Role.KIOSK and not user.is_superuser
    people: dict[int, list[dict[str, Any]]] = {s.pk: [] for s in sessions}
    rows = (BenefitDisbursement.objects
            .filter(session__in=[s.pk for s in sessions], person__isnull=False)
            .order_by("session_id", "person__first_name", "person__last_name", "id")
            .values_list("session_id", "id", "assignment_id", "enrollment_id", "person_id",
                         "person__first_name", "person__last_name", "person__card_code",
                         "household_size", "person__household_size", "status__code",
                         "status__bucket"))
    for (session_id, disbursement_id, assignment_id, enrollment_id, person_id, first, last,
         card_code, size, person_size, status, bucket) in rows:
        on_session = people[session_id]
        if len(on_session) >= ROSTER_LIMIT:
            continue
        on_session.append({
            "person_id": person_id, "disbursement_id": disbursement_id,
            "assignment_id": assignment_id, "enrollment_id": enrollment_id,
            "display_name": f"{first} {last[:1]}." if kiosk else f"{first} {last}",
            "household_size": size or person_size, "card_code": card_code or "",
            "status": status, "bucket": bucket})
    return [{"session_id": s.pk, "name": s.schedule.name, "benefit_id": s.benefit_id,
             "start": s.start, "location": s.location, "people": people[s.pk]}
            for s in sessions]


def offline_walk_in_roster(*, user: User, benefit_ids: list[int],
                           day: dt.date | None = None) -> list[dict[str, Any]]:
    """For each benefit asked for that the user may log disbursements of (others are left out,
    silently: a device keeps what it may use), the people its program served (a delivered
    disbursement) in the last ``WALK_IN_RECENT_DAYS`` days: who a walk-in page offers offline.
    Display name, household size, card code and the person's id only — never income, documents,
    birth dates or notes. Two queries, however many benefits."""
    wanted = sorted(set(benefit_ids))[:WALK_IN_BENEFITS_MAX]
    if not wanted or not user.can(Cap.LOG_DISBURSEMENTS):
        return []
    benefits = list(benefits_visible(user).filter(pk__in=wanted, is_active=True)
                    .order_by("name", "id").values_list("id", "name", "program_id"))
    since = (day or timezone.localdate()) - dt.timedelta(days=WALK_IN_RECENT_DAYS)
    rows = (BenefitDisbursement.objects
            .filter(program_id__in={program for _pk, _name, program in benefits},
                    person__isnull=False, status__bucket="delivered", disbursed_on__gte=since)
            .order_by("program_id", "person__last_name", "person__first_name", "person_id")
            .values_list("program_id", "person_id", "person__first_name", "person__last_name",
                         "person__card_code", "person__household_size")
            .distinct())
    served: dict[int, list[dict[str, Any]]] = {program: [] for _pk, _name, program in benefits}
    for program_id, person_id, first, last, card_code, size in rows.iterator():
        people = served[program_id]
        if len(people) < ROSTER_LIMIT:
            people.append({"person_id": person_id, "display_name": f"{first} {last}",
                           "household_size": size, "card_code": card_code or ""})
    return [{"benefit_id": pk, "name": name, "program_id": program, "people": served[program]}
            for pk, name, program in benefits]


def conflicts_visible(user: User) -> QuerySet[SyncConflict]:
    """Conflicts of the programs the user may see."""
    return visible(SyncConflict.objects.select_related("session__schedule", "user",
                                                       "resolved_by", "program"), user)


def conflicts_list(*, user: User, state: str | None = ConflictState.OPEN
                   ) -> QuerySet[SyncConflict]:
    qs = conflicts_visible(user)
    return qs.filter(state=state) if state else qs


def conflicts_open_count(*, user: User) -> int:
    return conflicts_visible(user).filter(state=ConflictState.OPEN).count()
