"""The demographics and funder pages in a browser: a number opens the rows behind it, and no
page scrolls sideways on a phone, a tablet or a laptop."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.reports.test_demographics import M_END, M, world  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = (390, 768, 1366)
PAGES = ["/reports/demographics/", "/reports/tefap/", "/reports/csbg/",
         "/reports/new-vs-returning/"]


def test_a_number_opens_its_rows(page, login, dana, world) -> None:  # noqa: F811
    login(dana, "/reports/")
    page.goto(f"/reports/demographics/?from={M.isoformat()}&to={M_END.isoformat()}")
    page.locator("a[data-measure=children_0_17]").click()
    expect(page.get_by_role("heading", name="Members aged 0-17")).to_be_visible()
    expect(page.get_by_role("cell", name="Ben", exact=True)).to_have_count(2)


@pytest.mark.parametrize("path", PAGES)
def test_nothing_scrolls_sideways(page, login, dana, world, path: str) -> None:  # noqa: F811
    shots = os.environ.get("SCREENSHOTS_DIR")
    login(dana, "/reports/")
    page.goto(f"{path}?from={M.isoformat()}&to={M_END.isoformat()}")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        overflow: Any = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, (path, width, overflow)
        if shots:
            name = path.strip("/").replace("/", "-")
            page.screenshot(path=str(Path(shots) / f"{name}-{width}.png"), full_page=True)
