"""Nothing destructive in one click: deleting future sessions at tablet width (768 px) asks
first, saying what would go, and says after what went. Two clicks, no JavaScript needed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from programdesk.web import wording
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def test_delete_future_sessions_confirms_what_goes_at_tablet_width(page, login, bob) -> None:
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    schedule = f.schedule_with_sessions(sessions=5, first=tomorrow)
    days = sorted(schedule.sessions.values_list("local_date", flat=True))
    page.set_viewport_size({"width": 768, "height": 1024})
    login(bob, f"/schedules/{schedule.pk}/")

    # Click 1: the form is prefilled with today; it only opens the confirmation.
    expect(page.get_by_label("Delete sessions after")).to_have_value(
        timezone.localdate().isoformat())
    page.get_by_role("button", name="Delete future sessions…").click()
    expect(page.get_by_role("heading", name="Delete future sessions?")).to_be_visible()
    expect(page.get_by_text(
        f"This will delete 5 sessions from {wording.day(days[0])} to {wording.day(days[-1])}"
    )).to_be_visible()
    expect(page.get_by_text("0 sessions after that date have recorded attendance")
           ).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    assert schedule.sessions.count() == 5

    # Click 2: confirm.
    page.get_by_role("button", name="Delete 5 sessions").click()
    expect(page.get_by_text(
        f"Deleted 5 sessions ({wording.day(days[0])} – {wording.day(days[-1])})."
    )).to_be_visible()
    expect(page.get_by_role("heading", name=schedule.name)).to_be_visible()
    assert schedule.sessions.count() == 0
