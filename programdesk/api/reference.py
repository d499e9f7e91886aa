"""Reference data: status values, units, benefit types."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from programdesk.api.auth import require
from programdesk.api.pagination import Page, PageParams, paginate
from programdesk.api.schemas import Id
from programdesk.core.models import StatusValue
from programdesk.core.roles import Cap
from programdesk.core.selectors import filter_given
from programdesk.programs import services as program_services
from programdesk.programs.models import BenefitType, UnitOfMeasure

router = Router(tags=["reference"])


class StatusValueOut(Schema):
    id: int
    kind: str
    code: str
    label: str
    bucket: str
    is_default: bool
    is_active: bool
    order: int


class StatusFilter(PageParams):
    kind: Literal["disbursement", "enrollment"] | None = None


@router.get("/status-values", response=Page[StatusValueOut])
def list_status_values(request: HttpRequest, filters: Query[StatusFilter]) -> dict:
    require(request, Cap.READ_SETUP)
    qs = StatusValue.objects.all().order_by("kind", "order", "id")
    return paginate(filter_given(qs, kind=filters.kind), filters)


class UnitIn(Schema):
    code: str = Field(min_length=1, max_length=20, pattern=r"^[a-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=60)


class UnitOut(Schema):
    id: int
    code: str
    name: str


@router.get("/units", response=Page[UnitOut])
def list_units(request: HttpRequest, page: Query[PageParams]) -> dict:
    require(request, Cap.READ_SETUP)
    return paginate(UnitOfMeasure.objects.order_by("name"), page)


@router.post("/units", response={201: UnitOut})
def create_unit(request: HttpRequest, payload: UnitIn) -> Status[UnitOfMeasure]:
    user = require(request, Cap.CONFIGURE)
    return Status(201, program_services.unit_create(actor=user, code=payload.code,
                                                    name=payload.name))


class BenefitTypeIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    kind: Literal["goods", "monetary", "service"]
    unit: str = Field(min_length=1, max_length=20, description="A unit's code, e.g. `hour`")


class BenefitTypeOut(Schema):
    id: int
    name: str
    kind: str
    unit: str
    unit_id: Id

    @staticmethod
    def resolve_unit(obj: BenefitType) -> str:
        return obj.unit.code


@router.get("/benefit-types", response=Page[BenefitTypeOut])
def list_benefit_types(request: HttpRequest, page: Query[PageParams]) -> dict:
    require(request, Cap.READ_SETUP)
    return paginate(BenefitType.objects.select_related("unit").order_by("name"), page)


@router.post("/benefit-types", response={201: BenefitTypeOut})
def create_benefit_type(request: HttpRequest, payload: BenefitTypeIn) -> Status[BenefitType]:
    user = require(request, Cap.CONFIGURE)
    return Status(201, program_services.benefit_type_create(
        actor=user, name=payload.name, kind=payload.kind, unit_code=payload.unit))
