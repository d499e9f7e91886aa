"""A service limit at the front desk, in a real browser: the Harris household got its emergency
kit this month (Ana, at Site B); when Ben is marked present the sheet says "already served this
month on … at …" and keeps the marks; a manager then goes past the limit with a reason.

Set ``PROGRAMDESK_SCREENSHOTS`` to a directory to keep screenshots (390, 768, 1366 px)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from programdesk.core.models import AuditEvent
from programdesk.participation import services
from programdesk.participation.models import BenefitDisbursement
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def _harris_session(charlie: Any) -> tuple[Any, Any]:
    today = timezone.localdate()
    benefit = f.BenefitFactory(name="Emergency kit", limit_max=1, limit_per="month",
                               limit_scope="household")
    session = f.SessionFactory(schedule=f.ScheduleFactory(benefit=benefit, first_date=today,
                                                          name="Kit pick-up"),
                               local_date=today, location="Site B")
    household = f.AccountFactory(name="Harris", declared_size=0)
    ana, ben = (f.MembershipFactory(account=household, relationship=r,
                                    person=f.PersonFactory(first_name=n, last_name="Harris")
                                    ).person for r, n in (("head", "Ana"), ("child", "Ben")))
    services.session_add_participants(actor=charlie, session=session,
                                      person_ids=[ana.pk, ben.pk])
    services.check_in(actor=charlie, session=session, person_id=ana.pk)
    return session, ben


def _shoot(page: Any, name: str) -> None:
    if folder := os.environ.get("PROGRAMDESK_SCREENSHOTS"):
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def _mark_ben_present_and_save(page: Any) -> None:
    page.get_by_role("group", name="Status for Harris, Ben").get_by_text("Present").click()
    page.get_by_role("button", name="Save attendance").click()
    page.wait_for_load_state("domcontentloaded")


@pytest.mark.parametrize("width,height", [(390, 844), (768, 1024), (1366, 900)])
def test_the_front_desk_sees_when_and_where_and_a_manager_overrides(
        page: Any, login: Any, charlie: Any, bob: Any, width: int, height: int) -> None:
    session, ben = _harris_session(charlie)
    served = f"already served this month on {timezone.localdate().isoformat()} at Site B"
    page.set_viewport_size({"width": width, "height": height})

    login(charlie, f"/sessions/{session.pk}/")
    _mark_ben_present_and_save(page)
    expect(page.get_by_text(served)).to_be_visible(timeout=20_000)
    expect(page.get_by_text("Attendance not saved yet")).to_be_visible()
    expect(page.get_by_label("Reason to go past the service limit (manager)")).to_have_count(0)
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    _shoot(page, f"limit-refused-staff-{width}")
    assert BenefitDisbursement.objects.get(person=ben).status.bucket != "delivered"

    # Log out as a shared tablet does (clearing cookies races the front desk's background
    # fetches, whose answers set the session cookie again).
    menu = page.get_by_role("button", name="Menu")
    if menu.is_visible():
        menu.click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/**")
    login(bob, f"/sessions/{session.pk}/")
    _mark_ben_present_and_save(page)
    expect(page.get_by_text(served)).to_be_visible(timeout=20_000)
    reason = page.get_by_label("Reason to go past the service limit (manager)")
    expect(reason).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    _shoot(page, f"limit-refused-manager-{width}")
    # The marks were kept: Ben is still marked present; a reason and Save go past the limit.
    reason.fill("Ben lives with his father too; his kit was lost")
    page.get_by_role("button", name="Save attendance").click()
    expect(page.get_by_text("Attendance saved (1 changed).")).to_be_visible(timeout=20_000)
    assert BenefitDisbursement.objects.get(person=ben).status.code == "completed"
    event = AuditEvent.objects.get(action="attendance.record")
    assert event.reason == "Ben lives with his father too; his kit was lost"
    assert event.before["limit_overridden"][0]["person_id"] == ben.pk
