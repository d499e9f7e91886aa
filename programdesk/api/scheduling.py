"""API: benefit schedules and sessions (docs/api.md, "Schedules and sessions").

Datetimes are returned with the offset of the schedule's own time zone. Roles: reading needs
`read_setup` (every role but kiosk; a kiosk may list today's sessions); creating and changing
schedules needs `manage_programs` (manager, admin); changing a session's status or location needs
`write_records` (staff and up), moving it in time `manage_programs`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone as djtz
from ninja import Query, Router, Schema, Status
from ninja.errors import AuthenticationError
from pydantic import Field

from programdesk.api.auth import require, user_for_token
from programdesk.api.pagination import Page, PageParams, paginate
from programdesk.api.schemas import Bool, Date, DateTime, Id, Quantity, QuantityOut
from programdesk.core.errors import NotAllowed, NotFound
from programdesk.core.models import User
from programdesk.core.roles import Cap
from programdesk.core.scoping import check_program_visible, visible_or_404
from programdesk.core.selectors import filter_given
from programdesk.participation.models import BenefitDisbursement
from programdesk.programs.models import Program
from programdesk.programs.selectors import benefits_visible
from programdesk.scheduling import ics, recurrence, selectors, services
from programdesk.scheduling.models import BenefitSchedule, BenefitSession, SessionStatus

router = Router(tags=["scheduling"])

Weekday = Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
Frequency = Literal["once", "daily", "weekly", "monthly", "yearly"]
SessionStatusCode = Literal["scheduled", "completed", "cancelled", "postponed"]
# A program's feed shows sessions from this many days back (a schedule's feed shows them all).
PROGRAM_FEED_DAYS_BACK = 90


# --- schemas -----------------------------------------------------------------------------------

class MonthlyIn(Schema):
    day: int | None = Field(None, description="Day of the month, 1–31. 29, 30 and 31 fall on "
                                              "the last day of shorter months.")
    weekday: Weekday | None = Field(None, description="With `ordinal`: e.g. the second Tuesday")
    ordinal: int | None = Field(None, description="1–4, or -1 for the last")
    last_day: Bool | None = Field(None, description="The last day of every month")


class RecurrenceIn(Schema):
    frequency: Frequency
    interval: int | None = Field(1, ge=1, le=99,
                                 description="Every N days/weeks/months/years (1–99)")
    weekdays: list[Weekday] | None = Field(
        None, description="Weekly (or daily) on these days; default the first session's weekday")
    count: int | None = Field(None, ge=1, le=recurrence.MAX_SESSIONS,
                              description="Number of sessions (give this or `until`)")
    until: Date | None = Field(None, description="Last possible local date, inclusive")
    monthly: MonthlyIn | None = Field(
        None, description='`{"day": 15}`, `{"weekday": "TU", "ordinal": 2}` or '
                          '`{"last_day": true}`; default the first session\'s day')


class ScheduleIn(Schema):
    name: str
    timezone: str = Field(description="IANA time zone, e.g. America/New_York")
    first_session_start: DateTime = Field(
        description="Wall-clock time in `timezone`, e.g. 2026-03-03T18:00")
    first_session_end: DateTime
    recurrence: RecurrenceIn
    capacity: int | None = Field(None, le=1_000_000, description="None = unlimited")
    default_quantity: Quantity | None = Field(None, description="Default: the benefit's")
    location: str = ""
    skip_dates: list[Date] = Field(
        default_factory=list, description="Dates the rule gives that get no session (holidays)")
    dry_run: Bool = Field(False, description="Return the sessions it would make; write nothing")


def _recurrence_dict(value: RecurrenceIn) -> dict[str, Any]:
    return value.model_dump(exclude_none=True)


class SessionOut(Schema):
    id: int | None
    schedule_id: int | None
    benefit_id: int
    program_id: int
    start: DateTime
    end: DateTime
    local_date: Date
    status: str
    location: str
    counts: dict[str, int] | None = Field(
        None, description="Disbursements by status bucket (expected, delivered, absent, excused, "
                          "cancelled)")

    @staticmethod
    def resolve_start(obj: BenefitSession) -> dt.datetime:
        return obj.local_start

    @staticmethod
    def resolve_end(obj: BenefitSession) -> dt.datetime:
        return obj.local_end

    @staticmethod
    def resolve_program_id(obj: BenefitSession) -> int:
        return obj.benefit.program_id

    @staticmethod
    def resolve_counts(obj: BenefitSession) -> dict[str, int] | None:
        if not hasattr(obj, "expected"):
            return None
        return {b: getattr(obj, b) for b in ("expected", "delivered", "absent", "excused",
                                             "cancelled")}


class ScheduleOut(Schema):
    id: int
    benefit_id: int
    program_id: int
    name: str
    timezone: str
    first_session_start: DateTime
    first_session_end: DateTime
    recurrence: dict[str, Any]
    description: str = Field(description="The rule in words")
    skip_dates: list[Date]
    capacity: int | None
    default_quantity: QuantityOut | None
    location: str
    session_count: int
    calendar_url: str = Field(description="Subscription path of the calendar feed (signed)")

    @staticmethod
    def resolve_program_id(obj: BenefitSchedule) -> int:
        return obj.benefit.program_id

    @staticmethod
    def resolve_first_session_start(obj: BenefitSchedule) -> dt.datetime:
        return recurrence.localize(obj.first_wall_start, obj.zone)

    @staticmethod
    def resolve_first_session_end(obj: BenefitSchedule) -> dt.datetime:
        start = recurrence.localize(obj.first_wall_start, obj.zone)
        return (start.astimezone(dt.UTC) + obj.duration).astimezone(obj.zone)

    @staticmethod
    def resolve_description(obj: BenefitSchedule) -> str:
        return selectors.schedule_description(obj)

    @staticmethod
    def resolve_session_count(obj: BenefitSchedule) -> int:
        count = getattr(obj, "session_count", None)
        return count if count is not None else obj.sessions.count()

    @staticmethod
    def resolve_calendar_url(obj: BenefitSchedule) -> str:
        return ics.schedule_feed_path(obj.pk)


class ScheduleCreateOut(Schema):
    schedule: ScheduleOut | None = Field(description="None on a dry run")
    sessions: list[SessionOut]
    description: str


class RosterOut(Schema):
    disbursement_id: int
    assignment_id: int
    enrollment_id: int
    person_id: int | None
    account_id: int | None
    status: str = Field(description="The status value's code")
    quantity: QuantityOut
    recipient_type: str

    @staticmethod
    def resolve_disbursement_id(obj: BenefitDisbursement) -> int:
        return obj.pk

    @staticmethod
    def resolve_status(obj: BenefitDisbursement) -> str:
        return obj.status.code


class SessionDetailOut(SessionOut):
    schedule_name: str
    timezone: str
    roster: list[RosterOut]

    @staticmethod
    def resolve_schedule_name(obj: BenefitSession) -> str:
        return obj.schedule.name

    @staticmethod
    def resolve_timezone(obj: BenefitSession) -> str:
        return obj.schedule.timezone

    @staticmethod
    def resolve_roster(obj: BenefitSession) -> list[BenefitDisbursement]:
        return getattr(obj, "roster", [])


# --- schedules ---------------------------------------------------------------------------------

@router.post("/benefits/{benefit_id}/schedules", response={200: ScheduleCreateOut,
                                                            201: ScheduleCreateOut})
def create_schedule(request: HttpRequest, benefit_id: int, payload: ScheduleIn
                    ) -> Status[dict[str, Any]]:
    """Create a schedule and all its sessions from a recurrence rule (manager).

    The rule is expanded in the schedule's time zone: a weekly 18:00 class stays at 18:00 local
    time across daylight-saving changes. At most 500 sessions. `dry_run: true` answers 200 with
    the sessions it would make (no ids) and writes nothing; otherwise 201. An inactive benefit
    is a 409.
    """
    user = require(request, Cap.MANAGE_PROGRAMS)
    benefit = visible_or_404(benefits_visible(user), benefit_id)
    result = services.schedule_create(
        actor=user, benefit=benefit, name=payload.name, timezone=payload.timezone,
        first_session_start=payload.first_session_start,
        first_session_end=payload.first_session_end,
        recurrence=_recurrence_dict(payload.recurrence), capacity=payload.capacity,
        default_quantity=payload.default_quantity, location=payload.location,
        skip_dates=payload.skip_dates, dry_run=payload.dry_run)
    body = {"schedule": result.schedule, "sessions": result.sessions,
            "description": result.description}
    return Status(200 if payload.dry_run else 201, body)


class ScheduleFilter(PageParams):
    benefit_id: Id | None = None
    program_id: Id | None = None


@router.get("/schedules", response=Page[ScheduleOut])
def list_schedules(request: HttpRequest, filters: Query[ScheduleFilter]) -> dict[str, Any]:
    """Schedules, optionally of one benefit or program."""
    user = require(request, Cap.READ_SETUP)
    qs = selectors.schedules_visible(user=user, benefit_id=filters.benefit_id,
                                     program_id=filters.program_id)
    return paginate(qs, filters)


@router.get("/schedules/{schedule_id}", response=ScheduleOut)
def get_schedule(request: HttpRequest, schedule_id: int) -> BenefitSchedule:
    """One schedule, with its rule in words and the signed path of its calendar feed."""
    user = require(request, Cap.READ_SETUP)
    return selectors.schedule_get(user=user, pk=schedule_id)


@router.get("/schedules/{schedule_id}/sessions", response=Page[SessionOut])
def list_schedule_sessions(request: HttpRequest, schedule_id: int,
                           page: Query[PageParams]) -> dict[str, Any]:
    """The schedule's sessions in time order, each with its disbursement counts by bucket."""
    user = require(request, Cap.READ_SETUP)
    schedule = selectors.schedule_get(user=user, pk=schedule_id)
    qs = selectors.schedule_sessions_with_counts(schedule=schedule).select_related(
        "schedule", "benefit")
    return paginate(qs, page)


