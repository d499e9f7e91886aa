from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest

from programdesk.core.errors import Conflict, ValidationError
from programdesk.core.models import AuditEvent
from programdesk.participation.models import BenefitDisbursement
from programdesk.scheduling import services
from programdesk.scheduling.models import BenefitSchedule, BenefitSession
from tests.factories import (
    AssignmentFactory,
    DisbursementFactory,
    EnrollmentFactory,
    ScheduleAssignmentFactory,
    status,
)

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")


def fields_of(exc: ValidationError) -> set[str]:
    return {e["field"] for e in exc.errors}


def attend(session: BenefitSession, code: str = "completed", **kw: Any) -> BenefitDisbursement:
    """A disbursement of ``session`` with status ``code`` for a new person on the benefit."""
    assignment = AssignmentFactory(benefit=session.benefit,
                                   enrollment=EnrollmentFactory(program=session.benefit.program))
    return DisbursementFactory(assignment=assignment, session=session,
                               status=status("disbursement", code),
                               disbursed_on=session.local_date, **kw)


# --- create ------------------------------------------------------------------------------------

def test_create_writes_the_schedule_and_its_sessions(make_schedule, benefit, bob) -> None:
    result = make_schedule(capacity=25, default_quantity=Decimal(2), location="Room 4")
    schedule = result.schedule
    assert schedule.pk and schedule.benefit == benefit
    assert schedule.first_date == dt.date(2030, 3, 5) and schedule.start_time == dt.time(18)
    assert schedule.duration == dt.timedelta(hours=2)
    assert schedule.recurrence["weekdays"] == ["TU", "TH"] and schedule.recurrence["count"] == 20
    sessions = list(schedule.sessions.order_by("start"))
    assert len(sessions) == 20 == len(result.sessions)
    assert {s.start.astimezone(NY).time() for s in sessions} == {dt.time(18)}
    assert all(s.location == "Room 4" and s.status == "scheduled" for s in sessions)
    assert sessions[0].local_date == dt.date(2030, 3, 5)
    assert result.description == "Weekly on Tuesday and Thursday, 20 times"
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert "schedule.create" in actions and "session.create" in actions


def test_create_is_a_handful_of_queries(make_schedule, django_assert_max_num_queries) -> None:
    # SQLite inserts 500 sessions in batches of ~100 rows (its bound-parameter limit).
    with django_assert_max_num_queries(12):
        make_schedule({"frequency": "daily", "count": 500})
    assert BenefitSession.objects.count() == 500


def test_sessions_are_aware_and_keep_local_time_across_dst(make_schedule) -> None:
    schedule = make_schedule({"frequency": "weekly", "count": 3},
                             start=dt.datetime(2030, 3, 5, 18)).schedule
    starts = [s.start for s in schedule.sessions.order_by("start")]
    assert [s.astimezone(NY).isoformat() for s in starts] == [
        "2030-03-05T18:00:00-05:00", "2030-03-12T18:00:00-04:00", "2030-03-19T18:00:00-04:00"]


def test_dry_run_writes_nothing(make_schedule) -> None:
    result = make_schedule(dry_run=True)
    assert result.schedule is None and len(result.sessions) == 20
    assert all(s.pk is None for s in result.sessions)
    assert not BenefitSchedule.objects.exists() and not BenefitSession.objects.exists()
    assert not AuditEvent.objects.exists()


def test_skip_dates_drop_sessions_and_are_remembered(make_schedule) -> None:
    result = make_schedule(skip_dates=[dt.date(2030, 3, 7)])
    assert len(result.sessions) == 19
    assert dt.date(2030, 3, 7) not in {s.local_date for s in result.sessions}
    assert result.schedule.skip_dates == ["2030-03-07"]


def test_a_skip_date_off_the_rule_is_a_field_error(make_schedule) -> None:
    with pytest.raises(ValidationError) as info:
        make_schedule(skip_dates=[dt.date(2030, 3, 6)])
    assert fields_of(info.value) == {"skip_dates.0"}


