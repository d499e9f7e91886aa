"""API: disbursements — ad hoc for one client, bulk (walk-in, anonymous, by enrollment), the
list, corrections (docs/api.md, Disbursements). Creating, editing and deleting need a manager."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from programdesk.api.auth import require
from programdesk.api.pagination import Page, PageParams, paginate
from programdesk.api.schemas import Bool, Date, DisbursementOut, Id, Quantity, Warning
from programdesk.core.roles import Cap
from programdesk.core.scoping import get_for_field, visible, visible_or_404
from programdesk.participation import selectors, services
from programdesk.participation.models import BenefitDisbursement
from programdesk.people.selectors import accounts_visible, cases_visible, people_visible
from programdesk.programs.selectors import benefits_visible

router = Router(tags=["disbursements"])

MAX_RECIPIENTS = 50_000


class DisbursementFilter(PageParams):
    person_id: Id | None = None
    account_id: Id | None = None
    benefit_id: Id | None = None
    program_id: Id | None = None
    session_id: Id | None = None
    case_id: Id | None = None
    recipient_type: Literal["enrollment", "walk_in", "anonymous"] | None = None
    status: str | None = Field(None, max_length=40, description="A status code")
    from_: Date | None = Field(None, alias="from", description="Disbursed on or after")
    to: Date | None = Field(None, description="Disbursed on or before")


@router.get("/disbursements", response=Page[DisbursementOut])
def list_disbursements(request: HttpRequest, filters: Query[DisbursementFilter]) -> dict[str, Any]:
    user = require(request, Cap.READ_RECORDS)
    qs = selectors.disbursements_list(
        user=user, person_id=filters.person_id, account_id=filters.account_id,
        benefit_id=filters.benefit_id, program_id=filters.program_id,
        session_id=filters.session_id, case_id=filters.case_id,
        recipient_type=filters.recipient_type, status=filters.status,
        date_from=filters.from_, date_to=filters.to)
    return paginate(qs, filters)


class Override(Schema):
    override_eligibility: Bool = Field(
        False, description="Go on despite failed `block` eligibility rules (audited)")
    override_reason: str = Field("", max_length=1000, description=(
        "The reason for an eligibility override; non-empty, it also takes a delivery past the "
        "benefit's service limit (managers and admins only; audited)"))


def _override(payload: Override) -> services.EligibilityOverride | None:
    return (services.EligibilityOverride(reason=payload.override_reason)
            if payload.override_eligibility else None)


class LineIn(Schema):
    benefit_id: Id
    quantity: Quantity = Field(description="In the benefit's unit: 30 minutes of an hourly "
                                           "benefit is 0.5")
    status: str | None = Field(None, max_length=40, description="Default: `completed`")
    extra: dict[str, Any] | None = None


class AdHocIn(Override):
    person_id: Id | None = None
    account_id: Id | None = None
    case_id: Id | None = None
    disbursed_on: Date
    items: list[LineIn] = Field(min_length=1, max_length=services.MAX_LINES)


class AdHocOut(Schema):
    disbursements: list[DisbursementOut]
    warnings: list[Warning]




@router.post("/disbursements", response={201: AdHocOut})
def create_ad_hoc(request: HttpRequest, payload: AdHocIn) -> Status[Any]:
    """Several benefits for one client at once, optionally linked to their case. Missing
    enrollments and assignments are created (walk-in when the enrollment is new). Staff and
    up; an eligibility override needs a manager. A delivered line past its benefit's service
    limit answers 409 naming when and where the client was last served; a manager's
    `override_reason` goes past it (a reason from staff: 403)."""
    user = require(request, Cap.LOG_DISBURSEMENTS)
    result = services.disbursements_create_ad_hoc(
        actor=user,
        person=get_for_field(people_visible(user), payload.person_id, "person_id"),
        account=get_for_field(accounts_visible(user), payload.account_id,
                                        "account_id"),
        case=get_for_field(cases_visible(user), payload.case_id, "case_id"),
        disbursed_on=payload.disbursed_on, override=_override(payload),
        override_reason=payload.override_reason,
        lines=[services.DisbursementLine(benefit_id=i.benefit_id, quantity=i.quantity,
                                         status=i.status, extra=i.extra)
               for i in payload.items])
    for d in result.disbursements:
        d.refresh_from_db()
    return Status(201, {"disbursements": result.disbursements, "warnings": result.warnings})


def _disbursement(request: HttpRequest, pk: int, cap: Cap) -> BenefitDisbursement:
    user = require(request, cap)
    return visible_or_404(visible(BenefitDisbursement.objects.select_related("status", "unit"),
                                  user), pk)


@router.get("/disbursements/{disbursement_id}", response=DisbursementOut)
def get_disbursement(request: HttpRequest, disbursement_id: int) -> BenefitDisbursement:
    return _disbursement(request, disbursement_id, Cap.READ_RECORDS)


class DisbursementPatch(Schema):
    status: str | None = Field(None, max_length=40)
    quantity: Quantity | None = None
    extra: dict[str, Any] | None = None
    override_reason: str = Field("", max_length=1000, description=(
        "Goes past the benefit's service limit when the status becomes delivered (audited)"))


@router.patch("/disbursements/{disbursement_id}", response=DisbursementOut)
def update_disbursement(request: HttpRequest, disbursement_id: int,
                        payload: DisbursementPatch) -> BenefitDisbursement:
    """Correct a disbursement's status, quantity or extra fields (audited). A status becoming
    delivered is held to the benefit's service limit (409) unless `override_reason` is given."""
    disbursement = _disbursement(request, disbursement_id, Cap.MANAGE_PROGRAMS)
    services.disbursement_update(actor=request.auth, disbursement=disbursement,  # type: ignore[attr-defined]
                                 status=payload.status, quantity=payload.quantity,
                                 extra=payload.extra, override_reason=payload.override_reason)
    return BenefitDisbursement.objects.select_related("status", "unit").get(pk=disbursement.pk)


