from __future__ import annotations

import pytest

from programdesk.core import services
from programdesk.core.errors import Conflict, ValidationError
from programdesk.core.models import AuditEvent, StatusValue
from programdesk.core.selectors import status_by_code, status_default
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_shipped_values_match_the_design() -> None:
    shipped = {(s.kind, s.code): (s.bucket, s.is_default)
               for s in StatusValue.objects.all()}
    assert shipped == {
        ("disbursement", "enrolled"): ("expected", True),
        ("disbursement", "completed"): ("delivered", False),
        ("disbursement", "absent"): ("absent", False),
        ("disbursement", "excused"): ("excused", False),
        ("disbursement", "cancelled"): ("cancelled", False),
        ("enrollment", "applied"): ("applied", False),
        ("enrollment", "waitlisted"): ("waitlisted", False),
        ("enrollment", "enrolled"): ("active", True),
        ("enrollment", "in_progress"): ("active", False),
        ("enrollment", "completed"): ("completed", False),
        ("enrollment", "withdrawn"): ("withdrawn", False),
        ("enrollment", "denied"): ("denied", False),
    }


def test_setting_a_default_swaps_it_in_one_step(alice) -> None:
    absent = f.status("disbursement", "absent")
    services.status_value_set_default(actor=alice, status_value=absent)
    assert status_default("disbursement") == absent
    assert StatusValue.objects.filter(kind="disbursement", is_default=True).count() == 1
    assert AuditEvent.objects.filter(action="status_value.set_default").count() == 1


def test_added_value_keeps_its_bucket(alice) -> None:
    value = services.status_value_create(actor=alice, kind="disbursement", code="late",
                                         label="Late", bucket="delivered")
    services.status_value_update(actor=alice, status_value=value, label="Arrived late")
    value.refresh_from_db()
    assert (value.label, value.bucket) == ("Arrived late", "delivered")


def test_bucket_of_another_kind_is_refused(alice) -> None:
    with pytest.raises(ValidationError) as info:
        services.status_value_create(actor=alice, kind="disbursement", code="x", label="X",
                                     bucket="active")
    assert info.value.message_for("bucket")


def test_value_in_use_can_be_retired_but_not_deleted(alice) -> None:
    absent = f.status("disbursement", "absent")
    f.DisbursementFactory(status=absent)
    with pytest.raises(Conflict):
        services.status_value_delete(actor=alice, status_value=absent)
    services.status_value_update(actor=alice, status_value=absent, is_active=False)
    with pytest.raises(ValidationError):
        status_by_code("disbursement", "absent")


def test_default_cannot_be_retired(alice) -> None:
    with pytest.raises(Conflict):
        services.status_value_update(actor=alice, status_value=status_default("enrollment"),
                                     is_active=False)


def test_unused_value_can_be_deleted(alice) -> None:
    value = services.status_value_create(actor=alice, kind="enrollment", code="paused",
                                         label="Paused", bucket="waitlisted")
    services.status_value_delete(actor=alice, status_value=value)
    assert not StatusValue.objects.filter(code="paused").exists()
