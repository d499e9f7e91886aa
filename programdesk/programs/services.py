"""Writes for programs, benefits, benefit types, units, cohorts and eligibility rules."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import models, transaction

from programdesk.core.audit import audit_record, changes, snapshot
from programdesk.core.errors import ValidationError
from programdesk.core.models import User
from programdesk.core.text import name_problem
from programdesk.people.matching import postal_key
from programdesk.people.models import DocumentType
from programdesk.programs.limits import ServiceLimit, limit_columns
from programdesk.programs.models import (
    Benefit,
    BenefitKind,
    BenefitType,
    Criterion,
    EligibilityRule,
    IncomeGuideline,
    Program,
    ProgramCohort,
    ProgramStatus,
    RuleMode,
    UnitOfMeasure,
)
from programdesk.programs.quantities import check_quantity


@transaction.atomic
def unit_create(*, actor: User | None, code: str, name: str) -> UnitOfMeasure:
    code = code.strip().lower()
    errors = {}
    if not code or not code.replace("_", "a").replace("-", "a").isalnum() or not code.isascii():
        errors["code"] = "Use lower-case letters, digits, _ and - (e.g. hour)."
    if not name.strip():
        errors["name"] = "A name is required."
    if errors:
        raise ValidationError.for_fields(errors)
    _check_lengths(UnitOfMeasure, {"code": code, "name": name.strip()})
    if UnitOfMeasure.objects.filter(code=code).exists():
        raise ValidationError.for_fields({"code": f"A unit with code '{code}' exists."})
    unit = UnitOfMeasure.objects.create(code=code, name=name.strip())
    audit_record(actor=actor, action="unit.create", obj=unit, after=snapshot(unit))
    return unit


@transaction.atomic
def benefit_type_create(*, actor: User | None, name: str, kind: str, unit_code: str
                        ) -> BenefitType:
    if kind not in BenefitKind.values:
        raise ValidationError.for_fields({"kind": f"Use one of: {', '.join(BenefitKind.values)}."})
    unit = UnitOfMeasure.objects.filter(code=unit_code).first()
    if unit is None:
        raise ValidationError.for_fields({"unit": f"Unknown unit '{unit_code}'."})
    if not name.strip():
        raise ValidationError.for_fields({"name": "A name is required."})
    _check_lengths(BenefitType, {"name": name.strip()})
    if BenefitType.objects.filter(name__iexact=name.strip()).exists():
        raise ValidationError.for_fields({"name": f"A benefit type named '{name}' exists."})
    benefit_type = BenefitType.objects.create(name=name.strip(), kind=kind, unit=unit)
    audit_record(actor=actor, action="benefit_type.create", obj=benefit_type,
                 after=snapshot(benefit_type))
    return benefit_type


def _name_errors(model: type[models.Model], name: str, taken: models.QuerySet[Any],
                 exists: str) -> dict[str, str]:
    if not name:
        return {"name": "A name is required."}
    if problem := name_problem(name):
        return {"name": f"The name {problem}"}
    limit = getattr(model._meta.get_field("name"), "max_length", None)
    if limit and len(name) > limit:
        return {"name": f"At most {limit} characters."}
    if taken.filter(name__iexact=name).exists():
        return {"name": exists.format(name=name)}
    return {}


def _date_errors(start: dt.date | None, end: dt.date | None) -> dict[str, str]:
    if start and end and end < start:
        return {"end_date": "The end date is before the start date."}
    return {}


def _raise(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationError.for_fields(errors)


def _check_lengths(model: type[models.Model], values: dict[str, Any]) -> None:
    errors = {}
    for name, value in values.items():
        limit = getattr(model._meta.get_field(name), "max_length", None)
        if isinstance(value, str) and limit and len(value) > limit:
            errors[name] = f"At most {limit} characters."
    _raise(errors)


# --- Programs ----------------------------------------------------------------------------------

PROGRAM_FIELDS = {"name", "status", "start_date", "end_date", "summary"}


def _program_errors(program: Program) -> dict[str, str]:
    """Every problem with a program's values at once (field -> message)."""
    errors = _name_errors(Program, program.name, Program.objects.exclude(pk=program.pk),
                          "A program named '{name}' exists.")
    if program.status not in ProgramStatus.values:
        errors["status"] = f"Use one of: {', '.join(ProgramStatus.values)}."
    errors.update(_date_errors(program.start_date, program.end_date))
    return errors


@transaction.atomic
def program_create(*, actor: User | None, name: str, status: str = ProgramStatus.ACTIVE,
                   start_date: dt.date | None = None, end_date: dt.date | None = None,
                   summary: str = "") -> Program:
    program = Program(name=(name or "").strip(), status=status, start_date=start_date,
                      end_date=end_date, summary=(summary or "").strip())
    _raise(_program_errors(program))
    program.save()
    audit_record(actor=actor, action="program.create", obj=program, after=snapshot(program))
    return program


