"""Audit coverage: every write path — each API write, bulk, merges, pages, the admin, commands —
leaves audit events in the same transaction, and the rows it changed are the ones its events name.

A changed row is covered by an event of the same request that names its table (``object_type``)
and its id (``object_id`` or ``object_ids``); rows a service writes on the side of its main
object — the enrollments and assignments a bulk disbursement makes, a case's program links —
are covered by the action that made them (PARENT_ACTIONS, reviewed by hand). Bookkeeping
tables that are not records (sessions, API token use, idempotency keys, failed logins) are
not audited."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test import Client

from programdesk.core.models import AuditEvent
from tests.conftest import ApiClient
from tests.security.matrix import API
from tests.security.test_matrix import _api_url, api_upload
from tests.security.world import World, build_world

pytestmark = pytest.mark.django_db

BOOKKEEPING = {"django_session", "core_idempotencyrecord", "core_auditevent",
               "core_loginattempt", "core_apitoken", "django_admin_log"}
_ENROLL = {"schedule.add_participants", "session.add_participants", "session.check_in",
           "disbursement.bulk_walk_in", "disbursement.bulk_anonymous",
           "disbursement.bulk_enrollment", "disbursement.create_ad_hoc", "kiosk.register"}
PARENT_ACTIONS: dict[str, set[str]] = {
    "participation_programenrollment": _ENROLL | {"person.merge"},
    "participation_benefitassignment": _ENROLL | {"person.merge"},
    "participation_scheduleassignment": _ENROLL | {"schedule.remove_participants"},
    "participation_benefitdisbursement": _ENROLL | {
        "attendance.record", "schedule.remove_participants", "person.merge",
        "schedule.delete_future_sessions", "schedule.change_recurrence"},
    "participation_cohortmember": {"cohort.add_members", "cohort.remove_members"},
    "people_case_programs": {"case.create", "case.update", "admin.add", "admin.change"},
    "people_person": {"person.merge"},
    # a re-issued or revoked card's old code, remembered (people.services.card_issue)
    "people_revokedcardcode": {"person.card_issue", "person.card_revoke",
                               "account.card_issue", "account.card_revoke"},
    "people_case": {"person.merge"},
    "people_persondocument": {"person.merge"},
    "scheduling_benefitschedule": {"session.create"},
    "scheduling_benefitsession": {"schedule.create", "schedule.delete_future_sessions",
                                  "schedule.change_recurrence"},
    "programs_incomeguideline": {"income_guideline.replace"},
    "core_user_programs": {"admin.add", "admin.change", "user.create"},
}


def _table(object_type: str) -> str | None:
    try:
        return apps.get_model(object_type)._meta.db_table
    except (LookupError, ValueError):
        return None


def _rows() -> dict[str, dict[Any, tuple[Any, ...]]]:
    rows = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table in BOOKKEEPING:
                continue
            pk = connection.introspection.get_primary_key_column(cursor, table) or "id"
            cursor.execute(f'SELECT * FROM "{table}"')
            index = [d[0] for d in cursor.description].index(pk)
            rows[table] = {row[index]: tuple(row) for row in cursor.fetchall()}
    return rows


def uncovered(write: Callable[[], Any]) -> tuple[Any, list[str]]:
    """Run ``write``; return its result and the changed rows no audit event covers."""
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    before = _rows()
    result = write()
    after = _rows()
    events = list(AuditEvent.objects.filter(id__gt=last))
    problems = []
    for table, now in after.items():
        was = before.get(table, {})
        changed = {pk for pk in set(was) | set(now) if was.get(pk) != now.get(pk)}
        if not changed:
            continue
        named = {pk for e in events if _table(e.object_type) == table
                 for pk in [e.object_id, *(e.object_ids or [])]}
        if any(e.action in PARENT_ACTIONS.get(table, set()) for e in events):
            continue
        missing = changed - named
        if missing:
            problems.append(f"{table} rows {sorted(missing)} changed; events: "
                            f"{[(e.action, e.object_type, e.object_id) for e in events]}")
    return result, problems


WRITES = sorted((m, p) for (m, p) in API if m not in {"GET", "HEAD"})


@pytest.mark.parametrize(("method", "path"), WRITES, ids=[f"{m} {p}" for m, p in WRITES])
def test_every_api_write_is_audited(method: str, path: str) -> None:
    world = build_world()
    user = world.users["admin"]
    client = ApiClient(user)
    entry = API[(method, path)]
    body = entry.body(world.own, world) if entry.body else None
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    url = _api_url(path, world.own, entry)
    if entry.upload is not None:
        response, problems = uncovered(lambda: api_upload(client, url, entry, world.own, world))
    else:
        response, problems = uncovered(lambda: client.client.generic(
            method, url, data=json.dumps(body) if body is not None else "",
            content_type="application/json", headers=client.headers))
    assert response.status_code == entry.ok, response.content
    assert not problems, problems
    events = AuditEvent.objects.filter(id__gt=last)
    assert events.exists() or "dry_run" in (body or {}), "a write with no audit event"
    assert set(events.values_list("actor_id", flat=True)) <= {user.pk}


def _page(world: World, who: str = "admin") -> Client:
    client = Client()
    client.force_login(world.users["superadmin" if who == "superadmin" else who])
    return client


def test_page_writes_are_audited() -> None:
    """Pages call the same services; a few that only pages have."""
    world = build_world()
    staff, admin = _page(world, "staff"), _page(world, "admin")
    own = world.own
    writes: list[tuple[Client, str, dict[str, Any]]] = [
        (staff, "/people/new/", {"first_name": "Page", "last_name": "Made"}),
        (staff, f"/accounts/{own.account.pk}/members/", {"person": own.duplicate.pk}),
        (staff, f"/people/{own.person.pk}/documents/", {"document_type": "age",
                                                        "verified_on": "2026-01-02"}),
        (_page(world, "kiosk"), f"/kiosk/{own.session.pk}/",
         {"action": "register", "first_name": "Kiosk", "last_name": "Walker"}),
        # check-in cards: made, replaced (confirmed), revoked; a kiosk scan checks in
        (staff, f"/people/{own.duplicate.pk}/card/", {"action": "issue"}),
        (staff, f"/people/{own.duplicate.pk}/card/", {"action": "replace", "confirm": "1"}),
        (staff, f"/people/{own.duplicate.pk}/card/", {"action": "revoke", "confirm": "1"}),
        (staff, f"/accounts/{own.account.pk}/card/", {"action": "issue"}),
        (_page(world, "kiosk"), f"/kiosk/{own.session.pk}/",
         {"action": "card", "code": own.person.card_code}),
        (admin, f"/settings/status-values/{world.status_value.pk}/", {"label": "Excused!"}),
        (admin, "/settings/units/", {"code": "tray", "name": "Tray"}),
    ]
    for client, url, data in writes:
        events = AuditEvent.objects.count()
        response, problems = uncovered(partial(client.post, url, data))
        assert response.status_code in {200, 302}, (url, response.status_code)
        assert not problems, (url, problems)
        assert AuditEvent.objects.count() > events, f"{url} wrote nothing"


def test_admin_edits_and_deletes_are_audited() -> None:
    world = build_world()
    admin = _page(world, "superadmin")
    unit = apps.get_model("programs", "UnitOfMeasure").objects.create(code="tub", name="Tub")
    change = f"/admin/programs/unitofmeasure/{unit.pk}/change/"
    response, problems = uncovered(lambda: admin.post(change, {"code": "tub", "name": "Tubs"}))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert not problems, problems
    assert AuditEvent.objects.filter(action="admin.change", object_id=unit.pk).exists()
    response, problems = uncovered(lambda: admin.post(
        "/admin/programs/unitofmeasure/", {"action": "delete_selected", "post": "yes",
                                           "_selected_action": [unit.pk]}))
    assert response.status_code == 302 and not problems, problems
    assert AuditEvent.objects.filter(action="admin.delete", object_id=unit.pk).exists()


@pytest.mark.django_db(transaction=True)  # as in production: no transaction around the view
def test_admin_user_events_never_hold_a_password_hash() -> None:
    world = build_world()
    admin = _page(world, "superadmin")
    response = admin.post("/admin/core/user/add/", {
        "username": "newcomer", "password1": "Fresh-pass-4821", "password2": "Fresh-pass-4821",
        "usable_password": "true"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = world.users["superadmin"].__class__.objects.get(username="newcomer")
    response = admin.post(f"/admin/core/user/{user.pk}/password/", {
        "password1": "Other-pass-9310", "password2": "Other-pass-9310"})
    assert response.status_code == 302
    events = AuditEvent.objects.filter(object_id=user.pk, object_type="core.user")
    assert {"admin.add", "admin.password_change"} <= set(events.values_list("action", flat=True))
    user.refresh_from_db()
    for event in events:
        assert user.password not in str(event.before) + str(event.after)
        assert "pbkdf2" not in str(event.before) + str(event.after)


def test_commands_are_audited() -> None:
    world = build_world()
    _, problems = uncovered(lambda: call_command(
        "user_create", "newbie", "--role", "staff", "--programs", str(world.own.program.pk),
        stdout=io.StringIO()))
    assert not problems, problems
    _, problems = uncovered(lambda: call_command("token_create", "newbie",
                                                 stdout=io.StringIO()))
    assert not problems, problems
    assert AuditEvent.objects.filter(action="api_token.create").exists()
