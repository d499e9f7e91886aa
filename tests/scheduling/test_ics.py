"""Calendar feeds: valid RFC 5545 that the icalendar library parses back to the same times."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from programdesk.scheduling import ics, services
from programdesk.scheduling.models import BenefitSession
from tests.conftest import assert_problem
from tests.factories import PersonFactory, ProgramFactory

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def schedule(make_schedule: Any) -> Any:
    return make_schedule({"frequency": "weekly", "weekdays": ["MO", "WE"], "count": 12},
                         start=dt.datetime(2030, 3, 18, 18, 30), tz="Europe/London",
                         location="Hall B").schedule


def parse(response: Any) -> Calendar:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


def test_feed_round_trips_the_session_times(api, schedule) -> None:
    cal = parse(api.get(f"schedules/{schedule.pk}/calendar.ics"))
    events = cal.walk("VEVENT")
    sessions = list(schedule.sessions.order_by("start"))
    assert len(events) == len(sessions) == 12
    for event, session in zip(events, sessions, strict=True):
        start, end = event.decoded("dtstart"), event.decoded("dtend")
        assert start == session.start and end == session.end
        assert start.tzinfo is not None and str(event["dtstart"].params["TZID"]) == "Europe/London"
        assert start.astimezone(LONDON).time() == dt.time(18, 30)
        assert str(event["location"]) == "Hall B"
    # BST starts on 31 March 2030: the UTC time moves, the local time does not.
    assert events[4].decoded("dtstart").utcoffset() == dt.timedelta(hours=1)  # 1 April
    assert events[3].decoded("dtstart").utcoffset() == dt.timedelta(0)  # 27 March
    assert events[0].decoded("dtstart").utcoffset() == dt.timedelta(0)


def test_feed_has_vtimezone_and_calendar_properties(api, schedule) -> None:
    cal = parse(api.get(f"schedules/{schedule.pk}/calendar.ics"))
    assert [str(tz["tzid"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/London"]
    assert cal.get_missing_tzids() == set()
    assert str(cal["version"]) == "2.0" and str(cal["prodid"])
    assert str(cal["method"]) == "PUBLISH"
    assert "Spring cohort" in str(cal["x-wr-calname"])
    text = api.get(f"schedules/{schedule.pk}/calendar.ics").content.decode()
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.rstrip().endswith("END:VCALENDAR")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))  # folded lines


def test_uids_are_stable_and_cancelled_sessions_say_so(api, bob, schedule) -> None:
    first = parse(api.get(f"schedules/{schedule.pk}/calendar.ics"))
    session = schedule.sessions.order_by("start")[1]
    services.session_update(actor=bob, session=session, status="cancelled")
    second = parse(api.get(f"schedules/{schedule.pk}/calendar.ics"))
    assert [str(e["uid"]) for e in first.walk("VEVENT")] == [
        str(e["uid"]) for e in second.walk("VEVENT")]
    event = second.walk("VEVENT")[1]
    assert str(event["uid"]) == f"session-{session.pk}@testserver"
    assert str(event["status"]) == "CANCELLED"
    assert str(second.walk("VEVENT")[0]["status"]) == "CONFIRMED"


def test_signed_url_needs_no_login(api_as, schedule) -> None:
    path = ics.schedule_feed_path(schedule.pk)
    anonymous = api_as(None)
    assert parse(anonymous.get(path)).walk("VEVENT")
    assert_problem(anonymous.get(f"/api/v1/schedules/{schedule.pk}/calendar.ics"), 401)
    assert_problem(anonymous.get(f"/api/v1/schedules/{schedule.pk}/calendar.ics?key=wrong"), 404)
    other = ics.schedule_feed_path(schedule.pk + 1).split("key=")[1]
    assert_problem(anonymous.get(f"/api/v1/schedules/{schedule.pk}/calendar.ics?key={other}"),
                   404)
    assert_problem(anonymous.get("/api/v1/schedules/999999/calendar.ics"), 404)
    head = anonymous.client.head(path)
    assert head.status_code == 200 and head["Content-Type"].startswith("text/calendar")


def test_kiosk_needs_the_key_too(api_as, kim, schedule) -> None:
    assert_problem(api_as(kim).get(f"schedules/{schedule.pk}/calendar.ics"), 403)


def test_feed_holds_no_personal_data(api, schedule) -> None:
    person = PersonFactory(first_name="Zelda", last_name="Quartermaine")
    from tests.factories import AssignmentFactory, DisbursementFactory, EnrollmentFactory
    session = schedule.sessions.first()
    assignment = AssignmentFactory(benefit=schedule.benefit, enrollment=EnrollmentFactory(
        program=schedule.benefit.program, person=person))
    DisbursementFactory(assignment=assignment, session=session)
    text = api.get(f"schedules/{schedule.pk}/calendar.ics").content.decode()
    assert "Zelda" not in text and "Quartermaine" not in text


def test_program_feed_has_every_schedule_in_its_own_zone(api_as, make_schedule, benefit,
                                                        schedule) -> None:
    make_schedule({"frequency": "once"}, start=dt.datetime(2030, 4, 1, 9), name="Intake day")
    make_schedule({"frequency": "once"}, start=dt.datetime(2030, 4, 2, 9), name="Elsewhere",
                  benefit=__import__("tests.factories").factories.BenefitFactory())
    program = benefit.program
    cal = parse(api_as(None).get(ics.program_feed_path(program.pk)))
    assert len(cal.walk("VEVENT")) == 13
    assert sorted(str(tz["tzid"]) for tz in cal.walk("VTIMEZONE")) == [
        "America/New_York", "Europe/London"]
    assert_problem(api_as(None).get(f"/api/v1/programs/{ProgramFactory().pk}/calendar.ics"
                                    f"?key={ics.feed_key('program', program.pk)}"), 404)


def test_feed_queries_do_not_grow_with_sessions(api, schedule,
                                                django_assert_max_num_queries) -> None:
    with django_assert_max_num_queries(6):
        api.get(f"schedules/{schedule.pk}/calendar.ics")
    assert BenefitSession.objects.count() == 12


def test_vtimezone_covers_sessions_after_2038(api, make_schedule) -> None:
    far = make_schedule({"frequency": "weekly", "count": 30},
                        start=dt.datetime(2045, 2, 7, 18)).schedule
    cal = parse(api.get(f"schedules/{far.pk}/calendar.ics"))
    vtimezone = cal.walk("VTIMEZONE")[0]
    transitions = [str(c.decoded("dtstart")) for c in vtimezone.walk()
                   if c.name in ("STANDARD", "DAYLIGHT")]
    rdates = vtimezone.to_ical().decode()
    assert any(t.startswith("2045") for t in transitions) or "20450312" in rdates
    for event, session in zip(cal.walk("VEVENT"), far.sessions.order_by("start"), strict=True):
        assert event.decoded("dtstart") == session.start
