"""People, account, case and document services: validation, custom fields, audit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from programdesk.core.custom_fields import field_definition_create
from programdesk.core.errors import ValidationError
from programdesk.core.models import AuditEvent
from programdesk.people import services
from programdesk.people.models import Account, Case, Person, PersonDocument
from tests import factories as f

pytestmark = pytest.mark.django_db


def field_errors(call, **kwargs) -> set[str]:
    with pytest.raises(ValidationError) as info:
        call(actor=None, **kwargs)
    return {e["field"] for e in info.value.errors}


def test_person_create_normalizes_and_audits(alice) -> None:
    person = services.person_create(actor=alice, first_name="  Ana  María ", last_name="Díaz",
                                    email=" Ana@Example.org ", postal_code=" sw1a 1aa ",
                                    phone="(617) 555-0100")
    assert (person.first_name, person.email, person.postal_code) == (
        "Ana María", "ana@example.org", "SW1A 1AA")
    assert person.phone_key == "6175550100" and person.last_name_key == "d200"
    event = AuditEvent.objects.get(action="person.create")
    assert event.actor == alice and event.after["last_name"] == "Díaz"


def test_person_create_reports_every_bad_field_and_saves_nothing() -> None:
    fields = field_errors(services.person_create, first_name=" ", last_name="x" * 101,
                          email="not-an-email", birth_date=dt.date.today() + dt.timedelta(2),
                          household_size=0, annual_income=Decimal("-1"))
    assert fields == {"first_name", "last_name", "email", "birth_date", "household_size",
                      "annual_income"}
    assert not Person.objects.exists()


def test_custom_fields_on_people() -> None:
    field_definition_create(actor=None, target="person", key="language", label="Language",
                            field_type="choice", choices=["English", "Spanish"], required=True)
    field_definition_create(actor=None, target="person", key="shoe_size", label="Shoe size",
                            field_type="number")
    assert field_errors(services.person_create, first_name="A", last_name="B") == {
        "extra.language"}
    assert field_errors(services.person_create, first_name="A", last_name="B",
                        extra={"language": "Klingon", "shoe_size": "big", "pets": 2}) == {
        "extra.language", "extra.shoe_size", "extra.pets"}
    assert not Person.objects.exists()
    person = services.person_create(actor=None, first_name="A", last_name="B",
                                    extra={"language": "Spanish", "shoe_size": "9.5"})
    assert person.extra == {"language": "Spanish", "shoe_size": 9.5}
    # partial update: only the keys given change; null removes
    person = services.person_update(actor=None, person=person, extra={"shoe_size": None})
    assert person.extra == {"language": "Spanish"}
    with pytest.raises(ValidationError):
        services.person_update(actor=None, person=person, extra={"language": ""})


def test_person_update_changes_and_audits_only_what_changed() -> None:
    person = f.PersonFactory(first_name="Ana", phone="")
    services.person_update(actor=None, person=person, phone="617 555 0100", first_name="Ana")
    person.refresh_from_db()
    assert person.phone_key == "6175550100"
    event = AuditEvent.objects.get(action="person.update")
    assert event.after == {"phone": "617 555 0100"}


def test_card_codes_are_unique() -> None:
    f.PersonFactory(card_code="C1")
    assert field_errors(services.person_create, first_name="A", last_name="B",
                        card_code="C1") == {"card_code"}


def test_people_create_many_validates_every_row_first() -> None:
    account = f.AccountFactory()
    with pytest.raises(ValidationError) as info:
        services.people_create_many(actor=None, rows=[
            {"first_name": "Ok", "last_name": "Row"},
            {"first_name": "", "last_name": "Bad", "email": "nope"},
            {"first_name": "X", "last_name": "Y", "account_id": 987654},
        ])
    assert {e["field"] for e in info.value.errors} == {"rows.1.first_name", "rows.1.email",
                                                        "rows"}
    assert not Person.objects.exists()
    created = services.people_create_many(actor=None, rows=[
        {"first_name": "Jon", "last_name": "Smith", "phone": "617-555-0100",
         "account_id": account.pk},
        {"first_name": "Ana", "last_name": "Diaz", "birth_date": dt.date(2001, 1, 1)}])
    assert created == list(Person.objects.order_by("id").values_list("id", flat=True))
    assert Person.objects.get(first_name="Jon").phone_key == "6175550100"
    assert AuditEvent.objects.get(action="person.create_many").object_ids == created


def test_account_create_and_update() -> None:
    account = services.account_create(actor=None, name=" Diaz household ", email="D@X.ORG")
    assert (account.name, account.email, account.kind) == ("Diaz household", "d@x.org",
                                                           "household")
    assert field_errors(services.account_create, name="", kind="tribe", email="x") == {
        "name", "kind", "email"}
    services.account_update(actor=None, account=account, kind="organization")
    account.refresh_from_db()
    assert account.kind == "organization"
    assert Account.objects.count() == 1


def test_case_lifecycle(charlie) -> None:
    person = f.PersonFactory()
    program = f.ProgramFactory()
    case = services.case_create(actor=charlie, person=person, subject="Rent arrears",
                                programs=[program])
    assert case.worker == charlie and case.opened_on == dt.date.today()
    assert list(case.programs.all()) == [program]
    case = services.case_update(actor=charlie, case=case, status="closed")
    assert case.closed_on == dt.date.today()
    case = services.case_update(actor=charlie, case=case, status="open", programs=[])
    assert case.closed_on is None and not case.programs.exists()
    assert AuditEvent.objects.filter(action="case.update").count() == 2


def test_case_needs_one_client_and_a_subject() -> None:
    assert field_errors(services.case_create, subject="X") == {"person_id"}
    assert field_errors(services.case_create, subject="X", person=f.PersonFactory(),
                        account=f.AccountFactory()) == {"person_id"}
    assert field_errors(services.case_create, subject=" ", person=f.PersonFactory(),
                        status="pending") == {"subject", "status"}
    assert not Case.objects.exists()


def test_documents() -> None:
    person = f.PersonFactory()
    assert field_errors(services.person_document_add, person=person, document_type="visa",
                        verified_on=dt.date.today() + dt.timedelta(days=3)) == {
        "document_type", "verified_on"}
    document = services.person_document_add(actor=None, person=person, document_type="income",
                                            verified_on=dt.date(2026, 1, 5), note="Pay stub")
    services.person_document_delete(actor=None, document=document)
    assert not PersonDocument.objects.exists()
    assert AuditEvent.objects.filter(action__startswith="person_document.").count() == 2
