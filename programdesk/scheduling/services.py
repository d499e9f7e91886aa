"""Writes for benefit schedules and sessions.

A schedule is created from a benefit with a recurrence rule (scheduling/recurrence.py) and its
sessions are written at once. Afterwards staff add sessions after the last one, delete future
sessions, change one session, or change the rule; none of these ever deletes a session with
recorded attendance (a disbursement of the session whose status is not in the ``expected``
bucket).

The sessions' disbursements are participation's rows: scheduling reads them through
``BenefitSession.disbursements`` and changes them only by sending its signals
(scheduling/signals.py), whose receivers in participation write them in the same transaction —
the roster's disbursements on added sessions, deleting still-expected ones before their
sessions, following a session that moves, is cancelled or is restored.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, ProtectedError, Q, QuerySet
from django.utils import timezone as djtz

from programdesk.core.audit import audit_record, changes, snapshot
from programdesk.core.errors import Conflict, NotAllowed, ValidationError
from programdesk.core.models import Bucket, User
from programdesk.core.roles import Cap
from programdesk.programs.models import Benefit
from programdesk.programs.quantities import check_quantity
from programdesk.scheduling.models import BenefitSchedule, BenefitSession, SessionStatus
from programdesk.scheduling.recurrence import (
    MAX_SESSIONS,
    MAX_YEAR,
    MIN_YEAR,
    Occurrence,
    Rule,
    date_of,
    describe,
    end_at,
    expand,
    localize,
    parse_rule,
    rule_from_json,
    to_wall,
    zone,
)
from programdesk.scheduling.signals import (
    session_changed,
    sessions_added,
    sessions_deleting,
    tell,
)

T = TypeVar("T")

MAX_DURATION = dt.timedelta(days=31)
# A disbursement that records what happened (delivered, absent, excused, cancelled): a session
# holding one is never deleted or regenerated.
RECORDED = ~Q(disbursements__status__bucket=Bucket.EXPECTED)


def max_sessions() -> int:
    return int(getattr(settings, "PROGRAMDESK_MAX_SESSIONS_PER_SCHEDULE", MAX_SESSIONS))


@dataclass
class ScheduleResult:
    """``schedule`` is None on a dry run; ``sessions`` are then unsaved (no ids)."""

    schedule: BenefitSchedule | None
    sessions: list[BenefitSession]
    recurrence: dict[str, Any] = field(default_factory=dict)
    description: str = ""


@dataclass
class SessionsAdded:
    sessions: list[BenefitSession]
    disbursements_created: int = 0


@dataclass
class FutureSessionsDeleted:
    deleted: int
    disbursements_deleted: int
    # Sessions after the date that were kept because they hold recorded disbursements; each has
    # a ``recorded`` attribute (how many).
    kept: list[BenefitSession]
    # The local dates of the deleted sessions, in order (for "Deleted 5 sessions (3–31 Mar)").
    deleted_dates: list[dt.date] = field(default_factory=list)


@dataclass
class RecurrenceChanged:
    schedule: BenefitSchedule
    created: list[BenefitSession]
    deleted: int
    unchanged: int
    kept: list[BenefitSession]  # future sessions off the new rule kept for their attendance
    disbursements_created: int = 0
    disbursements_deleted: int = 0
    dry_run: bool = False
    description: str = ""


# --- validation helpers ------------------------------------------------------------------------

def _collect(errors: dict[str, str], fn: Callable[[], T]) -> T | None:
    """Run ``fn``; merge its field errors into ``errors`` so every problem is reported at once."""
    try:
        return fn()
    except ValidationError as exc:
        for error in exc.errors:
            errors.setdefault(error["field"], error["message"])
        if not exc.errors:
            errors.setdefault("", exc.detail)
        return None


def _require_active(benefit: Benefit) -> None:
    if not benefit.is_active:
        raise Conflict(f"The benefit '{benefit.name}' is inactive: activate it before scheduling "
                       "sessions.")


def _wall(value: Any, tz: zoneinfo.ZoneInfo | None, field_name: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise ValidationError.for_fields({field_name: "Give a date and time (YYYY-MM-DDTHH:MM)."})
    wall = to_wall(value, tz) if tz is not None else value.replace(tzinfo=None)
    if not MIN_YEAR <= wall.year <= MAX_YEAR:
        raise ValidationError.for_fields(
            {field_name: f"Give a date between {MIN_YEAR} and {MAX_YEAR}."})
    return wall.replace(second=0, microsecond=0)


def _duration(start: dt.datetime, end: dt.datetime, tz: zoneinfo.ZoneInfo,
              field_name: str) -> dt.timedelta:
    # Elapsed time: subtracting two datetimes of one zone would give wall-clock time.
    duration = localize(end, tz).astimezone(dt.UTC) - localize(start, tz).astimezone(dt.UTC)
    if duration <= dt.timedelta(0):
        raise ValidationError.for_fields({field_name: "The session ends before it starts."})
    if duration > MAX_DURATION:
        raise ValidationError.for_fields({field_name: "A session lasts at most 31 days."})
    return duration


def _skip_set(skip_dates: Iterable[Any], field_name: str = "skip_dates") -> set[dt.date]:
    out: set[dt.date] = set()
    for i, value in enumerate(skip_dates):
        day = date_of(value)
        if day is None:
            raise ValidationError.for_fields({f"{field_name}.{i}": "Give a date as YYYY-MM-DD."})
        out.add(day)
    return out


def _plan(rule: Rule, *, first: dt.datetime, duration: dt.timedelta,
          tz: zoneinfo.ZoneInfo, skip: set[dt.date], strict_skip: bool = True
          ) -> tuple[list[Occurrence], set[dt.date], dt.date]:
    """The rule's sessions minus the skipped dates, checked against the 500 limit.

    Returns (occurrences, the skipped dates that are rule dates, the rule's first date).
    """
    limit = max_sessions()
    every = expand(rule, first=first, duration=duration, tz=tz, limit=limit + len(skip))
    if not every:
        if rule.until is not None:
            raise ValidationError.for_fields({"recurrence.until": (
                f"No session falls between {first.date():%d %b %Y} and the end date; "
                "choose a later end date.")})
        raise ValidationError.for_fields({"recurrence": "The rule gives no session."})
    if rule.count is not None and len(every) < rule.count:
        raise ValidationError.for_fields(
            {"recurrence.count": f"The rule runs past the year {MAX_YEAR}; give fewer "
                                 "sessions."})
    dates = {o.local_date for o in every}
    if strict_skip:
        for i, day in enumerate(sorted(skip)):
            if day not in dates:
                raise ValidationError.for_fields(
                    {f"skip_dates.{i}": f"{day.isoformat()} is not a date of this schedule."})
    skip = skip & dates
    kept = [o for o in every if o.local_date not in skip]
    if not kept:
        raise ValidationError.for_fields(
            {"skip_dates": "Every date was dropped; keep at least one."})
    if len(kept) > limit:
        last = kept[limit - 1].local_date
        name = "recurrence.until" if rule.until is not None else "recurrence.count"
        raise ValidationError.for_fields({name: (
            f"That gives more than {limit} sessions (the {limit}th is on {last:%d %b %Y}); "
            f"a schedule has at most {limit}.")})
    return kept, skip, every[0].local_date


def _new_session(schedule: BenefitSchedule, occ: Occurrence, location: str
                 ) -> BenefitSession:
    return BenefitSession(schedule=schedule, benefit=schedule.benefit, start=occ.start,
                          end=occ.end, local_date=occ.local_date, location=location,
                          status=SessionStatus.SCHEDULED)


def _rule_of(schedule: BenefitSchedule) -> Rule:
    return rule_from_json(schedule.recurrence, first=schedule.first_wall_start)


def _lock(schedule: BenefitSchedule) -> BenefitSchedule:
    return (BenefitSchedule.objects.select_for_update(of=("self",))
            .select_related("benefit").get(pk=schedule.pk))


def _recorded(session: BenefitSession) -> int:
    return int(getattr(session, "recorded", 0))


def _with_recorded(qs: QuerySet[BenefitSession]) -> QuerySet[BenefitSession]:
    return qs.annotate(recorded=Count("disbursements", filter=RECORDED))


# --- create ------------------------------------------------------------------------------------

@transaction.atomic
def schedule_create(*, actor: User | None, benefit: Benefit, name: str, timezone: str,
                    first_session_start: dt.datetime, first_session_end: dt.datetime,
                    recurrence: dict[str, Any], capacity: int | None = None,
                    default_quantity: Decimal | None = None, location: str = "",
                    skip_dates: Collection[dt.date] = (), dry_run: bool = False
                    ) -> ScheduleResult:
    """Create a schedule and all its sessions (or, with ``dry_run``, only say what they would
    be). ``first_session_start``/``end`` are wall-clock times in ``timezone`` (an aware value is
    converted to it). ``skip_dates`` drops dates the rule gives (holidays)."""
    benefit = Benefit.objects.select_for_update().get(pk=benefit.pk)
    _require_active(benefit)
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "A name is required."
    elif len(name) > 200:
        errors["name"] = "At most 200 characters."
    location = (location or "").strip()
    if len(location) > 200:
        errors["location"] = "At most 200 characters."
    if capacity is not None and (isinstance(capacity, bool) or not isinstance(capacity, int)
                                 or capacity < 1):
        errors["capacity"] = "Give a whole number of at least 1, or nothing for no limit."
    if default_quantity is not None:
        _collect(errors, lambda: check_quantity(default_quantity, "default_quantity"))
    tz = _collect(errors, lambda: zone(timezone))
    start = _collect(errors, lambda: _wall(first_session_start, tz, "first_session_start"))
    end = _collect(errors, lambda: _wall(first_session_end, tz, "first_session_end"))
    duration = None
    if tz is not None and start is not None and end is not None:
        duration = _collect(errors, lambda: _duration(start, end, tz, "first_session_end"))
    rule = None
    if start is not None:
        rule = _collect(errors, lambda: parse_rule(recurrence, first=start,
                                                       max_sessions=max_sessions()))
    skip = _collect(errors, lambda: _skip_set(skip_dates))
    if errors:
        raise ValidationError.for_fields(errors)
    assert tz is not None and start is not None and duration is not None and rule is not None
    occurrences, skipped, first_date = _plan(rule, first=start, duration=duration, tz=tz,
                                             skip=skip or set())
    schedule = BenefitSchedule(
        benefit=benefit, name=name, timezone=timezone, first_date=first_date,
        start_time=start.time(), duration=duration, recurrence=rule.as_json(),
        skip_dates=sorted(d.isoformat() for d in skipped), capacity=capacity,
        default_quantity=default_quantity, location=location)
    description = describe(rule, start)
    if dry_run:
        sessions = [_new_session(schedule, o, location) for o in occurrences]
        return ScheduleResult(None, sessions, rule.as_json(), description)
    schedule.save()
    sessions = BenefitSession.objects.bulk_create(
        [_new_session(schedule, o, location) for o in occurrences])
    audit_record(actor=actor, action="schedule.create", obj=schedule, after=snapshot(schedule))
    audit_record(actor=actor, action="session.create", object_type="scheduling.benefitsession",
                 object_ids=[s.pk for s in sessions], after={"schedule_id": schedule.pk})
    return ScheduleResult(schedule, sessions, rule.as_json(), description)


# --- what goes with sessions ------------------------------------------------------------------

def _delete_sessions(*, actor: User | None, schedule: BenefitSchedule,
                     session_ids: list[int]) -> int:
    """Delete sessions; first, participation deletes their still-expected disbursements
    (``sessions_deleting``). A recorded one left on a session makes its protecting foreign key
    refuse the delete: attendance taken meanwhile. Returns the number of disbursements deleted.
    """
    if not session_ids:
        return 0
    disbursements = tell(sessions_deleting, actor=actor, schedule=schedule,
                         session_ids=session_ids)
    try:
        with transaction.atomic():
            BenefitSession.objects.filter(pk__in=session_ids).delete()
    except (ProtectedError, IntegrityError):
        raise Conflict("Attendance was recorded on one of these sessions meanwhile; nothing was "
                       "deleted. Reload and try again.") from None
    audit_record(actor=actor, action="session.delete", object_type="scheduling.benefitsession",
                 object_ids=session_ids, before={"schedule_id": schedule.pk})
    return disbursements


def _save_rule(schedule: BenefitSchedule, rule: Rule) -> None:
    if rule.as_json() != schedule.recurrence:
        schedule.recurrence = rule.as_json()
        schedule.save(update_fields=["recurrence", "updated_at"])


# --- add, delete ---------------------------------------------------------------------------------

@transaction.atomic
def schedule_sessions_add(*, actor: User | None, schedule: BenefitSchedule, count: int
                          ) -> SessionsAdded:
    """Add ``count`` sessions after the last one, continuing the rule past its end (dropped
    dates stay dropped). People on the roster are expected at the new sessions too. The
    stored rule is extended to end at the new last session."""
    schedule = _lock(schedule)
    _require_active(schedule.benefit)
    limit = max_sessions()
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= limit:
        raise ValidationError.for_fields({"count": f"Give a number from 1 to {limit}."})
    rule = _rule_of(schedule)
    if rule.frequency == "once":
        raise ValidationError.for_fields({"count": (
            "A one-time schedule has no next session; change its recurrence instead.")})
    existing = schedule.sessions.count()
    if existing + count > limit:
        raise ValidationError.for_fields({"count": (
            f"The schedule has {existing} sessions; at most {limit - existing} more can be added "
            f"(at most {limit} per schedule).")})
    tz = schedule.zone
    last = schedule.sessions.order_by("-start").first()
    after = to_wall(last.start, tz) if last else None
    skip = {dt.date.fromisoformat(d) for d in schedule.skip_dates}
    occurrences = expand(rule, first=schedule.first_wall_start, duration=schedule.duration,
                             tz=tz, limit=count, bounded=False, after=after, skip=skip)[:count]
    if not occurrences:
        raise ValidationError.for_fields({"count": "The rule gives no later session."})
    sessions = BenefitSession.objects.bulk_create(
        [_new_session(schedule, o, schedule.location) for o in occurrences])
    _save_rule(schedule, end_at(rule, schedule.first_wall_start, sessions[-1].local_date))
    audit_record(actor=actor, action="session.create", object_type="scheduling.benefitsession",
                 object_ids=[s.pk for s in sessions],
                 after={"schedule_id": schedule.pk, "recurrence": schedule.recurrence})
    # People on the roster are expected at the new sessions too (participation writes them).
    created = tell(sessions_added, actor=actor, schedule=schedule, sessions=sessions)
    return SessionsAdded(sessions, created)


@transaction.atomic
def schedule_sessions_delete_future(*, actor: User | None, schedule: BenefitSchedule,
                                    after: dt.date) -> FutureSessionsDeleted:
    """Delete the sessions whose local date is after ``after``, except those with recorded
    disbursements (attendance or cancellations), which are kept and returned in ``kept``."""
    if not isinstance(after, dt.date) or isinstance(after, dt.datetime):
        raise ValidationError.for_fields({"after": "Give a date as YYYY-MM-DD."})
    schedule = _lock(schedule)
    later = list(_with_recorded(schedule.sessions.filter(local_date__gt=after))
                 .order_by("start"))
    kept = [s for s in later if _recorded(s)]
    gone = [s.pk for s in later if not _recorded(s)]
    gone_dates = [s.local_date for s in later if not _recorded(s)]
    disbursements = _delete_sessions(actor=actor, schedule=schedule, session_ids=gone)
    rule = _rule_of(schedule)
    if gone and after >= schedule.first_date and rule.frequency != "once":
        # Keep the stored rule describing the schedule: it now ends on `after`.
        shorter = end_at(rule, schedule.first_wall_start, after)
        if ((rule.until is not None and after < rule.until)
                or (rule.count is not None and (shorter.count or 0) < rule.count)):
            _save_rule(schedule, shorter)
    audit_record(actor=actor, action="schedule.delete_future_sessions", obj=schedule,
                 after={"after": after.isoformat(), "deleted": len(gone),
                        "kept": [s.pk for s in kept]})
    return FutureSessionsDeleted(deleted=len(gone), disbursements_deleted=disbursements, kept=kept,
                                 deleted_dates=gone_dates)


# --- one session ---------------------------------------------------------------------------------

def session_complete(*, session: BenefitSession) -> None:
    """Mark a session completed: the attendance sheet's "complete the session"
    (participation.services.attendance_record). Runs inside the caller's transaction on the
    session it has locked; the caller's audit event records it (``complete_session``)."""
    session.status = SessionStatus.COMPLETED
    session.save(update_fields=["status", "updated_at"])


def _aware(value: Any, tz: zoneinfo.ZoneInfo, field_name: str) -> dt.datetime:
    # In UTC, so that adding a length below is elapsed time, not wall-clock time.
    return localize(_wall(value, tz, field_name), tz).astimezone(dt.UTC)


def _session_times(*, session: BenefitSession, start: Any, end: Any, tz: zoneinfo.ZoneInfo,
                   errors: dict[str, str]) -> tuple[dt.datetime, dt.datetime]:
    """The session's new start and end (a new start without an end keeps the length),
    checked; what is wrong goes to ``errors``."""
    new_start, new_end = session.start, session.end
    if start is not None:
        new_start = _collect(errors, lambda: _aware(start, tz, "start")) or session.start
        new_end = new_start + (session.end - session.start)
    if end is not None:
        new_end = _collect(errors, lambda: _aware(end, tz, "end")) or session.end
    if (start is None and end is None) or errors:
        return new_start, new_end
    if new_end <= new_start:
        errors["end"] = "The session ends before it starts."
    elif new_end - new_start > MAX_DURATION:
        errors["end"] = "A session lasts at most 31 days."
    elif (new_start != session.start and BenefitSession.objects.filter(
            schedule_id=session.schedule_id, start=new_start).exclude(pk=session.pk).exists()):
        errors["start"] = "Another session of this schedule starts at that time."
    return new_start, new_end


def _session_status_and_location(*, session: BenefitSession, status: str | None,
                                 location: str | None, errors: dict[str, str]) -> list[str]:
    """The fields among status and location that change; what is wrong goes to ``errors``."""
    fields: list[str] = []
    if status is not None:
        if status not in SessionStatus.values:
            errors["status"] = f"Use one of: {', '.join(SessionStatus.values)}."
        elif status != session.status:
            fields.append("status")
    if location is not None:
        if len(location) > 200:
            errors["location"] = "At most 200 characters."
        elif location != session.location:
            fields.append("location")
    return fields


@transaction.atomic
def session_update(*, actor: User | None, session: BenefitSession,
                   start: dt.datetime | None = None, end: dt.datetime | None = None,
                   location: str | None = None, status: str | None = None) -> BenefitSession:
    """Change one session. ``start``/``end`` may be naive (wall clock in the schedule's zone) or
    aware; a new ``start`` without ``end`` keeps the length. Moving a session moves its
    disbursements' ``disbursed_on``; cancelling it moves its still-expected disbursements to the
    first active status of the ``cancelled`` bucket, and un-cancelling moves those back to the
    default status. Cancelling and un-cancelling are a manager's (core/roles.py)."""
    session = (BenefitSession.objects.select_for_update(of=("self",))
               .select_related("schedule", "benefit").get(pk=session.pk))
    if (status is not None and status != session.status
            and SessionStatus.CANCELLED in (status, session.status)
            and actor is not None and not actor.can(Cap.MANAGE_PROGRAMS)):
        raise NotAllowed("Only a manager may cancel a session or restore a cancelled one.")
    tz = session.schedule.zone
    before = snapshot(session)
    errors: dict[str, str] = {}
    location = location.strip() if location is not None else None
    fields = _session_status_and_location(session=session, status=status, location=location,
                                          errors=errors)
    new_start, new_end = _session_times(session=session, start=start, end=end, tz=tz,
                                        errors=errors)
    if errors:
        raise ValidationError.for_fields(errors)
    old_status, old_date = session.status, session.local_date
    if new_start != session.start or new_end != session.end:
        session.start, session.end = new_start, new_end
        session.local_date = new_start.astimezone(tz).date()
        fields += ["start", "end", "local_date"]
    if not fields:
        return session
    if status is not None:
        session.status = status
    if location is not None:
        session.location = location
    session.save(update_fields=[*fields, "updated_at"])
    # Participation moves the session's disbursements with it (date, cancelled or restored).
    tell(session_changed, actor=actor, session=session, old_status=old_status,
         old_local_date=old_date)
    before, after = changes(before, snapshot(session))
    audit_record(actor=actor, action="session.update", obj=session, before=before, after=after)
    return session


# --- change the rule -----------------------------------------------------------------------------

@transaction.atomic
def schedule_change_recurrence(*, actor: User | None, schedule: BenefitSchedule,
                               recurrence: dict[str, Any],
                               first_session_start: dt.datetime | None = None,
                               first_session_end: dt.datetime | None = None,
                               skip_dates: Collection[dt.date] | None = None,
                               dry_run: bool = False, now: dt.datetime | None = None
                               ) -> RecurrenceChanged:
    """Give the schedule a new rule (and optionally a new first session time). Only sessions
    that have not started yet and hold no recorded attendance are regenerated: past sessions
    stay as they are; a future session the new rule also gives (same start) stays, with its id
    and edits; a future session off the new rule is deleted, unless it has recorded attendance,
    in which case it is kept and listed in ``kept``. ``skip_dates`` None keeps the dates
    dropped before (those the new rule still gives)."""
    schedule = _lock(schedule)
    _require_active(schedule.benefit)
    tz = schedule.zone
    errors: dict[str, str] = {}
    start = schedule.first_wall_start
    if first_session_start is not None:
        start = _collect(errors, lambda: _wall(first_session_start, tz, "first_session_start")
                         ) or start
    duration = schedule.duration
    if first_session_end is not None:
        end = _collect(errors, lambda: _wall(first_session_end, tz, "first_session_end"))
        if end is not None and "first_session_start" not in errors:
            duration = _collect(errors, lambda: _duration(start, end, tz, "first_session_end")
                                ) or duration
    rule = _collect(errors, lambda: parse_rule(recurrence, first=start,
                                                   max_sessions=max_sessions()))
    strict = skip_dates is not None
    skip = _collect(errors, lambda: _skip_set(skip_dates if skip_dates is not None else
                                              schedule.skip_dates))
    if errors:
        raise ValidationError.for_fields(errors)
    assert rule is not None
    occurrences, skipped, first_date = _plan(rule, first=start, duration=duration, tz=tz,
                                             skip=skip or set(), strict_skip=strict)
    now = now or djtz.now()
    existing = list(_with_recorded(schedule.sessions.all()))
    planned = {o.start: o for o in occurrences if o.start > now}
    future = [s for s in existing if s.start > now]
    stay = [s for s in future if s.start in planned]
    kept = [s for s in future if s.start not in planned and _recorded(s)]
    gone = [s for s in future if s.start not in planned and not _recorded(s)]
    taken = {s.start for s in existing}
    new = [o for o in planned.values() if o.start not in taken]
    total = len(existing) - len(gone) + len(new)
    limit = max_sessions()
    if total > limit:
        raise ValidationError.for_fields({"recurrence": (
            f"With the sessions kept, the schedule would have {total} sessions; at most {limit}.")})
    description = describe(rule, start)
    if dry_run:
        preview = [_new_session(schedule, o, schedule.location) for o in new]
        return RecurrenceChanged(schedule, preview, len(gone), len(stay), kept, dry_run=True,
                                 description=description)
    before = snapshot(schedule, ["first_date", "start_time", "duration", "recurrence",
                                 "skip_dates"])
    deleted_disbursements = _delete_sessions(actor=actor, schedule=schedule,
                                             session_ids=[s.pk for s in gone])
    longer = [s for s in stay if s.end != planned[s.start].end]
    for s in longer:
        s.end = planned[s.start].end
    if longer:
        BenefitSession.objects.bulk_update(longer, ["end"])
    schedule.first_date, schedule.start_time, schedule.duration = first_date, start.time(), duration
    schedule.recurrence = rule.as_json()
    schedule.skip_dates = sorted(d.isoformat() for d in skipped)
    schedule.save(update_fields=["first_date", "start_time", "duration", "recurrence",
                                 "skip_dates", "updated_at"])
    created = BenefitSession.objects.bulk_create(
        [_new_session(schedule, o, schedule.location) for o in new])
    if created:
        audit_record(actor=actor, action="session.create",
                     object_type="scheduling.benefitsession", object_ids=[s.pk for s in created],
                     after={"schedule_id": schedule.pk})
    before, after = changes(before, snapshot(schedule, list(before)))
    after.update({"sessions_created": len(created), "sessions_deleted": len(gone),
                  "sessions_kept": [s.pk for s in kept]})
    audit_record(actor=actor, action="schedule.change_recurrence", obj=schedule, before=before,
                 after=after)
    disbursements = tell(sessions_added, actor=actor, schedule=schedule, sessions=created)
    return RecurrenceChanged(schedule, created, len(gone), len(stay), kept,
                             disbursements_created=disbursements,
                             disbursements_deleted=deleted_disbursements,
                             description=description)