class AddSessionsIn(Schema):
    count: int = Field(ge=1, le=recurrence.MAX_SESSIONS,
                       description="How many sessions to add after the last one")


class AddSessionsOut(Schema):
    sessions: list[SessionOut]
    disbursements_created: int = Field(
        description="Expected disbursements made for the people on the roster")


@router.post("/schedules/{schedule_id}/sessions", response={201: AddSessionsOut})
def add_sessions(request: HttpRequest, schedule_id: int, payload: AddSessionsIn
                 ) -> Status[dict[str, Any]]:
    """Add sessions after the last one, continuing the rule (manager). People on the roster are
    expected at the new sessions too."""
    user = require(request, Cap.MANAGE_PROGRAMS)
    schedule = selectors.schedule_get(user=user, pk=schedule_id)
    result = services.schedule_sessions_add(actor=user, schedule=schedule, count=payload.count)
    return Status(201, {"sessions": result.sessions,
                        "disbursements_created": result.disbursements_created})


class DeleteFutureIn(Schema):
    after: Date = Field(description="Sessions on later local dates are deleted")


class KeptSessionOut(Schema):
    id: int
    start: DateTime
    local_date: Date
    status: str
    recorded: int = Field(description="Disbursements with recorded attendance or cancellation")

    @staticmethod
    def resolve_start(obj: BenefitSession) -> dt.datetime:
        return obj.local_start


