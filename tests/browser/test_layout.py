"""Phone, tablet and desktop layout and accessibility of the main pages (issue 15, items 10-11).

At 390 px (a phone), 768 px (a tablet) and 1366 px (a laptop), every main page, opened by the
role that uses it:

- never scrolls sideways (`scrollWidth <= innerWidth`): wide tables scroll inside their own box;
- passes axe-core with no serious or critical violation.

axe-core is a vendored test asset (tests/browser/assets, from the npm registry's axe-core
package, MPL-2.0): nothing is downloaded at run time. The pages' Content-Security-Policy
forbids inline scripts, so it is not added as a <script> element: Playwright evaluates its
source through the DevTools protocol, which the policy does not govern, and the pages stay under
their real policy.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from programdesk.participation import services
from tests import factories as f
from tests.security.world import World, build_world

pytestmark = pytest.mark.django_db(transaction=True)

ASSETS = Path(__file__).parent / "assets"
AXE = ASSETS / "axe-4.14.1.min.js"
WIDTHS = {"phone": (390, 844), "tablet": (768, 1024), "desktop": (1366, 900)}
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


def _busy_world() -> World:
    """The security tests' world, plus what makes pages wide and long: many households of
    one name, long names, a roster of twenty."""
    world = build_world()
    side = world.own
    for n in range(12):
        household = f.AccountFactory(name="Garcia household", postal_code=f"0212{n % 10}")
        member = f.PersonFactory(first_name=f"Maria{n}", last_name="Garcia-Fernández de la Torre",
                                 account=household, postal_code=household.postal_code)
        f.EnrollmentFactory(program=side.program, person=member)
    people = [f.PersonFactory(first_name=f"Person{n}", last_name="Okonkwo-Abernathy")
              for n in range(20)]
    for person in people:
        f.EnrollmentFactory(program=side.program, person=person)
    services.schedule_add_participants(actor=world.users["manager"], schedule=side.schedule,
                                       person_ids=[p.pk for p in people])
    return world


def main_pages(world: World) -> list[tuple[str, str, str]]:
    """(name, role that uses it, url) for every main page."""
    own = world.own
    return [
        ("dashboard", "manager", "/"),
        ("people", "staff", "/people/"),
        ("person", "staff", f"/people/{own.person.pk}/"),
        ("accounts", "staff", "/accounts/"),
        ("account", "staff", f"/accounts/{own.account.pk}/"),
        ("programs", "manager", "/programs/"),
        ("program", "manager", f"/programs/{own.program.pk}/"),
        ("benefit", "manager", f"/benefits/{own.benefit.pk}/"),
        ("schedule", "manager", f"/schedules/{own.schedule.pk}/"),
        ("roster", "staff", f"/schedules/{own.schedule.pk}/participants/"),
        ("sessions", "staff", "/sessions/"),
        ("session-sheet", "staff", f"/sessions/{own.session.pk}/"),
        ("check-in", "staff", "/kiosk/"),
        ("kiosk", "kiosk", f"/kiosk/{own.session.pk}/"),
        ("card", "staff", f"/people/{own.person.pk}/card/"),
        ("paper-roster", "staff", f"/sessions/{own.session.pk}/roster/"),
        ("disbursements", "staff", "/disbursements/"),
        ("log-benefits", "staff", f"/people/{own.person.pk}/log-benefits/"),
        ("bulk-disbursement", "staff", "/disbursements/bulk/"),
        ("bulk-disbursement-benefit", "staff", f"/benefits/{own.benefit.pk}/bulk/"),
        ("reports", "manager", "/reports/"),
        ("imports", "staff", "/imports/"),
        ("settings", "admin", "/settings/"),
        # and the pages one level down
        ("cases", "staff", "/cases/"),
        ("case", "staff", f"/cases/{own.case.pk}/"),
        ("schedules", "manager", "/schedules/"),
        ("enrollments", "staff", f"/programs/{own.program.pk}/enrollments/"),
        ("cohort", "staff", f"/cohorts/{own.cohort.pk}/"),
        ("merge", "staff", f"/people/{own.person.pk}/merge/?find=lee"),
        ("new-person", "staff", "/people/new/"),
        ("report-attendance", "manager", "/reports/attendance/"),
        ("report-completion", "manager", "/reports/completion/"),
        ("report-repeat", "manager", "/reports/repeat/"),
        ("report-follow-ups", "manager", "/reports/follow-ups/"),
        ("import", "staff", f"/imports/{world.import_job('staff').pk}/"),
        ("status-values", "admin", "/settings/status-values/"),
        ("custom-fields", "admin", "/settings/custom-fields/"),
        ("eligibility-rules", "admin", "/settings/eligibility-rules/"),
        ("income-guidelines", "admin", "/settings/income-guidelines/"),
    ]


def log_in_as(page: Any, live_server: Any, user: Any) -> None:
    client = Client()
    client.force_login(user)
    page.context.clear_cookies()
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                               "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                               "url": live_server.url}])


def overflow(page: Any) -> str | None:
    """None when the page fits its window; else how wide it is and the widest culprits."""
    return page.evaluate("""() => {
      const width = window.innerWidth, doc = document.documentElement;
      if (doc.scrollWidth <= width) return null;
      const wide = [...document.querySelectorAll('body *')]
        .filter(el => el.getBoundingClientRect().right > width + 1)
        .filter(el => !el.parentElement
                      || el.parentElement.getBoundingClientRect().right <= width + 1)
        .slice(0, 5)
        .map(el => `${el.tagName.toLowerCase()}.${el.className}`
                   + ` right=${Math.round(el.getBoundingClientRect().right)}`);
      return `scrollWidth ${doc.scrollWidth} > ${width}: ${wide.join(', ')}`;
    }""")


def axe_findings(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate("""async () => {
      const r = await axe.run(document, {resultTypes: ['violations']});
      return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => `${v.impact} ${v.id}: ${v.help} — `
                  + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
    }""")
    return list(results)


@pytest.mark.parametrize("size", list(WIDTHS))
def test_main_pages_fit_the_screen_and_pass_axe(page: Any, live_server: Any, size: str) -> None:
    world = _busy_world()
    width, height = WIDTHS[size]
    page.set_viewport_size({"width": width, "height": height})
    # PROGRAMDESK_LAYOUT_SHOTS=<directory> keeps a full-page screenshot of each page, to look at.
    keep = os.environ.get("PROGRAMDESK_LAYOUT_SHOTS")
    found: list[str] = []
    current = None
    for name, role, url in main_pages(world):
        if role != current:
            log_in_as(page, live_server, world.users[role])
            current = role
        response = page.goto(url)
        assert response is not None and response.status == 200, f"{name} {url}"
        page.wait_for_load_state("load")
        if keep:
            Path(keep).mkdir(exist_ok=True)
            page.screenshot(path=str(Path(keep) / f"{size}-{name}.png"), full_page=True)
        wide = overflow(page)
        if wide:
            found.append(f"{name} ({url}) scrolls sideways at {width}px: {wide}")
        found += [f"{name} ({url}) at {width}px: {v}" for v in axe_findings(page)]
    assert not found, "\n".join(found)


def test_the_menu_button_opens_the_navigation_on_a_phone(page: Any, live_server: Any,
                                                        charlie: Any) -> None:
    log_in_as(page, live_server, charlie)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/people/")
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Sessions")) \
        .to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sessions").click()
    expect(page).to_have_url(f"{live_server.url}/sessions/")

    page.set_viewport_size({"width": 1366, "height": 900})
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    # The favicon exists (the browser asks for it; a 404 would be a console error).
    for icon in page.locator("link[rel=icon]").all():
        answer = page.request.get(icon.get_attribute("href"))
        assert answer.status == 200 and answer.headers["content-type"].startswith("image/")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="People")) \
        .to_be_visible()


def test_touch_targets_are_at_least_44_px_on_a_tablet(page: Any, live_server: Any) -> None:
    world = _busy_world()
    page.set_viewport_size({"width": 768, "height": 1024})
    small: list[str] = []
    checks = [
        ("kiosk", f"/kiosk/{world.own.session.pk}/", "main button, main a.button"),
        ("staff", "/kiosk/", "main a, main button"),
        ("staff", f"/sessions/{world.own.session.pk}/",
         "main .status-buttons label, main button.primary"),
        ("staff", f"/schedules/{world.own.schedule.pk}/participants/",
         "main input[type=checkbox], main button.primary"),
    ]
    for role, url, selector in checks:
        log_in_as(page, live_server, world.users[role])
        page.goto(url)
        if role == "kiosk":
            page.get_by_label("Type your name").fill("person")
            page.wait_for_timeout(600)
        for box in page.evaluate(
                """(sel) => [...document.querySelectorAll(sel)]
                   .filter(el => el.offsetParent !== null)
                   .map(el => { const r = el.getBoundingClientRect();
                     const t = el.closest('label') || el;
                     const rt = t.getBoundingClientRect();
                     return [el.outerHTML.slice(0, 80), Math.max(r.width, rt.width),
                             Math.max(r.height, rt.height)]; })""", selector):
            html, w, h = box
            if w < 44 or h < 44:
                small.append(f"{url}: {html} is {w:.0f}×{h:.0f}")
    assert not small, "\n".join(small)


def test_the_kiosk_works_by_keyboard_alone(page: Any, live_server: Any) -> None:
    world = _busy_world()
    log_in_as(page, live_server, world.users["kiosk"])
    page.set_viewport_size({"width": 768, "height": 1024})
    page.goto("/kiosk/")
    # From the top of the page, Tab reaches today's session; Enter opens it.
    target = f"/kiosk/{world.own.session.pk}/"
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == target:
            break
    assert page.evaluate("document.activeElement.getAttribute('href')") == target
    with page.expect_navigation():
        page.keyboard.press("Enter")
    # The name box has the focus (or is reached by Tab).
    for _ in range(15):
        if page.evaluate("document.activeElement.getAttribute('name')") == "q":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('name')") == "q"
    page.keyboard.type("person1")
    button = page.get_by_role("button", name="I'm Person1 O.")
    expect(button).to_be_visible()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "I'm Person1 O.":
            break
    page.keyboard.press("Enter")
    expect(page.get_by_text("Welcome, Person1!")).to_be_visible()


def test_front_desk_screenshots_for_the_docs(page: Any, live_server: Any) -> None:
    """docs/front-desk.md shows these. They are rewritten only when PROGRAMDESK_SCREENSHOTS=1
    (the committed PNGs stay as they are on an ordinary run)."""
    if not os.environ.get("PROGRAMDESK_SCREENSHOTS"):
        pytest.skip("set PROGRAMDESK_SCREENSHOTS=1 to rewrite docs/img/front-desk-*.png")
    world = _busy_world()
    page.set_viewport_size({"width": 768, "height": 1024})
    DOCS_IMG.mkdir(exist_ok=True)
    own = world.own
    shots = [
        ("staff", "/kiosk/", "check-in", None),
        ("kiosk", f"/kiosk/{own.session.pk}/", "kiosk", "person"),
        ("staff", f"/sessions/{own.session.pk}/", "session-sheet", None),
        ("staff", "/people/?q=garcia", "people", None),
        ("staff", "/people/new/", "household-picker", "picker"),
        ("staff", f"/people/{own.person.pk}/log-benefits/", "log-benefits", None),
        ("staff", "/disbursements/", "menu", "menu"),
    ]
    for role, url, name, action in shots:
        log_in_as(page, live_server, world.users[role])
        page.goto(url)
        if action == "person":
            page.get_by_label("Type your name").fill("person1")
            expect(page.get_by_role("button", name="I'm Person1 O.")).to_be_visible()
        if action == "picker":
            page.get_by_label("First name").fill("Luis")
            page.get_by_label("Last name").fill("Garcia")
            page.get_by_label("Search households or organizations").fill("garcia 0212")
        if action == "menu":
            page.get_by_role("button", name="Menu").click()
        path = DOCS_IMG / f"front-desk-{name}.png"
        page.screenshot(path=str(path))
        assert path.stat().st_size > 10_000
