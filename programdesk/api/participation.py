"""API: participation — rosters, adding and removing participants, attendance, check-in,
enrollments and cohort members (docs/api.md, Participation)."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import Field

from programdesk.api.auth import require
from programdesk.api.pagination import Page, PageParams, paginate
from programdesk.api.scheduling import SessionDetailOut, session_detail_for
from programdesk.api.schemas import Bool, Date, DisbursementOut, Id, Quantity, Warning
from programdesk.core.errors import NotAllowed
from programdesk.core.models import User
from programdesk.core.roles import Cap, Role
from programdesk.core.scoping import get_for_field, visible, visible_or_404
from programdesk.participation import selectors, services
from programdesk.participation.models import BenefitDisbursement, ProgramEnrollment
from programdesk.participation.selectors import enrollments_visible
from programdesk.people.selectors import accounts_visible, people_visible
from programdesk.programs.models import ProgramCohort
from programdesk.programs.selectors import cohorts_visible, program_for_field
from programdesk.scheduling.models import BenefitSchedule, BenefitSession
from programdesk.scheduling.selectors import session_for_check_in

router = Router(tags=["participation"])

MAX_IDS = 10_000


def _schedule(request: HttpRequest, user: User, pk: int) -> BenefitSchedule:
    return visible_or_404(visible(BenefitSchedule.objects.select_related("benefit"), user,
                                  "benefit__program_id"), pk)


def _session(request: HttpRequest, user: User, pk: int) -> BenefitSession:
    return visible_or_404(visible(BenefitSession.objects.select_related("benefit"), user,
                                  "benefit__program_id"), pk)


class ParticipantsIn(Schema):
    person_ids: list[Id] = Field(default_factory=list, max_length=MAX_IDS)
    account_ids: list[Id] = Field(default_factory=list, max_length=MAX_IDS)
    enrollment_ids: list[Id] = Field(default_factory=list, max_length=MAX_IDS)
    override_eligibility: Bool = Field(
        False, description="Managers only: go on despite failed `block` eligibility rules")
    override_reason: str = Field("", max_length=1000,
                                 description="Why the rules are overridden (audited)")
    on_ineligible: Literal["refuse", "skip"] = Field(
        "refuse", description=(
            "What failed `block` eligibility rules do without an override. `refuse` (the "
            "default, as before): the whole request is a 409 `eligibility_blocked` and nothing "
            "is written. `skip`: the others are added and the people refused are listed in "
            "`skipped`, with the reasons"))


class SkippedOut(Schema):
    person_id: int
    name: str = Field(description="Last name, first name")
    reasons: list[str] = Field(description="The failed `block` rules' reasons")


class ParticipationOut(Schema):
    enrollments_created: int
    assignments_created: int
    disbursements_created: int
    warnings: list[Warning]
    skipped: list[SkippedOut] = Field(
        description="People left out by eligibility rules (`on_ineligible: skip`); else empty")


def _override(payload: ParticipantsIn) -> services.EligibilityOverride | None:
    return (services.EligibilityOverride(reason=payload.override_reason)
            if payload.override_eligibility else None)


class RosterEntryOut(Schema):
    assignment_id: int
    enrollment_id: int
    person_id: int | None
    account_id: int | None
    name: str
    start: Date
    end: Date | None
    attended: int
    absent: int
    excused: int
    rate: float | None


@router.get("/schedules/{schedule_id}/participants", response=Page[RosterEntryOut])
def schedule_participants(request: HttpRequest, schedule_id: int,
                          page: Query[PageParams]) -> dict[str, Any]:
    """The schedule's roster, with each participant's attendance so far."""
    user = require(request, Cap.READ_RECORDS)
    schedule = _schedule(request, user, schedule_id)
    roster = selectors.schedule_roster(schedule=schedule)
    return paginate(roster, page, lambda r: {
        "assignment_id": r.assignment_id, "enrollment_id": r.enrollment_id,
        "person_id": r.person_id, "account_id": r.account_id, "name": r.name,
        "start": r.start, "end": r.end, "attended": r.tally.delivered,
        "absent": r.tally.absent, "excused": r.tally.excused, "rate": r.tally.rate})


@router.post("/schedules/{schedule_id}/participants", response={201: ParticipationOut})
def schedule_add_participants(request: HttpRequest, schedule_id: int,
                              payload: ParticipantsIn) -> Status[Any]:
    """Put people, accounts or enrollments on the roster: enrollment and assignment are reused
    or created, and one expected disbursement per session from today on. Repeating the call
    creates nothing new. People failed `block` eligibility rules refuse make it a 409
    (`eligibility_blocked`) unless `on_ineligible` is `skip`: then the others are added and
    those people are listed in `skipped`."""
    user = require(request, Cap.WRITE_RECORDS)
    schedule = _schedule(request, user, schedule_id)
    result = services.schedule_add_participants(
        actor=user, schedule=schedule, person_ids=payload.person_ids,
        account_ids=payload.account_ids, enrollment_ids=payload.enrollment_ids,
        override=_override(payload), on_ineligible=payload.on_ineligible)
    return Status(201, result)


class RemoveIn(Schema):
    assignment_ids: list[Id] = Field(min_length=1, max_length=MAX_IDS)
    from_date: Date | None = Field(None, description="Default: today")


class RemoveOut(Schema):
    disbursements_deleted: int


@router.post("/schedules/{schedule_id}/participants/remove", response=RemoveOut)
def schedule_remove_participants(request: HttpRequest, schedule_id: int,
                                 payload: RemoveIn) -> dict[str, int]:
    """End roster entries from a date; deletes only future disbursements still at the default
    status — recorded attendance is never deleted."""
    user = require(request, Cap.WRITE_RECORDS)
    schedule = _schedule(request, user, schedule_id)
    deleted = services.schedule_remove_participants(
        actor=user, schedule=schedule, assignment_ids=payload.assignment_ids,
        from_date=payload.from_date)
    return {"disbursements_deleted": deleted}


@router.post("/sessions/{session_id}/participants", response={201: ParticipationOut})
def session_add_participants(request: HttpRequest, session_id: int,
                             payload: ParticipantsIn) -> Status[Any]:
    """Add participants to this session only (the walk-in case). `on_ineligible` as for a
    schedule."""
    user = require(request, Cap.WRITE_RECORDS)
    session = _session(request, user, session_id)
    result = services.session_add_participants(
        actor=user, session=session, person_ids=payload.person_ids,
        account_ids=payload.account_ids, enrollment_ids=payload.enrollment_ids,
        override=_override(payload), on_ineligible=payload.on_ineligible)
    return Status(201, result)


class MarkIn(Schema):
    disbursement_id: Id
    status: str = Field(min_length=1, max_length=40, description="A disbursement status code")
    quantity: Quantity | None = None


class AttendanceIn(Schema):
    records: list[MarkIn] = Field(max_length=MAX_IDS)
    complete_session: Bool = False
    override_reason: str = Field("", max_length=1000, description=(
        "Goes past the benefit's service limit for rows marked delivered (managers; audited)"))


@router.post("/sessions/{session_id}/attendance", response=SessionDetailOut)
def session_attendance(request: HttpRequest, session_id: int,
                       payload: AttendanceIn) -> BenefitSession:
    """Save the attendance sheet in one request. Late entry for past sessions is allowed and
    audited. Rows marked delivered past the benefit's service limit refuse the sheet (409)
    unless a manager gives `override_reason`."""
    user = require(request, Cap.WRITE_RECORDS)
    session = _session(request, user, session_id)
    services.attendance_record(
        actor=user, session=session, complete_session=payload.complete_session,
        override_reason=payload.override_reason,
        marks=[services.AttendanceMark(disbursement_id=r.disbursement_id, status=r.status,
                                       quantity=r.quantity) for r in payload.records])
    return session_detail_for(user, session.pk)


def _kiosk_session(request: HttpRequest, session_id: int) -> tuple[User, BenefitSession]:
    user = require(request, Cap.CHECK_IN)
    session = session_for_check_in(user=user, pk=session_id)
    # A kiosk works on today's sessions only.
    if user.role == Role.KIOSK and session.local_date != timezone.localdate():
        raise NotAllowed("The kiosk checks people in to today's sessions only.")
    return user, session


class CheckInSearch(PageParams):
    q: str = Field(min_length=2, max_length=100, description="At least 2 letters of a name, "
                                                             "or a card code")


class KioskPersonOut(Schema):
    person_id: int
    display_name: str = Field(description="First name and last initial only")


@router.get("/sessions/{session_id}/check-in/search", response=Page[KioskPersonOut])
def check_in_search(request: HttpRequest, session_id: int,
                    filters: Query[CheckInSearch]) -> dict[str, Any]:
    """Find a person to check in. Shows only what a kiosk may: first name and last initial."""
    user, session = _kiosk_session(request, session_id)
    return paginate(selectors.kiosk_search(session=session, query=filters.q, limit=20,
                                           user=user), filters)


class CheckInIn(Schema):
    person_id: Id
    override_reason: str = Field("", max_length=1000, description=(
        "Goes past the benefit's service limit (managers; audited)"))


@router.post("/sessions/{session_id}/check-in", response=DisbursementOut)
def check_in(request: HttpRequest, session_id: int, payload: CheckInIn) -> BenefitDisbursement:
    """On the roster: the disbursement becomes delivered (`completed`). Not on it: added as a
    walk-in, completed. Checking in twice changes nothing. Past the benefit's service limit:
    409 saying when and where they were last served — to a kiosk only "Please see a staff
    member." — unless a manager gives `override_reason`."""
    user, session = _kiosk_session(request, session_id)
    return services.check_in(actor=user, session=session, person_id=payload.person_id,
                             override_reason=payload.override_reason)