class DeleteFutureOut(Schema):
    deleted: int
    disbursements_deleted: int
    kept: list[KeptSessionOut] = Field(
        description="Sessions after the date kept because they hold recorded attendance")
    detail: str


def _kept_detail(kept: list[BenefitSession]) -> str:
    if not kept:
        return ""
    days = ", ".join(f"{s.local_date:%a %d %b %Y}" for s in kept)
    return (f"Kept {len(kept)} session{'s' if len(kept) != 1 else ''} with recorded attendance: "
            f"{days}.")


@router.post("/schedules/{schedule_id}/sessions/delete-future", response=DeleteFutureOut)
def delete_future_sessions(request: HttpRequest, schedule_id: int, payload: DeleteFutureIn
                           ) -> dict[str, Any]:
    """Delete the sessions after a date (manager). Sessions with recorded attendance are kept
    and named in `kept`; the others go with their still-expected disbursements."""
    user = require(request, Cap.MANAGE_PROGRAMS)
    schedule = selectors.schedule_get(user=user, pk=schedule_id)
    result = services.schedule_sessions_delete_future(actor=user, schedule=schedule,
                                                      after=payload.after)
    detail = f"Deleted {result.deleted} sessions. " + _kept_detail(result.kept)
    return {"deleted": result.deleted, "disbursements_deleted": result.disbursements_deleted,
            "kept": result.kept, "detail": detail.strip()}


class ChangeRecurrenceIn(Schema):
    recurrence: RecurrenceIn
    first_session_start: DateTime | None = Field(
        None, description="New wall-clock first session; default the current one")
    first_session_end: DateTime | None = None
    skip_dates: list[Date] | None = Field(
        None, description="Dates to drop; null keeps the dates dropped before")
    dry_run: Bool = False


class ChangeRecurrenceOut(Schema):
    schedule: ScheduleOut
    created: list[SessionOut]
    deleted: int
    unchanged: int
    kept: list[KeptSessionOut]
    disbursements_created: int
    disbursements_deleted: int
    dry_run: bool
    detail: str