@transaction.atomic
def program_update(*, actor: User | None, program: Program, **fields: Any) -> Program:
    """Change name, status, dates or summary."""
    unknown = set(fields) - PROGRAM_FIELDS
    if unknown:
        raise TypeError(f"program_update got unknown fields: {sorted(unknown)}")
    obj = Program.objects.select_for_update().get(pk=program.pk)
    before = snapshot(obj)
    for key, value in fields.items():
        setattr(obj, key, (value or "").strip() if key in {"name", "summary"} else value)
    _raise(_program_errors(obj))
    obj.save()
    before, after = changes(before, snapshot(obj))
    audit_record(actor=actor, action="program.update", obj=obj, before=before, after=after)
    return obj


# --- Benefits ----------------------------------------------------------------------------------

BENEFIT_FIELDS = {"name", "unit", "benefit_type", "is_active", "default_quantity", "description",
                  "program", "limit"}


def _benefit_errors(benefit: Benefit) -> dict[str, str]:
    errors = _name_errors(Benefit, benefit.name, Benefit.objects.filter(
        program_id=benefit.program_id).exclude(pk=benefit.pk),
        f"'{benefit.program}' already has a benefit '{{name}}'.")
    if benefit.unit_id is None:
        errors["unit"] = "A unit (or a benefit type) is required."
    if benefit.default_quantity is None:
        errors["default_quantity"] = "A quantity of 0 or more."
    else:
        try:
            check_quantity(benefit.default_quantity, "default_quantity")
        except ValidationError as exc:
            errors.update((e["field"], e["message"]) for e in exc.errors)
    return errors


@transaction.atomic
def benefit_create(*, actor: User | None, program: Program, name: str,
                   unit: UnitOfMeasure | None = None, benefit_type: BenefitType | None = None,
                   is_active: bool = True, default_quantity: Decimal | None = None,
                   description: str = "", limit: ServiceLimit | None = None) -> Benefit:
    """A benefit of a program. Without a unit it takes its benefit type's; the default
    quantity is 1 unless given. ``limit``: its service limit (programs/limits.py), if any."""
    if unit is None and benefit_type is not None:
        unit = benefit_type.unit
    benefit = Benefit(program=program, name=(name or "").strip(), unit=unit,
                      benefit_type=benefit_type, is_active=is_active,
                      default_quantity=Decimal(1) if default_quantity is None
                      else default_quantity, description=(description or "").strip(),
                      **limit_columns(limit))
    _raise(_benefit_errors(benefit))
    benefit.save()
    audit_record(actor=actor, action="benefit.create", obj=benefit, after=snapshot(benefit))
    return benefit


@transaction.atomic
def benefit_update(*, actor: User | None, benefit: Benefit, **fields: Any) -> Benefit:
    """Change name, unit, benefit type, active flag, default quantity, description or service
    limit (``limit``: a ``ServiceLimit`` or None for none). A benefit never moves to another
    program: its disbursements are counted under it. A unit
    change applies to new disbursements; recorded ones keep the unit they were given in."""
    unknown = set(fields) - BENEFIT_FIELDS
    if unknown:
        raise TypeError(f"benefit_update got unknown fields: {sorted(unknown)}")
    obj = Benefit.objects.select_for_update().get(pk=benefit.pk)
    program = fields.pop("program", None)
    errors = {}
    if program is not None and program.pk != obj.program_id:
        errors["program_id"] = "A benefit cannot move to another program."
    before = snapshot(obj)
    if "limit" in fields:
        fields.update(limit_columns(fields.pop("limit")))
    for key, value in fields.items():
        setattr(obj, key, (value or "").strip() if key in {"name", "description"} else value)
    _raise({**_benefit_errors(obj), **errors})
    obj.save()
    before, after = changes(before, snapshot(obj))
    audit_record(actor=actor, action="benefit.update", obj=obj, before=before, after=after)
    return obj


# --- Cohorts -----------------------------------------------------------------------------------

COHORT_FIELDS = {"name", "start_date", "end_date", "max_members"}


def _cohort_errors(cohort: ProgramCohort) -> dict[str, str]:
    errors = _name_errors(ProgramCohort, cohort.name, ProgramCohort.objects.filter(
        program_id=cohort.program_id).exclude(pk=cohort.pk),
        f"'{cohort.program}' already has a cohort '{{name}}'.")
    errors.update(_date_errors(cohort.start_date, cohort.end_date))
    if cohort.max_members is not None:
        if cohort.max_members < 1:
            errors["max_members"] = "Must be at least 1."
        elif cohort.pk is not None:
            # participation's members, through the reverse relation it declares on cohorts.
            current = cohort.members.filter(removed_on__isnull=True).count()
            if cohort.max_members < current:
                errors["max_members"] = f"The cohort already has {current} members."
    return errors