class CardCheckInIn(Schema):
    code: str = Field(min_length=2, max_length=100,
                      description="The card's code, as scanned or typed (`7KQ3-XM2D-9RTB`)")
    person_id: Id | None = Field(None, description=(
        "A household card only: which of the household's members is checking in (one of the "
        "`choices` of an earlier answer)"))


class CardCheckInOut(Schema):
    checked_in: bool = Field(description="false: a household card with several members on "
                                         "the list; ask again with one of `choices`")
    disbursement: DisbursementOut | None
    choices: list[KioskPersonOut]


@router.post("/sessions/{session_id}/check-in/card", response=CardCheckInOut)
def check_in_card(request: HttpRequest, session_id: int,
                  payload: CardCheckInIn) -> dict[str, Any]:
    """Check in by a check-in card's code (docs/front-desk.md, Cards). A person's card checks
    that person in, as `POST /sessions/{id}/check-in` does (a walk-in when not on the list).
    A household's card checks in the household's own row when the session has one; else the
    member `person_id`, else the only member on the list or enrolled in the program; with
    several, nothing is written and the answer's `choices` (first name and last initial)
    say whom to ask for. A code nobody has — or a card of someone outside the user's
    programs — is a 422 on `code`; a revoked code (a lost card, replaced) is a 409 of type
    `card_revoked`; a household with no one on the list or enrolled, a 409 `card_no_member`."""
    user, session = _kiosk_session(request, session_id)
    done = services.check_in_card(actor=user, session=session, code=payload.code,
                                  person_id=payload.person_id)
    return {"checked_in": done.disbursement is not None, "disbursement": done.disbursement,
            "choices": list(done.choices)}


