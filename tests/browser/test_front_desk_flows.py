"""Front desk flows (issue 15, items 6 and 7), in a real browser at phone, tablet and desktop
widths: adding many people never fails because of one, and the kiosk makes no duplicates."""

from __future__ import annotations

import os
import re
import time
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from programdesk.core.models import AuditEvent
from programdesk.participation import services
from programdesk.participation.models import (
    BenefitDisbursement,
    ProgramEnrollment,
    ScheduleAssignment,
)
from programdesk.people.models import Person
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = os.environ.get("PROGRAMDESK_SHOTS", "")  # a directory to keep screenshots in
WIDTHS = {"phone": (390, 844), "tablet": (768, 1024), "desktop": (1366, 900)}


def shoot(page, name: str) -> None:
    """At the three widths: nothing scrolls sideways; with PROGRAMDESK_SHOTS set, screenshots
    to look at (and for the docs' front desk page)."""
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        if SHOTS:
            os.makedirs(SHOTS, exist_ok=True)
            page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, label
    page.set_viewport_size({"width": 768, "height": 1024})


def aged(years: int, **kwargs: object) -> Person:
    today = timezone.localdate()
    return f.PersonFactory(birth_date=today.replace(year=today.year - years), **kwargs)


def test_adding_five_with_one_ineligible_adds_four_and_keeps_the_fifth_for_an_override(
        page, login, bob) -> None:
    schedule = f.schedule_with_sessions(sessions=2, name="Youth coding")
    f.EligibilityRuleFactory(program=schedule.benefit.program, params={"min": 14, "max": 24},
                             mode="block")
    for first in ["Ana", "Ben", "Cleo"]:
        aged(16, first_name=first, last_name="Mbeki")
    aged(17, first_name="Dara", last_name="Green")
    kai = aged(30, first_name="Kai", last_name="Green")
    page.set_viewport_size({"width": 768, "height": 1024})
    login(bob, f"/schedules/{schedule.pk}/participants/")

    taps = 0
    page.get_by_label("Find people or accounts").fill("mbeki")
    for first in ["Ana", "Ben", "Cleo"]:
        page.get_by_label(f"Mbeki, {first}").check()
        taps += 1
    # A second search keeps the first three ticked (they are listed first).
    page.get_by_label("Find people or accounts").fill("green")
    page.get_by_label("Green, Kai").check()
    page.get_by_label("Green, Dara").check()
    taps += 2
    for first in ["Ana", "Ben", "Cleo"]:
        expect(page.get_by_label(f"Mbeki, {first}")).to_be_checked()
    expect(page.locator("#selection-count")).to_have_text("5 participants ticked.")
    page.get_by_role("button", name="Add selected to the schedule").click()
    taps += 1

    expect(page.get_by_text("4 new enrollments, 4 new assignments, 8 new disbursements")) \
        .to_be_visible()
    refused = page.locator("#refused")
    expect(refused).to_contain_text("Not added: 1 not eligible")
    expect(refused).to_contain_text("Green, Kai")
    expect(refused).to_contain_text("age")
    expect(page.get_by_role("heading", name="On the roster (4)")).to_be_visible()
    # Kai is still ticked, nobody else is.
    expect(page.get_by_label("Green, Kai")).to_be_checked()
    assert page.locator("#candidates input:checked").count() == 1
    assert taps == 6
    shoot(page, "participants-refused")

    page.get_by_label("Add the ticked people even though").check()
    page.get_by_label("Reason (kept in the audit log)").fill("Mentor for the group")
    page.get_by_role("button", name="Add selected to the schedule").click()
    expect(page.get_by_text("1 new enrollment, 1 new assignment, 2 new disbursements")) \
        .to_be_visible()
    expect(page.get_by_role("heading", name="On the roster (5)")).to_be_visible()
    assert ScheduleAssignment.objects.filter(assignment__person=kai).exists()
    event = AuditEvent.objects.filter(action="schedule.add_participants").latest("id")
    assert event.reason == "Mentor for the group"


def test_staff_see_who_was_refused_and_are_told_to_ask_a_manager(page, login, charlie) -> None:
    schedule = f.schedule_with_sessions(sessions=1, name="Youth coding")
    f.EligibilityRuleFactory(program=schedule.benefit.program, params={"min": 14, "max": 24},
                             mode="block")
    aged(30, first_name="Kai", last_name="Green")
    login(charlie, f"/schedules/{schedule.pk}/participants/")
    page.get_by_label("Find people or accounts").fill("kai")
    page.get_by_label("Green, Kai").check()
    page.get_by_role("button", name="Add selected to the schedule").click()
    expect(page.locator("#refused")).to_contain_text("Ask a manager to override")
    expect(page.get_by_label("Add the ticked people even though")).to_have_count(0)
    assert not ProgramEnrollment.objects.exists()


