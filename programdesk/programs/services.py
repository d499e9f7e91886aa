"""Writes for programs, benefits, benefit types, units, cohorts and eligibility rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction

from programdesk.core.audit import audit_record, snapshot
from programdesk.core.errors import ValidationError
from programdesk.core.models import User
from programdesk.programs.models import (
    Benefit,
    BenefitKind,
    BenefitType,
    Program,
    ProgramCohort,
    ProgramStatus,
    UnitOfMeasure,
)


@transaction.atomic
def unit_create(*, actor: User | None, code: str, name: str) -> UnitOfMeasure:
    code = code.strip().lower()
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
    if BenefitType.objects.filter(name__iexact=name.strip()).exists():
        raise ValidationError.for_fields({"name": f"A benefit type named '{name}' exists."})
    benefit_type = BenefitType.objects.create(name=name.strip(), kind=kind, unit=unit)
    audit_record(actor=actor, action="benefit_type.create", obj=benefit_type,
                 after=snapshot(benefit_type))
    return benefit_type


def _check_dates(start: dt.date | None, end: dt.date | None) -> None:
    if start and end and end < start:
        raise ValidationError.for_fields({"end_date": "The end date is before the start date."})


@transaction.atomic
def program_create(*, actor: User | None, name: str, status: str = ProgramStatus.ACTIVE,
                   start_date: dt.date | None = None, end_date: dt.date | None = None,
                   summary: str = "") -> Program:
    name = name.strip()
    if not name:
        raise ValidationError.for_fields({"name": "A name is required."})
    if status not in ProgramStatus.values:
        raise ValidationError.for_fields(
            {"status": f"Use one of: {', '.join(ProgramStatus.values)}."})
    _check_dates(start_date, end_date)
    if Program.objects.filter(name__iexact=name).exists():
        raise ValidationError.for_fields({"name": f"A program named '{name}' exists."})
    program = Program.objects.create(name=name, status=status, start_date=start_date,
                                     end_date=end_date, summary=summary)
    audit_record(actor=actor, action="program.create", obj=program, after=snapshot(program))
    return program


@transaction.atomic
def benefit_create(*, actor: User | None, program: Program, name: str,
                   unit: UnitOfMeasure | None = None, benefit_type: BenefitType | None = None,
                   is_active: bool = True, default_quantity: Decimal | None = None,
                   description: str = "") -> Benefit:
    name = name.strip()
    if not name:
        raise ValidationError.for_fields({"name": "A name is required."})
    if unit is None:
        if benefit_type is None:
            raise ValidationError.for_fields({"unit": "A unit (or a benefit type) is required."})
        unit = benefit_type.unit
    if default_quantity is not None and default_quantity < 0:
        raise ValidationError.for_fields({"default_quantity": "Must not be negative."})
    if Benefit.objects.filter(program=program, name__iexact=name).exists():
        raise ValidationError.for_fields({"name": f"'{program}' already has a benefit '{name}'."})
    benefit = Benefit.objects.create(
        program=program, name=name, unit=unit, benefit_type=benefit_type, is_active=is_active,
        default_quantity=Decimal(1) if default_quantity is None else default_quantity,
        description=description)
    audit_record(actor=actor, action="benefit.create", obj=benefit, after=snapshot(benefit))
    return benefit


@transaction.atomic
def cohort_create(*, actor: User | None, program: Program, name: str,
                  start_date: dt.date | None = None, end_date: dt.date | None = None,
                  max_members: int | None = None) -> ProgramCohort:
    name = name.strip()
    if not name:
        raise ValidationError.for_fields({"name": "A name is required."})
    _check_dates(start_date, end_date)
    if max_members is not None and max_members < 1:
        raise ValidationError.for_fields({"max_members": "Must be at least 1."})
    if ProgramCohort.objects.filter(program=program, name__iexact=name).exists():
        raise ValidationError.for_fields({"name": f"'{program}' already has a cohort '{name}'."})
    cohort = ProgramCohort.objects.create(program=program, name=name, start_date=start_date,
                                          end_date=end_date, max_members=max_members)
    audit_record(actor=actor, action="cohort.create", obj=cohort, after=snapshot(cohort))
    return cohort
