"""The offline front desk (issue 19; docs/front-desk.md, Offline) in a real browser with the
network cut (``context.set_offline``): the kiosk loads while online, still loads offline (the
service worker), checks five people in and registers a walk-in into the device's queue, and
sends them when the network is back — exactly six deliveries, once each, also when the sync is
cut halfway and retried."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from programdesk.core.models import AuditEvent, IdempotencyRecord
from programdesk.offline.models import SyncConflict
from programdesk.participation import services
from programdesk.participation.models import BenefitDisbursement
from programdesk.people.models import Person
from programdesk.scheduling.models import BenefitSession
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)

FIRST_NAMES = ["Ana", "Bruno", "Chidi", "Dalia", "Emeka"]
SYNC_WAIT = 30_000  # the probe runs every 5 s; the machine may be busy


def _session(charlie: Any) -> BenefitSession:
    schedule = f.schedule_with_sessions(sessions=1, name="Food pantry")
    people = [f.PersonFactory(first_name=name, last_name="Okafor") for name in FIRST_NAMES]
    services.schedule_add_participants(actor=charlie, schedule=schedule,
                                       person_ids=[p.pk for p in people])
    session = schedule.sessions.get()
    return session


def _delivered(session: BenefitSession) -> int:
    return BenefitDisbursement.objects.filter(session=session,
                                              status__bucket="delivered").count()


def _load_then_go_offline(page: Any, login: Any, user: Any, path: str) -> Any:
    """Online: open ``path`` until the device has kept its pages and roster; then cut the
    network and reload (the service worker answers). Returns the banner."""
    login(user, path)
    expect(page.locator("html[data-offline-ready='1']")).to_have_count(1, timeout=SYNC_WAIT)
    page.context.set_offline(True)
    page.reload()
    banner = page.locator("#offline-banner")
    expect(banner).to_contain_text("Offline", timeout=SYNC_WAIT)
    return banner


def _offline_visit(page: Any, login: Any, kim: Any, session: BenefitSession) -> None:
    """Online: open the kiosk (the device keeps today's pages and roster); offline: reload, five
    check-ins and one registration, all queued."""
    banner = _load_then_go_offline(page, login, kim, f"/kiosk/{session.pk}/")
    for name in FIRST_NAMES:
        page.get_by_label("Type your name (or your card code)").fill(name)
        page.get_by_role("button", name=f"I'm {name} O.").click()
        expect(page.get_by_text(f"Welcome, {name}! You are checked in.")).to_be_visible()
    page.get_by_text("First time here? Register").click()
    page.get_by_label("First name").fill("Noor")
    page.get_by_label("Last name").fill("Haddad")
    page.get_by_role("button", name="Register and check in").click()
    expect(page.get_by_text("Welcome, Noor! You are checked in.")).to_be_visible()
    expect(banner).to_have_text("Offline — 6 waiting to send")
    assert _delivered(session) == 0


def _assert_six_once(session: BenefitSession) -> None:
    assert _delivered(session) == 6
    assert BenefitDisbursement.objects.filter(session=session).count() == 6
    assert Person.objects.filter(first_name="Noor", last_name="Haddad").count() == 1
    assert IdempotencyRecord.objects.filter(method="SYNC").count() == 6
    assert AuditEvent.objects.filter(action="sync.check_in").count() == 5
    assert AuditEvent.objects.filter(action="sync.register").count() == 1
    devices = {e.after["device_id"] for e in AuditEvent.objects.filter(
        action__startswith="sync.")}
    assert len(devices) == 1


def test_the_kiosk_works_offline_and_sends_six_deliveries_once(page, login, kim,
                                                                charlie) -> None:
    session = _session(charlie)
    _offline_visit(page, login, kim, session)
    page.context.set_offline(False)
    expect(page.locator("#offline-banner")).to_have_text("All sent", timeout=SYNC_WAIT)
    _assert_six_once(session)
    # Another page load sends nothing again.
    page.reload()
    expect(page.locator("#offline-banner")).to_have_text("All sent", timeout=SYNC_WAIT)
    _assert_six_once(session)


def test_a_sync_cut_halfway_is_retried_and_still_counts_once(page, login, kim,
                                                              charlie) -> None:
    session = _session(charlie)
    _offline_visit(page, login, kim, session)
    cuts: list[int] = []

    def cut_the_first(route: Any) -> None:
        if cuts:
            route.continue_()
            return
        body = json.loads(route.request.post_data)
        cuts.append(len(body["records"]))
        # The server gets the first three records and applies them; the answer never
        # reaches the tablet.
        body["records"] = body["records"][:3]
        route.fetch(post_data=json.dumps(body))
        route.abort()

    page.route("**/api/v1/sync", cut_the_first)
    page.context.set_offline(False)
    expect(page.locator("#offline-banner")).to_have_text("All sent", timeout=SYNC_WAIT)
    assert cuts == [6]
    _assert_six_once(session)


def test_logging_out_wipes_what_the_device_kept(page, login, kim, charlie) -> None:
    session = _session(charlie)
    login(kim, f"/kiosk/{session.pk}/")
    expect(page.locator("html[data-offline-ready='1']")).to_have_count(1, timeout=SYNC_WAIT)
    assert page.evaluate("caches.has('programdesk-pages')")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/**")
    assert not page.evaluate("caches.has('programdesk-pages')")
    kept = page.evaluate("""() => new Promise((resolve) => {
      const request = indexedDB.open("programdesk-offline");
      request.onsuccess = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains("meta")) { db.close(); resolve(0); return; }
        const counts = [];
        const tx = db.transaction(["meta", "queue"], "readonly");
        tx.objectStore("meta").count().onsuccess = (e) => counts.push(e.target.result);
        tx.objectStore("queue").count().onsuccess = (e) => counts.push(e.target.result);
        tx.oncomplete = () => { db.close(); resolve(counts[0] + counts[1]); };
      };
    })""")
    assert kept == 0


def test_the_attendance_sheet_saves_marks_offline_and_sends_them(page, login, charlie) -> None:
    session = _session(charlie)
    banner = _load_then_go_offline(page, login, charlie, f"/sessions/{session.pk}/")
    rows = page.locator("[data-sheet-row]")
    expect(rows).to_have_count(5)
    for i in range(3):
        rows.nth(i).locator("label.sheet-choice.delivered").click()
    rows.nth(3).locator("label.sheet-choice.absent").click()
    page.get_by_role("button", name="Save attendance").click()
    expect(page.get_by_text("4 marks saved on this tablet")).to_be_visible()
    expect(banner).to_have_text("Offline — 4 waiting to send")
    page.context.set_offline(False)
    expect(banner).to_have_text("All sent", timeout=SYNC_WAIT)
    assert _delivered(session) == 3
    assert BenefitDisbursement.objects.filter(session=session,
                                              status__bucket="absent").count() == 1
    assert AuditEvent.objects.filter(action="sync.attendance").count() == 4


def test_a_check_in_over_a_service_limit_meanwhile_lands_in_the_review_list(
        page, login, kim, charlie) -> None:
    """Ana checks in at the kiosk while it is offline; meanwhile the desk gives her the same
    benefit, limited to one a day. Back online, her check-in is not delivered: it waits for
    staff in the review list with the server's reason."""
    session = _session(charlie)
    benefit = session.benefit
    benefit.limit_max, benefit.limit_per, benefit.limit_scope = 1, "day", "person"
    benefit.save(update_fields=["limit_max", "limit_per", "limit_scope"])
    ana = Person.objects.get(first_name="Ana")
    banner = _load_then_go_offline(page, login, kim, f"/kiosk/{session.pk}/")
    page.get_by_label("Type your name (or your card code)").fill("Ana")
    page.get_by_role("button", name="I'm Ana O.").click()
    expect(page.get_by_text("Welcome, Ana! You are checked in.")).to_be_visible()
    expect(banner).to_have_text("Offline — 1 waiting to send")
    services.disbursements_create_ad_hoc(
        actor=charlie, person=ana, disbursed_on=session.local_date,
        lines=[services.DisbursementLine(benefit.pk, Decimal(1))])
    page.context.set_offline(False)
    expect(banner).to_contain_text("1 sent for staff review", timeout=SYNC_WAIT)
    assert _delivered(session) == 0
    assert SyncConflict.objects.get().reason == "service_limit"
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/**")
    login(charlie, "/sync/conflicts/")
    expect(page.get_by_text("A service limit was reached")).to_be_visible()
    expect(page.get_by_text("already served", exact=False)).to_be_visible()


# --- the walk-in distribution page ----------------------------------------------------------

REGULARS = ["Ana", "Bruno", "Chidi"]


def _walk_in_benefit(charlie: Any) -> Any:
    """A pantry's walk-in benefit; Ana, Bruno and Chidi Okafor were served by its program last
    week (so a tablet offers them offline)."""
    import datetime as dt

    from django.utils import timezone

    benefit = f.BenefitFactory(name="Groceries")
    for name in REGULARS:
        person = f.PersonFactory(first_name=name, last_name="Okafor")
        services.disbursements_create_ad_hoc(
            actor=charlie, person=person,
            disbursed_on=timezone.localdate() - dt.timedelta(days=7),
            lines=[services.DisbursementLine(benefit.pk, Decimal(1))])
    return benefit


def _given_today(benefit: Any) -> Any:
    from django.utils import timezone

    return BenefitDisbursement.objects.filter(benefit=benefit,
                                              disbursed_on=timezone.localdate())


def _walk_in_offline(page: Any, login: Any, charlie: Any, benefit: Any) -> Any:
    """Online: open the walk-in page (the tablet keeps it and who to offer); offline: reload."""
    banner = _load_then_go_offline(page, login, charlie, f"/benefits/{benefit.pk}/bulk/")
    expect(page.locator("#walk-in-offline-list tr[data-find]")).to_have_count(3)
    return banner


def _quick_add(page: Any, first: str, last: str) -> None:
    page.get_by_text("Not on the list? Add a walk-in").click()
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    page.get_by_role("button", name="Add to the list").click()
    expect(page.get_by_label(f"{first} {last}")).to_be_checked()


def test_the_walk_in_page_works_offline_and_sends_three_disbursements_once(
        page, login, charlie) -> None:
    benefit = _walk_in_benefit(charlie)
    banner = _walk_in_offline(page, login, charlie, benefit)
    # The page kept on the tablet holds nobody's data: the list comes from the roster.
    assert "Okafor" not in page.evaluate("""async () => {
      const cache = await caches.open("programdesk-pages");
      const kept = await cache.match(location.pathname);
      return kept ? await kept.text() : "nothing kept";
    }""")
    name = page.get_by_label("Name", exact=True)
    name.fill("ana")
    expect(page.get_by_label("Bruno Okafor")).to_be_hidden()
    page.get_by_label("Ana Okafor").check()
    name.fill("Bru")
    page.get_by_label("Bruno Okafor").check()
    name.fill("")
    _quick_add(page, "Noor", "Haddad")
    page.get_by_label("Quantity per recipient").fill("2")
    page.get_by_role("button", name="Save disbursements").click()
    expect(page.get_by_text("Saved on this tablet: 3 disbursements, sent when the network is "
                            "back.")).to_be_visible()
    expect(banner).to_have_text("Offline — 3 waiting to send")
    expect(page.get_by_label("Ana Okafor")).not_to_be_checked()  # the picks are cleared
    expect(page.get_by_label("Noor Haddad")).to_have_count(0)
    assert _given_today(benefit).count() == 0
    page.context.set_offline(False)
    expect(banner).to_have_text("All sent", timeout=SYNC_WAIT)
    given = _given_today(benefit)
    assert given.count() == 3
    assert {d.person.first_name for d in given} == {"Ana", "Bruno", "Noor"}
    assert {d.quantity for d in given} == {Decimal(2)}
    assert Person.objects.filter(first_name="Noor", last_name="Haddad").count() == 1
    assert IdempotencyRecord.objects.filter(method="SYNC").count() == 3
    assert AuditEvent.objects.filter(action="sync.walk_in_disbursement").count() == 3
    page.reload()
    expect(banner).to_have_text("All sent", timeout=SYNC_WAIT)
    assert _given_today(benefit).count() == 3


def test_a_quick_added_walk_in_who_is_registered_already_is_merged_from_the_review_list(
        page, login, charlie) -> None:
    benefit = _walk_in_benefit(charlie)
    # Registered, but not served lately: not on the tablet's list.
    dalia = f.PersonFactory(first_name="Dalia", last_name="Okafor")
    banner = _walk_in_offline(page, login, charlie, benefit)
    _quick_add(page, "Dalia", "Okafor")
    page.get_by_role("button", name="Save disbursements").click()
    expect(banner).to_have_text("Offline — 1 waiting to send")
    page.context.set_offline(False)
    expect(banner).to_contain_text("1 sent for staff review", timeout=SYNC_WAIT)
    assert _given_today(benefit).count() == 0
    assert SyncConflict.objects.get().reason == "possible_duplicate"
    page.goto("/sync/conflicts/")
    expect(page.get_by_text("Walk-in disbursement: Dalia Okafor")).to_be_visible()
    page.get_by_role("button", name="Merge").click()
    expect(page.get_by_text("Applied to the person chosen.")).to_be_visible()
    assert Person.objects.filter(first_name="Dalia", last_name="Okafor").count() == 1
    assert [d.person_id for d in _given_today(benefit)] == [dalia.pk]


def test_the_walk_in_page_fits_every_width_online_and_offline(page, login, charlie) -> None:
    """Nothing scrolls sideways at 390, 768 or 1366 px, online and offline (a quick-added
    walk-in on the list). PROGRAMDESK_WALK_IN_SHOTS=<directory> keeps a screenshot of each."""
    import os
    from pathlib import Path

    shots = os.environ.get("PROGRAMDESK_WALK_IN_SHOTS")
    benefit = _walk_in_benefit(charlie)

    def check(state: str) -> None:
        for width in (390, 768, 1366):
            page.set_viewport_size({"width": width, "height": 900})
            assert page.evaluate(
                "document.documentElement.scrollWidth <= window.innerWidth"), (state, width)
            if shots:
                Path(shots).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=f"{shots}/walk-in-{state}-{width}.png", full_page=True)

    login(charlie, f"/benefits/{benefit.pk}/bulk/")
    expect(page.locator("html[data-offline-ready='1']")).to_have_count(1, timeout=SYNC_WAIT)
    check("online")
    page.set_viewport_size({"width": 768, "height": 900})
    page.context.set_offline(True)
    page.reload()
    expect(page.locator("#offline-banner")).to_contain_text("Offline", timeout=SYNC_WAIT)
    expect(page.locator("#walk-in-offline-list tr[data-find]")).to_have_count(3)
    _quick_add(page, "Noor", "Haddad-Fernández de la Torre")
    page.get_by_label("Ana Okafor").check()
    check("offline")
