"""Importing in a real browser: a CSV with one bad row is checked, fixed, imported, and the
people are there."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from programdesk.people.models import Person

pytestmark = pytest.mark.django_db(transaction=True)

BAD = b"First Name,Last Name,Date of Birth,Email\n" \
      b"Ana,Diaz,1990-04-02,ana@example.org\n" \
      b"Ben,Okafor,1985-13-01,ben@example.org\n" \
      b"Chen,Wei,,chen@example.org\n"


def upload(page, data: bytes) -> None:
    page.goto("/imports/")
    page.get_by_label("The file holds").select_option("people")
    page.get_by_label("File (CSV or XLSX)").set_input_files(
        {"name": "clients.csv", "mimeType": "text/csv", "buffer": data})
    page.get_by_role("button", name="Upload and match columns").click()
    expect(page.get_by_role("heading", name="clients.csv")).to_be_visible()


def test_import_a_csv_with_a_bad_row_fix_it_and_see_the_people(page, login, charlie,
                                                                settings, tmp_path) -> None:
    settings.VAR_DIR = tmp_path
    login(charlie, "/imports/")
    upload(page, BAD)
    # the columns were matched by their names
    expect(page.get_by_label("Date of Birth")).to_have_value("birth_date")
    page.get_by_role("button", name="Check the file").click()

    expect(page.get_by_role("alert")).to_contain_text("1 error.")
    errors = page.locator("#errors")
    expect(errors).to_contain_text("Date of Birth")
    expect(errors).to_contain_text("'1985-13-01' is not a date")
    expect(errors.locator("tbody tr")).to_have_count(1)
    expect(page.get_by_role("button", name="Import 3 rows")).to_have_count(0)
    assert not Person.objects.exists()

    upload(page, BAD.replace(b"1985-13-01", b"1985-12-01"))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("#result")).to_contain_text("3 new people")
    page.get_by_role("button", name="Import 3 rows").click()
    expect(page.get_by_role("heading", name="Imported")).to_be_visible()

    page.get_by_role("link", name="See them").click()
    for name in ("Diaz, Ana", "Okafor, Ben", "Wei, Chen"):
        expect(page.get_by_role("link", name=name)).to_be_visible()
    assert Person.objects.count() == 3


def test_import_household_members_through_the_page(page, login, charlie, settings,
                                                   tmp_path) -> None:
    from programdesk.people.models import Account, HouseholdMembership

    settings.VAR_DIR = tmp_path
    login(charlie, "/imports/")
    data = (b"Household,First Name,Last Name,Relationship,Start date,Declared size\n"
            b"Harris household,Ana,Harris,head,2024-01-01,2\n"
            b"Harris household,Ben,Harris,child,2024-01-01,\n")
    page.goto("/imports/")
    page.get_by_label("The file holds").select_option("households")
    page.get_by_label("File (CSV or XLSX)").set_input_files(
        {"name": "households.csv", "mimeType": "text/csv", "buffer": data})
    page.get_by_role("button", name="Upload and match columns").click()
    expect(page.get_by_role("heading", name="households.csv")).to_be_visible()
    expect(page.get_by_label("Relationship", exact=True)).to_have_value("relationship")
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("#result")).to_contain_text("2 new household memberships")
    expect(page.locator("#result")).to_contain_text("1 new households")
    page.get_by_role("button", name="Import 2 rows").click()
    expect(page.get_by_role("heading", name="Imported")).to_be_visible()
    harris = Account.objects.get(name="Harris household")
    assert harris.declared_size == 2
    assert sorted(HouseholdMembership.objects.filter(account=harris)
                  .values_list("person__first_name", "relationship")) == [
        ("Ana", "head"), ("Ben", "child")]
