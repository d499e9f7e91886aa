"""Participation's answers to scheduling's signals (scheduling/signals.py) and people's
(people/signals.py), connected in ``ParticipationConfig.ready``. Both areas sit below
participation and do not import it; a person merge folds two active enrollments in one
program into one (``on_people_merging``). Scheduling sits below participation too;
when sessions are added, deleted, moved or cancelled, these receivers keep the sessions'
disbursements in step through participation's own writers, inside the scheduling service's
transaction. Each returns how many disbursements it wrote."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from programdesk.core.models import Bucket, StatusKind, User
from programdesk.core.selectors import status_default, status_first_in_bucket
from programdesk.participation.models import ProgramEnrollment
from programdesk.participation.services.enrollments import enrollments_merge
from programdesk.participation.services.writers import (
    roster_disbursements_insert,
    session_disbursements_delete,
    session_disbursements_redate,
    session_disbursements_set_status,
)
from programdesk.people import signals as people_signals
from programdesk.people.models import Person
from programdesk.scheduling import signals
from programdesk.scheduling.models import BenefitSchedule, BenefitSession, SessionStatus


def on_sessions_added(*, actor: User | None, schedule: BenefitSchedule,
                      sessions: Sequence[BenefitSession], **_: Any) -> int:
    return roster_disbursements_insert(actor=actor, schedule=schedule, sessions=sessions)


def on_sessions_deleting(*, actor: User | None, schedule: BenefitSchedule,
                         session_ids: Sequence[int], **_: Any) -> int:
    return session_disbursements_delete(actor=actor, schedule=schedule, session_ids=session_ids)


def on_session_changed(*, actor: User | None, session: BenefitSession, old_status: str,
                       old_local_date: dt.date, **_: Any) -> int:
    """A moved session moves its disbursements' date; cancelling it moves its still-expected
    disbursements to the first cancelled-bucket status, restoring it moves those back to the
    default status."""
    if session.local_date != old_local_date:
        session_disbursements_redate(session=session)
    if session.status == old_status:
        return 0
    if session.status == SessionStatus.CANCELLED:
        return session_disbursements_set_status(
            actor=actor, session=session, bucket=Bucket.EXPECTED,
            to=status_first_in_bucket(StatusKind.DISBURSEMENT, Bucket.CANCELLED))
    if old_status == SessionStatus.CANCELLED:
        return session_disbursements_set_status(
            actor=actor, session=session, bucket=Bucket.CANCELLED,
            to=status_default(StatusKind.DISBURSEMENT))
    return 0


def on_people_merging(*, actor: User | None, keep: Person, gone: Person,
                      **_: Any) -> list[dict[str, Any]]:
    """Two records of one person both actively enrolled in a program become one enrollment
    before the person merge moves the rest (people/signals.py)."""
    active = ProgramEnrollment.objects.filter(is_active=True).order_by("program_id")
    theirs = {e.program_id: e for e in active.filter(person=gone)}
    return [enrollments_merge(actor=actor, keep=mine, gone=theirs[mine.program_id])
            for mine in active.filter(person=keep, program_id__in=list(theirs))]


def connect() -> None:
    # dispatch_uid: connected once however often ready() runs (tests may call it again).
    signals.sessions_added.connect(on_sessions_added, dispatch_uid="participation.sessions_added")
    signals.sessions_deleting.connect(on_sessions_deleting,
                                      dispatch_uid="participation.sessions_deleting")
    signals.session_changed.connect(on_session_changed,
                                    dispatch_uid="participation.session_changed")
    people_signals.people_merging.connect(on_people_merging,
                                          dispatch_uid="participation.people_merging")
