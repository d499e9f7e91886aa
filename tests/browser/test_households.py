"""A household page in a real browser: move a person from one household to another, then see
the history on both; screenshots at phone, tablet and desktop widths."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from django.utils.timezone import localdate

from programdesk.people.models import HouseholdMembership
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = os.environ.get("PROGRAMDESK_SHOTS")  # a directory: save screenshots there


def test_moving_a_person_between_households_on_the_household_page(page, login, charlie) -> None:
    today = localdate()
    harris = f.AccountFactory(name="Harris household", declared_size=2)
    ana = f.MembershipFactory(account=harris, relationship="head",
                              person__first_name="Ana", person__last_name="Harris").person
    ben = f.MembershipFactory(account=harris, relationship="child", person__first_name="Ben",
                              person__last_name="Harris").person
    lee = f.AccountFactory(name="Lee household")
    f.MembershipFactory(account=lee, relationship="head", person__first_name="Cy",
                        person__last_name="Lee")

    login(charlie, f"/accounts/{lee.pk}/")
    page.get_by_label("Add an existing person").fill("Ben Harris")
    page.get_by_role("button", name="Find").click()
    page.get_by_role("link", name="Move Ben here…").click()
    # The confirmation says where he lives now; he joins as a child from today.
    assert "Harris household" in page.locator("main").inner_text()
    page.get_by_label("Relationship to the head").select_option("child")
    page.get_by_role("button", name="Move Ben").click()
    page.wait_for_url(f"**/accounts/{lee.pk}/#mem-head")  # the confirmation page matches **
    assert "Ben Harris now lives in Lee household." in page.locator(".messages").inner_text()
    current = page.locator("#current-members").inner_text()
    assert "Ben Harris" in current and "Child" in current
    assert page.locator("[data-household-size]").get_attribute("data-household-size") == "2"

    page.goto(f"/accounts/{harris.pk}/")
    assert "Ben Harris" in page.locator("#past-members").inner_text()
    assert "Ben Harris" not in page.locator("#current-members").inner_text()
    assert page.locator("[data-household-size]").get_attribute("data-household-size") == "3"
    assert list(HouseholdMembership.objects.filter(person=ben).order_by("id")
                .values_list("account_id", "end_date")) == [
        (harris.pk, today - dt.timedelta(days=1)), (lee.pk, None)]

    # On a phone the page (members, the add form) never scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/accounts/{harris.pk}/?member_q=Lee")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"/accounts/{harris.pk}/")
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.goto(f"/accounts/{harris.pk}/?member_q=Lee")
        for width, height in ((390, 844), (768, 1024), (1366, 900)):
            page.set_viewport_size({"width": width, "height": height})
            page.screenshot(path=f"{SHOTS}/household-{width}.png", full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.set_viewport_size({"width": 1280, "height": 720})
        page.goto(f"/accounts/{harris.pk}/")

    # Ending Ana's membership asks for her last day first.
    page.get_by_role("link", name="End Ana’s membership…").click()
    page.get_by_role("button", name="End the membership").click()
    page.wait_for_url(f"**/accounts/{harris.pk}/#mem-head")
    assert "Ana Harris" in page.locator("#past-members").inner_text()
    ana.refresh_from_db()
    assert ana.account_id is None



def test_the_walk_in_panel_says_which_household_is_served(page, login, charlie) -> None:
    harris = f.AccountFactory(name="Harris household", declared_size=3)
    f.MembershipFactory(account=harris, relationship="head", person__first_name="Ana",
                        person__last_name="Harris")
    session = f.SessionFactory(local_date=localdate())
    login(charlie, f"/sessions/{session.pk}/")
    page.get_by_label("Find a person").fill("Harris")
    page.get_by_role("button", name="Add Ana Harris").click(timeout=30_000)
    served = page.locator("[data-serving]")
    served.wait_for(timeout=30_000)
    assert served.inner_text() == "Serving the Harris household, 4 people."
    assert "Harris household, 4 people" in page.locator("#sheet-rows").inner_text()
    for width, height in ((390, 844), (768, 1024), (1366, 900)):
        page.set_viewport_size({"width": width, "height": height})
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{SHOTS}/walk-in-household-{width}.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
