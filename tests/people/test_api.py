"""People, accounts and cases through /api/v1 (docs/api.md, People and accounts)."""

from __future__ import annotations

import datetime as dt

import pytest

from programdesk.core.models import AuditEvent
from programdesk.people.models import Account, Case, Person, PersonDocument
from tests import factories as f
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db


def test_create_person_with_only_names(api) -> None:
    response = api.post("people", {"first_name": "Ana", "last_name": "Diaz"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["first_name"] == "Ana" and body["possible_duplicates"] == []
    assert body["account_id"] is None  # a person with no account is fine
    assert Person.objects.get(pk=body["id"]).last_name == "Diaz"


def test_create_reports_possible_duplicates_and_still_creates(api) -> None:
    existing = f.PersonFactory(first_name="John", last_name="Smith",
                               birth_date=dt.date(1990, 4, 2))
    response = api.post("people", {"first_name": "Jon", "last_name": "Smith",
                                    "birth_date": "1990-04-02"})
    assert response.status_code == 201
    body = response.json()
    assert body["possible_duplicates"][0]["id"] == existing.pk
    assert "birth date" in body["possible_duplicates"][0]["reason"]
    assert Person.objects.count() == 2


def test_missing_names_are_field_errors(api) -> None:
    assert_problem(api.post("people", {"first_name": "", "email": "x"}), 422,
                   "first_name", "last_name")
    assert Person.objects.count() == 0


def test_bad_email_and_future_birth_date_are_field_errors(api) -> None:
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    assert_problem(api.post("people", {"first_name": "A", "last_name": "B", "email": "nope",
                                       "birth_date": tomorrow}), 422, "email", "birth_date")


def test_unknown_account_is_a_field_error(api) -> None:
    assert_problem(api.post("people", {"first_name": "A", "last_name": "B",
                                       "account_id": 999999}), 422, "account_id")


def test_search_by_name_email_phone_postal_code_and_birth_date(api) -> None:
    ana = f.PersonFactory(first_name="Ana", last_name="Diaz", email="ana@example.org",
                          phone="(617) 555-0100", postal_code="02139",
                          birth_date=dt.date(2001, 5, 6))
    f.PersonFactory(first_name="Bo", last_name="Chen", postal_code="10001")
    for search in ["ana diaz", "ANA@example", "617-555-0100", "5550100", "0213", "2001-05-06",
                   "5/6/2001"]:
        items = api.get("people", search=search).json()["items"]
        assert [p["id"] for p in items] == [ana.pk], search


def test_get_and_patch_person(api) -> None:
    person = f.PersonFactory(first_name="Ana", last_name="Diaz")
    account = f.AccountFactory()
    response = api.patch(f"people/{person.pk}", {"phone": "617 555 0199",
                                                  "account_id": account.pk})
    assert response.status_code == 200, response.content
    assert response.json()["account_id"] == account.pk
    assert api.get(f"people/{person.pk}").json()["phone"] == "617 555 0199"
    assert api.patch(f"people/{person.pk}", {"account_id": None}).json()["account_id"] is None
    assert_problem(api.patch(f"people/{person.pk}", {"first_name": None}), 422, "first_name")


def test_unknown_person_is_404(api) -> None:
    assert_problem(api.get("people/-1"), 404)
    assert_problem(api.get("people/99999999999999999999999"), 404)
    assert_problem(api.patch("people/424242", {"first_name": "X"}), 404)


def test_viewers_read_people_without_eligibility_details(api_as, dana) -> None:
    person = f.PersonFactory(household_size=3, annual_income=20000)
    body = api_as(dana).get(f"people/{person.pk}").json()
    assert "household_size" not in body and "annual_income" not in body
    listed = api_as(dana).get("people").json()["items"][0]
    assert "annual_income" not in listed
    assert_problem(api_as(dana).get(f"people/{person.pk}/documents"), 403)
    assert_problem(api_as(dana).post("people", {"first_name": "A", "last_name": "B"}), 403)


def test_staff_see_eligibility_details(api_as, charlie) -> None:
    person = f.PersonFactory(household_size=3, annual_income=20000)
    body = api_as(charlie).get(f"people/{person.pk}").json()
    assert body["household_size"] == 3 and body["annual_income"] == 20000.0


def test_kiosk_cannot_read_people(api_as, kim) -> None:
    assert_problem(api_as(kim).get("people"), 403)


def test_program_limited_users_see_their_people_and_shared_intake(api_as) -> None:
    mine, other = f.ProgramFactory(), f.ProgramFactory()
    user = f.UserFactory(username="lim", role="staff")
    user.programs.set([mine])
    in_mine = f.EnrollmentFactory(program=mine).person
    in_other = f.EnrollmentFactory(program=other).person
    walk_in = f.PersonFactory()
    ids = {p["id"] for p in api_as(user).get("people").json()["items"]}
    assert ids == {in_mine.pk, walk_in.pk}
    assert_problem(api_as(user).get(f"people/{in_other.pk}"), 404)


def test_duplicates_endpoint(api) -> None:
    existing = f.PersonFactory(first_name="Maria", last_name="Lopez", email="m@example.org")
    body = api.get("people/duplicates", first_name="Someone", last_name="Else",
                   email="M@example.org").json()
    assert body["items"] == [{"id": existing.pk, "reason": "Same email address",
                              "first_name": "Maria", "last_name": "Lopez", "birth_date": None}]


def test_merge_endpoint(api) -> None:
    keep = f.PersonFactory(first_name="John", last_name="Smith")
    gone = f.PersonFactory(first_name="Jon", last_name="Smith", phone="6175550100")
    response = api.post(f"people/{keep.pk}/merge", {"duplicate_id": gone.pk})
    assert response.status_code == 200, response.content
    assert response.json()["phone"] == "6175550100"
    assert not Person.objects.filter(pk=gone.pk).exists()
    assert_problem(api.post(f"people/{keep.pk}/merge", {"duplicate_id": keep.pk}), 422,
                   "duplicate_id")
    assert_problem(api.post(f"people/{keep.pk}/merge", {"duplicate_id": gone.pk}), 422,
                   "duplicate_id")


def test_documents(api) -> None:
    person = f.PersonFactory()
    created = api.post(f"people/{person.pk}/documents",
                       {"document_type": "income", "verified_on": "2026-01-05", "note": "W-2"})
    assert created.status_code == 201, created.content
    assert api.get(f"people/{person.pk}/documents").json()["count"] == 1
    assert_problem(api.post(f"people/{person.pk}/documents",
                            {"document_type": "passport", "verified_on": "2026-01-05"}),
                   422, "document_type")
    doc_id = created.json()["id"]
    assert api.delete(f"people/{person.pk}/documents/{doc_id}").status_code == 204
    assert not PersonDocument.objects.exists()


def test_eligibility_endpoint(api) -> None:
    from programdesk.programs.services import eligibility_rule_create

    program = f.ProgramFactory()
    eligibility_rule_create(actor=None, program=program, criterion="age",
                            params={"min": 14, "max": 24}, mode="block")
    person = f.PersonFactory(birth_date=dt.date(2000, 3, 1))
    body = api.get(f"people/{person.pk}/eligibility", program_id=program.pk,
                   on="2026-03-02").json()
    assert body["blocked"] is True
    assert body["results"][0]["reason"] == "Age 26 is above the maximum of 24 on 2026-03-02."
    assert_problem(api.get(f"people/{person.pk}/eligibility"), 422, "program_id")


def test_accounts(api) -> None:
    created = api.post("accounts", {"name": "Diaz household", "kind": "household",
                                    "postal_code": "02139"})
    assert created.status_code == 201, created.content
    account_id = created.json()["id"]
    assert api.get(f"accounts/{account_id}").json()["name"] == "Diaz household"
    assert api.get("accounts", search="diaz").json()["count"] == 1
    assert api.patch(f"accounts/{account_id}", {"kind": "organization"}).json()["kind"] == \
        "organization"
    assert_problem(api.post("accounts", {"name": "X", "kind": "tribe"}), 422, "kind")
    assert_problem(api.get("accounts/0"), 404)
    assert Account.objects.count() == 1


def test_cases(api, alice) -> None:
    person = f.PersonFactory()
    program = f.ProgramFactory()
    created = api.post("cases", {"person_id": person.pk, "subject": "Housing",
                                 "program_ids": [program.pk]})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["worker_id"] == alice.pk and body["program_ids"] == [program.pk]
    assert body["status"] == "open" and body["closed_on"] is None
    closed = api.patch(f"cases/{body['id']}", {"status": "closed"}).json()
    assert closed["closed_on"] == dt.date.today().isoformat()
    assert api.get("cases", person_id=person.pk).json()["count"] == 1
    assert api.get(f"cases/{body['id']}").json()["subject"] == "Housing"


def test_case_needs_exactly_one_client(api) -> None:
    person, account = f.PersonFactory(), f.AccountFactory()
    assert_problem(api.post("cases", {"subject": "X"}), 422, "person_id")
    assert_problem(api.post("cases", {"subject": "X", "person_id": person.pk,
                                      "account_id": account.pk}), 422, "person_id")
    assert_problem(api.post("cases", {"subject": "X", "person_id": person.pk,
                                      "program_ids": [987654]}), 422, "program_ids")
    assert Case.objects.count() == 0


def test_writes_are_audited(api) -> None:
    api.post("people", {"first_name": "Ana", "last_name": "Diaz"})
    assert AuditEvent.objects.filter(action="person.create").count() == 1


def test_custom_fields_through_the_api(api) -> None:
    from programdesk.core.custom_fields import field_definition_create

    field_definition_create(actor=None, target="person", key="language", label="Language",
                            field_type="choice", choices=["English", "Spanish"], required=True)
    field_definition_create(actor=None, target="person", key="shoe_size", label="Shoe size",
                            field_type="number")
    body = assert_problem(api.post("people", {"first_name": "A", "last_name": "B"}), 422,
                          "extra.language")
    assert body["errors"] == [{"field": "extra.language", "message": "This field is required."}]
    assert_problem(api.post("people", {"first_name": "A", "last_name": "B", "extra": {
        "language": "Klingon", "shoe_size": "big", "pets": 2}}), 422,
        "extra.language", "extra.shoe_size", "extra.pets")
    assert not Person.objects.exists()
    created = api.post("people", {"first_name": "A", "last_name": "B",
                                  "extra": {"language": "Spanish", "shoe_size": 9.5}})
    assert created.json()["extra"] == {"language": "Spanish", "shoe_size": 9.5}
    person_id = created.json()["id"]
    patched = api.patch(f"people/{person_id}", {"extra": {"shoe_size": None}})
    assert patched.json()["extra"] == {"language": "Spanish"}
    assert_problem(api.patch(f"people/{person_id}", {"extra": {"language": "French"}}), 422,
                   "extra.language")
    assert api.get(f"people/{person_id}").json()["extra"] == {"language": "Spanish"}


def test_idempotent_person_create(api) -> None:
    body = {"first_name": "Ana", "last_name": "Diaz"}
    first = api.post("people", body, headers={"Idempotency-Key": "p1"})
    again = api.post("people", body, headers={"Idempotency-Key": "p1"})
    assert first.json() == again.json() and Person.objects.count() == 1


def test_a_path_id_that_is_not_a_number_is_404(api) -> None:
    for path in ["people/abc", "people/1.5", "accounts/x", "cases/-3", "people/abc/merge"]:
        assert_problem(api.get(path), 404)
