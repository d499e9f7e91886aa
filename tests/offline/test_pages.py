"""The review page of records a device could not send (/sync/conflicts/), the service worker
and the app manifest."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from programdesk.core.models import AuditEvent, User
from programdesk.offline.models import ConflictState, SyncConflict
from programdesk.participation.models import BenefitDisbursement
from programdesk.people.models import Person
from programdesk.scheduling.models import BenefitSession
from tests.conftest import ApiClient
from tests.offline.util import record, sync

pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_staff_see_the_reason_and_resolve_with_one_click(kim, charlie, today) -> None:
    session, rows = today
    known = Person.objects.get(pk=rows[0].person_id)
    sync(ApiClient(kim), [record("register", session_id=session.pk,
                                 first_name=known.first_name, last_name=known.last_name)])
    conflict = SyncConflict.objects.get()
    client = _client(charlie)
    page = client.get("/sync/conflicts/").content.decode()
    assert "The walk-in may be someone registered already" in page
    assert "tablet-1" in page and "Merge" in page and "Register as someone new" in page
    response = client.post("/sync/conflicts/", {"conflict_id": conflict.pk,
                                                "resolution": "merge",
                                                "person_id": known.pk})
    assert response.status_code == 302
    conflict.refresh_from_db()
    assert conflict.state == ConflictState.MERGED
    assert BenefitDisbursement.objects.get(pk=rows[0].pk).status.bucket == "delivered"
    assert "Nothing to review" in client.get("/sync/conflicts/").content.decode()
    assert "Applied to another person" in client.get(
        "/sync/conflicts/?state=merged").content.decode()
    # Twice: refused with the reason, nothing more written.
    client.post("/sync/conflicts/", {"conflict_id": conflict.pk, "resolution": "discard"})
    assert SyncConflict.objects.get().state == ConflictState.MERGED
    assert AuditEvent.objects.filter(action__startswith="sync_conflict.").count() == 1


def test_a_merge_to_someone_not_listed_is_refused(kim, charlie, today) -> None:
    session, rows = today
    known = Person.objects.get(pk=rows[0].person_id)
    sync(ApiClient(kim), [record("register", session_id=session.pk,
                                 first_name=known.first_name, last_name=known.last_name)])
    conflict = SyncConflict.objects.get()
    response = _client(charlie).post("/sync/conflicts/", {
        "conflict_id": conflict.pk, "resolution": "merge", "person_id": rows[1].person_id},
        follow=True)
    assert "Choose one of the people listed." in response.content.decode()
    assert SyncConflict.objects.get().state == ConflictState.OPEN


def test_another_programs_conflict_is_not_found(kim, charlie, today) -> None:
    from tests import factories as f

    session, rows = today
    BenefitSession.objects.filter(pk=session.pk).update(status="cancelled")
    sync(ApiClient(kim), [record(session_id=session.pk, person_id=rows[0].person_id)])
    conflict = SyncConflict.objects.get()
    limited = f.UserFactory(role="staff")
    limited.programs.add(f.ProgramFactory())
    client = _client(limited)
    assert "tablet-1" not in client.get("/sync/conflicts/").content.decode()
    response = client.post("/sync/conflicts/", {"conflict_id": conflict.pk,
                                                "resolution": "discard"})
    assert response.status_code == 404
    assert SyncConflict.objects.get().state == ConflictState.OPEN


def test_service_worker_and_manifest(client) -> None:
    worker = client.get("/sw.js")
    assert worker.status_code == 200
    assert worker["Content-Type"].startswith("text/javascript")
    assert "programdesk-pages" in worker.content.decode()
    manifest = json.loads(client.get("/manifest.webmanifest").content)
    assert manifest["start_url"] == "/kiosk/" and manifest["display"] == "standalone"


def test_the_check_in_page_links_staff_to_the_review(charlie, kim) -> None:
    assert b"/sync/conflicts/" in _client(charlie).get("/kiosk/").content
    assert b"/sync/conflicts/" not in _client(kim).get("/kiosk/").content


def test_the_manifest_lists_192_and_512_px_icons_the_static_files_serve(client) -> None:
    """Installable apps want a 192 and a 512 px PNG (and a maskable one): each icon the manifest
    lists is served by the static files, a PNG of the size it says."""
    import struct

    manifest = json.loads(client.get("/manifest.webmanifest").content)
    pngs = {icon["sizes"]: icon for icon in manifest["icons"] if icon["type"] == "image/png"}
    assert {"192x192", "512x512"} <= set(pngs)
    assert any(icon.get("purpose") == "maskable" for icon in manifest["icons"])
    for icon in manifest["icons"]:
        served = client.get(icon["src"])
        assert served.status_code == 200, icon["src"]
        if icon["type"] != "image/png":
            continue
        head = b"".join(served.streaming_content)[:24] if served.streaming else \
            served.content[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", head[16:24])
        assert icon["sizes"] == f"{width}x{height}"
