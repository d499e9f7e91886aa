"""The Content-Security-Policy in a real browser: every page of the matrix, the Django admin and
the API's docs load without a single CSP violation (Chromium reports each as a console error
and a ``securitypolicyviolation`` event)."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tests.security.matrix import PAGES
from tests.security.test_matrix import _page_url
from tests.security.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)

LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def _logged_in(page: Any, live_server: Any, user: Any) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                               "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                               "url": live_server.url}])


def _violations(page: Any, console: list[str], url: str) -> list[str]:
    page.goto(url)
    page.wait_for_load_state("load")
    events = page.evaluate("window.__csp || []")
    found = [f"{url}: {message}" for message in console] + [f"{url}: {e}" for e in events]
    console.clear()
    return found


def test_no_page_breaks_the_content_security_policy(page: Any, live_server: Any) -> None:
    world = build_world()
    console: list[str] = []
    page.on("console", lambda msg: console.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    page.context.add_init_script(LISTEN)
    found: list[str] = []

    _logged_in(page, live_server, world.users["admin"])
    client = Client()
    client.force_login(world.users["admin"])
    urls = sorted({_page_url(route, world.own, world, "admin")
                   for (method, route), _entry in PAGES.items()
                   if method == "GET" and route != "logout/"})
    # Pages, not downloads (CSV, XLSX, calendar feeds) nor htmx fragments' special answers.
    answers = {url: client.get(url) for url in urls}
    urls = [url for url, answer in answers.items() if answer.status_code in {200, 403, 404}
            and answer.get("Content-Type", "").startswith("text/html")]
    assert len(urls) > 40
    for url in urls:
        found += _violations(page, console, url)
    # htmx at work: the people search swaps results in.
    page.goto("/people/")
    search = page.locator("input[name=search], input[name=q]").first
    if search.count():
        search.fill("Ada")
        page.wait_for_timeout(800)
        found += [f"/people/ search: {m}" for m in console]
        found += [f"/people/ search: {e}" for e in page.evaluate("window.__csp || []")]
        console.clear()

    _logged_in(page, live_server, world.users["superadmin"])
    staff = world.users["staff"].pk
    for url in ["/admin/", "/admin/core/user/", f"/admin/core/user/{staff}/change/",
                f"/admin/core/user/{staff}/tokens/new/", "/admin/core/apitoken/",
                "/admin/core/auditevent/", "/admin/core/fielddefinition/add/",
                "/api/v1/docs"]:
        found += _violations(page, console, url)
    assert not found, "\n".join(found)
