"""The attendance sheet as a tablet tool, in a real browser, as staff: attendance first, one
line per person, a save bar always in sight, live counts, a warning before leaving with marks
not saved, and a walk-in new to us added from the sheet without losing a mark.

Set ``PROGRAMDESK_SCREENSHOTS`` to a directory to keep screenshots of the sheet (390, 768 and
1366 px wide) for the docs."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from programdesk.participation import services
from programdesk.participation.models import BenefitDisbursement
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
FIRST_NAMES = ["Ana", "Ben", "Cleo", "Dmitri", "Esperanza", "Fatou", "Gus", "Hiroshi", "Ines",
               "Jamal", "Kateryna", "Luis", "Mei", "Nnamdi", "Olga", "Priya", "Quentin",
               "Rosa", "Sven", "Tuyet"]


class Taps:
    """Counts what a person at the desk does: every click and every field filled."""

    def __init__(self) -> None:
        self.count = 0

    def click(self, locator: Any) -> None:
        self.count += 1
        locator.click()

    def fill(self, locator: Any, value: str) -> None:
        self.count += 1
        locator.fill(value)


def _session_with(people: int, charlie: Any, **schedule: Any) -> Any:
    schedule_obj = f.schedule_with_sessions(sessions=1, name="Thursday class", **schedule)
    ids = [f.PersonFactory(first_name=FIRST_NAMES[i % 20], last_name="Mbeki-Johnson"
                           if i % 3 == 0 else "Okafor").pk for i in range(people)]
    services.schedule_add_participants(actor=charlie, schedule=schedule_obj, person_ids=ids)
    return schedule_obj.sessions.get()


def _shoot(page: Any, name: str) -> None:
    if folder := os.environ.get("PROGRAMDESK_SCREENSHOTS"):
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}.png"))


def _group(page: Any, name: str) -> Any:
    return page.get_by_role("group", name=f"Status for {name}")


@pytest.mark.parametrize("width,height", [(390, 844), (768, 1024), (1366, 900)])
def test_the_sheet_fits_the_screen_attendance_first(page, login, charlie, width, height
                                                     ) -> None:
    session = _session_with(20, charlie)
    page.set_viewport_size({"width": width, "height": height})
    login(charlie, f"/sessions/{session.pk}/")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    # Attendance is the first thing on the page; the session's edit form comes after it.
    sheet = page.get_by_role("heading", name="Attendance")
    expect(sheet).to_be_in_viewport()
    details = page.get_by_role("heading", name="Session details")
    assert sheet.bounding_box()["y"] < details.bounding_box()["y"]
    expect(page.get_by_role("button", name="Save attendance")).to_be_in_viewport()
    expect(page.get_by_role("button", name="Mark all present")).to_be_in_viewport()
    for box in page.locator(".sheet-choice span").evaluate_all(
            "spans => spans.map(s => ({...s.getBoundingClientRect().toJSON(),"
            " fits: s.scrollWidth <= s.clientWidth}))"):
        assert box["width"] >= 44 and box["height"] >= 44 and box["fits"], box
    # The words people use, one line per person from tablet width up.
    first = page.locator("[data-sheet-row]").first
    expect(first.get_by_role("radio")).to_have_count(5)
    for word in ["Not recorded", "Present", "Absent", "Excused", "Cancelled"]:
        expect(first.get_by_text(word, exact=True)).to_be_visible()
    if width >= 768:
        # Name, status buttons and quantity side by side: a row is as tall as a button.
        rows = page.locator("[data-sheet-row]").evaluate_all("""rows => rows.map(row => {
            const box = (sel) => row.querySelector(sel).getBoundingClientRect();
            const spans = [...row.querySelectorAll('.sheet-choice span')];
            return {height: box('fieldset').height, row: row.getBoundingClientRect().height,
                    lines: new Set(spans.map(s => Math.round(s.getBoundingClientRect().top))).size,
                    beside: box('.sheet-name').right <= box('fieldset').left
                            && box('fieldset').right <= box('.sheet-qty').left};
        })""")
        assert all(r["lines"] == 1 and r["beside"] and r["row"] < 70 for r in rows), rows
    _shoot(page, f"sheet-{width}")
    page.locator("[data-sheet-row]").first.evaluate("row => row.scrollIntoView()")
    expect(page.get_by_role("button", name="Save attendance")).to_be_in_viewport()
    _shoot(page, f"sheet-{width}-rows")


def test_twenty_people_three_exceptions_in_five_taps(page, login, charlie) -> None:
    session = _session_with(20, charlie)
    page.set_viewport_size({"width": 768, "height": 1024})
    login(charlie, f"/sessions/{session.pk}/")
    save = page.get_by_role("button", name="Save attendance")
    expect(save).to_be_in_viewport()  # no scrolling to find Save

    taps = Taps()
    taps.click(page.get_by_role("button", name="Mark all present"))
    taps.click(_group(page, "Okafor, Ben").get_by_text("Absent"))
    taps.click(_group(page, "Okafor, Rosa").get_by_text("Absent"))
    taps.click(_group(page, "Okafor, Tuyet").get_by_text("Excused"))  # the last line
    expect(save).to_be_in_viewport()
    expect(page.locator("[data-count='delivered']")).to_have_text("17")
    _shoot(page, "sheet-marked-768")
    taps.click(save)
    expect(page.get_by_text("Attendance saved (20 changed).")).to_be_visible()
    assert taps.count <= 6, taps.count
    statuses = sorted(BenefitDisbursement.objects.filter(session=session)
                      .values_list("status__code", flat=True))
    assert statuses == ["absent"] * 2 + ["completed"] * 17 + ["excused"]
    expect(page.locator("#attendance-rate")).to_have_text("89%")


def test_counts_move_while_marking_and_leaving_unsaved_asks_first(page, login, charlie) -> None:
    session = _session_with(3, charlie)
    page.set_viewport_size({"width": 768, "height": 1024})
    login(charlie, f"/sessions/{session.pk}/")
    expect(page.locator("[data-count='expected']")).to_have_text("3")
    _group(page, "Mbeki-Johnson, Ana").get_by_text("Present").click()
    _group(page, "Okafor, Ben").get_by_text("Absent").click()
    expect(page.locator("[data-count='delivered']")).to_have_text("1")
    expect(page.locator("[data-count='absent']")).to_have_text("1")
    expect(page.locator("[data-count='expected']")).to_have_text("1")
    expect(page.locator("#attendance-rate")).to_have_text("50%")
    expect(page.get_by_role("status").filter(has_text="not saved yet")).to_have_text(
        "2 changes not saved yet")

    dialogs: list[str] = []

    def stay(dialog: Any) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    page.get_by_role("link", name="Thursday class").first.click()
    page.wait_for_timeout(300)
    assert dialogs == ["beforeunload"]
    assert re.search(rf"/sessions/{session.pk}/$", page.url)
    expect(_group(page, "Okafor, Ben").get_by_role("radio", name="Absent")).to_be_checked()

    # Saved, the page lets go without asking.
    page.get_by_role("button", name="Save attendance").click()
    expect(page.get_by_text("Attendance saved (2 changed).")).to_be_visible()
    page.get_by_role("link", name="Thursday class").first.click()
    expect(page).to_have_url(re.compile(r"/schedules/\d+/$"))
    assert dialogs == ["beforeunload"]


def test_a_walk_in_new_to_us_in_four_steps_keeps_the_marks(page, login, charlie) -> None:
    session = _session_with(5, charlie)
    csp: list[str] = []  # htmx's swaps under the strict policy: no inline script or style
    page.on("console", lambda msg: csp.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    page.set_viewport_size({"width": 768, "height": 1024})
    login(charlie, f"/sessions/{session.pk}/")
    page.get_by_role("button", name="Mark all present").click()
    _group(page, "Okafor, Ben").get_by_text("Absent").click()

    taps = Taps()
    taps.click(page.get_by_role("link", name="Add a walk-in"))
    expect(page.get_by_label("Find a person")).to_be_focused()
    taps.fill(page.get_by_label("Find a person"), "Samir Haddad")
    expect(page.get_by_text("Nobody we know matches “Samir Haddad”")).to_be_visible()
    expect(page.get_by_label("First name")).to_have_value("Samir")
    expect(page.get_by_label("Last name")).to_have_value("Haddad")
    taps.fill(page.get_by_label("Postal code"), "02121")
    taps.click(page.get_by_role("button", name="Add to this session"))
    expect(page.get_by_text("Samir Haddad is on the sheet, marked present.")).to_be_visible()
    assert taps.count <= 5, taps.count

    # Back on the sheet: the walk-in's line, marked present, and every earlier mark intact.
    samir = _group(page, "Haddad, Samir")
    expect(samir.get_by_role("radio", name="Present")).to_be_checked()
    expect(_group(page, "Okafor, Ben").get_by_role("radio", name="Absent")).to_be_checked()
    expect(_group(page, "Okafor, Cleo").get_by_role("radio", name="Present")).to_be_checked()
    expect(page.locator("[data-count='delivered']")).to_have_text("5")
    expect(page.get_by_role("status").filter(has_text="not saved yet")).to_have_text(
        "6 changes not saved yet")
    _shoot(page, "walk-in-added-768")
    page.get_by_role("button", name="Save attendance").click()
    expect(page.get_by_text("Attendance saved (6 changed).")).to_be_visible()
    rows = dict(BenefitDisbursement.objects.filter(session=session, person__first_name="Samir")
                .values_list("recipient_type", "status__code"))
    assert rows == {"walk_in": "completed"}
    assert BenefitDisbursement.objects.filter(session=session, status__code="absent").count() == 1
    assert not csp, csp


def test_a_walk_in_who_may_be_someone_we_know(page, login, charlie) -> None:
    session = _session_with(2, charlie)
    known = f.PersonFactory(first_name="Samir", last_name="Hadad", postal_code="02121")
    page.set_viewport_size({"width": 390, "height": 844})
    login(charlie, f"/sessions/{session.pk}/")
    _group(page, "Okafor, Ben").get_by_text("Excused").click()

    taps = Taps()
    taps.click(page.get_by_role("link", name="Add a walk-in"))
    taps.fill(page.get_by_label("First name"), "Samir")
    taps.fill(page.get_by_label("Last name"), "Haddad")
    taps.click(page.get_by_role("button", name="Add to this session"))
    expect(page.get_by_role("region", name="Is this someone we know?")).to_contain_text(
        "Samir Hadad")
    _shoot(page, "walk-in-duplicate-390")
    taps.click(page.get_by_role("button", name="Add Samir Hadad"))
    expect(page.get_by_text("Samir Hadad is on the sheet")).to_be_visible()
    assert taps.count <= 5, taps.count
    expect(_group(page, "Hadad, Samir").get_by_role("radio", name="Present")).to_be_checked()
    expect(_group(page, "Okafor, Ben").get_by_role("radio", name="Excused")).to_be_checked()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    assert BenefitDisbursement.objects.filter(session=session, person=known).exists()


def test_the_sheet_by_keyboard_alone(page, login, charlie) -> None:
    session = _session_with(3, charlie)
    page.set_viewport_size({"width": 768, "height": 1024})
    login(charlie, f"/sessions/{session.pk}/")
    page.get_by_role("button", name="Mark all present").focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-count='delivered']")).to_have_text("3")
    page.keyboard.press("Tab")  # "Add a walk-in"
    page.keyboard.press("Tab")  # the first person's name
    page.keyboard.press("Tab")  # their status: one stop for the group
    expect(_group(page, "Mbeki-Johnson, Ana").get_by_role("radio", name="Present")
           ).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(_group(page, "Mbeki-Johnson, Ana").get_by_role("radio", name="Absent")).to_be_checked()
    page.keyboard.press("Tab")  # their quantity
    expect(page.get_by_label("Quantity for Mbeki-Johnson, Ana")).to_be_focused()
    page.keyboard.type("2")
    for _ in range(20):
        if page.evaluate("document.activeElement.textContent") == "Save attendance":
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Attendance saved (3 changed).")).to_be_visible()
    assert sorted(BenefitDisbursement.objects.filter(session=session)
                  .values_list("status__code", flat=True)) == ["absent", "completed", "completed"]
    # Enter in a quantity field saves the sheet (it does not "Mark all present").
    page.get_by_label("Quantity for Okafor, Ben").fill("3")
    page.get_by_label("Quantity for Okafor, Ben").press("Enter")
    expect(page.get_by_text("Attendance saved (1 changed).")).to_be_visible()
    assert BenefitDisbursement.objects.get(session=session, person__first_name="Ben"
                                           ).quantity == 3