def test_going_over_capacity_is_asked_before_anything_is_written(page, login, charlie) -> None:
    schedule = f.schedule_with_sessions(sessions=1, name="Small room", capacity=2)
    for first in ["Ana", "Ben", "Cleo"]:
        f.PersonFactory(first_name=first, last_name="Mbeki")
    page.set_viewport_size({"width": 768, "height": 1024})
    login(charlie, f"/schedules/{schedule.pk}/participants/")
    page.get_by_label("Find people or accounts").fill("mbeki")
    for first in ["Ana", "Ben", "Cleo"]:
        page.get_by_label(f"Mbeki, {first}").check()
    expect(page.locator("#selection-count")).to_contain_text("1 over capacity")
    page.get_by_role("button", name="Add selected to the schedule").click()
    expect(page.locator("#capacity-check")).to_contain_text("Nothing has been added yet")
    assert not ScheduleAssignment.objects.exists()
    for first in ["Ana", "Ben", "Cleo"]:
        expect(page.get_by_label(f"Mbeki, {first}")).to_be_checked()
    shoot(page, "participants-capacity")
    page.get_by_role("button", name="Add anyway, 1 over capacity").click()
    expect(page.get_by_role("heading", name="On the roster (3)")).to_be_visible()
    assert ScheduleAssignment.objects.count() == 3


def test_kiosk_asks_is_this_you_and_checks_in_the_existing_person(
        page, login, kim, charlie) -> None:
    schedule = f.schedule_with_sessions(sessions=1, name="Drop-in tutoring")
    session = schedule.sessions.get()
    kai = f.PersonFactory(first_name="Kai", last_name="Green", postal_code="02121",
                          phone="617-555-0100")
    people = Person.objects.count()
    page.set_viewport_size({"width": 768, "height": 1024})
    login(kim)
    page.get_by_role("link", name="Drop-in tutoring").click()
    page.get_by_text("First time here? Register").click()
    page.get_by_label("First name").fill("Kai")
    page.get_by_label("Last name").fill("Green")
    page.get_by_label("Postal code").fill("02121")
    page.get_by_role("button", name="Register and check in").click()
    steps = 5  # open the form, three fields, submit

    question = page.locator("#is-this-you")
    expect(question.get_by_role("heading", name="Is this you?")).to_be_visible()
    expect(question).not_to_contain_text("555")  # nothing but first name and last initial
    expect(question).not_to_contain_text("Green")
    shoot(page, "kiosk-is-this-you")
    page.get_by_role("button", name="Yes, I'm Kai G.").click()
    steps += 1
    assert steps == 6  # one tap more than registering someone new
    welcome = page.get_by_text("Welcome, Kai! You are checked in.")
    expect(welcome).to_be_visible()
    assert Person.objects.count() == people
    assert BenefitDisbursement.objects.get(session=session).person_id == kai.pk
    # The welcome clears by itself for the next person.
    expect(welcome).to_have_count(0, timeout=9000)


def test_kiosk_welcome_clears_as_soon_as_the_next_person_types(page, login, kim, charlie) -> None:
    schedule = f.schedule_with_sessions(sessions=1, name="Drop-in tutoring")
    rosa = f.PersonFactory(first_name="Rosa", last_name="Delgado")
    services.schedule_add_participants(actor=charlie, schedule=schedule, person_ids=[rosa.pk])
    login(kim)
    page.get_by_role("link", name="Drop-in tutoring").click()
    page.get_by_label("Type your name").fill("rosa")
    page.get_by_role("button", name="I'm Rosa D.").click()
    expect(page.get_by_text("Welcome, Rosa!")).to_be_visible()
    page.get_by_label("Type your name").press("S")
    expect(page.get_by_text("Welcome, Rosa!")).to_have_count(0)


def test_merging_two_people_enrolled_in_one_program_keeps_one_enrollment(
        page, login, charlie) -> None:
    schedule = f.schedule_with_sessions(sessions=2, name="Drop-in tutoring")
    today = schedule.sessions.get(local_date=timezone.localdate())
    first = f.PersonFactory(first_name="Kai", last_name="Green", postal_code="02121")
    second = f.PersonFactory(first_name="Kai", last_name="Green", postal_code="02121")
    services.schedule_add_participants(actor=charlie, schedule=schedule, person_ids=[first.pk])
    services.check_in(actor=charlie, session=today, person_id=second.pk)
    assert ProgramEnrollment.objects.filter(is_active=True).count() == 2
    page.set_viewport_size({"width": 768, "height": 1024})
    login(charlie, f"/people/{first.pk}/merge/?duplicate={second.pk}")
    expect(page.get_by_text("the two enrollments become one")).to_be_visible()
    shoot(page, "merge-enrollments")
    page.get_by_role("button", name=re.compile("^Merge Kai Green into")).click()
    expect(page.get_by_text(f"(#{second.pk}) was merged into Kai Green")).to_be_visible()
    [enrollment] = ProgramEnrollment.objects.all()
    assert enrollment.person_id == first.pk
    assert BenefitDisbursement.objects.filter(enrollment=enrollment).count() == 2
    assert BenefitDisbursement.objects.get(session=today).status.bucket == "delivered"


def test_kiosk_searches_what_was_typed_before_the_page_was_ready(
        page, login, kim, charlie) -> None:
    schedule = f.schedule_with_sessions(sessions=1, name="Drop-in tutoring")
    rosa = f.PersonFactory(first_name="Rosa", last_name="Delgado")
    services.schedule_add_participants(actor=charlie, schedule=schedule, person_ids=[rosa.pk])
    login(kim)

    def slow_htmx(route: Any) -> None:
        time.sleep(1.5)  # a slow tablet: the name is typed before the live search listens
        route.continue_()

    page.route("**/htmx-*.js", slow_htmx)
    page.get_by_role("link", name="Drop-in tutoring").click()
    page.get_by_label("Type your name").fill("rosa")
    page.get_by_role("button", name="I'm Rosa D.").click()
    expect(page.get_by_text("Welcome, Rosa!")).to_be_visible()
