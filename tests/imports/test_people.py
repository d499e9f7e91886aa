"""Importing people: a clean file, a file with errors, a re-import, matching by the duplicate
rules, accounts, custom fields, the audit and the number of queries."""

from __future__ import annotations

import datetime as dt

import pytest

from programdesk.core.models import AuditEvent
from programdesk.imports.results import ImportErrors
from programdesk.people.models import Account, HouseholdMembership, Person
from tests import factories as f
from tests.imports.util import check, commit, errors

pytestmark = pytest.mark.django_db

CLEAN = """First Name,Last Name,DOB,E-mail,Phone,Zip
Ana,Diaz,1990-04-02,ana@example.org,617-555-0100,02139
Ben,Okafor,3/15/1985,,,02140
Chen,Wei,,chen@example.org,,
"""


def test_a_clean_file_imports_every_person(bob) -> None:
    dry = check("people", CLEAN, bob)
    assert dry.errors == [] and not dry.committed
    assert dry.summary["people_new"] == 3
    assert not Person.objects.exists()  # a dry run writes nothing

    result = commit("people", CLEAN, bob)
    assert result.committed and result.summary["people_new"] == 3
    ana = Person.objects.get(first_name="Ana")
    assert (ana.last_name, ana.birth_date, ana.email, ana.phone, ana.postal_code) == (
        "Diaz", dt.date(1990, 4, 2), "ana@example.org", "617-555-0100", "02139")
    assert ana.phone_key == "6175550100" and ana.last_name_key == "d200"  # matching keys
    assert Person.objects.get(first_name="Ben").birth_date == dt.date(1985, 3, 15)
    event = AuditEvent.objects.get(action="import.people")
    assert event.actor == bob and sorted(event.object_ids) == sorted(
        Person.objects.values_list("id", flat=True))
    assert event.after["people_new"] == 3


def test_a_file_with_errors_writes_nothing_and_lists_every_error(bob) -> None:
    text = """First Name,Last Name,Birth date,Email,Household size
Ana,Diaz,1990-02-30,not-an-email,3
,Okafor,,,0
Chen,Wei,2090-01-01,chen@example.org,two
Dana,Lee,,,
"""
    result = check("people", text, bob)
    assert sorted(errors(result)) == [
        (2, "Birth date", "'1990-02-30' is not a date: use YYYY-MM-DD or M/D/YYYY."),
        (2, "Email", "Enter a valid email address."),
        (3, "First Name", "A first name is required."),
        (3, "Household size", "A whole number from 1 to 50."),
        (4, "Birth date", "The birth date is in the future."),
        (4, "Household size", "'two' is not a number."),
    ]
    assert [e.row for e in result.errors] == [2, 2, 3, 3, 4, 4]  # in row order
    with pytest.raises(ImportErrors) as raised:
        commit("people", text, bob)
    assert len(raised.value.result.errors) == 6
    assert {e["field"] for e in raised.value.errors} >= {"rows.2.Birth date",
                                                         "rows.3.First Name"}
    assert not Person.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="import.").exists()


def test_an_invalid_email_is_an_error_with_its_column(bob) -> None:
    result = check("people", "First,Last,Email\nAna,Diaz,ana@@example\n", bob)
    assert errors(result) == [(2, "Email", "Enter a valid email address.")]


def test_importing_the_same_file_again_adds_nobody(bob) -> None:
    commit("people", CLEAN, bob)
    again = commit("people", CLEAN, bob)
    assert again.summary["people_new"] == 0 and again.summary["people_matched"] == 3
    assert Person.objects.count() == 3


def test_people_are_matched_by_the_duplicate_rules(bob) -> None:
    john = f.PersonFactory(first_name="John", last_name="Smith",
                           birth_date=dt.date(1990, 4, 2))
    f.PersonFactory(first_name="Maria", last_name="Garcia", email="maria@example.org")
    text = """First name,Last name,Birth date,Email
Jon,Smith,1990-04-02,
Maria,Garcia,,MARIA@example.org
John,Smith,1991-04-02,
"""
    result = commit("people", text, bob)
    # a typo with the same birth date, the same email: matched; another birth date: new
    assert result.summary == {"people_new": 1, "people_matched": 2, "people_repeated": 0,
                              "accounts_new": 0}
    assert Person.objects.filter(last_name="Smith").count() == 2
    assert Person.objects.get(pk=john.pk).first_name == "John"  # never changed


