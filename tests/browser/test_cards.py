"""Check-in cards and the paper roster in a real browser: a keyboard-wedge scanner (the code
typed, then Enter) checks the person in at the kiosk; a revoked card is refused; a household
card asks who; a scan on the attendance sheet marks the row present; the card page and the
roster print."""

from __future__ import annotations

import os
from typing import Any

import pytest
from playwright.sync_api import expect

from programdesk.participation import services
from programdesk.participation.models import BenefitDisbursement
from programdesk.people import services as people_services
from programdesk.people.models import Person
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = os.environ.get("PROGRAMDESK_SHOTS", "")  # a directory to keep screenshots in
WIDTHS = {"phone": (390, 844), "tablet": (768, 1024), "desktop": (1366, 900)}


def shoot(page: Any, name: str) -> None:
    """At the three widths nothing scrolls sideways; screenshots with PROGRAMDESK_SHOTS."""
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        if SHOTS:
            os.makedirs(SHOTS, exist_ok=True)
            page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, label
    page.set_viewport_size({"width": 768, "height": 1024})


@pytest.fixture(autouse=True)
def _patient(page: Any) -> None:
    # Two cores shared by several test runs: generous waits, never sleeps.
    page.set_default_timeout(30_000)
    page.set_default_navigation_timeout(60_000)


@pytest.fixture
def roster(charlie) -> tuple[Any, Person, Person]:
    schedule = f.schedule_with_sessions(sessions=1, name="Food pantry")
    ana = f.PersonFactory(first_name="Ana", last_name="Silva")
    ben = f.PersonFactory(first_name="Ben", last_name="Okafor")
    services.schedule_add_participants(actor=charlie, schedule=schedule,
                                       person_ids=[ana.pk, ben.pk])
    return schedule.sessions.get(), ana, ben


def _status(session: Any, person: Person) -> str:
    return BenefitDisbursement.objects.get(session=session, person=person).status.code


def _scan(page: Any, box: str, code: str) -> None:
    """What a keyboard-wedge scanner does: type the code quickly, then Enter."""
    page.locator(box).click()
    page.keyboard.type(code, delay=5)
    page.keyboard.press("Enter")


def test_a_wedge_scan_at_the_kiosk_checks_the_person_in(page, login, kim, charlie, roster
                                                        ) -> None:
    session, ana, ben = roster
    code = people_services.card_issue(actor=charlie, person=ana)
    login(kim, f"/kiosk/{session.pk}/")
    page.goto(f"/kiosk/{session.pk}/")
    _scan(page, "#kiosk-q", code)
    expect(page.get_by_text("Welcome, Ana! You are checked in.")).to_be_visible(timeout=20_000)
    assert _status(session, ana) == "completed"
    assert _status(session, ben) == "enrolled"


def test_a_revoked_card_is_refused_at_the_kiosk(page, login, kim, charlie, roster) -> None:
    session, ana, _ = roster
    old = people_services.card_issue(actor=charlie, person=ana)
    people_services.card_issue(actor=charlie, person=ana)  # lost: replaced
    login(kim, f"/kiosk/{session.pk}/")
    page.goto(f"/kiosk/{session.pk}/")
    _scan(page, "#kiosk-q", old)
    expect(page.get_by_text("This card was replaced and no longer works.")).to_be_visible(
        timeout=20_000)
    assert _status(session, ana) == "enrolled"
    shoot(page, "kiosk-card-revoked")


def test_a_household_card_asks_who_is_checking_in(page, login, kim, charlie, roster) -> None:
    session, ana, ben = roster
    home = f.AccountFactory(name="Silva-Okafor")
    for person in (ana, ben):
        f.MembershipFactory(person=person, account=home)
    code = people_services.card_issue(actor=charlie, account=home)
    login(kim, f"/kiosk/{session.pk}/")
    page.goto(f"/kiosk/{session.pk}/")
    _scan(page, "#kiosk-q", code)
    expect(page.get_by_role("heading", name="Who is checking in?")).to_be_visible(
        timeout=20_000)
    shoot(page, "kiosk-household-card")
    page.get_by_role("button", name="I'm Ben O.").click()
    expect(page.get_by_text("Welcome, Ben!")).to_be_visible()
    assert (_status(session, ana), _status(session, ben)) == ("enrolled", "completed")


def test_a_scan_on_the_attendance_sheet_marks_the_row_present(page, login, charlie, roster
                                                              ) -> None:
    session, ana, ben = roster
    code = people_services.card_issue(actor=charlie, person=ben)
    login(charlie, f"/sessions/{session.pk}/")
    page.goto(f"/sessions/{session.pk}/")
    _scan(page, "#walk-in-q", code)
    expect(page.get_by_role("status").filter(has_text="Marked present")).to_contain_text(
        "Okafor, Ben")
    row = page.locator("[data-sheet-row]", has_text="Okafor, Ben")
    expect(row.locator('input[data-bucket="delivered"]').first).to_be_checked()
    assert _status(session, ben) == "enrolled"  # not saved yet: the sheet saves it
    page.get_by_role("button", name="Save attendance").first.click()
    expect(page.get_by_text("Attendance saved")).to_be_visible()
    assert (_status(session, ana), _status(session, ben)) == ("enrolled", "completed")


def test_the_card_page_makes_a_card_and_prints_it(page, login, charlie) -> None:
    home = f.AccountFactory(name="Silva household")
    ana = f.MembershipFactory(account=home, person__first_name="Ana",
                              person__last_name="Silva").person
    login(charlie, f"/people/{ana.pk}/card/")
    page.goto(f"/people/{ana.pk}/card/")
    page.get_by_role("button", name="Make a card").click()
    code = Person.objects.get(pk=ana.pk).card_code
    card = page.locator(".id-card")
    expect(card).to_contain_text(code)
    expect(card.locator("svg.qr")).to_be_visible()
    shoot(page, "card-page")
    # Replacing asks first; cancelling keeps the card.
    page.get_by_role("link", name="Replace (lost card)…").click()
    expect(page.get_by_role("heading", name="Replace this card?")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()
    assert Person.objects.get(pk=ana.pk).card_code == code
    # On paper: the card alone, at bank-card size.
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.get_by_role("button", name="Print the card")).to_be_hidden()
    expect(card).to_be_visible()
    box = card.bounding_box()
    assert 300 < box["width"] < 340, box  # 85.6 mm at 96 px per inch: 323.5 px
    # The whole QR code on the card: square, 30 mm, inside it (a fixed-size SVG was clipped).
    qr = card.locator("svg.qr").bounding_box()
    assert abs(qr["width"] - qr["height"]) < 1 and 105 < qr["width"] < 125, qr
    assert qr["x"] + qr["width"] <= box["x"] + box["width"], (qr, box)
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "card-print.png"), full_page=True)


def test_the_paper_roster_prints_names_codes_and_boxes(page, login, charlie, roster) -> None:
    session, ana, _ = roster
    code = people_services.card_issue(actor=charlie, person=ana)
    login(charlie, f"/sessions/{session.pk}/roster/")
    page.goto(f"/sessions/{session.pk}/roster/")
    table = page.locator("table.roster-table")
    expect(table).to_contain_text("Silva, Ana")
    expect(table).to_contain_text(code)
    shoot(page, "paper-roster")
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.get_by_role("link", name="CSV")).to_be_hidden()
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "roster-print.png"), full_page=True)