def test_aware_first_session_is_read_in_the_schedule_zone(make_schedule) -> None:
    start = dt.datetime(2030, 3, 5, 23, 0, tzinfo=dt.UTC)  # 18:00 in New York
    schedule = make_schedule({"frequency": "once"}, start=start).schedule
    assert schedule.start_time == dt.time(18) and schedule.first_date == dt.date(2030, 3, 5)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"tz": "Mars/Olympus"}, "timezone"),
    ({"length": dt.timedelta(hours=-1)}, "first_session_end"),
    ({"length": dt.timedelta(0)}, "first_session_end"),
    ({"recurrence": {"frequency": "weekly", "weekdays": ["XX"], "count": 3}},
     "recurrence.weekdays"),
    ({"recurrence": {"frequency": "weekly", "count": 3, "until": "2030-06-01"}},
     "recurrence.count"),
    ({"recurrence": {"frequency": "weekly"}}, "recurrence.count"),
    ({"recurrence": {"frequency": "weekly", "until": "2030-03-01"}}, "recurrence.until"),
    ({"recurrence": {"frequency": "weekly", "weekdays": ["FR"], "until": "2030-03-07"}},
     "recurrence.until"),
    ({"recurrence": {"frequency": "daily", "count": 501}}, "recurrence.count"),
    ({"recurrence": {"frequency": "daily", "until": "2032-01-01"}}, "recurrence.until"),
    ({"name": "  "}, "name"),
    ({"capacity": 0}, "capacity"),
    ({"default_quantity": Decimal("-1")}, "default_quantity"),
])
def test_bad_input_is_a_field_error_and_writes_nothing(make_schedule, kwargs, field) -> None:
    recurrence = kwargs.pop("recurrence", None)
    with pytest.raises(ValidationError) as info:
        make_schedule(recurrence, **kwargs)
    assert field in fields_of(info.value)
    assert not BenefitSchedule.objects.exists() and not BenefitSession.objects.exists()


def test_exactly_500_sessions_is_allowed_but_501_by_date_is_not(make_schedule) -> None:
    start = dt.datetime(2030, 1, 1, 9)
    last = (start + dt.timedelta(days=499)).date()
    assert len(make_schedule({"frequency": "daily", "until": last.isoformat()},
                             start=start, dry_run=True).sessions) == 500
    with pytest.raises(ValidationError) as info:
        make_schedule({"frequency": "daily", "until": (last + dt.timedelta(days=1)).isoformat()},
                      start=start)
    assert "500" in info.value.message_for("recurrence.until")


def test_inactive_benefit_is_a_conflict(make_schedule, benefit) -> None:
    benefit.is_active = False
    benefit.save()
    with pytest.raises(Conflict):
        make_schedule(dry_run=True)
    assert not BenefitSchedule.objects.exists()


# --- add sessions ------------------------------------------------------------------------------

def test_add_sessions_continues_the_rule_after_the_last(make_schedule, bob) -> None:
    schedule = make_schedule({"frequency": "weekly", "weekdays": ["TU", "TH"], "count": 4},
                             skip_dates=[dt.date(2030, 3, 14)]).schedule
    assert schedule.sessions.count() == 3  # 5, 7, 12 March
    schedule.sessions.filter(local_date=dt.date(2030, 3, 12)).delete()
    result = services.schedule_sessions_add(actor=bob, schedule=schedule, count=3)
    # After the last session (7 March): 12 March again, 14 March stays dropped.
    assert [s.local_date.isoformat() for s in result.sessions] == [
        "2030-03-12", "2030-03-19", "2030-03-21"]
    schedule.refresh_from_db()
    assert schedule.sessions.count() == 5
    assert schedule.recurrence["count"] == 6  # the rule now ends at the last session


def test_add_sessions_puts_the_roster_on_the_new_sessions(make_schedule, bob,
                                                         django_assert_max_num_queries) -> None:
    schedule = make_schedule({"frequency": "weekly", "count": 2}).schedule
    entries = [ScheduleAssignmentFactory(
        schedule=schedule, start_date=dt.date(2030, 1, 1),
        assignment=AssignmentFactory(benefit=schedule.benefit,
                                     enrollment=EnrollmentFactory(program=schedule.benefit.program)))
        for _ in range(5)]
    entries[0].end_date = dt.date(2030, 3, 20)  # off the roster before the new sessions
    entries[0].save()
    with django_assert_max_num_queries(16):
        result = services.schedule_sessions_add(actor=bob, schedule=schedule, count=10)
    # 4 people x 10 sessions, and the one who leaves on 20 March is expected on 19 March.
    assert result.disbursements_created == 41
    new = BenefitDisbursement.objects.filter(session__in=result.sessions)
    assert new.count() == 41
    assert {d.status.code for d in new} == {"enrolled"}
    assert all(d.disbursed_on == d.session.local_date for d in new)
    assert {d.quantity for d in new} == {schedule.benefit.default_quantity}


