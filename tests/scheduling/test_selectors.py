from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from programdesk.programs.models import Benefit
from programdesk.scheduling import selectors
from programdesk.scheduling.models import BenefitSchedule
from tests.factories import BenefitFactory, ProgramFactory, ScheduleFactory, UserFactory
from tests.scheduling.conftest import disburse

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_programs(make_schedule: Any, benefit: Benefit
                 ) -> tuple[BenefitSchedule, BenefitSchedule]:
    ours = make_schedule({"frequency": "daily", "count": 10},
                         start=dt.datetime(2030, 3, 4, 9)).schedule
    other_benefit = BenefitFactory(program=ProgramFactory(name="Elsewhere"))
    theirs = make_schedule({"frequency": "daily", "count": 10}, benefit=other_benefit,
                           start=dt.datetime(2030, 3, 4, 23, 30), tz="Asia/Tokyo").schedule
    return ours, theirs


def test_sessions_for_day_by_local_date_program_and_benefit(two_programs, dana) -> None:
    ours, theirs = two_programs
    day = dt.date(2030, 3, 6)
    assert {s.schedule_id for s in selectors.sessions_for_day(user=dana, day=day)} == {
        ours.pk, theirs.pk}
    # 23:30 in Tokyo is the same morning in New York: the session's own local date counts.
    tokyo = selectors.sessions_for_day(user=dana, day=day, program_id=theirs.benefit.program_id)
    assert [s.local_start.isoformat() for s in tokyo] == ["2030-03-06T23:30:00+09:00"]
    assert selectors.sessions_for_day(user=dana, day=day, benefit_id=ours.benefit_id).count() == 1


def test_sessions_are_scoped_to_the_users_programs(two_programs) -> None:
    ours, theirs = two_programs
    limited = UserFactory(username="lim", role="viewer")
    limited.programs.add(ours.benefit.program)
    week = selectors.sessions_between(user=limited, start=dt.date(2030, 3, 1),
                                      end=dt.date(2030, 3, 31))
    assert {s.schedule_id for s in week} == {ours.pk}
    assert selectors.sessions_for_day(user=limited, day=dt.date(2030, 3, 6),
                                      program_id=theirs.benefit.program_id).count() == 0


def test_sessions_between_is_inclusive(two_programs, dana) -> None:
    ours, _ = two_programs
    week = selectors.sessions_between(user=dana, start=dt.date(2030, 3, 4),
                                      end=dt.date(2030, 3, 10), benefit_id=ours.benefit_id)
    assert [s.local_date.day for s in week] == [4, 5, 6, 7, 8, 9, 10]


def test_schedule_sessions_with_counts_is_one_query(two_programs,
                                                    django_assert_num_queries) -> None:
    ours, _ = two_programs
    sessions = list(ours.sessions.order_by("start"))
    for code in ["enrolled", "enrolled", "completed", "absent", "excused", "cancelled"]:
        disburse(sessions[0], code)
    disburse(sessions[1], "completed")
    counted: Any = selectors.schedule_sessions_with_counts(schedule=ours)  # annotated counts
    with django_assert_num_queries(1):
        rows = [(s.expected, s.delivered, s.absent, s.excused, s.cancelled, s.local_start.hour)
                for s in counted]
    assert rows[0] == (2, 1, 1, 1, 1, 9) and rows[1] == (0, 1, 0, 0, 0, 9)
    assert rows[2][:5] == (0, 0, 0, 0, 0)
    assert selectors.session_counts(session=sessions[0]) == {
        "expected": 2, "delivered": 1, "absent": 1, "excused": 1, "cancelled": 1}


def test_description_of_a_rule_written_elsewhere() -> None:
    schedule = ScheduleFactory.build(first_date=dt.date(2030, 3, 5),
                                     recurrence={"frequency": "weekly", "count": 10})
    assert selectors.schedule_description(schedule) == "Weekly on Tuesday, 10 times"
    schedule.recurrence = {"frequency": "sometimes"}
    assert selectors.schedule_description(schedule) == ""


def test_the_check_in_lookup_finds_a_session_only_in_the_users_programs() -> None:
    from programdesk.core.errors import NotFound
    from tests.factories import SessionFactory

    session = SessionFactory()
    mine, other = UserFactory(role="kiosk"), UserFactory(role="kiosk")
    mine.programs.add(session.benefit.program)
    other.programs.add(ProgramFactory())
    found = selectors.session_for_check_in(user=mine, pk=session.pk)
    assert (found.pk, found.local_date, found.start) == (session.pk, session.local_date,
                                                         session.start)
    assert found.benefit == session.benefit  # read when used
    for user, pk in [(other, session.pk), (mine, session.pk + 1), (mine, -1),
                     (mine, 2**70), (mine, "x")]:
        with pytest.raises(NotFound):
            selectors.session_for_check_in(user=user, pk=pk)
