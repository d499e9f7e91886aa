from __future__ import annotations

import pytest

from programdesk.core.models import User
from programdesk.participation import services
from programdesk.participation.models import BenefitDisbursement
from programdesk.scheduling.models import BenefitSession
from tests import factories as f


@pytest.fixture
def today(charlie: User) -> tuple[BenefitSession, list[BenefitDisbursement]]:
    """Today's session with five people on its roster, expected."""
    schedule = f.schedule_with_sessions(sessions=2)
    people = f.PersonFactory.create_batch(5)
    services.schedule_add_participants(actor=charlie, schedule=schedule,
                                       person_ids=[p.pk for p in people])
    session = schedule.sessions.order_by("start").first()
    assert session is not None
    rows = list(BenefitDisbursement.objects.filter(session=session).order_by("id"))
    return session, rows
