from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from programdesk.participation import services
from programdesk.participation.models import BenefitDisbursement
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)


def test_add_three_people_take_attendance_and_see_the_rate(page, login, charlie) -> None:
    schedule = f.schedule_with_sessions(sessions=3, name="Thursday class")
    for first in ["Ana", "Ben", "Cleo"]:
        f.PersonFactory(first_name=first, last_name="Mbeki")
    login(charlie, f"/schedules/{schedule.pk}/participants/")
    page.get_by_label("Find people or accounts").fill("mbeki")
    for first in ["Ana", "Ben", "Cleo"]:
        page.get_by_label(f"Mbeki, {first}").check()
    page.get_by_role("button", name="Add selected to the schedule").click()
    expect(page.get_by_text("3 new enrollments, 3 new assignments, 9 new disbursements")) \
        .to_be_visible()
    expect(page.get_by_role("heading", name="On the roster (3)")).to_be_visible()

    session = schedule.sessions.get(local_date=timezone.localdate())
    page.goto(f"/sessions/{session.pk}/")
    page.get_by_role("button", name="Mark all present").click()
    page.get_by_role("group", name="Status for Mbeki, Ben").get_by_text("Absent").click()
    page.get_by_role("button", name="Save and complete session").click()
    expect(page.get_by_text("Session completed.")).to_be_visible()
    expect(page.locator("#attendance-rate")).to_have_text("67%")
    assert BenefitDisbursement.objects.filter(session=session, status__code="completed") \
        .count() == 2


def test_kiosk_check_in_and_register_a_walk_in(page, login, kim, charlie) -> None:
    schedule = f.schedule_with_sessions(sessions=1, name="Drop-in tutoring")
    rosa = f.PersonFactory(first_name="Rosa", last_name="Delgado")
    services.schedule_add_participants(actor=charlie, schedule=schedule, person_ids=[rosa.pk])
    login(kim)
    expect(page).to_have_url(re.compile("/kiosk/$"))
    page.get_by_role("link", name="Drop-in tutoring").click()
    page.get_by_label("Type your name").fill("rosa d")
    page.get_by_role("button", name="I'm Rosa D.").click()
    expect(page.get_by_text("Welcome, Rosa! You are checked in.")).to_be_visible()
    expect(page.get_by_text("Delgado")).to_have_count(0)

    page.get_by_text("First time here? Register").click()
    page.get_by_label("First name").fill("Samir")
    page.get_by_label("Last name").fill("Haddad")
    page.get_by_label("Postal code").fill("02121")
    page.get_by_role("button", name="Register and check in").click()
    expect(page.get_by_text("Welcome, Samir! You are registered and checked in.")).to_be_visible()
    rows = dict(BenefitDisbursement.objects.values_list("person__first_name", "recipient_type"))
    assert rows == {"Rosa": "enrollment", "Samir": "walk_in"}
