"""Hardening (docs/security.md): the Content-Security-Policy and no-store on every answer,
templates without inline scripts or styles, the absolute session lifetime, API tokens that
expire and rotate, the purge, an audited `changepassword`, and private file modes."""

from __future__ import annotations

import datetime as dt
import importlib
import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from programdesk.core import services
from programdesk.core.models import ApiToken, AuditEvent, IdempotencyRecord
from programdesk.imports.jobs import import_job_create, job_path
from programdesk.imports.progress import imports_dir
from tests.conftest import ApiClient
from tests.factories import UserFactory
from tests.security.matrix import PAGES
from tests.security.test_matrix import _page_url
from tests.security.world import build_world

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = sorted(REPO.glob("programdesk/**/templates"))
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _fast_hashes(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _csp(response: Any) -> dict[str, str]:
    header = response.get("Content-Security-Policy", "")
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


def _no_store(response: Any) -> bool:
    return "no-store" in [v.strip() for v in response.get("Cache-Control", "").split(",")]


# --- the Content-Security-Policy and Cache-Control ---------------------------------------------

def test_every_page_has_the_csp_and_is_not_stored() -> None:
    """Every page of the matrix, as an admin of the own program and as a Django superuser-like
    admin (the Django admin's index too): a strict policy and ``no-store``, whatever the status."""
    world = build_world()
    client = Client()
    client.force_login(world.users["admin"])
    checked = 0
    for (method, route), _entry in sorted(PAGES.items()):
        if method != "GET":
            continue
        url = _page_url(route, world.own, world, "admin")
        response = client.get(url)
        policy = _csp(response)
        assert policy.get("script-src") == "script-src 'self'", (url, policy)
        assert policy.get("style-src") == "style-src 'self'", (url, policy)
        assert policy.get("frame-ancestors") == "frame-ancestors 'none'", (url, policy)
        assert _no_store(response), (url, response.get("Cache-Control"))
        checked += 1
    assert checked > 40
    admin = Client()
    admin.force_login(world.users["superadmin"])
    staff_page = f"/admin/core/user/{world.users['staff'].pk}/change/"
    for url in ["/admin/", "/admin/core/user/", staff_page]:
        response = admin.get(url)
        assert response.status_code == 200, url
        assert _csp(response).get("script-src") == "script-src 'self'" and _no_store(response)


def test_anonymous_pages_and_api_answers_are_not_stored_but_static_files_are_cached() -> None:
    anonymous = Client()
    for url in ["/login/", "/people/", "/healthz", "/api/v1/people"]:
        response = anonymous.get(url)
        assert _no_store(response), url
        assert "Content-Security-Policy" in response, url
    user = UserFactory(role="staff")
    api = ApiClient(user)
    response = api.get("people")
    assert response.status_code == 200 and _no_store(response)
    static = anonymous.get("/static/web/app.css")
    assert static.status_code == 200
    assert not _no_store(static)


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_BLOCK = re.compile(r"<style\b", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
EVENT_ATTRIBUTE = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"""(href|src|action)\s*=\s*["']\s*javascript:""", re.IGNORECASE)


def test_templates_have_no_inline_scripts_or_styles() -> None:
    """The policy allows scripts and styles from our static files only: any of these in a
    template would be blocked by the browser (and would need 'unsafe-inline')."""
    templates = [p for d in TEMPLATE_DIRS for p in d.rglob("*.html")]
    assert len(templates) > 50
    found = []
    for path in templates:
        text = path.read_text(encoding="utf-8")
        for name, pattern in [("inline <script>", INLINE_SCRIPT), ("<style>", STYLE_BLOCK),
                              ("style= attribute", STYLE_ATTRIBUTE),
                              ("event handler attribute", EVENT_ATTRIBUTE),
                              ("javascript: URL", JAVASCRIPT_URL)]:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(REPO)}:{line}: {name}")
    assert not found, "\n".join(found)


def test_htmx_is_told_not_to_inject_styles_or_eval() -> None:
    base = (REPO / "programdesk/web/templates/web/base.html").read_text()
    assert '"includeIndicatorStyles": false' in base and '"allowEval": false' in base


# --- sessions ----------------------------------------------------------------------------------

