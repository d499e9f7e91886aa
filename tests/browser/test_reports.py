from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.factories import BenefitFactory, DisbursementFactory, ProgramFactory, unit

pytestmark = pytest.mark.django_db(transaction=True)


def test_filter_a_report_see_numbers_and_chart_and_export_csv(page, login, dana) -> None:
    pantry = ProgramFactory(name="Food pantry")
    meals = BenefitFactory(program=pantry, name="Hot meals", unit=unit("meal"))
    for day in (3, 10, 17):
        DisbursementFactory(assignment__benefit=meals, assignment__enrollment__program=pantry,
                            disbursed_on=dt.date(2026, 3, day), quantity=Decimal("2"))
    DisbursementFactory(disbursed_on=dt.date(2026, 3, 5))  # another program: filtered out

    login(dana, "/reports/")
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    page.get_by_label("Program").select_option(label="Food pantry")
    page.get_by_label("From").fill("2026-03-01")
    page.get_by_label("To").fill("2026-03-31")
    page.get_by_role("button", name="Apply").click()

    expect(page).to_have_url(f"/reports/?program_id={pantry.pk}&benefit_id=&cohort_id=&from=2026-03-01"
                             "&to=2026-03-31")
    expect(page.locator("[data-measure=people_served]")).to_have_text("3")
    expect(page.locator("[data-measure=disbursements]")).to_have_text("3")
    chart = page.get_by_role("img", name="Units delivered by month (meal)")
    expect(chart).to_be_visible()
    expect(chart.locator("rect[fill]").first).to_be_visible()

    with page.expect_download() as info:
        page.get_by_role("link", name="CSV Summary").click()
    download = info.value
    assert download.suggested_filename.startswith("report-summary-")
    path = Path(download.path())
    rows = {r["Measure"]: r["Value"]
            for r in csv.DictReader(path.open(encoding="utf-8-sig", newline=""))}
    assert rows["people_served"] == "3" and rows["units: meal"] == "6.00"
    assert rows["filter: program_id"] == str(pantry.pk)
