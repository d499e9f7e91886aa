from __future__ import annotations

import pytest
from django.db import transaction

from programdesk.core.audit import audit_record
from programdesk.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def make_event() -> AuditEvent:
    with transaction.atomic():
        return AuditEvent.objects.get(pk=audit_record(actor=None, action="test.event",
                                                      object_type="x", object_id=1))


def test_events_cannot_be_changed() -> None:
    event = make_event()
    event.action = "rewritten"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).update(action="rewritten")


def test_events_cannot_be_deleted() -> None:
    event = make_event()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        audit_record(actor=None, action="test.event", object_type="x")


def test_an_event_keeps_its_values_and_leaves_absent_json_null(alice) -> None:
    with transaction.atomic():
        pk = audit_record(actor=alice, action="test.event", object_type="x", object_ids=[3, 1],
                          after={"quantity": "1.5", "when": "2026-12-02"}, reason="why")
    event = AuditEvent.objects.get(pk=pk)
    assert (event.actor_id, event.action, event.object_type, event.object_id) == (
        alice.pk, "test.event", "x", None)
    assert event.object_ids == [1, 3] and event.after == {"quantity": "1.5", "when": "2026-12-02"}
    assert event.reason == "why" and event.at is not None
    assert AuditEvent.objects.filter(pk=pk, before__isnull=True).exists()
