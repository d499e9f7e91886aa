"""Long lists become searchable pickers that show what tells namesakes apart (issue 15, item 9):
80 households all called "Garcia household"."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from programdesk.people.models import Person
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)


def _garcias(n: int = 80) -> list[Any]:
    households = []
    for i in range(n):
        household = f.AccountFactory(name="Garcia household", postal_code=f"{2100 + i:05d}")
        f.PersonFactory(first_name=f"Maria{i}", last_name="Garcia", account=household,
                        postal_code=household.postal_code)
        households.append(household)
    return households


def test_the_household_picker_finds_one_garcia_among_eighty(page: Any, login: Any,
                                                            charlie: Any) -> None:
    households = _garcias()
    wanted = households[42]
    login(charlie, "/people/new/")
    picker = page.get_by_label("Household or organization")
    # Each option says who is in it, the postal code and the record number.
    expect(picker.locator(f"option[value='{wanted.pk}']")).to_have_text(
        f"Garcia household — 02142 · Maria42 Garcia · no. {wanted.pk}")
    page.get_by_label("Search households or organizations").fill("garcia 02142")
    expect(page.get_by_text("1 match", exact=True)).to_be_visible()
    page.get_by_label("Search households or organizations").press("Enter")
    expect(picker).to_have_value(str(wanted.pk))
    page.get_by_label("First name").fill("Luis")
    page.get_by_label("Last name").fill("Garcia")
    page.get_by_role("button", name="Add person").click()
    expect(page.get_by_role("heading", name="Luis Garcia")).to_be_visible()
    assert Person.objects.get(first_name="Luis").account_id == wanted.pk


def test_the_merge_page_finds_a_duplicate_by_name_and_tells_namesakes_apart(
        page: Any, login: Any, charlie: Any) -> None:
    _garcias(5)
    survivor = f.PersonFactory(first_name="Maria3", last_name="Garcia")
    login(charlie, f"/people/{survivor.pk}/merge/")
    page.get_by_label("Or find the duplicate").fill("maria3 garcia")
    page.get_by_role("button", name="Find").click()
    rows = page.get_by_role("table", name="People matching “maria3 garcia”").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("02103")
    expect(rows.first).to_contain_text("Garcia household")
    rows.first.get_by_role("link", name="Compare Maria3").click()
    expect(page.get_by_role("heading", name="Compare")).to_be_visible()