# --- enrollments ----------------------------------------------------------------------------


class EnrollmentIn(Schema):
    program_id: Id
    person_id: Id | None = None
    account_id: Id | None = None
    is_anonymous: Bool = False
    status: str | None = Field(None, max_length=40,
                               description="An enrollment status code; default: the default")
    application_date: Date | None = None
    start_date: Date | None = None
    end_date: Date | None = None
    cohort_id: Id | None = None
    extra: dict[str, Any] | None = None


class EnrollmentPatch(Schema):
    status: str | None = Field(None, max_length=40)
    application_date: Date | None = None
    start_date: Date | None = None
    end_date: Date | None = None
    extra: dict[str, Any] | None = None


class EnrollmentOut(Schema):
    id: int
    program_id: int
    person_id: int | None
    account_id: int | None
    is_anonymous: bool
    status: str
    is_active: bool
    application_date: Date | None
    start_date: Date | None
    end_date: Date | None
    extra: dict[str, Any]

    @staticmethod
    def resolve_status(obj: ProgramEnrollment) -> str:
        return obj.status.code


class EnrollmentFilter(PageParams):
    program_id: Id | None = None
    person_id: Id | None = None
    account_id: Id | None = None
    cohort_id: Id | None = None
    status: str | None = Field(None, max_length=40)
    search: str = Field("", max_length=100)