@router.post("/schedules/{schedule_id}/recurrence", response=ChangeRecurrenceOut)
def change_recurrence(request: HttpRequest, schedule_id: int, payload: ChangeRecurrenceIn
                      ) -> dict[str, Any]:
    """Change a schedule's rule (manager). Only sessions that have not started and hold no
    recorded attendance are regenerated; past sessions stay, future sessions the new rule also
    gives stay, and future sessions with attendance that the new rule does not give are kept and
    listed in `kept`. `dry_run: true` shows what would happen."""
    user = require(request, Cap.MANAGE_PROGRAMS)
    schedule = selectors.schedule_get(user=user, pk=schedule_id)
    result = services.schedule_change_recurrence(
        actor=user, schedule=schedule, recurrence=_recurrence_dict(payload.recurrence),
        first_session_start=payload.first_session_start,
        first_session_end=payload.first_session_end, skip_dates=payload.skip_dates,
        dry_run=payload.dry_run)
    verb = "Would create" if result.dry_run else "Created"
    detail = (f"{verb} {len(result.created)}, deleted {result.deleted}, left {result.unchanged} "
              "unchanged; past sessions are never changed. " + _kept_detail(result.kept))
    if not result.dry_run:
        schedule = selectors.schedule_get(user=user, pk=schedule_id)
    return {"schedule": schedule, "created": result.created, "deleted": result.deleted,
            "unchanged": result.unchanged, "kept": result.kept,
            "disbursements_created": result.disbursements_created,
            "disbursements_deleted": result.disbursements_deleted, "dry_run": result.dry_run,
            "detail": detail.strip()}


# --- calendar feeds ----------------------------------------------------------------------------

def _feed_user(request: HttpRequest) -> User | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return user_for_token(header[7:].strip())
    user = getattr(request, "user", None)
    return user if isinstance(user, User) and user.is_active else None


def _feed_allowed(request: HttpRequest, kind: str, pk: int, key: str | None,
                  program_id: int) -> None:
    """A valid ``key`` opens the feed to anyone (calendar apps send no credentials); otherwise
    the normal API rules apply."""
    if ics.key_is_valid(kind, pk, key):
        return
    user = _feed_user(request)
    if user is None:
        if key:
            raise NotFound("No such calendar, or the key is wrong.")
        raise AuthenticationError()
    if not user.can(Cap.READ_SETUP):
        raise NotAllowed(f"Your role ({user.role}) may not do this.")
    check_program_visible(user, program_id)


def _ics_response(request: HttpRequest, sessions: Any, name: str, filename: str) -> HttpResponse:
    body = ics.calendar(sessions, name=name, uid_domain=request.get_host().split(":")[0],
                        url_base=request.build_absolute_uri("/").rstrip("/"))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


_ICS_DOC = {"responses": {200: {"description": "An RFC 5545 calendar",
                                "content": {"text/calendar": {}}}}}


# HEAD too: some calendar apps check a subscription URL with HEAD before fetching it.
@router.api_operation(["GET", "HEAD"], "/schedules/{schedule_id}/calendar.ics", auth=None,
                      openapi_extra=_ICS_DOC)
def schedule_calendar(request: HttpRequest, schedule_id: int, key: str | None = None
                      ) -> HttpResponse:
    """The schedule's sessions as an iCalendar feed (RFC 5545, with VTIMEZONE; cancelled
    sessions have `STATUS:CANCELLED`). Subscribe with the signed `calendar_url` of the schedule
    (`?key=`), which needs no login; without a key the usual API authentication applies. The
    feed holds no personal data."""
    # Whoever asks: a feed checks existence first and access right after.
    schedule = visible_or_404(BenefitSchedule.objects.select_related("benefit__program"),
                              schedule_id)
    _feed_allowed(request, "schedule", schedule.pk, key, schedule.benefit.program_id)
    sessions = (BenefitSession.objects.filter(schedule=schedule)
                .select_related("schedule", "benefit__program").order_by("start", "id"))
    return _ics_response(request, sessions, f"{schedule.benefit.name}: {schedule.name}",
                         f"schedule-{schedule.pk}.ics")


@router.api_operation(["GET", "HEAD"], "/programs/{program_id}/calendar.ics", auth=None,
                      openapi_extra=_ICS_DOC)
