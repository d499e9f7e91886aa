"""Program, benefit and cohort pages; the settings pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from programdesk.core.custom_fields import field_definition_create
from programdesk.core.models import FieldDefinition, StatusValue, User
from programdesk.programs.models import (
    Benefit,
    BenefitType,
    EligibilityRule,
    IncomeGuideline,
    Program,
    ProgramCohort,
    UnitOfMeasure,
)
from programdesk.programs.services import eligibility_rule_create
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_alice(client: Client, alice: User) -> Client:
    client.force_login(alice)
    return client


@pytest.fixture
def as_bob(client: Client, bob: User) -> Client:
    client.force_login(bob)
    return client


def test_every_page_renders_for_an_admin(as_alice) -> None:
    benefit = f.BenefitFactory()
    cohort = f.CohortFactory(program=benefit.program)
    f.ScheduleFactory(benefit=benefit)
    rule = eligibility_rule_create(actor=None, program=benefit.program, criterion="age",
                                   params={"min": 3})
    definition = field_definition_create(actor=None, target="person", key="grade",
                                         label="Grade", field_type="text",
                                         program_id=benefit.program_id)
    program = benefit.program
    urls = ["/programs/", "/programs/?status=active", "/programs/new/",
            f"/programs/{program.pk}/", f"/programs/{program.pk}/edit/",
            f"/programs/{program.pk}/benefits/new/", f"/programs/{program.pk}/cohorts/new/",
            f"/benefits/{benefit.pk}/", f"/benefits/{benefit.pk}/edit/",
            f"/cohorts/{cohort.pk}/edit/", "/settings/", "/settings/status-values/",
            "/settings/custom-fields/", "/settings/custom-fields/new/?scope=p:1",
            f"/settings/custom-fields/{definition.pk}/edit/", "/settings/eligibility-rules/",
            "/settings/eligibility-rules/new/", f"/settings/eligibility-rules/{rule.pk}/edit/",
            "/settings/income-guidelines/", "/settings/units/", "/settings/benefit-types/"]
    for url in urls:
        assert as_alice.get(url).status_code == 200, url


def test_program_page_links_to_other_areas(as_bob) -> None:
    benefit = f.BenefitFactory(name="Hot meal")
    schedule = f.ScheduleFactory(benefit=benefit, name="Tuesdays")
    program = benefit.program
    body = as_bob.get(f"/programs/{program.pk}/").content.decode()
    for link in [f"/programs/{program.pk}/enrollments/", f"/programs/{program.pk}/bulk/",
                 f"/programs/{program.pk}/calendar.ics", f"/benefits/{benefit.pk}/"]:
        assert link in body, link
    body = as_bob.get(f"/benefits/{benefit.pk}/").content.decode()
    for link in [f"/schedules/{schedule.pk}/", f"/benefits/{benefit.pk}/schedules/new/",
                 f"/benefits/{benefit.pk}/bulk/"]:
        assert link in body, link


def test_staff_see_programs_but_not_manager_actions(client, charlie) -> None:
    benefit = f.BenefitFactory()
    client.force_login(charlie)
    body = client.get(f"/benefits/{benefit.pk}/").content.decode()
    assert "/schedules/new/" not in body and "/edit/" not in body
    # Case workers disburse: the bulk button is theirs too (core/roles.py).
    assert f"/benefits/{benefit.pk}/bulk/" in body
    assert client.get("/programs/new/").status_code == 403
    assert client.get(f"/benefits/{benefit.pk}/edit/").status_code == 403
    assert client.get(f"/programs/{benefit.program_id}/cohorts/new/").status_code == 200
    assert client.get("/settings/").status_code == 403


def test_programs_outside_the_users_programs_are_404(client) -> None:
    mine, other = f.ProgramFactory(), f.ProgramFactory()
    user = f.UserFactory(role="manager")
    user.programs.set([mine])
    client.force_login(user)
    assert client.get(f"/programs/{other.pk}/").status_code == 404
    assert client.get(f"/benefits/{f.BenefitFactory(program=other).pk}/").status_code == 404
    assert other.name not in client.get("/programs/").content.decode()


def test_create_and_edit_a_program_benefit_and_cohort(as_bob) -> None:
    response = as_bob.post("/programs/new/", {"name": "Meals", "status": "active",
                                              "summary": "Weekly"})
    program = Program.objects.get()
    assert response["Location"] == f"/programs/{program.pk}/"
    response = as_bob.post("/programs/new/", {"name": "meals", "status": "active",
                                              "start_date": "2026-03-01",
                                              "end_date": "2026-01-01"})
    assert set(response.context["form"].errors) == {"name", "end_date"}
    as_bob.post(f"/programs/{program.pk}/edit/", {"name": "Meals", "status": "completed"})
    program.refresh_from_db()
    assert program.status == "completed"

    meal_type = BenefitType.objects.get(name="Meal")
    response = as_bob.post(f"/programs/{program.pk}/benefits/new/", {
        "name": "Hot meal", "benefit_type": meal_type.pk, "is_active": "on"})
    benefit = Benefit.objects.get()
    assert response["Location"] == f"/benefits/{benefit.pk}/"
    assert benefit.unit.code == "meal" and benefit.default_quantity == Decimal(1)
    as_bob.post(f"/benefits/{benefit.pk}/edit/", {"name": "Hot meal", "benefit_type": "",
                                                  "unit": "", "default_quantity": "2"})
    benefit.refresh_from_db()
    assert (benefit.is_active, benefit.default_quantity, benefit.unit.code) == (
        False, Decimal(2), "meal")

    as_bob.post(f"/programs/{program.pk}/cohorts/new/", {"name": "Spring",
                                                         "max_members": "20"})
    cohort = ProgramCohort.objects.get()
    response = as_bob.post(f"/cohorts/{cohort.pk}/edit/", {"name": "Spring",
                                                           "start_date": "2026-03-01",
                                                           "end_date": "2026-02-01"})
    assert "end_date" in response.context["form"].errors


# --- Settings ----------------------------------------------------------------------------------

def test_status_values_rename_order_retire_default_and_delete(as_alice) -> None:
    absent = f.status("disbursement", "absent")
    as_alice.post(f"/settings/status-values/{absent.pk}/", {
        "action": "save", "label": "No show", "order": "9", "is_active": "1"})
    absent.refresh_from_db()
    assert (absent.label, absent.order, absent.bucket) == ("No show", 9, "absent")
    as_alice.post(f"/settings/status-values/{absent.pk}/", {"action": "default"})
    absent.refresh_from_db()
    assert absent.is_default
    assert StatusValue.objects.filter(kind="disbursement", is_default=True).count() == 1

    # a value in use can be retired but not deleted
    excused = f.status("disbursement", "excused")
    f.DisbursementFactory(status=excused)
    response = as_alice.post(f"/settings/status-values/{excused.pk}/", {"action": "delete"},
                             follow=True)
    assert "retire it instead" in response.content.decode()
    as_alice.post(f"/settings/status-values/{excused.pk}/", {
        "action": "save", "label": "Excused", "order": "4"})
    excused.refresh_from_db()
    assert not excused.is_active and StatusValue.objects.filter(pk=excused.pk).exists()

    response = as_alice.post("/settings/status-values/", {
        "kind": "disbursement", "code": "late", "label": "Late", "bucket": "delivered"})
    assert StatusValue.objects.get(code="late").bucket == "delivered"
    late = StatusValue.objects.get(code="late")
    as_alice.post(f"/settings/status-values/{late.pk}/", {"action": "delete"})
    assert not StatusValue.objects.filter(code="late").exists()
    response = as_alice.post("/settings/status-values/", {
        "kind": "disbursement", "code": "x", "label": "X", "bucket": "active"})
    assert "bucket" in response.context["form"].errors


def test_custom_field_pages(as_alice) -> None:
    program = f.ProgramFactory()
    response = as_alice.post("/settings/custom-fields/new/", {
        "target": "disbursement", "key": "size", "label": "Size", "field_type": "choice",
        "scope": f"p:{program.pk}", "choices": "S\nM\n\nL", "required": "on"})
    assert response.status_code == 302
    definition = FieldDefinition.objects.get()
    assert (definition.program, definition.choices, definition.required) == (
        program, ["S", "M", "L"], True)
    response = as_alice.post("/settings/custom-fields/new/", {
        "target": "person", "key": "note", "label": "Note", "field_type": "number",
        "max_length": "5"})
    assert "max_length" in response.context["form"].errors
    as_alice.post(f"/settings/custom-fields/{definition.pk}/edit/", {
        "label": "T-shirt size", "choices": "S\nM", "is_active": "", "key": "hacked",
        "field_type": "text"})
    definition.refresh_from_db()
    assert (definition.label, definition.key, definition.field_type, definition.is_active) == (
        "T-shirt size", "size", "choice", False)


def test_eligibility_rule_pages(as_alice) -> None:
    benefit = f.BenefitFactory()
    response = as_alice.post("/settings/eligibility-rules/new/", {
        "scope": f"b:{benefit.pk}", "criterion": "postal_code", "mode": "block",
        "codes": "02139, 02140", "prefixes": ""})
    assert response.status_code == 302
    rule = EligibilityRule.objects.get()
    assert rule.benefit == benefit and rule.params == {"codes": ["02139", "02140"],
                                                       "prefixes": []}
    response = as_alice.post("/settings/eligibility-rules/new/", {
        "scope": f"p:{benefit.program_id}", "criterion": "age", "mode": "warn",
        "age_min": "30", "age_max": "20"})
    assert "age_max" in response.context["form"].errors
    response = as_alice.post("/settings/eligibility-rules/new/", {
        "scope": "", "criterion": "document", "mode": "warn"})
    assert "scope" in response.context["form"].errors
    as_alice.post(f"/settings/eligibility-rules/{rule.pk}/edit/", {
        "mode": "warn", "codes": "02139", "is_active": "on"})
    rule.refresh_from_db()
    assert rule.mode == "warn" and rule.params["codes"] == ["02139"]
    as_alice.post(f"/settings/eligibility-rules/{rule.pk}/delete/")
    assert not EligibilityRule.objects.exists()


def test_income_guideline_page(as_alice) -> None:
    as_alice.post("/settings/income-guidelines/", {
        "rows": "4", "size_0": "1", "income_0": "15,650", "size_1": "2", "income_1": "$21150",
        "size_2": "", "income_2": "", "size_3": "", "income_3": ""})
    assert list(IncomeGuideline.objects.values_list("household_size", "annual_income")) == [
        (1, Decimal("15650.00")), (2, Decimal("21150.00"))]
    response = as_alice.post("/settings/income-guidelines/", {
        "rows": "2", "size_0": "one", "income_0": "5", "size_1": "2", "income_1": "lots"},
        follow=True)
    assert "Nothing was saved" in response.content.decode()
    assert IncomeGuideline.objects.count() == 2


def test_units_and_benefit_types_pages(as_alice) -> None:
    as_alice.post("/settings/units/", {"code": "box", "name": "Box"})
    assert UnitOfMeasure.objects.filter(code="box").exists()
    response = as_alice.post("/settings/units/", {"code": "box", "name": "Box"})
    assert "code" in response.context["form"].errors
    as_alice.post("/settings/benefit-types/", {"name": "Food box", "kind": "goods",
                                               "unit": "box"})
    assert BenefitType.objects.get(name="Food box").unit.code == "box"


def test_settings_are_for_admins_only(client, bob) -> None:
    client.force_login(bob)
    for url in ["/settings/", "/settings/status-values/", "/settings/custom-fields/new/",
                "/settings/eligibility-rules/", "/settings/income-guidelines/"]:
        assert client.get(url).status_code == 403, url
    assert dt.date.today()
