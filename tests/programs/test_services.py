"""Program, benefit, cohort and income guideline services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from programdesk.core.errors import ValidationError
from programdesk.core.models import AuditEvent
from programdesk.participation.models import CohortMember
from programdesk.programs import services
from programdesk.programs.models import IncomeGuideline, Program
from tests import factories as f

pytestmark = pytest.mark.django_db


def fields_of(call, **kwargs) -> set[str]:
    with pytest.raises(ValidationError) as info:
        call(actor=None, **kwargs)
    return {e["field"] for e in info.value.errors}


def test_program_create_and_update(alice) -> None:
    program = services.program_create(actor=alice, name="Meals", status="planned",
                                      summary="Weekly meal")
    assert fields_of(services.program_create, name="meals") == {"name"}
    assert fields_of(services.program_create, name="X", status="paused") == {"status"}
    assert fields_of(services.program_create, name="X", start_date=dt.date(2026, 2, 1),
                     end_date=dt.date(2026, 1, 1)) == {"end_date"}
    assert fields_of(services.program_create, name="x" * 201) == {"name"}
    program = services.program_update(actor=alice, program=program, status="active",
                                      end_date=dt.date(2026, 12, 31))
    assert program.status == "active"
    assert fields_of(services.program_update, program=program,
                     start_date=dt.date(2027, 1, 1)) == {"end_date"}
    event = AuditEvent.objects.get(action="program.update")
    assert event.before == {"status": "planned", "end_date": None}


def test_program_names_stay_unique_on_rename() -> None:
    f.ProgramFactory(name="Meals")
    other = f.ProgramFactory(name="Tutoring")
    assert fields_of(services.program_update, program=other, name="MEALS") == {"name"}
    assert services.program_update(actor=None, program=other, name="Tutoring").name == "Tutoring"


def test_benefit_create_and_update() -> None:
    program = f.ProgramFactory()
    hour = f.unit("hour")
    benefit = services.benefit_create(actor=None, program=program, name="Coaching", unit=hour)
    assert benefit.default_quantity == Decimal(1) and benefit.is_active
    assert fields_of(services.benefit_create, program=program, name="coaching", unit=hour) == {
        "name"}
    assert fields_of(services.benefit_create, program=program, name="X") == {"unit"}
    benefit = services.benefit_update(actor=None, benefit=benefit, is_active=False,
                                      default_quantity=Decimal("0.5"), unit=f.unit("session"))
    assert (benefit.is_active, benefit.default_quantity, benefit.unit.code) == (
        False, Decimal("0.5"), "session")
    assert fields_of(services.benefit_update, benefit=benefit,
                     program=f.ProgramFactory()) == {"program_id"}
    assert fields_of(services.benefit_update, benefit=benefit,
                     default_quantity=Decimal(-1)) == {"default_quantity"}


def test_cohort_create_and_update() -> None:
    program = f.ProgramFactory()
    cohort = services.cohort_create(actor=None, program=program, name="Spring",
                                    max_members=2)
    assert fields_of(services.cohort_create, program=program, name="spring") == {"name"}
    assert fields_of(services.cohort_create, program=program, name="X", max_members=0) == {
        "max_members"}
    for _ in range(2):
        CohortMember.objects.create(cohort=cohort, enrollment=f.EnrollmentFactory(
            program=program), added_on=dt.date.today())
    assert fields_of(services.cohort_update, cohort=cohort, max_members=1) == {"max_members"}
    cohort = services.cohort_update(actor=None, cohort=cohort, max_members=None, name="Fall")
    assert (cohort.name, cohort.max_members) == ("Fall", None)


def test_income_guidelines_replace_the_table() -> None:
    services.income_guidelines_replace(actor=None, rows=[(1, Decimal(15650)),
                                                         (2, Decimal(21150))])
    services.income_guidelines_replace(actor=None, rows=[(1, Decimal(16000))])
    assert list(IncomeGuideline.objects.values_list("household_size", "annual_income")) == [
        (1, Decimal("16000.00"))]
    with pytest.raises(ValidationError) as info:
        services.income_guidelines_replace(actor=None, rows=[(0, Decimal(1)), (2, "lots"),  # type: ignore[list-item]
                                                             (3, Decimal(1)), (3, Decimal(2))])
    assert {e["field"] for e in info.value.errors} == {
        "rows.0.household_size", "rows.1.annual_income", "rows.3.household_size"}
    assert IncomeGuideline.objects.count() == 1
    assert AuditEvent.objects.filter(action="income_guideline.replace").count() == 2


def test_unit_and_benefit_type_validation() -> None:
    assert fields_of(services.unit_create, code="Bad Code", name="") == {"code", "name"}
    assert fields_of(services.benefit_type_create, name="", kind="goods", unit_code="item") == {
        "name"}
    assert Program.objects.count() == 0
