"""The authorization matrix (matrix.py) walked for every role, on the user's own program and on
another program: every route, API and pages, answers as the matrix says, never shows a name from
a program the user may not see, and a route with no entry fails."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.test import Client

from tests.conftest import ApiClient
from tests.security import matrix
from tests.security.matrix import API, API_PARAMS, PAGE_OBJECTS, PAGE_PARAMS, PAGES, Api, Page
from tests.security.routes import admin_routes, api_operations, page_routes, url_routes
from tests.security.world import OTHER_MARK, ROLES, Side, World, build_world

pytestmark = pytest.mark.django_db

PEOPLE = ["anonymous", *ROLES]


def _rolled_back(send: Any) -> Any:
    """Send a request and undo whatever it wrote, so every request sees the same world."""
    with transaction.atomic():
        response = send()
        transaction.set_rollback(True)
    return response


def _body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def _leaks(body: bytes, response: Any) -> bool:
    if "spreadsheetml" in response.get("Content-Type", ""):
        return False  # zipped; the CSV twin of every download is checked
    return OTHER_MARK.encode() in body


# --- routes ------------------------------------------------------------------------------------

def test_every_api_operation_has_an_entry() -> None:
    served = set(api_operations())
    missing = sorted(served - set(API))
    stale = sorted(set(API) - served)
    assert not missing, f"API operations with no entry in tests/security/matrix.py: {missing}"
    assert not stale, f"matrix entries for operations that no longer exist: {stale}"


def test_every_page_has_an_entry() -> None:
    served = set(page_routes())
    covered = {route for _, route in PAGES}
    missing = sorted(served - covered)
    stale = sorted(covered - served)
    assert not missing, f"pages with no entry in tests/security/matrix.py: {missing}"
    assert not stale, f"matrix entries for pages that no longer exist: {stale}"


def test_every_url_is_api_page_or_admin() -> None:
    api_routes = {r for r in url_routes() if r.startswith("api/v1/")}
    documented = set(matrix.API_PUBLIC_ROUTES)
    operation_routes = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", "/" + r) for r in api_routes}
    known = {path for _, path in API}
    unexplained = sorted(r for r in api_routes if r not in documented
                         and re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", "/" + r) not in known)
    assert operation_routes and not unexplained, unexplained


# --- the API -----------------------------------------------------------------------------------

def _api_url(path: str, side: Side, entry: Api | None = None) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if entry is not None and name in entry.params:
            return entry.params[name]
        return str(getattr(side, API_PARAMS[name]).pk)

    return re.sub(r"\{(\w+)\}", fill, path)


def _api_expected(entry: Api, who: str, where: str) -> int:
    if who == "anonymous":
        return 401
    if who not in entry.allowed:
        return 403
    if where == "other":
        return {"body": 422, "filter": entry.ok}.get(entry.scope or "", 404)
    return entry.ok


def _api_request(client: ApiClient, method: str, path: str, entry: Api, side: Side,
                 world: World) -> Any:
    url = _api_url(path, side, entry)
    body = entry.body(side, world) if entry.body else None
    query = entry.query(side) if entry.query else {}
    if query:
        url += "?" + urlencode(query)
    if method in {"GET", "HEAD"}:
        return _rolled_back(lambda: client.client.generic(method, url, headers=client.headers))
    if entry.upload is not None:
        return _rolled_back(lambda: api_upload(client, url, entry, side, world))
    return _rolled_back(lambda: client.client.generic(
        method, url, data=json.dumps(body) if body is not None else "",
        content_type="application/json", headers=client.headers))


def api_upload(client: ApiClient, url: str, entry: Api, side: Side, world: World,
               extra: dict[str, Any] | None = None) -> Any:
    """A multipart request (an import's file), with ``extra`` form fields."""
    assert entry.upload is not None
    form = {**{k: json.dumps(v) for k, v in (extra or {}).items()}, **entry.upload(side, world)}
    return client.client.post(url, form, headers=client.headers)


@pytest.mark.parametrize("who", PEOPLE)
def test_api_matrix(who: str) -> None:
    world = build_world()
    client = ApiClient(None if who == "anonymous" else world.users[who])
    routes = sorted(API.items(), key=lambda x: (x[0][1], x[0][0]))
    failures = _api_failures(who, client, world, routes)
    assert not failures, "\n".join(failures)


def _api_failures(who: str, client: ApiClient, world: World,
                  routes: list[tuple[tuple[str, str], Api]]) -> list[str]:
    """Each route as ``who``, in their own program and (where scoped) the other one: the
    answers that differ from the matrix or show the other program's data."""
    failures = []
    for (method, path), entry in routes:
        wheres = ["own", "other"] if who in entry.allowed and entry.scope else ["own"]
        for where in wheres:
            response = _api_request(client, method, path, entry, world.side(where), world)
            expected = _api_expected(entry, who, where)
            body = _body(response)
            if response.status_code != expected:
                failures.append(f"{who} {method} {path} ({where}): {response.status_code}, "
                                f"expected {expected}: {body[:200]!r}")
            elif response.status_code < 300 and _leaks(body, response):
                failures.append(f"{who} {method} {path}: shows the other program's data")
    return failures


# Households: the routes naming an account, run again with a household that no enrollment
# makes visible, only its member. Another program's household answers like another program's
# object (404 in the path, 422 in the body).
HOUSEHOLD_API = {key: entry for key, entry in API.items()
                 if "{account_id}" in key[1] or key == ("POST", f"{matrix.V}/people")}
HOUSEHOLD_API[("POST", f"{matrix.V}/cases")] = Api(
    matrix.WRITE, scope="body", ok=201,
    body=lambda s, w: {"account_id": s.account.pk, "subject": "Rent"})
HOUSEHOLD_PAGES = {key: entry for key, entry in PAGES.items()
                   if key[1].startswith("accounts/<int:pk>/")}
HOUSEHOLD_PAGES[("GET", "cases/new/")] = Page(matrix.WRITE, scoped=False,
                                              query=lambda s: {"account": s.account.pk})
HOUSEHOLD_PAGES[("POST", "cases/new/")] = Page(matrix.WRITE, scoped=False, ok=302, query=lambda s: {
    "account": s.account.pk, "subject": "Rent", "status": "open"})


def _households(world: World) -> World:
    from dataclasses import replace

    # The household's member stands in for the person (ending a membership names both).
    return replace(world, own=replace(world.own, account=world.own.household,
                                      person=world.own.member),
                   other=replace(world.other, account=world.other.household,
                                 person=world.other.member))


@pytest.mark.parametrize("who", PEOPLE)
def test_api_matrix_households(who: str) -> None:
    world = _households(build_world())
    client = ApiClient(None if who == "anonymous" else world.users[who])
    failures = _api_failures(who, client, world, sorted(HOUSEHOLD_API.items()))
    assert not failures, "\n".join(failures)


def test_api_public_routes(client: Client) -> None:
    for route, status in matrix.API_PUBLIC_ROUTES.items():
        assert client.get("/" + route).status_code == status, route


# --- pages -------------------------------------------------------------------------------------

def _page_url(route: str, side: Side, world: World, who: str) -> str:
    route = re.sub(r"<slug:(\w+)>", lambda m: matrix.PAGE_SLUGS[m.group(1)], route)
    if route.startswith("imports/<int:pk>"):
        # The user's own job, or (on the "other" side, or for a role that cannot import)
        # another user's.
        owner = who if side is world.own and who in {"admin", "manager", "staff"} else "superadmin"
        return "/" + route.replace("<int:pk>", str(world.import_job(owner).pk))
    if route.startswith("exports/jobs/<int:pk>"):
        owner = (who if side is world.own and who in {"admin", "manager", "staff", "viewer"}
                 else "superadmin")
        return "/" + route.replace("<int:pk>", str(world.export_job(owner).pk))
    if route in matrix.PAGE_GLOBAL_OBJECTS:
        obj = getattr(world, matrix.PAGE_GLOBAL_OBJECTS[route])
        return "/" + route.replace("<int:pk>", str(obj.pk))
    owner = max((prefix for prefix in PAGE_OBJECTS if route.startswith(prefix)), key=len,
                default=None)

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        attr = PAGE_PARAMS.get(name) or PAGE_OBJECTS[owner]
        return str(getattr(side, attr).pk)

    return "/" + re.sub(r"<int:(\w+)>", fill, route)


def _page_expected(entry: Page, who: str, where: str, url: str) -> tuple[int, str | None]:
    """The status and, for redirects to the login or kiosk page, where to."""
    if entry.public is not None:
        return entry.public[who], None
    if who == "anonymous":
        return 302, "/login/"
    if who == "kiosk" and not entry.kiosk_page:
        return 302, "/kiosk/"
    if who not in entry.allowed:
        return 403, None
    if where == "other" and (entry.scoped or entry.query):
        return entry.other, None
    return entry.ok, None


@pytest.mark.parametrize("who", PEOPLE)
def test_page_matrix(who: str) -> None:
    world = build_world()
    client = Client()
    if who != "anonymous":
        client.force_login(world.users[who])
    failures = []
    # Logging out ends the session the other requests use: last.
    for (method, route), entry in sorted(PAGES.items(),
                                         key=lambda x: (x[0][1] == "logout/", x[0][1], x[0][0])):
        scoped = entry.scoped or entry.query is not None
        wheres = ["own", "other"] if who in entry.allowed and scoped else ["own"]
        for where in wheres:
            side = world.side(where)
            url = _page_url(route, side, world, who)
            query = entry.query(side) if entry.query else {}
            if method == "GET":
                response = _rolled_back(lambda: client.get(url, query))  # noqa: B023
            else:
                response = _rolled_back(lambda: client.post(url, query))  # noqa: B023
            status, location = _page_expected(entry, who, where, url)
            answered = response.status_code
            if answered != status or (location and not response["Location"].startswith(
                    location)):
                failures.append(f"{who} {method} {url} ({where}): {answered} "
                                f"{response.get('Location', '')}, expected {status} "
                                f"{location or ''}")
            elif answered < 300 and _leaks(_body(response), response):
                failures.append(f"{who} {method} {url}: shows the other program's data")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("who", PEOPLE)
def test_page_matrix_households(who: str) -> None:
    world = _households(build_world())
    client = Client()
    if who != "anonymous":
        client.force_login(world.users[who])
    failures = []
    for (method, route), entry in sorted(HOUSEHOLD_PAGES.items()):
        wheres = ["own", "other"] if who in entry.allowed else ["own"]
        for where in wheres:
            side = world.side(where)
            url = _page_url(route, side, world, who)
            query = entry.query(side) if entry.query else {}
            if method == "GET":
                response = _rolled_back(lambda: client.get(url, query))  # noqa: B023
            else:
                if route == "cases/new/":
                    url += f"?account={side.account.pk}"
                response = _rolled_back(lambda: client.post(url, query))  # noqa: B023
            status, location = _page_expected(entry, who, where, url)
            if response.status_code != status or (location and not response["Location"]
                                                  .startswith(location)):
                failures.append(f"{who} {method} {url} ({where}): {response.status_code}, "
                                f"expected {status} {location or ''}")
            elif response.status_code < 300 and _leaks(_body(response), response):
                failures.append(f"{who} {method} {url}: shows the other program's data")
    assert not failures, "\n".join(failures)


# --- the Django admin --------------------------------------------------------------------------

def test_admin_site_is_for_admins_who_see_every_program() -> None:
    """Every admin URL: anonymous and every role — a program-limited admin too, since the admin
    is not program-scoped — are sent to the admin's login; a kiosk to /kiosk/. An admin who
    sees every program opens each model's list and each object's page."""
    from django.apps import apps
    from django.contrib import admin

    world = build_world()
    failures = []
    urls = _admin_urls(world)
    assert len(urls) > 50
    for who in PEOPLE:
        client = Client()
        if who != "anonymous":
            client.force_login(world.users[who])
        for url in urls:
            response = client.get(url)
            where = "/kiosk/" if who == "kiosk" else "/admin/login/"
            if response.status_code != 302 or not response["Location"].startswith(where):
                failures.append(f"{who} {url}: {response.status_code}")
    client = Client()
    client.force_login(world.users["superadmin"])
    read_only = {m for m, a in admin.site._registry.items()
                 if not a.has_add_permission(_admin_request(world))}
    for url in urls:
        if (url.endswith(("/delete/", "/history/", "/password/"))
                or url.startswith(("/admin/autocomplete/", "/admin/r/"))):
            continue
        try:
            app_label, model_name = url.split("/")[2:4]
            model = apps.get_model(app_label, model_name)
        except (LookupError, TypeError, ValueError):
            model = None
        expected = 403 if url.endswith("/add/") and model in read_only else 200
        if model is not None and re.fullmatch(r"/admin/\w+/\w+/\d+/", url):
            expected = 302  # Django's old object URL, redirected to .../change/
        response = client.get(url)
        if response.status_code != expected:
            failures.append(f"superadmin {url}: {response.status_code}, expected {expected}")
    assert not failures, "\n".join(failures)


def _admin_urls(world: World) -> list[str]:
    """Every admin URL, each object URL with the first object of its model."""
    from django.apps import apps

    urls = []
    for route in admin_routes():
        if "(?P" in route or route in {"admin/login/", "admin/logout/"}:
            continue
        url = "/" + route
        if route.startswith("admin/r/"):  # "view on site": a content type and an object
            url = f"/admin/r/1/{world.own.program.pk}/"
        elif "<path:object_id>" in url or "<id>" in url:
            app_label, model_name = route.split("/")[1:3]
            model = apps.get_model(app_label, model_name)
            obj = model._default_manager.order_by("pk").first()
            if obj is None:
                continue
            url = url.replace("<path:object_id>", str(obj.pk)).replace("<id>", str(obj.pk))
        urls.append(url)
    return urls


def _admin_request(world: World) -> Any:
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = world.users["superadmin"]
    return request
