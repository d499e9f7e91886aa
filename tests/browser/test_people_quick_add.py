"""Quick add in a real browser: the duplicate warning comes before anything is saved."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from programdesk.people.models import Person
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)


def test_quick_add_warns_of_a_duplicate_and_opens_the_existing_person(page, login,
                                                                       charlie) -> None:
    john = f.PersonFactory(first_name="John", last_name="Smith", birth_date=dt.date(1990, 4, 2),
                           phone="617-555-0100")
    login(charlie, "/people/")
    page.get_by_role("link", name="Add a person").click()
    page.get_by_label("First name").fill("Jon")
    page.get_by_label("Last name").fill("Smith")
    page.get_by_label("Birth date").fill("1990-04-02")
    page.get_by_role("button", name="Add person").click()

    warning = page.get_by_role("region", name="Possible duplicates")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Same birth date and a similar name")
    expect(page.get_by_role("button", name="Create anyway")).to_be_visible()
    assert Person.objects.count() == 1  # nothing saved yet

    warning.get_by_role("link", name="Open John Smith").click()
    expect(page).to_have_url(re.compile(rf"/people/{john.pk}/$"))
    expect(page.get_by_role("heading", name="John Smith")).to_be_visible()
    assert Person.objects.count() == 1


def test_quick_add_create_anyway(page, login, charlie) -> None:
    f.PersonFactory(first_name="Ana", last_name="Diaz", email="ana@example.org")
    login(charlie, "/people/new/")
    page.get_by_label("First name").fill("Ana")
    page.get_by_label("Last name").fill("Diaz")
    page.get_by_label("Email").fill("ana@example.org")
    page.get_by_role("button", name="Add person").click()
    expect(page.get_by_role("region", name="Possible duplicates")).to_contain_text(
        "Same name, same email address")
    page.get_by_role("button", name="Create anyway").click()
    expect(page.get_by_text("Ana Diaz was added.")).to_be_visible()
    assert Person.objects.filter(first_name="Ana").count() == 2