@transaction.atomic
def cohort_create(*, actor: User | None, program: Program, name: str,
                  start_date: dt.date | None = None, end_date: dt.date | None = None,
                  max_members: int | None = None) -> ProgramCohort:
    cohort = ProgramCohort(program=program, name=(name or "").strip(), start_date=start_date,
                           end_date=end_date, max_members=max_members)
    _raise(_cohort_errors(cohort))
    cohort.save()
    audit_record(actor=actor, action="cohort.create", obj=cohort, after=snapshot(cohort))
    return cohort


@transaction.atomic
def cohort_update(*, actor: User | None, cohort: ProgramCohort, **fields: Any) -> ProgramCohort:
    """Change name, dates or the maximum member count (not below the current members)."""
    unknown = set(fields) - COHORT_FIELDS
    if unknown:
        raise TypeError(f"cohort_update got unknown fields: {sorted(unknown)}")
    obj = ProgramCohort.objects.select_for_update().get(pk=cohort.pk)
    before = snapshot(obj)
    for key, value in fields.items():
        setattr(obj, key, (value or "").strip() if key == "name" else value)
    _raise(_cohort_errors(obj))
    obj.save()
    before, after = changes(before, snapshot(obj))
    audit_record(actor=actor, action="cohort.update", obj=obj, before=before, after=after)
    return obj


# --- Eligibility rules and the income guideline ------------------------------------------------

MAX_AGE = 130


def _int_param(params: dict[str, Any], key: str, errors: dict[str, str], *, low: int,
               high: int, required: bool = False) -> int | None:
    value = params.get(key)
    if value is None or value == "":
        if required:
            errors[f"params.{key}"] = "Required."
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        errors[f"params.{key}"] = f"A whole number from {low} to {high}."
        return None
    try:
        number = int(value)
    except ValueError:
        errors[f"params.{key}"] = f"A whole number from {low} to {high}."
        return None
    if not low <= number <= high:
        errors[f"params.{key}"] = f"A whole number from {low} to {high}."
        return None
    return number


def _code_list(value: Any) -> list[str] | None:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        return None
    return sorted({postal_key(str(v)) for v in value if postal_key(str(v))})