def test_sessions_end_after_the_absolute_lifetime_however_active() -> None:
    UserFactory(username="eve", role="staff", password=PASSWORD)
    client = Client()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        response = client.post("/login/", {"username": "eve", "password": PASSWORD})
        assert response.status_code == 302
    # A request every 20 minutes keeps the idle timeout (30 minutes) from ending it...
    minutes = 20
    while minutes < 12 * 60:
        with time_machine.travel(start + dt.timedelta(minutes=minutes), tick=False):
            assert client.get("/people/").status_code == 200, minutes
        minutes += 20
    # ... but not beyond 12 hours after the login.
    with time_machine.travel(start + dt.timedelta(hours=12, minutes=1), tick=False):
        response = client.get("/people/")
        assert response.status_code == 302 and response["Location"].startswith("/login/")
        assert client.get("/api/v1/people").status_code == 401
    # Logging in again starts a new lifetime.
    with time_machine.travel(start + dt.timedelta(hours=12, minutes=2), tick=False):
        client.post("/login/", {"username": "eve", "password": PASSWORD})
        assert client.get("/people/").status_code == 200


def test_the_session_lifetime_is_a_setting(settings: Any) -> None:
    settings.SESSION_MAX_AGE_SECONDS = 60
    user = UserFactory(role="staff")
    client = Client()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.force_login(user)
        assert client.get("/people/").status_code == 200
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        assert client.get("/people/").status_code == 302


# --- API tokens --------------------------------------------------------------------------------

def test_a_token_expires_after_a_year_and_is_then_refused_saying_so() -> None:
    user = UserFactory(role="staff")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        raw = services.token_create(actor=None, user=user, name="script")
    token = ApiToken.objects.get(user=user)
    assert token.expires_at == start + dt.timedelta(days=365)
    headers = {"Authorization": f"Bearer {raw}"}
    with time_machine.travel(start + dt.timedelta(days=364), tick=False):
        assert Client().get("/api/v1/people", headers=headers).status_code == 200
    with time_machine.travel(start + dt.timedelta(days=365, seconds=1), tick=False):
        response = Client().get("/api/v1/people", headers=headers)
        assert response.status_code == 401
        assert response["Content-Type"].startswith("application/problem+json")
        assert "expired" in response.json()["detail"]
        assert 'error="invalid_token"' in response["WWW-Authenticate"]
        # A wrong token still gets the general answer (nothing says which tokens exist).
        other = Client().get("/api/v1/people", headers={"Authorization": "Bearer pd_nope"})
        assert other.status_code == 401 and "expired" not in other.json()["detail"]


def test_a_token_lifetime_can_be_chosen_within_bounds() -> None:
    user = UserFactory(role="staff")
    services.token_create(actor=None, user=user, days=30)
    token = ApiToken.objects.get(user=user)
    assert (token.expires_at - token.created_at).days == 30
    for days in (0, -1, services.TOKEN_DAYS_MAX + 1):
        with pytest.raises(services.ValidationError):
            services.token_create(actor=None, user=user, days=days)
    assert ApiToken.objects.filter(user=user).count() == 1


def test_token_create_command_takes_days_and_rotates(capsys: Any) -> None:
    user = UserFactory(username="robot", role="viewer")
    call_command("token_create", "robot", "--name", "nightly", "--days", "7")
    first = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(user=user)
    assert first.startswith("pd_") and (token.expires_at - token.created_at).days == 7
    call_command("token_create", "robot", "--rotate", token.prefix)
    second = capsys.readouterr().out.strip()
    assert second.startswith("pd_") and second != first
    new = ApiToken.objects.get(user=user)  # the old one is gone
    assert new.name == "nightly" and (new.expires_at - new.created_at).days == 365
    assert Client().get("/api/v1/people",
                        headers={"Authorization": f"Bearer {first}"}).status_code == 401
    assert Client().get("/api/v1/people",
                        headers={"Authorization": f"Bearer {second}"}).status_code == 200
    with pytest.raises(CommandError, match="No token"):
        call_command("token_create", "robot", "--rotate", "pd_nothing")
    with pytest.raises(CommandError, match="between 1 and"):
        call_command("token_create", "robot", "--days", "0")


def test_rotating_a_token_revokes_it_and_is_audited() -> None:
    admin = UserFactory(role="admin")
    user = UserFactory(role="staff")
    old_raw = services.token_create(actor=admin, user=user, name="sync")
    old = ApiToken.objects.get(user=user)
    new_raw = services.token_rotate(actor=admin, token=old)
    assert not ApiToken.objects.filter(pk=old.pk).exists()
    assert ApiToken.objects.get(user=user).prefix == new_raw[:10]
    event = AuditEvent.objects.get(action="api_token.rotate")
    assert event.actor == admin and event.object_id == old.pk
    assert event.after == {"replaced_by": new_raw[:10]} and old_raw not in str(event.after)
    with pytest.raises(services.Conflict):
        services.token_rotate(actor=admin, token=old)


