"""API: programs, benefits, cohorts (docs/api.md, Programs and benefits), and their configuration:
custom fields, eligibility rules, the income guideline."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field, StrictInt

from programdesk.api.auth import require
from programdesk.api.pagination import Page, PageParams, paginate
from programdesk.api.schemas import Bool, Date, Id, Quantity, QuantityOut, not_null
from programdesk.core import custom_fields
from programdesk.core.errors import ValidationError
from programdesk.core.models import FieldDefinition
from programdesk.core.roles import Cap
from programdesk.core.scoping import visible_or_404
from programdesk.programs import selectors, services
from programdesk.programs.limits import MAX_DAYS, MAX_MAX, benefit_limit, limit_clean
from programdesk.programs.models import Benefit, EligibilityRule, Program, ProgramCohort

router = Router(tags=["programs"])
config = Router(tags=["configuration"])
router.add_router("", config)

ProgramStatusIn = Literal["planned", "active", "completed", "cancelled"]


def _not_null(data: dict[str, Any], *keys: str) -> None:
    for key in keys:
        if key in data and data[key] is None:
            raise ValidationError.for_fields({key: "Cannot be null."})


# --- Programs ----------------------------------------------------------------------------------

class ProgramIn(Schema):
    name: str = Field(min_length=1, max_length=200)
    status: ProgramStatusIn = "active"
    start_date: Date | None = None
    end_date: Date | None = None
    summary: str = Field("", max_length=10_000)


class ProgramPatch(Schema):
    name: str | None = Field(None, json_schema_extra=not_null, min_length=1, max_length=200)
    status: ProgramStatusIn | None = Field(None, json_schema_extra=not_null)
    start_date: Date | None = None
    end_date: Date | None = None
    summary: str | None = Field(None, max_length=10_000)


class ProgramOut(Schema):
    id: int
    name: str
    status: str
    start_date: Date | None
    end_date: Date | None
    summary: str


class ProgramFilter(PageParams):
    status: ProgramStatusIn | None = None
    search: str = Field("", max_length=200, description="A fragment of the name")


@router.get("/programs", response=Page[ProgramOut])
def list_programs(request: HttpRequest, filters: Query[ProgramFilter]) -> dict:
    """Programs the caller may see, by name."""
    user = require(request, Cap.READ_SETUP)
    return paginate(selectors.programs_list(user=user, status=filters.status,
                                            search=filters.search), filters)


@router.post("/programs", response={201: ProgramOut})
def create_program(request: HttpRequest, payload: ProgramIn) -> Status[Program]:
    """A program (managers and admins). Names are unique, case-insensitively."""
    user = require(request, Cap.MANAGE_PROGRAMS)
    return Status(201, services.program_create(actor=user, **payload.dict()))


@router.get("/programs/{int:program_id}", response=ProgramOut)
def get_program(request: HttpRequest, program_id: int) -> Program:
    user = require(request, Cap.READ_SETUP)
    return visible_or_404(selectors.programs_visible(user), program_id)


@router.patch("/programs/{int:program_id}", response=ProgramOut)
def update_program(request: HttpRequest, program_id: int, payload: ProgramPatch) -> Program:
    """Change the fields given."""
    user = require(request, Cap.MANAGE_PROGRAMS)
    program = visible_or_404(selectors.programs_visible(user), program_id)
    data = payload.dict(exclude_unset=True)
    _not_null(data, "name", "status")
    if "summary" in data and data["summary"] is None:
        data["summary"] = ""
    return services.program_update(actor=user, program=program, **data)


# --- Benefits ----------------------------------------------------------------------------------

class LimitIn(Schema):
    max: StrictInt = Field(ge=1, le=MAX_MAX, description="At most this many deliveries")
    per: Literal["day", "week", "month", "year", "days"] = Field(
        description="The calendar day, week (Monday to Sunday), month or year of the "
                    "disbursement date, or `days`: a rolling window of `days` days ending on it")
    days: StrictInt | None = Field(None, ge=1, le=MAX_DAYS, description="Only with `per: days`")
    scope: Literal["person", "household"] = Field(
        description="Counted per person (or account), or per household (a person in none "
                    "counts alone)")


LIMIT_DESCRIPTION = ("The service limit, or null for none: every door that records a delivery "
                     "refuses one past it (409) unless a manager gives `override_reason`")


class BenefitIn(Schema):
    program_id: Id
    name: str = Field(min_length=1, max_length=200)
    benefit_type_id: Id | None = None
    unit: str | None = Field(None, min_length=1, max_length=20,
                             description="A unit's code, e.g. `hour` (default: the benefit "
                                         "type's unit)")
    is_active: Bool = True
    default_quantity: Quantity | None = None
    description: str = Field("", max_length=10_000)
    limit: LimitIn | None = Field(None, description=LIMIT_DESCRIPTION)


class BenefitPatch(Schema):
    program_id: Id | None = Field(None, json_schema_extra=not_null,
                                  description="Cannot change; accepted when the same")
    name: str | None = Field(None, json_schema_extra=not_null, min_length=1, max_length=200)
    benefit_type_id: Id | None = None
    unit: str | None = Field(None, json_schema_extra=not_null, min_length=1, max_length=20)
    is_active: Bool | None = Field(None, json_schema_extra=not_null)
    default_quantity: Quantity | None = Field(None, json_schema_extra=not_null)
    description: str | None = Field(None, max_length=10_000)
    limit: LimitIn | None = Field(None, description=LIMIT_DESCRIPTION)


class LimitOut(Schema):
    max: int
    per: str
    days: int | None
    scope: str


class BenefitOut(Schema):
    id: int
    program_id: int
    name: str
    benefit_type_id: int | None
    unit: str
    unit_id: int
    is_active: bool
    default_quantity: QuantityOut
    description: str
    limit: LimitOut | None

    @staticmethod
    def resolve_unit(obj: Benefit) -> str:
        return obj.unit.code

    @staticmethod
    def resolve_limit(obj: Benefit) -> dict[str, Any] | None:
        limit = benefit_limit(obj)
        return limit.as_dict() if limit else None


class BenefitFilter(PageParams):
    program_id: Id | None = None
    is_active: bool | None = None


@router.get("/benefits", response=Page[BenefitOut])
def list_benefits(request: HttpRequest, filters: Query[BenefitFilter]) -> dict:
    """Benefits of the programs the caller may see."""
    user = require(request, Cap.READ_SETUP)
    return paginate(selectors.benefits_list(user=user, program_id=filters.program_id,
                                            is_active=filters.is_active), filters)


@router.post("/benefits", response={201: BenefitOut})
def create_benefit(request: HttpRequest, payload: BenefitIn) -> Status[Benefit]:
    """A benefit of a program: `unit` is a unit's code (default: the benefit type's unit);
    `default_quantity` defaults to 1."""
    user = require(request, Cap.MANAGE_PROGRAMS)
    program = selectors.program_for_field(user=user, pk=payload.program_id)
    benefit = services.benefit_create(
        actor=user, program=program, name=payload.name,
        unit=selectors.unit_for_field(payload.unit),
        benefit_type=selectors.benefit_type_for_field(payload.benefit_type_id),
        is_active=payload.is_active, default_quantity=payload.default_quantity,
        description=payload.description,
        limit=limit_clean(payload.limit.dict() if payload.limit else None))
    return Status(201, benefit)


@router.get("/benefits/{int:benefit_id}", response=BenefitOut)
def get_benefit(request: HttpRequest, benefit_id: int) -> Benefit:
    user = require(request, Cap.READ_SETUP)
    return visible_or_404(selectors.benefits_visible(user).select_related("unit"), benefit_id)


@router.patch("/benefits/{int:benefit_id}", response=BenefitOut)
def update_benefit(request: HttpRequest, benefit_id: int, payload: BenefitPatch) -> Benefit:
    """Change the fields given (`is_active: false` stops new assignments and disbursements).
    A benefit cannot move to another program."""
    user = require(request, Cap.MANAGE_PROGRAMS)
    benefit = visible_or_404(selectors.benefits_visible(user).select_related("unit"), benefit_id)
    data = payload.dict(exclude_unset=True)
    _not_null(data, "name", "unit", "is_active", "default_quantity", "program_id")
    if "program_id" in data:
        data["program"] = Program(pk=data.pop("program_id"))
    if "unit" in data:
        data["unit"] = selectors.unit_for_field(data["unit"])
    if "benefit_type_id" in data:
        data["benefit_type"] = selectors.benefit_type_for_field(data.pop("benefit_type_id"))
    if "description" in data and data["description"] is None:
        data["description"] = ""
    if "limit" in data:
        data["limit"] = limit_clean(data["limit"])
    return services.benefit_update(actor=user, benefit=benefit, **data)


# --- Cohorts -----------------------------------------------------------------------------------

class CohortIn(Schema):
    program_id: Id
    name: str = Field(min_length=1, max_length=200)
    start_date: Date | None = None
    end_date: Date | None = None
    max_members: int | None = Field(None, ge=1, le=1_000_000)


class CohortPatch(Schema):
    name: str | None = Field(None, json_schema_extra=not_null, min_length=1, max_length=200)
    start_date: Date | None = None
    end_date: Date | None = None
    max_members: int | None = Field(None, ge=1, le=1_000_000)


class CohortOut(Schema):
    id: int
    program_id: int
    name: str
    start_date: Date | None
    end_date: Date | None
    max_members: int | None
    member_count: int = Field(description="Current members (not removed)")


class CohortFilter(PageParams):
    program_id: Id | None = None


@router.get("/cohorts", response=Page[CohortOut])
def list_cohorts(request: HttpRequest, filters: Query[CohortFilter]) -> dict:
    """Cohorts of the programs the caller may see."""
    user = require(request, Cap.READ_SETUP)
    return paginate(selectors.cohorts_list(user=user, program_id=filters.program_id), filters)


@router.post("/cohorts", response={201: CohortOut})
def create_cohort(request: HttpRequest, payload: CohortIn) -> Status[ProgramCohort]:
    """A cohort of a program, with optional dates and maximum member count (staff and up)."""
    user = require(request, Cap.WRITE_RECORDS)
    program = selectors.program_for_field(user=user, pk=payload.program_id)
    data = payload.dict()
    data.pop("program_id")
    cohort = services.cohort_create(actor=user, program=program, **data)
    return Status(201, selectors.cohorts_with_counts(user).get(pk=cohort.pk))


@router.get("/cohorts/{int:cohort_id}", response=CohortOut)
def get_cohort(request: HttpRequest, cohort_id: int) -> ProgramCohort:
    user = require(request, Cap.READ_SETUP)
    return visible_or_404(selectors.cohorts_with_counts(user), cohort_id)


@router.patch("/cohorts/{int:cohort_id}", response=CohortOut)
def update_cohort(request: HttpRequest, cohort_id: int, payload: CohortPatch) -> ProgramCohort:
    user = require(request, Cap.WRITE_RECORDS)
    cohort = visible_or_404(selectors.cohorts_visible(user), cohort_id)
    data = payload.dict(exclude_unset=True)
    _not_null(data, "name")
    services.cohort_update(actor=user, cohort=cohort, **data)
    return selectors.cohorts_with_counts(user).get(pk=cohort.pk)


# --- Custom fields -----------------------------------------------------------------------------

FieldTargetIn = Literal["person", "enrollment", "disbursement"]
FieldTypeIn = Literal["text", "number", "date", "boolean", "choice"]


class FieldDefinitionIn(Schema):
    target: FieldTargetIn
    key: str = Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_-]+$",
                     description="The name of the value in `extra`")
    label: str = Field(min_length=1, max_length=100)
    field_type: FieldTypeIn
    required: Bool = False
    max_length: int | None = Field(None, ge=1, le=custom_fields.MAX_TEXT_LENGTH)
    choices: list[str] = Field(default_factory=list, max_length=200)
    help_text: str = Field("", max_length=200)
    program_id: Id | None = None
    benefit_id: Id | None = None
    order: int | None = Field(None, ge=0, le=1_000_000, strict=True)


class FieldDefinitionPatch(Schema):
    label: str | None = Field(None, json_schema_extra=not_null, min_length=1, max_length=100)
    required: Bool | None = Field(None, json_schema_extra=not_null)
    max_length: int | None = Field(None, ge=1, le=custom_fields.MAX_TEXT_LENGTH)
    choices: list[str] | None = Field(None, max_length=200)
    help_text: str | None = Field(None, max_length=200)
    order: int | None = Field(None, json_schema_extra=not_null, ge=0, le=1_000_000,
                              strict=True)
    is_active: Bool | None = Field(None, json_schema_extra=not_null)


class FieldDefinitionOut(Schema):
    id: int
    target: str
    key: str
    label: str
    field_type: str
    required: bool
    max_length: int | None
    choices: list[str]
    help_text: str
    program_id: int | None
    benefit_id: int | None
    order: int
    is_active: bool


class FieldDefinitionFilter(PageParams):
    target: FieldTargetIn | None = None
    program_id: Id | None = Field(None, description="Only the fields that apply here "
                                                    "(global ones included)")
    benefit_id: Id | None = Field(None, description="Only the fields that apply here "
                                                    "(global and the program's included)")
    include_retired: bool = False


@config.get("/custom-fields", response=Page[FieldDefinitionOut])
def list_custom_fields(request: HttpRequest, filters: Query[FieldDefinitionFilter]) -> dict:
    """The extra fields admins defined. With `program_id`/`benefit_id`, the ones a record there
    takes in `extra` — what a form tool needs to build its form."""
    user = require(request, Cap.READ_SETUP)
    return paginate(selectors.field_definitions_list(
        user=user, target=filters.target, include_retired=filters.include_retired,
        program_id=filters.program_id, benefit_id=filters.benefit_id), filters)


@config.post("/custom-fields", response={201: FieldDefinitionOut})
def create_custom_field(request: HttpRequest, payload: FieldDefinitionIn
                        ) -> Status[FieldDefinition]:
    """Define an extra field for people, enrollments or disbursements — everywhere, or for one
    program or one benefit (admins). Its key and type cannot change later."""
    user = require(request, Cap.CONFIGURE)
    if payload.program_id is not None:
        selectors.program_for_field(user=user, pk=payload.program_id)
    if payload.benefit_id is not None:
        selectors.benefit_for_field(user=user, pk=payload.benefit_id)
    return Status(201, custom_fields.field_definition_create(actor=user, **payload.dict()))


@config.patch("/custom-fields/{int:field_id}", response=FieldDefinitionOut)
def update_custom_field(request: HttpRequest, field_id: int, payload: FieldDefinitionPatch
                        ) -> FieldDefinition:
    """Change label, required, maximum length (null removes it), choices, help text, order, or
    retire it (`is_active: false`)."""
    user = require(request, Cap.CONFIGURE)
    definition = visible_or_404(selectors.field_definitions_visible(user), field_id)
    data = payload.dict(exclude_unset=True)
    _not_null(data, "label", "required", "order", "is_active")
    if "max_length" in data and data["max_length"] is None:
        data.pop("max_length")
        data["clear_max_length"] = True
    return custom_fields.field_definition_update(actor=user, definition=definition, **data)


# --- Eligibility rules -------------------------------------------------------------------------

class RuleIn(Schema):
    program_id: Id | None = None
    benefit_id: Id | None = None
    criterion: Literal["age", "postal_code", "income", "document"]
    params: dict[str, Any] = Field(description=(
        'age `{"min": 14, "max": 24}`; postal_code `{"codes": ["02139"], "prefixes": ["021"]}`; '
        'income `{"max_percent": 200}`; document `{"document_type": "income", '
        '"within_days": 365}`'))
    mode: Literal["warn", "block"] = "warn"


class RulePatch(Schema):
    params: dict[str, Any] | None = Field(None, json_schema_extra=not_null)
    mode: Literal["warn", "block"] | None = Field(None, json_schema_extra=not_null)
    is_active: Bool | None = Field(None, json_schema_extra=not_null)


class RuleOut(Schema):
    id: int
    program_id: int | None
    benefit_id: int | None
    criterion: str
    params: dict[str, Any]
    mode: str
    is_active: bool


class RuleFilter(PageParams):
    program_id: Id | None = None
    benefit_id: Id | None = None


@config.get("/eligibility-rules", response=Page[RuleOut])
def list_rules(request: HttpRequest, filters: Query[RuleFilter]) -> dict:
    """Eligibility rules of the programs and benefits the caller may see."""
    user = require(request, Cap.READ_SETUP)
    return paginate(selectors.rules_list(user=user, program_id=filters.program_id,
                                         benefit_id=filters.benefit_id), filters)


@config.post("/eligibility-rules", response={201: RuleOut})
def create_rule(request: HttpRequest, payload: RuleIn) -> Status[EligibilityRule]:
    """A rule for one program or one benefit (admins). `warn` lets staff go on with a warning;
    `block` needs a manager's override with a reason."""
    user = require(request, Cap.CONFIGURE)
    if (payload.program_id is None) == (payload.benefit_id is None):
        raise ValidationError.for_fields(
            {"program_id": "Give exactly one of program_id and benefit_id."})
    program = (selectors.program_for_field(user=user, pk=payload.program_id)
               if payload.program_id else None)
    benefit = (selectors.benefit_for_field(user=user, pk=payload.benefit_id)
               if payload.benefit_id else None)
    return Status(201, services.eligibility_rule_create(
        actor=user, program=program, benefit=benefit, criterion=payload.criterion,
        params=payload.params, mode=payload.mode))


