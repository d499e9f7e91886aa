"""The offline front desk's sync (docs/front-desk.md, Offline): every record applied exactly once
through the areas' services, retries and cut syncs, the device's time within bounds, each kind
of conflict filed for staff, and who may send what."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from programdesk.core.models import AuditEvent, IdempotencyRecord
from programdesk.offline.models import ConflictState, SyncConflict
from programdesk.participation import services
from programdesk.participation.models import BenefitDisbursement
from programdesk.people.models import Person
from programdesk.scheduling.models import BenefitSession
from tests import factories as f
from tests.conftest import ApiClient
from tests.offline.util import DEVICE, delivered, record, sync

pytestmark = pytest.mark.django_db

def test_five_check_ins_and_a_walk_in_are_applied_once_even_when_sent_three_times(
        kim, today) -> None:
    session, rows = today
    client = ApiClient(kim)
    records = [record(session_id=session.pk, person_id=r.person_id) for r in rows]
    records.append(record("register", session_id=session.pk, first_name="Noor",
                          last_name="Haddad", postal_code="02139"))
    first = sync(client, records)
    assert [r["outcome"] for r in first] == ["applied"] * 6
    again = sync(client, records)
    assert [r["outcome"] for r in again] == ["already_applied"] * 6
    assert [r["object_id"] for r in again] == [r["object_id"] for r in first]
    sync(client, records[::-1])
    assert delivered(session) == 6
    assert BenefitDisbursement.objects.filter(session=session).count() == 6
    assert Person.objects.filter(first_name="Noor", last_name="Haddad").count() == 1
    assert IdempotencyRecord.objects.filter(method="SYNC").count() == 6
    events = AuditEvent.objects.filter(action__startswith="sync.")
    assert events.filter(action="sync.check_in").count() == 5
    assert events.filter(action="sync.register").count() == 1
    assert all(e.after["device_id"] == DEVICE for e in events)


def test_a_sync_cut_halfway_is_finished_by_the_retry(kim, today) -> None:
    session, rows = today
    client = ApiClient(kim)
    records = [record(session_id=session.pk, person_id=r.person_id) for r in rows]
    sync(client, records[:2])  # the answer never reached the device
    results = sync(client, records)
    assert [r["outcome"] for r in results] == ["already_applied"] * 2 + ["applied"] * 3
    assert delivered(session) == 5


def test_a_record_that_fails_mid_batch_leaves_the_ones_before_it_applied(
        kim, today, monkeypatch) -> None:
    session, rows = today
    client = ApiClient(kim)
    records = [record(session_id=session.pk, person_id=r.person_id) for r in rows[:3]]
    real = services.check_in
    calls = {"n": 0}

    def crash_on_third(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("the server died here")
        return real(**kwargs)

    from programdesk.offline import services as offline_services
    monkeypatch.setattr(offline_services.participation, "check_in", crash_on_third)
    with pytest.raises(RuntimeError):
        from programdesk.offline.services import SyncRecord, sync_apply
        sync_apply(actor=kim, device_id=DEVICE, records=[
            SyncRecord(**{**r, "happened_at": dt.datetime.fromisoformat(r["happened_at"])})
            for r in records])
    assert delivered(session) == 2
    assert IdempotencyRecord.objects.filter(method="SYNC").count() == 2  # the third is free
    monkeypatch.setattr(offline_services.participation, "check_in", real)
    results = sync(client, records)
    assert [r["outcome"] for r in results] == ["already_applied"] * 2 + ["applied"]
    assert delivered(session) == 3


def test_the_same_id_with_another_record_is_rejected(kim, today) -> None:
    session, rows = today
    client = ApiClient(kim)
    first = record(session_id=session.pk, person_id=rows[0].person_id)
    sync(client, [first])
    reused = {**first, "person_id": rows[1].person_id}
    assert sync(client, [reused])[0]["outcome"] == "rejected"
    assert delivered(session) == 1


def test_device_time_is_kept_within_the_session_day_and_now(kim, today) -> None:
    session, rows = today
    client = ApiClient(kim)
    now = timezone.now()
    past = record(session_id=session.pk, person_id=rows[0].person_id,
                  happened_at=(now - dt.timedelta(days=3)).isoformat())
    future = record(session_id=session.pk, person_id=rows[1].person_id,
                    happened_at=(now + dt.timedelta(hours=5)).isoformat())
    inside = now - dt.timedelta(minutes=1)
    fine = record(session_id=session.pk, person_id=rows[2].person_id,
                  happened_at=inside.isoformat())
    results = sync(client, [past, future, fine])
    recorded = [dt.datetime.fromisoformat(r["happened_at"]) for r in results]
    day_start = dt.datetime.combine(session.local_date, dt.time.min,
                                    tzinfo=session.schedule.zone)
    assert recorded[0] == day_start
    assert now <= recorded[1] <= timezone.now()
    assert recorded[2] == inside
    event = AuditEvent.objects.get(action="sync.check_in", object_id=rows[2].pk)
    assert dt.datetime.fromisoformat(event.after["happened_at"]) == inside


def test_a_bad_device_time_or_batch_is_a_422(kim, today) -> None:
    session, rows = today
    client = ApiClient(kim)
    bad = record(session_id=session.pk, person_id=rows[0].person_id, happened_at=12)
    response = client.post("sync", {"device_id": DEVICE, "records": [bad]})
    assert response.status_code == 422
    response = client.post("sync", {"device_id": "not a device id!", "records": []})
    assert response.status_code == 422
    response = client.post("sync", {"device_id": DEVICE, "records": [
        record(session_id=session.pk, person_id=rows[0].person_id)] * 501})
    assert response.status_code == 422
    assert delivered(session) == 0


# --- conflicts ------------------------------------------------------------------------------


def test_a_cancelled_session_files_a_conflict_not_a_delivery(kim, charlie, today) -> None:
    session, rows = today
    BenefitSession.objects.filter(pk=session.pk).update(status="cancelled")
    results = sync(ApiClient(kim), [record(session_id=session.pk,
                                           person_id=rows[0].person_id)])
    assert results[0]["outcome"] == "conflict"
    assert results[0]["reason"] == "session_cancelled"
    conflict = SyncConflict.objects.get(pk=results[0]["conflict_id"])
    assert conflict.device_id == DEVICE and conflict.state == ConflictState.OPEN
    assert delivered(session) == 0
    # Sent again: the same conflict, not a second one.
    again = sync(ApiClient(kim), [{**record(), **{
        "id": conflict.record_id, "kind": "check_in",
        "happened_at": conflict.happened_at.isoformat()}, "session_id": session.pk,
        "person_id": rows[0].person_id}])
    assert again[0]["outcome"] in ("conflict", "rejected")
    assert SyncConflict.objects.count() == 1


def test_a_merged_person_files_a_conflict_naming_the_survivor_and_merge_applies_it(
        kim, charlie, today) -> None:
    from programdesk.people.services import person_merge

    session, rows = today
    gone = Person.objects.get(pk=rows[0].person_id)
    keep = f.PersonFactory(first_name=gone.first_name, last_name=gone.last_name)
    person_merge(actor=charlie, survivor=keep, duplicate=gone)
    results = sync(ApiClient(kim), [record(session_id=session.pk, person_id=gone.pk)])
    assert results[0]["reason"] == "person_merged"
    conflict = SyncConflict.objects.get()
    assert conflict.matches == [{"person_id": keep.pk}]
    from programdesk.offline.services import sync_conflict_resolve

    sync_conflict_resolve(actor=charlie, conflict=conflict, resolution="merge",
                          person_id=keep.pk)
    conflict.refresh_from_db()
    assert conflict.state == ConflictState.MERGED and conflict.resolved_by == charlie
    assert BenefitDisbursement.objects.get(session=session, person=keep).status.bucket == \
        "delivered"
    event = AuditEvent.objects.get(action="sync_conflict.merge")
    assert event.after["device_id"] == DEVICE


def test_a_quick_added_walk_in_who_matches_someone_is_reviewed(kim, charlie, today) -> None:
    session, rows = today
    known = Person.objects.get(pk=rows[0].person_id)
    results = sync(ApiClient(kim), [record("register", session_id=session.pk,
                                           first_name=known.first_name,
                                           last_name=known.last_name)])
    assert results[0]["reason"] == "possible_duplicate"
    conflict = SyncConflict.objects.get()
    assert known.pk in {m["person_id"] for m in conflict.matches}
    assert Person.objects.filter(last_name=known.last_name).count() == 1
    from programdesk.offline.services import sync_conflict_resolve

    # "It's them": checked in as the person found, nobody new.
    sync_conflict_resolve(actor=charlie, conflict=conflict, resolution="merge",
                          person_id=known.pk)
    assert BenefitDisbursement.objects.get(pk=rows[0].pk).status.bucket == "delivered"
    assert Person.objects.filter(last_name=known.last_name).count() == 1


def test_apply_with_a_reason_registers_the_walk_in_as_someone_new(kim, charlie, today) -> None:
    from programdesk.core.errors import ValidationError
    from programdesk.offline.services import sync_conflict_resolve

    session, rows = today
    known = Person.objects.get(pk=rows[0].person_id)
    sync(ApiClient(kim), [record("register", session_id=session.pk,
                                 first_name=known.first_name, last_name=known.last_name)])
    conflict = SyncConflict.objects.get()
    with pytest.raises(ValidationError):
        sync_conflict_resolve(actor=charlie, conflict=conflict, resolution="apply", note="")
    sync_conflict_resolve(actor=charlie, conflict=conflict, resolution="apply",
                          note="Another Kai: different birthday")
    assert Person.objects.filter(last_name=known.last_name).count() == 2
    event = AuditEvent.objects.get(action="sync_conflict.apply")
    assert event.reason == "Another Kai: different birthday"
    assert event.after["device_id"] == DEVICE


def test_discard_closes_the_conflict_and_writes_nothing(kim, charlie, today) -> None:
    from programdesk.core.errors import Conflict
    from programdesk.offline.services import sync_conflict_resolve

    session, rows = today
    BenefitSession.objects.filter(pk=session.pk).update(status="cancelled")
    sync(ApiClient(kim), [record(session_id=session.pk, person_id=rows[0].person_id)])
    conflict = SyncConflict.objects.get()
    sync_conflict_resolve(actor=charlie, conflict=conflict, resolution="discard",
                          note="Session was cancelled")
    assert SyncConflict.objects.get().state == ConflictState.DISCARDED
    with pytest.raises(Conflict):
        sync_conflict_resolve(actor=charlie, conflict=conflict, resolution="discard")
    assert delivered(session) == 0


def test_a_record_over_a_service_limit_lands_in_the_review_list(charlie, today) -> None:
    """A record made offline that goes over a service limit (one per person per day, used up
    meanwhile at the desk) is filed for review, not delivered; a manager applies it with a
    reason, audited."""
    session, rows = today
    benefit = session.benefit
    benefit.limit_max, benefit.limit_per, benefit.limit_scope = 1, "day", "person"
    benefit.save(update_fields=["limit_max", "limit_per", "limit_scope"])
    person = Person.objects.get(pk=rows[0].person_id)
    services.disbursements_create_ad_hoc(
        actor=charlie, person=person, disbursed_on=timezone.localdate(),
        lines=[services.DisbursementLine(benefit.pk, Decimal(1))])
    client = ApiClient(charlie)
    results = sync(client, [record("walk_in_disbursement", benefit_id=benefit.pk,
                                   person_id=person.pk, quantity=1)])
    assert results[0]["outcome"] == "conflict", results
    assert results[0]["reason"] == "service_limit"
    assert "already served" in results[0]["detail"]
    conflict = SyncConflict.objects.get()
    assert conflict.reason == "service_limit"
    ad_hoc = BenefitDisbursement.objects.filter(person=person, session__isnull=True)
    assert ad_hoc.count() == 1
    page = client.client
    page.force_login(charlie)
    assert b"A service limit was reached" in page.get("/sync/conflicts/").content
    # Staff may not go past it; a manager may, with the reason kept in the audit event.
    page.post("/sync/conflicts/", {"conflict_id": conflict.pk, "resolution": "apply",
                                   "note": "Flood: second kit allowed"})
    assert ad_hoc.count() == 1
    manager = f.UserFactory(username="mona", role="manager")
    page.force_login(manager)
    response = page.post("/sync/conflicts/", {"conflict_id": conflict.pk, "resolution": "apply",
                                              "note": "Flood: second kit allowed"})
    assert response.status_code == 302
    assert ad_hoc.count() == 2
    conflict.refresh_from_db()
    assert conflict.state == ConflictState.APPLIED
    assert AuditEvent.objects.filter(reason__contains="Flood: second kit allowed").exists()


def test_roles_and_program_scope(kim, dana, charlie, today) -> None:
    session, rows = today
    assert ApiClient(dana).post("sync", {"device_id": DEVICE, "records": []}).status_code == 403
    assert ApiClient(None).post("sync", {"device_id": DEVICE, "records": []}).status_code == 401
    # A kiosk may check in, not mark attendance.
    results = sync(ApiClient(kim), [record("attendance", session_id=session.pk,
                                           disbursement_id=rows[0].pk, status="absent")])
    assert results[0]["outcome"] == "rejected" and results[0]["reason"] == "not_allowed"
    # Staff may.
    results = sync(ApiClient(charlie), [record("attendance", session_id=session.pk,
                                               disbursement_id=rows[0].pk, status="absent")])
    assert results[0]["outcome"] == "applied"
    assert BenefitDisbursement.objects.get(pk=rows[0].pk).status.code == "absent"
    # A user limited to another program: the session is unknown to them.
    other = f.ProgramFactory()
    limited = f.UserFactory(role="staff")
    limited.programs.add(other)
    results = sync(ApiClient(limited), [record(session_id=session.pk,
                                               person_id=rows[1].person_id)])
    assert results[0]["outcome"] == "rejected" and results[0]["reason"] == "not_found"
    assert SyncConflict.objects.count() == 0


def test_conflicts_are_listed_to_staff_of_their_program_only(kim, charlie, today) -> None:
    session, rows = today
    BenefitSession.objects.filter(pk=session.pk).update(status="cancelled")
    sync(ApiClient(kim), [record(session_id=session.pk, person_id=rows[0].person_id)])
    listed = ApiClient(charlie).get("sync/conflicts").json()
    assert listed["count"] == 1 and listed["items"][0]["reason"] == "session_cancelled"
    limited = f.UserFactory(role="staff")
    limited.programs.add(f.ProgramFactory())
    assert ApiClient(limited).get("sync/conflicts").json()["count"] == 0
    assert ApiClient(kim).get("sync/conflicts").status_code == 403


def test_the_roster_holds_only_what_the_front_desk_needs(kim, charlie, today) -> None:
    session, rows = today
    person = Person.objects.get(pk=rows[0].person_id)
    # Values no generated name, id or timestamp can contain by chance ("99" once matched).
    Person.objects.filter(pk=person.pk).update(card_code="CARD-1", last_name="Qxzvwlast",
                                               annual_income=Decimal("87654.32"),
                                               birth_date=dt.date(1907, 1, 2),
                                               household_size=4)
    person.refresh_from_db()
    body = ApiClient(kim).get("offline/roster").json()
    (entry,) = [s for s in body["sessions"] if s["session_id"] == session.pk]
    assert len(entry["people"]) == 5
    mine = next(p for p in entry["people"] if p["person_id"] == person.pk)
    assert mine["display_name"] == f"{person.first_name} {person.last_name[0]}."
    assert mine["card_code"] == "CARD-1" and mine["household_size"] == 4
    text = str(body)
    assert "Qxzvwlast" not in text and "1907" not in text and "87654" not in text
    staff = ApiClient(charlie).get("offline/roster").json()
    staff_entry = next(s for s in staff["sessions"] if s["session_id"] == session.pk)
    assert f"{person.first_name} {person.last_name}" in {
        p["display_name"] for p in staff_entry["people"]}
    assert ApiClient(f.UserFactory(role="viewer")).get("offline/roster").status_code == 403


def test_the_purge_keeps_sync_answers_longer_and_drops_old_resolved_conflicts(
        kim, charlie, today, settings) -> None:
    from programdesk.management.purge import purge_everything
    from programdesk.offline.services import sync_conflict_resolve

    session, rows = today
    sync(ApiClient(kim), [record(session_id=session.pk, person_id=rows[0].person_id)])
    IdempotencyRecord.objects.update(created_at=timezone.now() - dt.timedelta(hours=30))
    BenefitSession.objects.filter(pk=session.pk).update(status="cancelled")
    sync(ApiClient(kim), [record(session_id=session.pk, person_id=rows[1].person_id)])
    conflict = SyncConflict.objects.get()
    sync_conflict_resolve(actor=charlie, conflict=conflict, resolution="discard")
    SyncConflict.objects.update(resolved_at=timezone.now() - dt.timedelta(days=200))
    counts = purge_everything()
    assert counts["sync_conflicts"] == 1
    assert IdempotencyRecord.objects.filter(method="SYNC").count() == 2  # 30 h < 72 h
    IdempotencyRecord.objects.update(created_at=timezone.now() - dt.timedelta(hours=80))
    purge_everything()
    assert IdempotencyRecord.objects.filter(method="SYNC").count() == 0


def test_a_kiosk_is_told_only_to_see_staff_but_the_review_list_says_who_when_where(
        kim, charlie, today) -> None:
    session, rows = today
    benefit = session.benefit
    benefit.limit_max, benefit.limit_per, benefit.limit_scope = 1, "day", "person"
    benefit.save(update_fields=["limit_max", "limit_per", "limit_scope"])
    person = Person.objects.get(pk=rows[0].person_id)
    services.disbursements_create_ad_hoc(
        actor=charlie, person=person, disbursed_on=session.local_date,
        lines=[services.DisbursementLine(benefit.pk, Decimal(1))])
    results = sync(ApiClient(kim), [record("check_in", session_id=session.pk,
                                           person_id=person.pk)])
    assert results[0]["outcome"] == "conflict"
    assert results[0]["detail"] == "Please see a staff member."
    conflict = SyncConflict.objects.get()
    assert conflict.reason == "service_limit"
    assert "already served" in conflict.detail and person.last_name in conflict.detail