def _age_params(params: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    low = _int_param(params, "min", errors, low=0, high=MAX_AGE)
    high = _int_param(params, "max", errors, low=0, high=MAX_AGE)
    if low is None and high is None and not errors:
        errors["params.min"] = "Give a minimum age, a maximum age or both."
    if low is not None and high is not None and low > high:
        errors["params.max"] = "The maximum is below the minimum."
    return {k: v for k, v in {"min": low, "max": high}.items() if v is not None}


def _postal_code_params(params: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    codes, prefixes = _code_list(params.get("codes")), _code_list(params.get("prefixes"))
    if codes is None:
        errors["params.codes"] = "A list of postal codes."
    if prefixes is None:
        errors["params.prefixes"] = "A list of postal code prefixes."
    if codes == [] and prefixes == []:
        errors["params.codes"] = "Give postal codes, prefixes or both."
    return {"codes": codes or [], "prefixes": prefixes or []}


def _income_params(params: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    value = params.get("max_percent")
    try:
        # Checked as stored (a JSON number): "1e-400" would be stored as 0.0.
        percent = float(Decimal(str(value))) if value not in (None, "") and not isinstance(
            value, bool) else None
    except (InvalidOperation, ValueError):  # ValueError: an int of over 4300 digits
        percent = None
    if percent is None or not math.isfinite(percent) or not 0 < percent <= 1000:
        errors["params.max_percent"] = "A percentage above 0, at most 1000."
        return {}
    return {"max_percent": int(percent) if percent.is_integer() else percent}


def _document_params(params: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    doc_type = params.get("document_type")
    if doc_type not in DocumentType.values:
        errors["params.document_type"] = f"Use one of: {', '.join(DocumentType.values)}."
    days = _int_param(params, "within_days", errors, low=1, high=3660, required=True)
    return {"document_type": doc_type, "within_days": days}


# Each criterion: the parameters it takes, and the function that checks and normalizes them.
_RULE_PARAMS: dict[str, tuple[set[str], Callable[[dict[str, Any], dict[str, str]],
                                                 dict[str, Any]]]] = {
    Criterion.AGE: ({"min", "max"}, _age_params),
    Criterion.POSTAL_CODE: ({"codes", "prefixes"}, _postal_code_params),
    Criterion.INCOME: ({"max_percent"}, _income_params),
    Criterion.DOCUMENT: ({"document_type", "within_days"}, _document_params),
}


def eligibility_params_clean(criterion: str, params: Any) -> dict[str, Any]:
    """Validate a rule's params (see EligibilityRule's docstring) and return them normalized;
    errors at ``params.<key>``."""
    if not isinstance(params, dict):
        raise ValidationError.for_fields({"params": "Must be an object."})
    if criterion not in _RULE_PARAMS:
        raise ValidationError.for_fields(
            {"criterion": f"Use one of: {', '.join(Criterion.values)}."})
    allowed, clean = _RULE_PARAMS[criterion]
    errors: dict[str, str] = {}
    for key in set(params) - allowed:
        errors[f"params.{key}"] = f"Unknown parameter for a {criterion} rule."
    cleaned = clean(params, errors)
    if errors:
        raise ValidationError.for_fields(errors)
    return cleaned


@transaction.atomic
def eligibility_rule_create(*, actor: User | None, criterion: str, params: dict[str, Any],
                            mode: str = RuleMode.WARN, program: Program | None = None,
                            benefit: Benefit | None = None) -> EligibilityRule:
    """A rule for one program or one benefit. ``warn`` lets staff go on; ``block`` needs a
    manager's override with a reason (the participation and disbursement areas enforce it)."""
    if (program is None) == (benefit is None):
        raise ValidationError.for_fields(
            {"program_id": "A rule belongs to one program or one benefit (give exactly one)."})
    if mode not in RuleMode.values:
        raise ValidationError.for_fields({"mode": f"Use one of: {', '.join(RuleMode.values)}."})
    clean = eligibility_params_clean(criterion, params)
    rule = EligibilityRule.objects.create(program=program, benefit=benefit, criterion=criterion,
                                          params=clean, mode=mode)
    audit_record(actor=actor, action="eligibility_rule.create", obj=rule, after=snapshot(rule))
    return rule


@transaction.atomic
def eligibility_rule_update(*, actor: User | None, rule: EligibilityRule,
                            params: dict[str, Any] | None = None, mode: str | None = None,
                            is_active: bool | None = None) -> EligibilityRule:
    """Change a rule's parameters, mode or active flag (its criterion and scope stay)."""
    obj = EligibilityRule.objects.select_for_update().get(pk=rule.pk)
    before = snapshot(obj)
    if mode is not None:
        if mode not in RuleMode.values:
            raise ValidationError.for_fields(
                {"mode": f"Use one of: {', '.join(RuleMode.values)}."})
        obj.mode = mode
    if params is not None:
        obj.params = eligibility_params_clean(obj.criterion, params)
    if is_active is not None:
        obj.is_active = is_active
    obj.save()
    before, after = changes(before, snapshot(obj))
    audit_record(actor=actor, action="eligibility_rule.update", obj=obj, before=before,
                 after=after)
    return obj


@transaction.atomic
def eligibility_rule_delete(*, actor: User | None, rule: EligibilityRule) -> None:
    """Rules are configuration: past decisions were audited where they were made."""
    audit_record(actor=actor, action="eligibility_rule.delete", obj=rule, before=snapshot(rule))
    rule.delete()


MAX_GUIDELINE_SIZE = 50


@transaction.atomic
def income_guidelines_replace(*, actor: User | None,
                              rows: Iterable[tuple[int, Decimal]]) -> list[IncomeGuideline]:
    """Replace the whole guideline table (yearly income by household size), e.g. with this
    year's federal poverty guidelines. Errors at ``rows.<i>.household_size|annual_income``."""
    errors: dict[str, str] = {}
    clean: dict[int, Decimal] = {}
    for i, (size, income) in enumerate(rows):
        if isinstance(size, bool) or not isinstance(size, int) or not (
                1 <= size <= MAX_GUIDELINE_SIZE):
            errors[f"rows.{i}.household_size"] = f"A whole number from 1 to {MAX_GUIDELINE_SIZE}."
        elif size in clean:
            errors[f"rows.{i}.household_size"] = f"Household size {size} is listed twice."
        try:
            amount = Decimal(str(income))
        except InvalidOperation:
            amount = Decimal(-1)
        if not amount.is_finite() or amount < 0 or amount > Decimal("9999999999.99") or (
                amount != amount.quantize(Decimal("0.01"))):
            errors[f"rows.{i}.annual_income"] = "An amount of 0 or more, at most 2 decimals."
        elif f"rows.{i}.household_size" not in errors:
            clean[size] = amount
    if errors:
        raise ValidationError.for_fields(errors)
    before = {str(g.household_size): str(g.annual_income) for g in IncomeGuideline.objects.all()}
    IncomeGuideline.objects.all().delete()
    created = IncomeGuideline.objects.bulk_create(
        [IncomeGuideline(household_size=size, annual_income=amount)
         for size, amount in sorted(clean.items())])
    audit_record(actor=actor, action="income_guideline.replace",
                 object_type="programs.incomeguideline", before=before,
                 after={str(size): str(amount) for size, amount in sorted(clean.items())})
    return created