def program_calendar(request: HttpRequest, program_id: int, key: str | None = None
                     ) -> HttpResponse:
    """Every session of the program's schedules from 90 days ago on, as an iCalendar feed. Same
    access rules as a schedule's feed (`?key=` from the program's feed URL)."""
    program = visible_or_404(Program.objects.all(), program_id)  # whoever asks, as above
    _feed_allowed(request, "program", program.pk, key, program.pk)
    since = djtz.localdate() - dt.timedelta(days=PROGRAM_FEED_DAYS_BACK)
    sessions = (BenefitSession.objects.filter(benefit__program=program, local_date__gte=since)
                .select_related("schedule", "benefit__program").order_by("start", "id"))
    return _ics_response(request, sessions, program.name, f"program-{program.pk}.ics")


# --- sessions ----------------------------------------------------------------------------------

def _reader(request: HttpRequest) -> tuple[User, bool]:
    """The user and whether they only see today's sessions (kiosk)."""
    from programdesk.api.auth import api_user

    user = api_user(request)
    if user.can(Cap.READ_SETUP):
        return user, False
    if user.can(Cap.CHECK_IN):
        return user, True
    raise NotAllowed(f"Your role ({user.role}) may not do this.")


class SessionFilter(PageParams):
    date: Date | None = Field(None, description="Sessions on this local date")
    from_: Date | None = Field(None, alias="from", description="From this local date")
    to: Date | None = Field(None, description="To this local date, inclusive")
    program_id: Id | None = None
    benefit_id: Id | None = None
    schedule_id: Id | None = None
    status: SessionStatusCode | None = None


@router.get("/sessions", response=Page[SessionOut])
def list_sessions(request: HttpRequest, filters: Query[SessionFilter]) -> dict[str, Any]:
    """Sessions in time order, by local date (`date`, or `from`/`to`), program, benefit,
    schedule or status, each with its disbursement counts. A kiosk sees today's sessions only."""
    user, today_only = _reader(request)
    qs = selectors.sessions_visible(user=user)
    if today_only:
        qs = qs.filter(local_date=djtz.localdate())
    qs = filter_given(qs, local_date=filters.date, local_date__gte=filters.from_,
                      local_date__lte=filters.to, benefit__program_id=filters.program_id,
                      benefit_id=filters.benefit_id, schedule_id=filters.schedule_id,
                      status=filters.status)
    return paginate(selectors.with_counts(qs).order_by("start", "id"), filters)


def session_detail_for(user: User, pk: int, *, today_only: bool = False) -> BenefitSession:
    """The session with its roster and counts, as GET /sessions/{id} answers."""
    session = selectors.session_get(user=user, pk=pk)
    if today_only and session.local_date != djtz.localdate():
        raise NotFound()
    session.roster = [] if today_only else list(  # type: ignore[attr-defined]
        selectors.session_roster(session=session))
    counts = selectors.session_counts(session=session)
    for bucket, n in counts.items():
        setattr(session, bucket, n)
    return session


@router.get("/sessions/{session_id}", response=SessionDetailOut)
def get_session(request: HttpRequest, session_id: int) -> BenefitSession:
    """One session with its `roster`: the session's disbursements (status as a code). A kiosk
    may open today's sessions, without the roster."""
    user, today_only = _reader(request)
    return session_detail_for(user, session_id, today_only=today_only)


class SessionPatch(Schema):
    status: SessionStatusCode | None = Field(
        None, description="`cancelled` moves still-expected disbursements to cancelled")
    location: str | None = Field(None, max_length=200)
    start: DateTime | None = Field(
        None, description="Wall-clock in the schedule's zone, or with an offset (manager)")
    end: DateTime | None = Field(None, description="Default: keeps the length (manager)")


@router.patch("/sessions/{session_id}", response=SessionDetailOut)
def update_session(request: HttpRequest, session_id: int, payload: SessionPatch
                   ) -> BenefitSession:
    """Change a session's status or location (staff and up) or move it (`start`/`end`,
    manager). Cancelling a session, or restoring a cancelled one, is a manager's too (403 for
    staff). Cancelling moves its still-expected disbursements to `cancelled`; moving it moves
    its disbursements' `disbursed_on` to the new local date."""
    user = require(request, Cap.WRITE_RECORDS)
    if (payload.start is not None or payload.end is not None
            or payload.status == SessionStatus.CANCELLED):
        user = require(request, Cap.MANAGE_PROGRAMS)
    session = selectors.session_get(user=user, pk=session_id)
    services.session_update(actor=user, session=session, start=payload.start, end=payload.end,
                            location=payload.location, status=payload.status)
    return session_detail_for(user, session_id)