def test_add_sessions_limit(make_schedule, bob) -> None:
    schedule = make_schedule({"frequency": "daily", "count": 498}).schedule
    with pytest.raises(ValidationError) as info:
        services.schedule_sessions_add(actor=bob, schedule=schedule, count=3)
    assert "at most 2 more" in info.value.message_for("count")
    services.schedule_sessions_add(actor=bob, schedule=schedule, count=2)
    assert schedule.sessions.count() == 500


def test_add_sessions_to_a_one_time_schedule_is_refused(make_schedule, bob) -> None:
    schedule = make_schedule({"frequency": "once"}).schedule
    with pytest.raises(ValidationError) as info:
        services.schedule_sessions_add(actor=bob, schedule=schedule, count=1)
    assert fields_of(info.value) == {"count"}


# --- delete future -----------------------------------------------------------------------------

def test_delete_future_keeps_sessions_with_recorded_attendance(make_schedule, bob) -> None:
    schedule = make_schedule({"frequency": "weekly", "count": 6}).schedule
    sessions = list(schedule.sessions.order_by("start"))
    attended = attend(sessions[4], "completed")
    expected = attend(sessions[3], "enrolled")
    result = services.schedule_sessions_delete_future(actor=bob, schedule=schedule,
                                                      after=sessions[1].local_date)
    assert result.deleted == 3 and result.disbursements_deleted == 1
    assert [s.pk for s in result.kept] == [sessions[4].pk]
    assert cast(Any, result.kept[0]).recorded == 1  # an annotated count
    remaining = set(schedule.sessions.values_list("pk", flat=True))
    assert remaining == {sessions[0].pk, sessions[1].pk, sessions[4].pk}
    assert BenefitDisbursement.objects.filter(pk=attended.pk).exists()
    assert not BenefitDisbursement.objects.filter(pk=expected.pk).exists()
    schedule.refresh_from_db()
    assert schedule.recurrence["count"] == 2


def test_delete_future_is_set_based(make_schedule, bob, django_assert_max_num_queries) -> None:
    schedule = make_schedule({"frequency": "daily", "count": 200}).schedule
    for session in schedule.sessions.all()[:20]:
        attend(session, "enrolled")
    with django_assert_max_num_queries(16):
        result = services.schedule_sessions_delete_future(
            actor=bob, schedule=schedule, after=dt.date(2030, 1, 1))
    assert result.deleted == 200 and result.disbursements_deleted == 20


# --- one session -------------------------------------------------------------------------------

def test_cancelling_a_session_cancels_its_expected_disbursements(make_schedule, bob) -> None:
    session = make_schedule().schedule.sessions.first()
    waiting = [attend(session, "enrolled") for _ in range(3)]
    done = attend(session, "completed")
    services.session_update(actor=bob, session=session, status="cancelled")
    codes = dict(BenefitDisbursement.objects.values_list("pk", "status__code"))
    assert {codes[d.pk] for d in waiting} == {"cancelled"} and codes[done.pk] == "completed"
    services.session_update(actor=bob, session=session, status="scheduled")
    codes = dict(BenefitDisbursement.objects.values_list("pk", "status__code"))
    assert {codes[d.pk] for d in waiting} == {"enrolled"}


def test_moving_a_session_moves_disbursed_on(make_schedule, bob) -> None:
    session = make_schedule().schedule.sessions.first()
    disbursement = attend(session, "enrolled")
    services.session_update(actor=bob, session=session, start=dt.datetime(2030, 3, 6, 17, 30))
    session.refresh_from_db()
    assert session.start.astimezone(NY).isoformat() == "2030-03-06T17:30:00-05:00"
    assert session.end - session.start == dt.timedelta(hours=2)
    assert session.local_date == dt.date(2030, 3, 6)
    disbursement.refresh_from_db()
    assert disbursement.disbursed_on == dt.date(2030, 3, 6)


def test_moving_a_session_onto_another_is_a_field_error(make_schedule, bob) -> None:
    first, second = make_schedule().schedule.sessions.order_by("start")[:2]
    with pytest.raises(ValidationError) as info:
        services.session_update(actor=bob, session=first, start=second.start)
    assert fields_of(info.value) == {"start"}
    with pytest.raises(ValidationError) as info:
        services.session_update(actor=bob, session=first, end=first.start)
    assert fields_of(info.value) == {"end"}


def test_changing_location_and_status_is_audited(make_schedule, charlie) -> None:
    session = make_schedule().schedule.sessions.first()
    services.session_update(actor=charlie, session=session, location="Gym", status="postponed")
    event = AuditEvent.objects.get(action="session.update")
    assert event.after == {"location": "Gym", "status": "postponed"}
    with pytest.raises(ValidationError):
        services.session_update(actor=charlie, session=session, status="held")


