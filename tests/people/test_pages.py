"""People, account and case pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils.timezone import localdate

from programdesk.core.custom_fields import field_definition_create
from programdesk.core.models import User
from programdesk.people.models import Account, Case, Person, PersonDocument
from programdesk.programs.services import eligibility_rule_create
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_charlie(client: Client, charlie: User) -> Client:
    client.force_login(charlie)
    return client


def test_every_page_renders_for_an_admin(client, alice) -> None:
    client.force_login(alice)
    disbursement = f.DisbursementFactory()
    person = disbursement.person
    account = f.AccountFactory()
    person.account = account
    person.save()
    case = f.CaseFactory(person=person)
    field_definition_create(actor=None, target="person", key="grade", label="Grade",
                            field_type="choice", choices=["1", "2"])
    urls = ["/people/", "/people/new/", f"/people/{person.pk}/", f"/people/{person.pk}/edit/",
            f"/people/{person.pk}/merge/", f"/people/{person.pk}/merge/?duplicate="
            f"{f.PersonFactory().pk}", "/accounts/", "/accounts/new/",
            f"/accounts/{account.pk}/", f"/accounts/{account.pk}/edit/",
            f"/accounts/{account.pk}/?member_q=a", "/cases/", "/cases/?status=all&mine=1&q=x",
            f"/cases/new/?person={person.pk}", f"/cases/new/?account={account.pk}",
            f"/cases/{case.pk}/", f"/cases/{case.pk}/edit/"]
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_people_list_searches(as_charlie) -> None:
    f.PersonFactory(first_name="Ana", last_name="Diaz", phone="617-555-0100")
    f.PersonFactory(first_name="Bo", last_name="Chen")
    body = as_charlie.get("/people/", {"q": "5550100"}).content.decode()
    assert "Diaz, Ana" in body and "Chen" not in body


def test_quick_add_with_only_names(as_charlie) -> None:
    response = as_charlie.post("/people/new/", {"first_name": "Ana", "last_name": "Diaz"})
    person = Person.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/people/{person.pk}/"


def test_quick_add_shows_possible_duplicates_before_saving(as_charlie) -> None:
    john = f.PersonFactory(first_name="John", last_name="Smith",
                           birth_date=dt.date(1990, 4, 2))
    data = {"first_name": "Jon", "last_name": "Smith", "birth_date": "1990-04-02"}
    response = as_charlie.post("/people/new/", data)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Possible duplicates" in body and "Same birth date and a similar name" in body
    assert f'href="/people/{john.pk}/"' in body and "Create anyway" in body
    assert Person.objects.count() == 1  # nothing saved yet
    response = as_charlie.post("/people/new/", {**data, "create_anyway": "1"})
    assert response.status_code == 302 and Person.objects.count() == 2


def test_quick_add_bad_input_is_shown_on_the_form_and_nothing_saved(as_charlie) -> None:
    field_definition_create(actor=None, target="person", key="language", label="Language",
                            field_type="choice", choices=["English", "Spanish"], required=True)
    field_definition_create(actor=None, target="person", key="shoe_size", label="Shoe size",
                            field_type="number")
    response = as_charlie.post("/people/new/", {"first_name": "", "last_name": "Diaz",
                                                "email": "nope", "extra.language": "Klingon",
                                                "extra.shoe_size": "big"})
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"first_name", "email", "extra.language", "extra.shoe_size"}
    assert not Person.objects.exists()


def test_custom_fields_are_saved_and_shown(as_charlie) -> None:
    field_definition_create(actor=None, target="person", key="language", label="Language",
                            field_type="choice", choices=["English", "Spanish"])
    as_charlie.post("/people/new/", {"first_name": "Ana", "last_name": "Diaz",
                                     "extra.language": "Spanish"})
    person = Person.objects.get()
    assert person.extra == {"language": "Spanish"}
    body = as_charlie.get(f"/people/{person.pk}/").content.decode()
    assert "<dt>Language</dt><dd>Spanish</dd>" in body
    # clearing the field on the edit page removes the value
    as_charlie.post(f"/people/{person.pk}/edit/", {"first_name": "Ana", "last_name": "Diaz",
                                                   "extra.language": ""})
    person.refresh_from_db()
    assert person.extra == {}


def test_person_page_lists_records_and_links_by_role(client, charlie, bob, dana) -> None:
    disbursement = f.DisbursementFactory(assignment__benefit__name="Bus pass")
    person = disbursement.person
    f.CaseFactory(person=person, subject="Rent arrears")
    client.force_login(charlie)
    body = client.get(f"/people/{person.pk}/").content.decode()
    assert "Bus pass" in body and "Rent arrears" in body and disbursement.program.name in body
    # Case workers log benefits (core/roles.py); viewers do not.
    assert f"/people/{person.pk}/log-benefits/" in body and "Proof documents" in body
    client.force_login(bob)
    body = client.get(f"/people/{person.pk}/").content.decode()
    assert f"/people/{person.pk}/log-benefits/" in body
    client.force_login(dana)
    body = client.get(f"/people/{person.pk}/").content.decode()
    assert "log-benefits" not in body
    assert "Proof documents" not in body and "Eligibility details" not in body
    assert "/edit/" not in body


def test_viewers_cannot_add_people_and_kiosks_cannot_see_them(client, dana, kim) -> None:
    client.force_login(dana)
    assert client.get("/people/new/").status_code == 403
    assert client.post("/people/new/", {"first_name": "A", "last_name": "B"}).status_code == 403
    client.force_login(kim)
    assert client.get("/people/").status_code == 302


def test_people_outside_the_users_programs_are_404(client) -> None:
    mine, other = f.ProgramFactory(), f.ProgramFactory()
    user = f.UserFactory(role="staff")
    user.programs.set([mine])
    hidden = f.EnrollmentFactory(program=other).person
    client.force_login(user)
    assert client.get(f"/people/{hidden.pk}/").status_code == 404
    assert client.get("/people/99999999999999999999/").status_code == 404


def test_eligibility_check_on_the_person_page(as_charlie) -> None:
    program = f.ProgramFactory(name="Youth Transit")
    eligibility_rule_create(actor=None, program=program, criterion="age",
                            params={"min": 14, "max": 24}, mode="block")
    person = f.PersonFactory(birth_date=dt.date(2000, 3, 1))
    body = as_charlie.get(f"/people/{person.pk}/",
                          {"check": f"p:{program.pk}", "on": "2026-03-02"}).content.decode()
    assert "Age 26 is above the maximum of 24 on 2026-03-02." in body
    assert "Not eligible" in body


def test_documents_from_the_person_page(as_charlie) -> None:
    person = f.PersonFactory()
    as_charlie.post(f"/people/{person.pk}/documents/",
                    {"document_type": "income", "verified_on": "2026-01-05", "note": "W-2"})
    document = PersonDocument.objects.get()
    assert document.note == "W-2"
    response = as_charlie.post(f"/people/{person.pk}/documents/",
                               {"document_type": "visa", "verified_on": "x"}, follow=True)
    assert PersonDocument.objects.count() == 1 and "Document" in response.content.decode()
    as_charlie.post(f"/people/{person.pk}/documents/{document.pk}/delete/")
    assert not PersonDocument.objects.exists()


def test_merge_from_the_page(as_charlie) -> None:
    keep = f.PersonFactory(first_name="John", last_name="Smith")
    gone = f.PersonFactory(first_name="Jon", last_name="Smith")
    f.DisbursementFactory(assignment__enrollment__person=gone)
    body = as_charlie.get(f"/people/{keep.pk}/merge/").content.decode()
    assert f"?duplicate={gone.pk}" in body and "Similar name" in body
    body = as_charlie.get(f"/people/{keep.pk}/merge/", {"duplicate": gone.pk}).content.decode()
    assert "Merge Jon Smith into John Smith" in body
    response = as_charlie.post(f"/people/{keep.pk}/merge/", {"duplicate": gone.pk})
    assert response.status_code == 302
    assert not Person.objects.filter(pk=gone.pk).exists()
    assert keep.disbursements.count() == 1


def test_merging_two_people_enrolled_in_one_program_keeps_one_enrollment(as_charlie) -> None:
    from programdesk.participation.models import ProgramEnrollment

    program = f.ProgramFactory()
    keep = f.EnrollmentFactory(program=program).person
    gone = f.EnrollmentFactory(program=program).person
    response = as_charlie.post(f"/people/{keep.pk}/merge/", {"duplicate": gone.pk}, follow=True)
    assert "was merged into" in response.content.decode()
    assert not Person.objects.filter(pk=gone.pk).exists()
    assert list(ProgramEnrollment.objects.values_list("person_id", flat=True)) == [keep.pk]


def test_accounts_and_members(as_charlie) -> None:
    response = as_charlie.post("/accounts/new/", {"name": "Diaz household", "kind": "household",
                                                  "postal_code": "02139"})
    account = Account.objects.get()
    assert response["Location"] == f"/accounts/{account.pk}/"
    ana = f.PersonFactory(first_name="Ana", last_name="Diaz")
    body = as_charlie.get(f"/accounts/{account.pk}/", {"member_q": "ana"}).content.decode()
    assert "Add Ana" in body
    as_charlie.post(f"/accounts/{account.pk}/members/", {"person": ana.pk})
    ana.refresh_from_db()
    assert ana.account == account
    assert "Ana Diaz" in as_charlie.get(f"/accounts/{account.pk}/").content.decode()
    # Taking someone out asks for their last day first.
    response = as_charlie.post(f"/accounts/{account.pk}/members/",
                               {"person": ana.pk, "remove": "1"})
    assert response["Location"] == f"/accounts/{account.pk}/members/end/?person={ana.pk}"
    ana.refresh_from_db()
    assert ana.account == account
    as_charlie.post(f"/accounts/{account.pk}/members/end/",
                    {"person": ana.pk, "end_date": localdate().isoformat()})
    ana.refresh_from_db()
    assert ana.account is None
    response = as_charlie.post("/accounts/new/", {"name": "", "kind": "tribe"})
    assert set(response.context["form"].errors) == {"name", "kind"}


def test_account_page_shows_the_households_history(as_charlie) -> None:
    account = f.AccountFactory()
    member = f.PersonFactory(account=account, first_name="Mia")
    f.DisbursementFactory(assignment__enrollment__person=member,
                          assignment__benefit__name="Food box")
    body = as_charlie.get(f"/accounts/{account.pk}/").content.decode()
    assert "Food box" in body and "Mia" in body


def test_cases_from_the_pages(as_charlie, charlie) -> None:
    person = f.PersonFactory()
    program = f.ProgramFactory()
    response = as_charlie.post(f"/cases/new/?person={person.pk}", {
        "subject": "Rent arrears", "status": "open", "worker": charlie.pk,
        "programs": [program.pk], "notes": "First visit"})
    case = Case.objects.get()
    assert response["Location"] == f"/cases/{case.pk}/"
    assert case.person == person and list(case.programs.all()) == [program]
    as_charlie.post(f"/cases/{case.pk}/edit/", {"subject": "Rent", "status": "closed",
                                                "worker": ""})
    case.refresh_from_db()
    assert case.status == "closed" and case.closed_on and case.worker is None
    assert as_charlie.get("/cases/new/").status_code == 302
    assert "Rent" in as_charlie.get("/cases/", {"status": "closed"}).content.decode()