def test_rows_repeating_a_person_make_one_person(bob) -> None:
    text = """First name,Last name,Birth date,Phone
Ana,Diaz,1990-04-02,
ANA,Díaz,1990-04-02,617-555-0100
Ana,Diaz,,
Ana,Diaz,,
"""
    result = commit("people", text, bob)
    assert result.summary["people_new"] == 2  # with the birth date, and the bare name
    assert result.summary["people_repeated"] == 2
    # a bare name matches the same bare name next time: nothing tells them apart
    again = commit("people", "First name,Last name\nAna,Diaz\n", bob)
    assert again.summary["people_matched"] == 1
    assert Person.objects.count() == 2


def test_accounts_by_name_are_linked_or_made(bob) -> None:
    smiths = f.AccountFactory(name="Smith household")
    text = """First name,Last name,Household
Ann,Smith,smith HOUSEHOLD
Bo,Jones,Jones family
Cy,Jones,Jones family
"""
    result = commit("people", text, bob)
    assert result.summary["accounts_new"] == 1
    assert Person.objects.get(first_name="Ann").account == smiths
    jones = Account.objects.get(name="Jones family")
    assert jones.kind == "household"
    assert set(jones.members.values_list("first_name", flat=True)) == {"Bo", "Cy"}
    assert AuditEvent.objects.filter(action="import.accounts").exists()


def test_custom_fields_are_columns_and_are_validated(bob) -> None:
    f.FieldDefinitionFactory(target="person", key="school_grade", label="School grade",
                             field_type="number", required=True)
    f.FieldDefinitionFactory(target="person", key="language", label="Language",
                             field_type="choice", choices=["English", "Spanish"])
    text = """First,Last,School grade,Language
Ana,Diaz,7,Spanish
Ben,Okafor,seven,French
Chen,Wei,,
"""
    result = check("people", text, bob)
    messages = {(row, column) for row, column, _ in errors(result)}
    assert messages == {(3, "School grade"), (3, "Language"), (4, "School grade")}
    fine = commit("people", "First,Last,School grade,Language\nAna,Diaz,7,Spanish\n", bob)
    assert fine.committed
    assert Person.objects.get().extra == {"school_grade": 7, "language": "Spanish"}


def test_card_codes_must_be_unique(bob) -> None:
    f.PersonFactory(card_code="A1")
    text = "First,Last,Card code\nAna,Diaz,A1\nBen,Okafor,B2\nCy,Wei,B2\n"
    result = check("people", text, bob)
    assert sorted((r, c) for r, c, _ in errors(result)) == [(2, "Card code"), (4, "Card code")]


def test_a_viewer_may_not_import(dana) -> None:
    from programdesk.core.errors import NotAllowed

    with pytest.raises(NotAllowed):
        check("people", CLEAN, dana)


def test_thousands_of_people_take_a_fixed_number_of_queries(
        bob, django_assert_max_num_queries) -> None:
    f.FieldDefinitionFactory(target="person", key="language", field_type="text")
    lines = ["First,Last,Birth date,Email,Household,language"]
    lines += [f"P{i},Q{i % 97},19{50 + i % 40}-0{1 + i % 9}-1{i % 9},p{i}@example.org,"
              f"H{i % 50},en" for i in range(3000)]
    text = "\n".join(lines) + "\n"
    with django_assert_max_num_queries(6):
        assert check("people", text, bob).summary["people_new"] == 3000
    # 16, and 6 for the household memberships (households, last id, insert, new ids, audit,
    # its savepoint)
    with django_assert_max_num_queries(22):
        result = commit("people", text, bob)
    assert result.summary["people_new"] == 3000 and Person.objects.count() == 3000
    assert Account.objects.count() == 50
    assert HouseholdMembership.objects.filter(end_date__isnull=True).count() == 3000
    with django_assert_max_num_queries(6):
        assert check("people", text, bob).summary["people_matched"] == 3000



def test_a_formula_cell_is_one_error_and_the_rest_of_the_row_is_checked(bob) -> None:
    import io

    import openpyxl

    from programdesk.imports import fields
    from programdesk.imports.parsers import read_table
    from programdesk.imports.services import import_check

    book = openpyxl.Workbook()
    book.active.append(["First name", "Last name", "Email"])
    book.active.append(["=HYPERLINK(\"http://x\")", "Diaz", "bad@"])
    buffer = io.BytesIO()
    book.save(buffer)
    table = read_table(buffer.getvalue(), "people.xlsx")
    result = import_check(actor=bob, kind="people", table=table,
                          mapping=fields.guess_mapping("people", table.headers))
    assert [(e.row, e.column) for e in result.errors] == [(2, "First name"), (2, "Email")]
    assert "Formulas are not imported" in result.errors[0].message
