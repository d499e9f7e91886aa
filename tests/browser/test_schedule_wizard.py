from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from programdesk.scheduling.models import BenefitSchedule
from tests.factories import BenefitFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_create_a_weekly_schedule_preview_drop_a_date_and_save(page, login, bob) -> None:
    benefit = BenefitFactory(name="Job skills class")
    login(bob, f"/benefits/{benefit.pk}/schedules/new/")
    expect(page.get_by_role("heading", name="New schedule")).to_be_visible()

    # 1. Details
    page.get_by_label("Name").fill("Spring cohort")
    page.get_by_label("Time zone").fill("America/New_York")
    page.get_by_label("Location").fill("Room 4")
    page.get_by_label("Capacity").fill("25")

    # 2. Recurrence: weekly on Tuesday and Thursday, 6 sessions. Only the parts of the rule
    # that apply to "weekly" are shown.
    page.get_by_label("First date").fill("2030-03-05")
    page.get_by_label("Starts at").fill("18:00")
    page.get_by_label("Ends at").fill("20:00")
    page.get_by_label("Repeats").select_option("weekly")
    expect(page.get_by_role("group", name="Day of the month")).to_be_hidden()
    weekdays = page.get_by_role("group", name="Weekdays")
    for day in ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]:
        weekdays.get_by_label(day).set_checked(day in ("Tuesday", "Thursday"))
    page.get_by_label("After N sessions").check()
    page.get_by_label("Number of sessions").fill("6")

    # 3. Preview (htmx swaps the form in place): six dates, nothing written yet.
    page.get_by_role("button", name="Preview sessions").click()
    expect(page.get_by_text("Weekly on Tuesday and Thursday, 6 times")).to_be_visible()
    keep = page.locator("input[name=keep]")
    expect(keep).to_have_count(6)
    assert not BenefitSchedule.objects.exists()

    # Drop Thursday 7 March (a holiday).
    page.get_by_label(re.compile("Thu 7 Mar 2030")).uncheck()

    # 4. Save.
    page.get_by_role("button", name="Create schedule").click()
    expect(page.get_by_role("heading", name="Spring cohort")).to_be_visible()
    expect(page.get_by_text("Created “Spring cohort” with 5 sessions.")).to_be_visible()

    schedule = BenefitSchedule.objects.get()
    dates = sorted(schedule.sessions.values_list("local_date", flat=True))
    assert dt.date(2030, 3, 7) not in dates and len(dates) == 5
    assert dates[0] == dt.date(2030, 3, 5)
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.first).to_contain_text("6:00–8:00 PM EST")
    expect(page.get_by_label("Subscription link")).to_have_value(
        re.compile(rf"/api/v1/schedules/{schedule.pk}/calendar\.ics\?key="))


def test_wizard_shows_field_errors_in_place(page, login, bob) -> None:
    benefit = BenefitFactory()
    login(bob, f"/benefits/{benefit.pk}/schedules/new/")
    page.get_by_label("Name").fill("Evenings")
    page.get_by_label("First date").fill("2030-03-05")
    page.get_by_label("Repeats").select_option("weekly")
    weekdays = page.get_by_role("group", name="Weekdays")
    for box in weekdays.get_by_role("checkbox").all():
        box.uncheck()
    page.get_by_role("button", name="Preview sessions").click()
    expect(page.get_by_text("Choose at least one weekday.")).to_be_visible()
    expect(page.get_by_role("button", name="Create schedule")).to_have_count(0)
