"""The fixed cast (Healthchecks style): alice admin, bob manager, charlie staff, dana viewer,
kim kiosk. ``api`` speaks to /api/v1 with a bearer token; every request that answers 500 fails
the test that made it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.signals import got_request_exception
from django.db import connection
from django.test import Client

from programdesk.core.models import User
from programdesk.core.services import token_create
from tests.factories import UserFactory

PASSWORD = "correct horse battery"


def pytest_report_header(config: pytest.Config) -> str:
    import os

    url = os.environ.get("DATABASE_URL", "")
    backend = "postgresql" if url.startswith("postgres") else "sqlite"
    return f"programdesk database backend: {backend}"


# Fixtures that give a test the database (pytest-django's, and the live server's).
DATABASE_FIXTURES = frozenset({"db", "transactional_db", "django_db_reset_sequences",
                               "django_db_serialized_rollback", "live_server", "django_db_setup"})


def uses_the_database(item: pytest.Item) -> bool:
    """The test reaches the test database: marked django_db, or a fixture it needs is one of
    pytest-django's database fixtures. A test without either is refused every query."""
    names = set(getattr(item, "fixturenames", ()))
    return item.get_closest_marker("django_db") is not None or bool(names & DATABASE_FIXTURES)


@pytest.hookimpl(trylast=True)  # after pytest-django's ordering
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _leave_out_on_postgresql(config, items)
    _long_first(items)


def _leave_out_on_postgresql(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, leave out the tests that never touch the database: pytest-django refuses
    them every query, so they run the same code on the same input as in the SQLite pass
    (parsers, recurrence and eligibility properties, the import contracts, ...). Set
    PROGRAMDESK_PG_ALL=1 to run them on PostgreSQL too."""
    import os

    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or os.environ.get(
            "PROGRAMDESK_PG_ALL"):
        return
    kept: list[pytest.Item] = []
    left: list[pytest.Item] = []
    for item in items:
        (kept if uses_the_database(item) else left).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept


# The tests that take a minute or more (measured with --durations), started first and longest
# first: pytest-xdist hands out tests in collection order, so one of these near the end kept a
# worker busy while the others sat idle. Transactional tests stay where pytest-django puts
# them (last: their flush empties the tables the others expect filled).
LONG_FIRST = (
    "tests/security/test_schemathesis_served.py::",  # gunicorn and ~6,600 requests
    "tests/core/test_commands.py::test_serve_runs_gunicorn",  # serve on a fresh database
    "tests/web/test_hostile_input.py::test_no_page_answers_500",  # ~4,500 requests
    "tests/participation/test_add_participants.py::test_thousand_people",
    "tests/core/test_demo.py::",  # the demo data, loaded twice
)


def _long_first(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        marker = item.get_closest_marker("django_db")
        if marker is not None and marker.kwargs.get("transaction"):
            return len(LONG_FIRST)
        return next((n for n, prefix in enumerate(LONG_FIRST) if item.nodeid.startswith(prefix)),
                    len(LONG_FIRST))

    items.sort(key=rank)  # stable: the rest keep their order


@pytest.fixture(scope="session", autouse=True)
def _quick_password_hashes() -> Iterator[None]:
    """Passwords hashed with a thousand PBKDF2 rounds, not a million (tests/hashers.py). It
    takes the default hasher's place (one hasher per algorithm name: were both listed, a login
    would rehash the password at a million rounds); the other hashers stay behind it."""
    from django.conf import settings
    from django.test.utils import override_settings

    default = "django.contrib.auth.hashers.PBKDF2PasswordHasher"
    hashers = ["tests.hashers.QuickPBKDF2PasswordHasher",
               *(h for h in settings.PASSWORD_HASHERS if h != default)]
    with override_settings(PASSWORD_HASHERS=hashers):
        yield


@pytest.fixture(autouse=True)
def _no_server_errors(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A 500 anywhere — test client or live server thread — fails the test."""
    crashes: list[Any] = []

    def on_exception(sender: Any, request: Any = None, **kwargs: Any) -> None:
        crashes.append(getattr(request, "path", "?"))

    got_request_exception.connect(on_exception, weak=False)
    original = Client.request

    def request(self: Client, **kwargs: Any) -> Any:
        response = original(self, **kwargs)
        if response.status_code >= 500:
            crashes.append(kwargs.get("PATH_INFO", "?"))
        return response

    monkeypatch.setattr(Client, "request", request)
    try:
        yield
    finally:
        got_request_exception.disconnect(on_exception)
    assert not crashes, f"requests answered 500: {crashes}"


@pytest.fixture(autouse=True)
def _reference_data(request: pytest.FixtureRequest) -> None:
    """Transactional tests end with a flush that empties every table, including the status
    values, units and benefit types our data migrations ship: put them back first."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        return
    import importlib

    from django.apps import apps

    request.getfixturevalue("transactional_db")
    for module in ["programdesk.core.migrations.0002_shipped_status_values",
                   "programdesk.programs.migrations.0002_units_and_benefit_types"]:
        migration = importlib.import_module(module)
        (getattr(migration, "ship", None) or migration.seed)(apps, None)


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def alice(db: None) -> User:
    return UserFactory(username="alice", role="admin")


@pytest.fixture
def bob(db: None) -> User:
    return UserFactory(username="bob", role="manager")


@pytest.fixture
def charlie(db: None) -> User:
    return UserFactory(username="charlie", role="staff")


@pytest.fixture
def dana(db: None) -> User:
    return UserFactory(username="dana", role="viewer")


@pytest.fixture
def kim(db: None) -> User:
    return UserFactory(username="kim", role="kiosk")


class ApiClient:
    """A test client for /api/v1 authenticated with a real bearer token."""

    def __init__(self, user: User | None) -> None:
        self.client = Client()
        self.headers: dict[str, str] = {}
        if user is not None:
            token = token_create(actor=None, user=user) if user.pk else ""
            self.headers["Authorization"] = f"Bearer {token}"

    def _call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
              headers: dict[str, str] | None = None, **query: Any) -> Any:
        url = path if path.startswith("/") else f"/api/v1/{path}"
        data: Any = raw if raw is not None else (json.dumps(body) if body is not None else None)
        kwargs: dict[str, Any] = {"headers": {**self.headers, **(headers or {})}}
        if method == "get":
            return self.client.get(url, query or None, **kwargs)
        return getattr(self.client, method)(url, data=data, content_type="application/json",
                                            **kwargs)

    def get(self, path: str, **query: Any) -> Any:
        return self._call("get", path, **query)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self._call("post", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self._call("patch", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self._call("put", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self._call("delete", path, **kw)


@pytest.fixture
def api_as(db: None) -> Any:
    """``api_as(user)`` → an ApiClient; ``api_as(None)`` sends no credentials."""
    return ApiClient


@pytest.fixture
def api(alice: User) -> ApiClient:
    return ApiClient(alice)


def assert_problem(response: Any, status: int, *fields: str) -> dict[str, Any]:
    """The response is RFC 9457 problem JSON with this status, naming these fields."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json"), response["Content-Type"]
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    named = {e["field"] for e in body["errors"]}
    for field in fields:
        assert field in named, f"{field} not in {named}"
    return body