@config.patch("/eligibility-rules/{int:rule_id}", response=RuleOut)
def update_rule(request: HttpRequest, rule_id: int, payload: RulePatch) -> EligibilityRule:
    user = require(request, Cap.CONFIGURE)
    rule = visible_or_404(selectors.rules_visible(user), rule_id)
    data = payload.dict(exclude_unset=True)
    _not_null(data, "params", "mode", "is_active")
    return services.eligibility_rule_update(actor=user, rule=rule, **data)


@config.delete("/eligibility-rules/{int:rule_id}", response={204: None})
def delete_rule(request: HttpRequest, rule_id: int) -> Status[None]:
    user = require(request, Cap.CONFIGURE)
    rule = visible_or_404(selectors.rules_visible(user), rule_id)
    services.eligibility_rule_delete(actor=user, rule=rule)
    return Status(204, None)


# --- Income guideline --------------------------------------------------------------------------

class GuidelineRow(Schema):
    household_size: int = Field(ge=1, le=services.MAX_GUIDELINE_SIZE)
    annual_income: Quantity


class GuidelineOut(Schema):
    household_size: int
    annual_income: QuantityOut


class GuidelinesIn(Schema):
    rows: list[GuidelineRow] = Field(max_length=services.MAX_GUIDELINE_SIZE)


@config.get("/income-guidelines", response=Page[GuidelineOut])
def list_guidelines(request: HttpRequest, page: Query[PageParams]) -> dict:
    """The yearly income guideline by household size that income rules compare against."""
    require(request, Cap.READ_SETUP)
    return paginate(selectors.income_guidelines(), page)


@config.put("/income-guidelines", response=Page[GuidelineOut])
def replace_guidelines(request: HttpRequest, payload: GuidelinesIn) -> dict:
    """Replace the whole table (admins), e.g. with this year's federal poverty guideline."""
    user = require(request, Cap.CONFIGURE)
    rows = services.income_guidelines_replace(
        actor=user, rows=[(r.household_size, Decimal(r.annual_income)) for r in payload.rows])
    return {"count": len(rows), "items": rows}
