"""What the offline tests share: a record as a device makes it, and sending a batch."""

from __future__ import annotations

import uuid
from typing import Any

from django.utils import timezone

from programdesk.participation.models import BenefitDisbursement
from programdesk.scheduling.models import BenefitSession
from tests.conftest import ApiClient

DEVICE = "tablet-1"


def record(kind: str = "check_in", **fields: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "kind": kind,
            "happened_at": timezone.now().isoformat(), **fields}


def sync(client: ApiClient, records: list[dict[str, Any]], device: str = DEVICE
         ) -> list[dict[str, Any]]:
    response = client.post("sync", {"device_id": device, "records": records})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def delivered(session: BenefitSession) -> int:
    return BenefitDisbursement.objects.filter(session=session,
                                              status__bucket="delivered").count()
