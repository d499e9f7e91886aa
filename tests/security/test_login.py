"""Logins and sessions: lockout per username and per address (the address from a proxy header
only when configured), failures logged without passwords, the idle timeout, a disabled user's
sessions and tokens ended, and `check --deploy` clean with production settings."""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from programdesk.core import services
from programdesk.core.models import ApiToken, AuditEvent, LoginAttempt, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _fast_hashes(settings: Any) -> None:
    """Each login checks a password; the default hasher's million rounds would dominate."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def eve() -> User:
    return UserFactory(username="eve", role="staff")


def _login(client: Client, username: str, password: str, **headers: str) -> Any:
    return client.post("/login/", {"username": username, "password": password},
                       headers=headers)


def test_five_failures_lock_the_username_with_a_clear_message(eve: User, caplog: Any) -> None:
    client = Client()
    caplog.set_level(logging.WARNING, logger="programdesk.security")
    for _ in range(5):
        response = _login(client, "eve", "wrong password 1")
        assert response.status_code == 200
        assert b"did not match" in response.content
    response = _login(client, "eve", PASSWORD)
    assert response.status_code == 200  # the right password, but locked out
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session
    failures = [r for r in caplog.records if "login failed" in r.getMessage()]
    assert len(failures) == 5
    assert "'eve'" in failures[0].getMessage() and "127.0.0.1" in failures[0].getMessage()
    assert not any("wrong password" in r.getMessage() for r in caplog.records)
    assert any("locked out" in r.getMessage() for r in caplog.records)
    # Another user from the same desk is not locked by eve's failures.
    UserFactory(username="fay", role="staff")
    assert _login(Client(), "fay", PASSWORD).status_code == 302


def test_lockout_ends_after_the_window(eve: User) -> None:
    for _ in range(5):
        _login(Client(), "Eve", "nope")  # usernames count case-insensitively
    assert b"Too many" in _login(Client(), "eve", PASSWORD).content
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=16)):
        assert _login(Client(), "eve", PASSWORD).status_code == 302


def test_a_successful_login_clears_the_username_failures(eve: User) -> None:
    for _ in range(4):
        _login(Client(), "eve", "nope")
    assert _login(Client(), "eve", PASSWORD).status_code == 302
    assert not LoginAttempt.objects.filter(username="eve").exists()
    for _ in range(4):
        _login(Client(), "eve", "nope")
    assert _login(Client(), "eve", PASSWORD).status_code == 302


def test_many_usernames_from_one_address_lock_the_address(eve: User, settings: Any) -> None:
    settings.LOCKOUT_IP_FAILURES = 6
    for n in range(6):
        _login(Client(), f"guess{n}", "nope")
    assert b"Too many" in _login(Client(), "eve", PASSWORD).content
    elsewhere = Client(REMOTE_ADDR="10.0.0.7")
    assert _login(elsewhere, "eve", PASSWORD).status_code == 302


def test_forwarded_header_is_ignored_unless_configured(eve: User, settings: Any) -> None:
    settings.LOCKOUT_IP_FAILURES = 3
    for n in range(3):  # an attacker rotating a header it controls
        _login(Client(), f"guess{n}", "nope", X_Forwarded_For=f"203.0.113.{n}")
    assert set(LoginAttempt.objects.values_list("ip", flat=True)) == {"127.0.0.1"}
    assert b"Too many" in _login(Client(), "eve", PASSWORD).content


def test_trusted_proxy_header_gives_the_client_address(eve: User, settings: Any) -> None:
    settings.LOCKOUT_IP_FAILURES = 3
    settings.TRUSTED_PROXY_IP_HEADER = "X-Forwarded-For"
    for n in range(3):  # the proxy appends the real client; what the client sent comes first
        _login(Client(), f"guess{n}", "nope", X_Forwarded_For=f"6.6.6.{n}, 198.51.100.9")
    assert set(LoginAttempt.objects.values_list("ip", flat=True)) == {"198.51.100.9"}
    assert b"Too many" in _login(Client(), "eve", PASSWORD,
                                 X_Forwarded_For="198.51.100.9").content
    # Another client behind the same proxy logs in.
    assert _login(Client(), "eve", PASSWORD, X_Forwarded_For="198.51.100.10").status_code == 302


def test_the_admin_login_is_locked_out_too() -> None:
    UserFactory(username="ada", role="admin")
    for _ in range(5):
        Client().post("/admin/login/", {"username": "ada", "password": "nope"})
    response = Client().post("/admin/login/?next=/admin/",
                             {"username": "ada", "password": PASSWORD})
    assert response.status_code == 200 and b"Too many failed logins" in response.content


def test_sessions_end_after_thirty_idle_minutes(eve: User) -> None:
    client = Client()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert _login(client, "eve", PASSWORD).status_code == 302
    with time_machine.travel(start + dt.timedelta(minutes=25), tick=False):
        assert client.get("/people/").status_code == 200  # activity renews the session
    with time_machine.travel(start + dt.timedelta(minutes=50), tick=False):
        assert client.get("/people/").status_code == 200
    with time_machine.travel(start + dt.timedelta(minutes=81), tick=False):
        response = client.get("/people/")
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def _logged_in(user: User) -> tuple[Client, Any]:
    from tests.conftest import ApiClient

    page = Client()
    page.force_login(user)
    return page, ApiClient(user)


def test_disabling_a_user_in_the_admin_ends_sessions_and_tokens(eve: User) -> None:
    page, api = _logged_in(eve)
    assert page.get("/people/").status_code == 200 and api.get("people").status_code == 200
    boss = UserFactory(username="boss", role="admin")
    admin = Client()
    admin.force_login(boss)
    form = admin.get(f"/admin/core/user/{eve.pk}/change/").context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "is_active"}
    data.update(programs=[], groups=[], user_permissions=[], last_login_0="",
                last_login_1="", date_joined_0="2026-01-01", date_joined_1="10:00")
    response = admin.post(f"/admin/core/user/{eve.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    eve.refresh_from_db()
    assert not eve.is_active
    assert page.get("/people/").status_code == 302
    assert api.get("people").status_code == 401
    assert not ApiToken.objects.filter(user=eve).exists()
    assert not [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id")
                == str(eve.pk)]
    assert AuditEvent.objects.filter(action="user.access_ended", object_id=eve.pk).exists()
    assert AuditEvent.objects.filter(action="admin.change", object_id=eve.pk,
                                     actor=boss).exists()


def test_disabling_a_user_through_the_service(eve: User) -> None:
    page, api = _logged_in(eve)
    other_page, other_api = _logged_in(UserFactory(username="gus", role="staff"))
    services.user_set_active(actor=None, user=eve, is_active=False)
    assert page.get("/people/").status_code == 302
    assert api.get("people").status_code == 401
    assert other_page.get("/people/").status_code == 200  # nobody else is logged out
    assert other_api.get("people").status_code == 200
    assert AuditEvent.objects.filter(action="user.disable", object_id=eve.pk).exists()
    services.user_set_active(actor=None, user=eve, is_active=True)
    assert page.get("/people/").status_code == 302  # the old session stays ended


PRODUCTION = {
    "SECRET_KEY": "k" * 20 + "production-secret-key-with-enough-entropy-0123456789",
    "ALLOWED_HOSTS": "desk.example.org", "HTTPS": "1", "DEBUG": "0",
    "SECURE_HSTS_PRELOAD": "1", "DJANGO_SETTINGS_MODULE": "programdesk.settings",
}


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    """docs/deploy.md's settings: `manage.py check --deploy` has nothing to say."""
    # The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE is the test process's, not production's.
    env = {k: v for k, v in os.environ.items()
           if k not in {"DEBUG", "PROGRAMDESK_TESTING", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(PRODUCTION, PROGRAMDESK_VAR_DIR=str(tmp_path))
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