def test_the_user_page_shows_tokens_and_creates_and_rotates_them() -> None:
    world = build_world()
    admin = Client()
    admin.force_login(world.users["superadmin"])
    user = world.users["staff"]
    services.token_create(actor=None, user=user, name="old script", days=10)
    token = ApiToken.objects.get(user=user, name="old script")
    page = admin.get(f"/admin/core/user/{user.pk}/change/").content.decode()
    assert token.prefix in page and "old script" in page and "<th>Expires</th>" in page
    assert f"/admin/core/user/{user.pk}/tokens/new/" in page
    rotate_url = f"/admin/core/apitoken/{token.pk}/rotate/"
    assert rotate_url in page

    response = admin.post(f"/admin/core/user/{user.pk}/tokens/new/",
                          {"name": "report", "days": "90"})
    raw = re.search(r'value="(pd_[^"]+)"', response.content.decode())
    assert response.status_code == 200 and raw is not None
    made = ApiToken.objects.get(user=user, name="report")
    assert (made.expires_at - made.created_at).days == 90 and made.prefix == raw.group(1)[:10]
    assert admin.post(f"/admin/core/user/{user.pk}/tokens/new/",
                      {"days": "0"}).status_code == 200  # the form's error, nothing made
    assert ApiToken.objects.filter(user=user).count() == 2  # old script, report

    response = admin.post(rotate_url, {"days": "30"})
    raw = re.search(r'value="(pd_[^"]+)"', response.content.decode())
    assert response.status_code == 200 and raw is not None
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    assert ApiToken.objects.get(user=user, name="old script").prefix == raw.group(1)[:10]
    for bad in ["abc", "99999999999999999999", "-1", "1²"]:
        assert admin.get(f"/admin/core/user/{bad}/tokens/new/").status_code == 404, bad
        assert admin.get(f"/admin/core/apitoken/{bad}/rotate/").status_code == 404, bad
    # Another role may not reach these pages.
    staff = Client()
    staff.force_login(world.users["staff"])
    assert staff.get(f"/admin/core/user/{user.pk}/tokens/new/").status_code == 302


def test_existing_tokens_expire_a_year_after_their_creation() -> None:
    migration = importlib.import_module("programdesk.core.migrations.0004_api_token_expiry")
    user = UserFactory(role="staff")
    services.token_create(actor=None, user=user, days=3)
    token = ApiToken.objects.get(user=user)
    migration.expire_a_year_after_creation(apps, None)
    token.refresh_from_db()
    assert token.expires_at == token.created_at + dt.timedelta(days=365)


# --- the purge ---------------------------------------------------------------------------------

def test_purge_deletes_old_idempotency_records_abandoned_uploads_and_expired_tokens(
        capsys: Any) -> None:
    user = UserFactory(role="admin")
    now = timezone.now()
    with time_machine.travel(now - dt.timedelta(hours=25), tick=False):
        IdempotencyRecord.objects.create(user=user, key="old", method="POST", path="/x",
                                         body_digest="0" * 64, status_code=201)
        services.token_create(actor=None, user=user, name="expired", days=1)
    IdempotencyRecord.objects.create(user=user, key="new", method="POST", path="/x",
                                     body_digest="0" * 64, status_code=201)
    services.token_create(actor=None, user=user, name="valid")
    old_upload = import_job_create(actor=user, kind="people", filename="p.csv",
                                   data=b"first_name,last_name\nAda,Lovelace\n")
    new_upload = import_job_create(actor=user, kind="people", filename="p.csv",
                                   data=b"first_name,last_name\nAda,Lovelace\n")
    eight_days_ago = time.time() - 8 * 86400
    os.utime(job_path(old_upload), (eight_days_ago, eight_days_ago))

    call_command("purge")

    assert "Purged 1 idempotency records, 1 import files, 1 expired API tokens, 0 export" in (
        capsys.readouterr().out)
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["valid"]
    assert not job_path(old_upload).exists() and job_path(new_upload).exists()
    event = AuditEvent.objects.get(action="api_token.purge_expired")
    assert event.actor is None and event.after == {"deleted": 1}
    call_command("purge")
    assert "Purged 0 idempotency records, 0 import files, 0 expired API tokens, 0 export" in (
        capsys.readouterr().out)


