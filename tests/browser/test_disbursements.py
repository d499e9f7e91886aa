from __future__ import annotations

import pytest
from playwright.sync_api import expect

from programdesk.participation.models import BenefitDisbursement
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)


def test_case_worker_logs_three_benefits_from_a_case(page, login, bob) -> None:
    program = f.ProgramFactory(name="Case Management")
    f.BenefitFactory(program=program, name="Bus pass", unit=f.unit("pass"))
    f.BenefitFactory(program=program, name="Job coaching", unit=f.unit("hour"))
    f.BenefitFactory(program=program, name="Résumé review", unit=f.unit("hour"))
    case = f.CaseFactory(subject="Back to work", person__first_name="Dee",
                         person__last_name="Mensah")
    login(bob, f"/cases/{case.pk}/")
    page.get_by_role("link", name="Log benefits").click()
    expect(page.get_by_role("heading", name="Log benefits for Dee Mensah")).to_be_visible()
    page.get_by_label("Benefit 1").select_option(label="Bus pass (pass)")
    page.get_by_label("Quantity 1").fill("1")
    page.get_by_label("Benefit 2").select_option(label="Job coaching (hour)")
    page.get_by_label("Quantity 2").fill("1")
    page.get_by_label("Benefit 3").select_option(label="Résumé review (hour)")
    page.get_by_label("Quantity 3").fill("30")
    page.get_by_label("Unit 3").select_option(label="minutes (hourly benefits)")
    page.get_by_role("button", name="Log benefits").click()
    page.wait_for_url(f"**/cases/{case.pk}/")
    expect(page.get_by_text("Logged 3 benefits.")).to_be_visible()
    rows = dict(BenefitDisbursement.objects.values_list("benefit__name", "quantity"))
    assert rows == {"Bus pass": 1, "Job coaching": 1, "Résumé review": 0.5}
    assert set(BenefitDisbursement.objects.values_list("case_id", flat=True)) == {case.pk}


def test_anonymous_bulk_of_forty_meals(page, login, bob) -> None:
    meal = f.BenefitFactory(name="Hot meal", unit=f.unit("meal"))
    login(bob, f"/benefits/{meal.pk}/bulk/")
    page.get_by_role("link", name="Anonymous").click()
    page.get_by_label("Quantity per recipient (in total)").fill("40")
    page.get_by_label("Date").fill("2026-03-04")
    page.get_by_label("Number of recipients").fill("40")
    page.get_by_role("button", name="Save disbursements").click()
    expect(page.get_by_text("Saved 1 disbursement, 1 new enrollment.")).to_be_visible()
    expect(page.get_by_role("cell", name="40 anonymous")).to_be_visible()
    expect(page.get_by_role("cell", name="Completed")).to_be_visible()


def test_walk_in_bulk_shows_the_schedule_warning(page, login, bob) -> None:
    schedule = f.schedule_with_sessions(sessions=2, benefit__name="Exercise class")
    for first in ["Gloria", "Harold"]:
        f.PersonFactory(first_name=first, last_name="Nakamura")
    login(bob, f"/benefits/{schedule.benefit_id}/bulk/")
    expect(page.locator("#schedule-warning")).to_contain_text("This benefit has a schedule")
    page.get_by_label("Name").fill("nakamura")
    page.get_by_role("button", name="Filter").click()
    page.get_by_label("Nakamura, Gloria").check()
    page.get_by_label("Nakamura, Harold").check()
    page.get_by_role("button", name="Save disbursements").click()
    expect(page.get_by_text("Saved 2 disbursements, 2 new enrollments.")).to_be_visible()
    assert BenefitDisbursement.objects.filter(recipient_type="walk_in").count() == 2
