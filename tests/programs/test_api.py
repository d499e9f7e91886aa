"""Programs, benefits, cohorts and configuration through /api/v1."""

from __future__ import annotations

import pytest

from programdesk.core.models import FieldDefinition
from programdesk.programs.models import Benefit, EligibilityRule, Program
from tests import factories as f
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db


def test_programs_crud_for_managers(api_as, bob) -> None:
    client = api_as(bob)
    created = client.post("programs", {"name": "Meals", "status": "planned",
                                       "start_date": "2026-03-01", "summary": "Weekly"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body == {"id": body["id"], "name": "Meals", "status": "planned",
                    "start_date": "2026-03-01", "end_date": None, "summary": "Weekly"}
    patched = client.patch(f"programs/{body['id']}", {"status": "active", "summary": None})
    assert patched.json()["status"] == "active" and patched.json()["summary"] == ""
    assert client.get(f"programs/{body['id']}").json()["name"] == "Meals"
    assert client.get("programs", status="active").json()["count"] == 1
    assert_problem(client.post("programs", {"name": "meals"}), 422, "name")
    assert_problem(client.post("programs", {"name": "X", "status": "paused"}), 422, "status")
    assert_problem(client.post("programs", {"name": "X", "start_date": "2026-03-01",
                                            "end_date": "2026-01-01"}), 422, "end_date")
    assert_problem(client.patch(f"programs/{body['id']}", {"name": None}), 422, "name")


def test_program_writes_need_a_manager(api_as, charlie, dana) -> None:
    assert_problem(api_as(charlie).post("programs", {"name": "X"}), 403)
    program = f.ProgramFactory()
    assert_problem(api_as(charlie).patch(f"programs/{program.pk}", {"name": "Y"}), 403)
    assert api_as(dana).get(f"programs/{program.pk}").status_code == 200


def test_program_limited_users_see_only_their_programs(api_as) -> None:
    mine, other = f.ProgramFactory(), f.ProgramFactory()
    user = f.UserFactory(role="manager")
    user.programs.set([mine])
    client = api_as(user)
    assert [p["id"] for p in client.get("programs").json()["items"]] == [mine.pk]
    assert_problem(client.get(f"programs/{other.pk}"), 404)
    assert_problem(client.post("benefits", {"program_id": other.pk, "name": "X",
                                            "unit": "hour"}), 422, "program_id")
    hidden_benefit = f.BenefitFactory(program=other)
    assert_problem(client.get(f"benefits/{hidden_benefit.pk}"), 404)


def test_benefits(api) -> None:
    program = f.ProgramFactory()
    created = api.post("benefits", {"program_id": program.pk, "name": "Coaching",
                                    "unit": "hour", "default_quantity": 1.5})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["unit"], body["default_quantity"], body["is_active"]) == ("hour", 1.5, True)
    typed = api.post("benefits", {"program_id": program.pk, "name": "Meal",
                                  "benefit_type_id": _type_id("Meal")})
    assert typed.json()["unit"] == "meal"
    patched = api.patch(f"benefits/{body['id']}", {"is_active": False, "unit": "session"})
    assert patched.json()["is_active"] is False and patched.json()["unit"] == "session"
    assert api.get("benefits", program_id=program.pk, is_active=True).json()["count"] == 1
    assert_problem(api.post("benefits", {"program_id": program.pk, "name": "X",
                                         "unit": "parsec"}), 422, "unit")
    assert_problem(api.post("benefits", {"program_id": program.pk, "name": "X"}), 422, "unit")
    assert_problem(api.post("benefits", {"program_id": program.pk, "name": "X", "unit": "hour",
                                         "default_quantity": 1.234}), 422, "default_quantity")
    assert_problem(api.patch(f"benefits/{body['id']}",
                             {"program_id": f.ProgramFactory().pk}), 422, "program_id")
    assert Benefit.objects.count() == 2


def _type_id(name: str) -> int:
    from programdesk.programs.models import BenefitType

    return BenefitType.objects.get(name=name).pk


def test_cohorts(api_as, charlie) -> None:
    program = f.ProgramFactory()
    client = api_as(charlie)
    created = client.post("cohorts", {"program_id": program.pk, "name": "Spring",
                                      "start_date": "2026-03-01", "max_members": 20})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["member_count"] == 0 and body["max_members"] == 20
    assert client.get("cohorts", program_id=program.pk).json()["count"] == 1
    assert client.get(f"cohorts/{body['id']}").json()["name"] == "Spring"
    assert client.patch(f"cohorts/{body['id']}", {"max_members": None}).json()[
        "max_members"] is None
    assert_problem(client.post("cohorts", {"program_id": program.pk, "name": "spring"}), 422,
                   "name")
    assert_problem(client.post("cohorts", {"program_id": program.pk, "name": "X",
                                           "max_members": 0}), 422, "max_members")


def test_custom_fields_api(api, api_as, charlie) -> None:
    program = f.ProgramFactory()
    created = api.post("custom-fields", {"target": "disbursement", "key": "size",
                                         "label": "Size", "field_type": "choice",
                                         "choices": ["S", "M"], "program_id": program.pk})
    assert created.status_code == 201, created.content
    field_id = created.json()["id"]
    assert api.get("custom-fields", target="disbursement").json()["count"] == 1
    assert api.get("custom-fields", program_id=f.ProgramFactory().pk).json()["count"] == 0
    assert api.get("custom-fields", program_id=program.pk).json()["count"] == 1
    patched = api.patch(f"custom-fields/{field_id}", {"choices": ["S", "M", "L"],
                                                      "is_active": False})
    assert patched.json()["choices"] == ["S", "M", "L"] and not patched.json()["is_active"]
    assert api.get("custom-fields").json()["count"] == 0
    assert_problem(api.post("custom-fields", {"target": "person", "key": "x",
                                              "label": "X", "field_type": "choice"}),
                   422, "choices")
    assert_problem(api_as(charlie).post("custom-fields", {"target": "person", "key": "x",
                                                          "label": "X", "field_type": "text"}),
                   403)
    assert api_as(charlie).get("custom-fields").status_code == 200
    assert FieldDefinition.objects.count() == 1


def test_eligibility_rules_api(api, api_as, bob) -> None:
    program = f.ProgramFactory()
    created = api.post("eligibility-rules", {"program_id": program.pk, "criterion": "age",
                                             "params": {"min": 14, "max": 24},
                                             "mode": "block"})
    assert created.status_code == 201, created.content
    rule_id = created.json()["id"]
    assert api.get("eligibility-rules", program_id=program.pk).json()["count"] == 1
    assert api.patch(f"eligibility-rules/{rule_id}", {"mode": "warn"}).json()["mode"] == "warn"
    assert_problem(api.patch(f"eligibility-rules/{rule_id}", {"params": {"min": -1}}), 422,
                   "params.min")
    assert_problem(api.post("eligibility-rules", {"criterion": "age", "params": {"min": 1}}),
                   422, "program_id")
    assert_problem(api_as(bob).post("eligibility-rules", {
        "program_id": program.pk, "criterion": "age", "params": {"min": 1}}), 403)
    assert api.delete(f"eligibility-rules/{rule_id}").status_code == 204
    assert not EligibilityRule.objects.exists()


def test_income_guidelines_api(api, api_as, dana) -> None:
    response = api.put("income-guidelines", {"rows": [
        {"household_size": 1, "annual_income": 15650},
        {"household_size": 2, "annual_income": 21150.5}]})
    assert response.status_code == 200, response.content
    assert api_as(dana).get("income-guidelines").json()["items"][1] == {
        "household_size": 2, "annual_income": 21150.5}
    assert_problem(api.put("income-guidelines", {"rows": [
        {"household_size": 1, "annual_income": 1}, {"household_size": 1, "annual_income": 2}]}),
        422, "rows.1.household_size")
    assert_problem(api_as(dana).put("income-guidelines", {"rows": []}), 403)


def test_openapi_lists_the_new_endpoints(client) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ["/api/v1/people", "/api/v1/people/{person_id}/merge", "/api/v1/accounts",
                 "/api/v1/cases/{case_id}", "/api/v1/programs/{program_id}", "/api/v1/benefits",
                 "/api/v1/cohorts", "/api/v1/custom-fields", "/api/v1/eligibility-rules",
                 "/api/v1/income-guidelines", "/api/v1/people/{person_id}/eligibility"]:
        assert path in paths, path
    assert Program.objects.count() == 0