@router.get("/enrollments", response=Page[EnrollmentOut])
def list_enrollments(request: HttpRequest, filters: Query[EnrollmentFilter]) -> dict[str, Any]:
    user = require(request, Cap.READ_RECORDS)
    qs = selectors.enrollments_list(
        user=user, program_id=filters.program_id, status=filters.status,
        cohort_id=filters.cohort_id, person_id=filters.person_id,
        account_id=filters.account_id, search=filters.search)
    return paginate(qs, filters)




@router.post("/enrollments", response={201: EnrollmentOut})
def create_enrollment(request: HttpRequest, payload: EnrollmentIn) -> Status[ProgramEnrollment]:
    """Enroll a person, an account, or make the program's anonymous enrollment. A second active
    enrollment of the same participant in the program is a 409."""
    user = require(request, Cap.WRITE_RECORDS)
    program = program_for_field(user=user, pk=payload.program_id)
    enrollment = services.enrollment_create(
        actor=user, program=program,
        person=get_for_field(people_visible(user), payload.person_id, "person_id"),
        account=get_for_field(accounts_visible(user), payload.account_id, "account_id"),
        is_anonymous=payload.is_anonymous, status=payload.status,
        application_date=payload.application_date, start_date=payload.start_date,
        end_date=payload.end_date,
        cohort=get_for_field(cohorts_visible(user), payload.cohort_id, "cohort_id"),
        extra=payload.extra)
    return Status(201, enrollment)


@router.get("/enrollments/{enrollment_id}", response=EnrollmentOut)
def get_enrollment(request: HttpRequest, enrollment_id: int) -> ProgramEnrollment:
    user = require(request, Cap.READ_RECORDS)
    return visible_or_404(enrollments_visible(user).select_related("status"), enrollment_id)


@router.patch("/enrollments/{enrollment_id}", response=EnrollmentOut)
def update_enrollment(request: HttpRequest, enrollment_id: int,
                      payload: EnrollmentPatch) -> ProgramEnrollment:
    """Change status or dates. Status changes set the dates: applied → application date,
    active → start date, completed/withdrawn → end date (when not set already)."""
    user = require(request, Cap.WRITE_RECORDS)
    enrollment = visible_or_404(enrollments_visible(user), enrollment_id)
    return services.enrollment_update(
        actor=user, enrollment=enrollment, status=payload.status,
        application_date=payload.application_date, start_date=payload.start_date,
        end_date=payload.end_date, extra=payload.extra)


# --- cohort members -------------------------------------------------------------------------


class MembersIn(Schema):
    enrollment_ids: list[Id] = Field(min_length=1, max_length=MAX_IDS)


class CohortMembersOut(Schema):
    id: int
    program_id: int
    name: str
    start_date: Date | None
    end_date: Date | None
    max_members: int | None
    member_enrollment_ids: list[int]
    added: int


def _cohort_out(cohort: ProgramCohort, added: int) -> dict[str, Any]:
    return {"id": cohort.pk, "program_id": cohort.program_id, "name": cohort.name,
            "start_date": cohort.start_date, "end_date": cohort.end_date,
            "max_members": cohort.max_members, "added": added,
            "member_enrollment_ids": sorted(cohort.members.filter(removed_on__isnull=True)
                                            .values_list("enrollment_id", flat=True))}


@router.post("/cohorts/{cohort_id}/members", response={201: CohortMembersOut})
def add_cohort_members(request: HttpRequest, cohort_id: int, payload: MembersIn) -> Status[Any]:
    """Add enrollments of the cohort's program to the cohort."""
    user = require(request, Cap.WRITE_RECORDS)
    cohort = visible_or_404(cohorts_visible(user), cohort_id)
    added = services.cohort_add_members(actor=user, cohort=cohort,
                                        enrollment_ids=payload.enrollment_ids)
    return Status(201, _cohort_out(cohort, added))


@router.post("/cohorts/{cohort_id}/members/remove", response=CohortMembersOut)
def remove_cohort_members(request: HttpRequest, cohort_id: int,
                          payload: MembersIn) -> dict[str, Any]:
    """Take enrollments out of the cohort (their history stays)."""
    user = require(request, Cap.WRITE_RECORDS)
    cohort = visible_or_404(cohorts_visible(user), cohort_id)
    services.cohort_remove_members(actor=user, cohort=cohort,
                                   enrollment_ids=payload.enrollment_ids)
    return _cohort_out(cohort, 0)
