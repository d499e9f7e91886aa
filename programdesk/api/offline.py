"""API: the offline front desk — the roster a device keeps, the batch sync of what it did
offline, and the conflicts staff resolve (docs/front-desk.md, Offline; docs/api.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from programdesk.api.auth import require
from programdesk.api.pagination import Page, PageParams, paginate
from programdesk.api.schemas import DateTime, Id, Quantity
from programdesk.core.roles import Cap
from programdesk.offline import selectors, services
from programdesk.offline.models import SyncKind

router = Router(tags=["offline"])

MAX_RECORDS = 500
DEVICE_ID = r"^[A-Za-z0-9_-]{1,64}$"


class OfflineRosterPersonOut(Schema):
    person_id: int
    disbursement_id: int
    assignment_id: int
    enrollment_id: int
    display_name: str = Field(description="First name and last initial for a kiosk login")
    household_size: int | None
    card_code: str
    status: str
    bucket: str


class OfflineRosterSessionOut(Schema):
    session_id: int
    name: str
    benefit_id: int
    start: dt.datetime
    location: str
    people: list[OfflineRosterPersonOut]


class OfflineWalkInPersonOut(Schema):
    person_id: int
    display_name: str
    household_size: int | None
    card_code: str


class OfflineWalkInBenefitOut(Schema):
    benefit_id: int
    name: str
    program_id: int
    people: list[OfflineWalkInPersonOut] = Field(
        description="The people the benefit's program served in the last 90 days")


class OfflineRosterOut(Schema):
    day: dt.date
    sessions: list[OfflineRosterSessionOut]
    benefits: list[OfflineWalkInBenefitOut] = Field(
        description="The walk-in pages asked for (`benefit`) that the user may log")


class OfflineRosterQuery(Schema):
    benefit: list[int] = Field(
        default_factory=list, max_length=selectors.WALK_IN_BENEFITS_MAX,
        description="Benefits whose walk-in page the device keeps (repeat the parameter). "
                    "Those the user may not log disbursements of are left out of `benefits`.")


@router.get("/offline/roster", response=OfflineRosterOut)
def offline_roster(request: HttpRequest, query: Query[OfflineRosterQuery]) -> dict[str, Any]:
    """Today's sessions the user may check people in to, and who is on each; and, for the
    walk-in pages the device asks for (`?benefit=ID&benefit=ID`), the people each benefit's
    program served recently: what a device keeps to work offline for a day. Display name,
    household size, card code and the ids a record names only — never income, documents,
    birth dates or notes."""
    from django.utils import timezone

    user = require(request, Cap.CHECK_IN)
    return {"day": timezone.localdate(), "sessions": selectors.offline_roster(user=user),
            "benefits": selectors.offline_walk_in_roster(user=user,
                                                         benefit_ids=query.benefit)}


class SyncRecordIn(Schema):
    id: str = Field(min_length=1, max_length=190,
                    description="Made on the device; the record's Idempotency-Key")
    kind: Literal["check_in", "attendance", "register", "walk_in_disbursement"]
    happened_at: DateTime = Field(description="The device's time; bounded by the server")
    session_id: Id | None = None
    person_id: Id | None = None
    disbursement_id: Id | None = Field(None, description="attendance: the row marked")
    benefit_id: Id | None = Field(None, description="walk_in_disbursement: the benefit given")
    status: str | None = Field(None, max_length=40, description="attendance: a status code")
    quantity: Quantity | None = None
    first_name: str = Field("", max_length=100, description=(
        "register; walk_in_disbursement: a walk-in quick-added offline (instead of person_id)"))
    last_name: str = Field("", max_length=100, description="register; walk_in_disbursement")
    postal_code: str = Field("", max_length=20, description="register; walk_in_disbursement")


class SyncIn(Schema):
    device_id: str = Field(pattern=DEVICE_ID, description="The device's own id (audited)")
    records: list[SyncRecordIn] = Field(max_length=MAX_RECORDS)


class SyncResultOut(Schema):
    id: str
    outcome: Literal["applied", "already_applied", "conflict", "rejected", "retry"]
    reason: str
    detail: str
    conflict_id: int | None
    happened_at: str | None = Field(description="When it happened, as the server recorded it")
    object_id: int | None


class SyncOut(Schema):
    results: list[SyncResultOut]


@router.post("/sync", response=SyncOut)
def sync(request: HttpRequest, payload: SyncIn) -> dict[str, Any]:
    """Records made offline, sent in a batch: each is applied exactly once (its `id` is its
    Idempotency-Key), in its own transaction, through the same services as the pages. Per
    record: `applied`, `already_applied` (sent before), `conflict` (filed for staff review,
    with the server's reason), `rejected` (an unknown session or benefit, a role that may not)
    or `retry` (another request is sending it now). The device's time is recorded as when it
    happened, not in the future and not before the session's day."""
    user = require(request, Cap.CHECK_IN)
    records = [services.SyncRecord(**r.dict()) for r in payload.records]
    results = services.sync_apply(actor=user, device_id=payload.device_id, records=records)
    return {"results": [r.as_dict() for r in results]}


class ConflictOut(Schema):
    id: int
    device_id: str
    record_id: str
    kind: SyncKind
    payload: dict[str, Any]
    happened_at: dt.datetime
    program_id: int
    session_id: int | None
    reason: str
    detail: str
    matches: list[dict[str, Any]]
    state: str
    resolved_by_id: int | None
    resolved_at: dt.datetime | None
    resolution_note: str


class ConflictFilters(PageParams):
    state: Literal["open", "applied", "merged", "discarded"] | None = "open"


@router.get("/sync/conflicts", response=Page[ConflictOut])
def sync_conflicts(request: HttpRequest, filters: Query[ConflictFilters]) -> dict[str, Any]:
    """Records made offline that the server could not apply (open ones by default), in the
    programs the user may see."""
    user = require(request, Cap.WRITE_RECORDS)
    items = selectors.conflicts_list(user=user, state=filters.state)
    return paginate(items, filters)