@router.delete("/disbursements/{disbursement_id}", response={204: None})
def delete_disbursement(request: HttpRequest, disbursement_id: int) -> HttpResponse:
    """Delete a disbursement (managers; the audit log keeps what it was)."""
    disbursement = _disbursement(request, disbursement_id, Cap.MANAGE_PROGRAMS)
    services.disbursement_delete(actor=request.auth, disbursement=disbursement)  # type: ignore[attr-defined]
    return HttpResponse(status=204)


class BulkBase(Schema):
    quantity: Quantity
    disbursed_on: Date
    status: str | None = Field(None, max_length=40, description="Default: `completed`")
    extra: dict[str, Any] | None = None


OverLimitIn = Literal["refuse", "skip"]
OVER_LIMIT: Any = Field("refuse", description=(
    "Recipients past the benefit's service limit: `refuse` (409, nothing written) or `skip` "
    "(the rest are written; the answer lists `skipped`)"))


class BulkWalkIn(BulkBase, Override):
    mode: Literal["walk_in"]
    over_limit: OverLimitIn = OVER_LIMIT
    person_ids: list[Id] = Field(default_factory=list, max_length=MAX_RECIPIENTS)
    account_ids: list[Id] = Field(default_factory=list, max_length=MAX_RECIPIENTS)
    add_to_upcoming_session: Bool = False


class BulkAnonymous(BulkBase):
    mode: Literal["anonymous"]
    number_of_recipients: int = Field(ge=1, le=1_000_000)


class BulkEnrollment(BulkBase, Override):
    mode: Literal["enrollment"]
    over_limit: OverLimitIn = OVER_LIMIT
    enrollment_ids: list[Id] = Field(min_length=1, max_length=MAX_RECIPIENTS)


BulkIn = Annotated[BulkWalkIn | BulkAnonymous | BulkEnrollment, Field(discriminator="mode")]


class LimitSkippedOut(Schema):
    person_id: int | None
    account_id: int | None
    last_served_on: str = Field(description="The day of their last delivery in the window")


class BulkOut(Schema):
    disbursements_created: int
    enrollments_created: int
    warnings: list[Warning]
    skipped: list[LimitSkippedOut] = Field(description="Left out by `over_limit: skip`")


@router.post("/benefits/{benefit_id}/bulk-disbursements", response={201: BulkOut})
def bulk_disbursements(request: HttpRequest, benefit_id: int, payload: BulkIn) -> Status[Any]:
    """Many disbursements of one benefit at once: `walk_in` (people or accounts; what is
    missing is created), `anonymous` (one disbursement for `number_of_recipients` people on the
    program's anonymous enrollment) or `enrollment` (picked enrollments). All or nothing. A
    benefit with a schedule adds the warning `benefit_has_schedule`. Staff and up; an
    eligibility override needs a manager. The benefit's service limit: `over_limit` refuses
    (409) or skips those past it; a manager's `override_reason` lets them through."""
    user = require(request, Cap.LOG_DISBURSEMENTS)
    benefit = visible_or_404(benefits_visible(user), benefit_id)
    common: dict[str, Any] = {"actor": user, "benefit": benefit, "quantity": payload.quantity,
              "disbursed_on": payload.disbursed_on, "status": payload.status,
              "extra": payload.extra}
    if isinstance(payload, BulkWalkIn):
        result = services.disbursements_bulk_walk_in(
            **common, person_ids=payload.person_ids, account_ids=payload.account_ids,
            add_to_upcoming_session=payload.add_to_upcoming_session,
            override=_override(payload), override_reason=payload.override_reason,
            over_limit=payload.over_limit)
    elif isinstance(payload, BulkAnonymous):
        result = services.disbursements_bulk_anonymous(
            **common, number_of_recipients=payload.number_of_recipients)
    else:
        result = services.disbursements_bulk_enrollment(
            **common, enrollment_ids=payload.enrollment_ids, override=_override(payload),
            override_reason=payload.override_reason, over_limit=payload.over_limit)
    return Status(201, result)
