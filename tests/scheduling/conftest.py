from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from programdesk.scheduling import services
from tests.factories import BenefitFactory

WEEKLY_TU_TH = {"frequency": "weekly", "interval": 1, "weekdays": ["TU", "TH"], "count": 20,
                "until": None, "monthly": None}


@pytest.fixture
def benefit(db: None) -> Any:
    return BenefitFactory(name="Job skills class")


@pytest.fixture
def make_schedule(benefit: Any, bob: Any) -> Any:
    """``make_schedule(recurrence=..., start=..., **kw)`` → ScheduleResult through the service."""

    def make(recurrence: dict[str, Any] | None = None, *,
             start: dt.datetime = dt.datetime(2030, 3, 5, 18, 0),
             length: dt.timedelta = dt.timedelta(hours=2), tz: str = "America/New_York",
             **kwargs: Any) -> services.ScheduleResult:
        kwargs.setdefault("benefit", benefit)
        return services.schedule_create(
            actor=bob, name=kwargs.pop("name", "Spring cohort"), timezone=tz,
            first_session_start=start, first_session_end=start + length,
            recurrence=recurrence if recurrence is not None else dict(WEEKLY_TU_TH), **kwargs)

    return make


def disburse(session: Any, code: str = "enrolled", **person: Any) -> Any:
    """A disbursement of ``session`` with status ``code`` for a new enrollee of its program."""
    from tests.factories import (
        AssignmentFactory,
        DisbursementFactory,
        EnrollmentFactory,
        status,
    )

    enrollment = EnrollmentFactory(program=session.benefit.program, **person)
    assignment = AssignmentFactory(benefit=session.benefit, enrollment=enrollment)
    return DisbursementFactory(assignment=assignment, session=session,
                               status=status("disbursement", code),
                               disbursed_on=session.local_date)