# --- change the rule ---------------------------------------------------------------------------

def test_changing_the_rule_regenerates_only_future_sessions_without_attendance(
        make_schedule, bob) -> None:
    schedule = make_schedule({"frequency": "weekly", "weekdays": ["TU"], "count": 6}).schedule
    sessions = list(schedule.sessions.order_by("start"))  # Tuesdays 5 Mar – 9 Apr 2030
    now = sessions[1].end + dt.timedelta(hours=1)  # two sessions are past
    attended = attend(sessions[3], "absent")  # a future Tuesday with attendance
    expected = attend(sessions[4], "enrolled")
    result = services.schedule_change_recurrence(
        actor=bob, schedule=schedule, now=now,
        recurrence={"frequency": "weekly", "weekdays": ["TU", "TH"], "until": "2030-04-04"})
    # Past: 5, 12 March stay. Future Tuesdays 19, 26 Mar, 2 Apr are on the new rule too.
    assert result.unchanged == 3
    # Thursdays 14, 21, 28 March and 4 April are new; 9 April is off the rule and goes.
    assert [s.local_date.isoformat() for s in result.created] == [
        "2030-03-14", "2030-03-21", "2030-03-28", "2030-04-04"]
    assert result.deleted == 1 and result.kept == []
    assert BenefitDisbursement.objects.filter(pk=attended.pk).exists()
    assert BenefitDisbursement.objects.filter(pk=expected.pk).exists()  # 2 April stayed
    schedule.refresh_from_db()
    assert schedule.recurrence["weekdays"] == ["TU", "TH"]
    assert schedule.sessions.count() == 9


def test_changing_the_rule_keeps_future_sessions_with_attendance(make_schedule, bob) -> None:
    schedule = make_schedule({"frequency": "weekly", "weekdays": ["TU"], "count": 4}).schedule
    sessions = list(schedule.sessions.order_by("start"))
    attend(sessions[2], "excused")
    now = sessions[0].start - dt.timedelta(days=1)
    result = services.schedule_change_recurrence(
        actor=bob, schedule=schedule, now=now,
        recurrence={"frequency": "weekly", "weekdays": ["WE"], "count": 4})
    assert [s.pk for s in result.kept] == [sessions[2].pk]
    assert result.deleted == 3 and len(result.created) == 4
    assert schedule.sessions.count() == 5


def test_changing_the_time_moves_future_sessions(make_schedule, bob) -> None:
    schedule = make_schedule({"frequency": "weekly", "weekdays": ["TU"], "count": 3}).schedule
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    dry = services.schedule_change_recurrence(
        actor=bob, schedule=schedule, now=now, dry_run=True,
        recurrence={"frequency": "weekly", "weekdays": ["TU"], "count": 3},
        first_session_start=dt.datetime(2030, 3, 5, 19),
        first_session_end=dt.datetime(2030, 3, 5, 20))
    assert dry.dry_run and dry.deleted == 3 and len(dry.created) == 3
    assert {s.local_start.time() for s in schedule.sessions.all()} == {dt.time(18)}
    services.schedule_change_recurrence(
        actor=bob, schedule=schedule, now=now,
        recurrence={"frequency": "weekly", "weekdays": ["TU"], "count": 3},
        first_session_start=dt.datetime(2030, 3, 5, 19),
        first_session_end=dt.datetime(2030, 3, 5, 20))
    schedule.refresh_from_db()
    assert schedule.start_time == dt.time(19) and schedule.duration == dt.timedelta(hours=1)
    assert {s.local_start.time() for s in schedule.sessions.all()} == {dt.time(19)}


def test_changing_the_rule_puts_the_roster_on_new_sessions(make_schedule, bob) -> None:
    schedule = make_schedule({"frequency": "weekly", "weekdays": ["TU"], "count": 2}).schedule
    ScheduleAssignmentFactory(schedule=schedule, start_date=dt.date(2030, 1, 1),
                              assignment=AssignmentFactory(
                                  benefit=schedule.benefit,
                                  enrollment=EnrollmentFactory(program=schedule.benefit.program)))
    result = services.schedule_change_recurrence(
        actor=bob, schedule=schedule, now=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        recurrence={"frequency": "weekly", "weekdays": ["TU", "TH"], "count": 4})
    assert len(result.created) == 2 and result.disbursements_created == 2