def test_purge_enqueued_is_a_task_that_deletes_the_same(capsys: Any) -> None:
    """``purge --enqueue`` (what ``serve`` runs hourly) queues the purge task; the test
    settings run tasks inline, so it has run when the command returns."""
    user = UserFactory(role="admin")
    with time_machine.travel(timezone.now() - dt.timedelta(days=2), tick=False):
        services.token_create(actor=None, user=user, name="expired", days=1)
    call_command("purge", "--enqueue")
    assert "Queued the purge (task " in capsys.readouterr().out
    assert not ApiToken.objects.filter(name="expired").exists()


def test_serve_supervisor_runs_the_purge_at_start_and_every_interval(tmp_path: Path) -> None:
    import signal

    from programdesk.management.commands.serve import Supervisor

    log = tmp_path / "purges.log"
    purge = [sys.executable, "-c", f"open({str(log)!r}, 'a').write('purged\\n')"]
    web = [sys.executable, "-c", "import time; time.sleep(2.5)"]
    supervisor = Supervisor(web=web, task=[], tasks=0, say=lambda message: None,
                            purge=purge, purge_every=1)
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        supervisor.run()  # returns when "gunicorn" (the sleep) exits
    finally:
        signal.signal(signal.SIGTERM, handlers[0])
        signal.signal(signal.SIGINT, handlers[1])
    runs = log.read_text().count("purged")
    assert 2 <= runs <= 4


# --- changepassword ----------------------------------------------------------------------------

def test_changepassword_is_ours_and_audited(monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_commands()["changepassword"] == "programdesk"
    user = UserFactory(username="fay", role="staff")
    answers = iter(["short", "short", "a much better secret 7", "a much better secret 7"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    call_command("changepassword", "fay")
    user.refresh_from_db()
    assert user.check_password("a much better secret 7")
    event = AuditEvent.objects.get(action="user.password_change")
    assert event.object_id == user.pk and event.actor is None
    assert event.after == {"password": "[secret]"} and "changepassword" in event.reason


def test_changepassword_gives_up_after_three_tries(monkeypatch: pytest.MonkeyPatch) -> None:
    UserFactory(username="gus", role="staff")
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "1234")
    with pytest.raises(CommandError, match="after 3 attempts"):
        call_command("changepassword", "gus")
    assert not AuditEvent.objects.filter(action="user.password_change").exists()


# --- file modes --------------------------------------------------------------------------------

CREATE_FILES = """
import django, os
django.setup()
from django.db import connection
from programdesk.imports.progress import imports_dir
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE t (x)")
    cursor.execute("INSERT INTO t VALUES (1)")
    name = connection.settings_dict["NAME"]
    (imports_dir() / "upload.csv").write_bytes(b"first_name\\nAda\\n")
    for path in [os.environ["PROGRAMDESK_VAR_DIR"], name, name + "-wal", name + "-shm",
                 str(imports_dir()), str(imports_dir() / "upload.csv")]:
        print(path, oct(os.stat(path).st_mode & 0o777))
"""


def test_database_wal_and_uploads_are_private_whatever_the_umask(tmp_path: Path) -> None:
    """A fresh process started with umask 022, in a var folder made 0755 holding a database
    file made 0644 (an older install): everything ends up 0600 in 0700 folders."""
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    var.chmod(0o755)
    (var / "programdesk.sqlite3").touch()
    (var / "programdesk.sqlite3").chmod(0o644)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(PROGRAMDESK_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="programdesk.settings",
               SECRET_KEY="x" * 50)
    output = subprocess.run(
        [sys.executable, "-c", CREATE_FILES], cwd=REPO, env=env, capture_output=True,
        text=True, check=True, timeout=120, preexec_fn=lambda: os.umask(0o022)).stdout
    modes = dict(line.rsplit(" ", 1) for line in output.strip().splitlines())
    assert len(modes) == 6, output
    for path, mode in modes.items():
        expected = "0o700" if Path(path).is_dir() else "0o600"
        assert mode == expected, (path, mode)
    static = var / "static"
    assert static.is_dir() and stat.S_IMODE(static.stat().st_mode) == 0o700


def test_an_upload_kept_by_the_import_page_is_private() -> None:
    user = UserFactory(role="admin")
    job = import_job_create(actor=user, kind="people", filename="p.csv",
                            data=b"first_name,last_name\nAda,Lovelace\n")
    assert stat.S_IMODE(job_path(job).stat().st_mode) == 0o600
    assert stat.S_IMODE(imports_dir().stat().st_mode) == 0o700
    assert stat.S_IMODE(Path(settings.VAR_DIR).stat().st_mode) == 0o700
