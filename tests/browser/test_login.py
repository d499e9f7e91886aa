from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_log_in_and_see_the_dashboard(page, login, charlie) -> None:
    page.goto("/")
    expect(page).to_have_url("/login/?next=/")
    login(charlie)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("People")
    expect(page.get_by_text("charlie · Staff")).to_be_visible()


def test_wrong_password_is_refused(page, charlie) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill("charlie")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("did not match")
