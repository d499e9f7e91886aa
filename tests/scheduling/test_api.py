from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from programdesk.scheduling.models import BenefitSchedule, BenefitSession
from tests.conftest import assert_problem
from tests.factories import (
    AssignmentFactory,
    BenefitFactory,
    DisbursementFactory,
    EnrollmentFactory,
    ProgramFactory,
    SessionFactory,
    status,
)

pytestmark = pytest.mark.django_db

BODY: dict[str, Any] = {
    "name": "Spring cohort", "timezone": "America/New_York",
    "first_session_start": "2030-03-05T18:00", "first_session_end": "2030-03-05T20:00",
    "recurrence": {"frequency": "weekly", "interval": 1, "weekdays": ["TU", "TH"],
                   "count": 20, "until": None, "monthly": None},
    "capacity": 25, "default_quantity": 2, "location": "Room 4", "dry_run": False,
}


def body(**changes: Any) -> dict[str, Any]:
    data = {**BODY, **changes}
    if "recurrence" in changes:
        data["recurrence"] = {**BODY["recurrence"], **changes["recurrence"]}
    return data


@pytest.fixture
def schedule_id(api_as: Any, bob: Any, benefit: Any) -> int:
    response = api_as(bob).post(f"benefits/{benefit.pk}/schedules", BODY)
    assert response.status_code == 201, response.content
    return int(response.json()["schedule"]["id"])


def test_create_schedule_as_api_md_describes(api_as, bob, benefit) -> None:
    response = api_as(bob).post(f"benefits/{benefit.pk}/schedules", BODY)
    assert response.status_code == 201, response.content
    data = response.json()
    schedule = data["schedule"]
    assert schedule["benefit_id"] == benefit.pk and schedule["program_id"] == benefit.program_id
    assert schedule["first_session_start"] == "2030-03-05T18:00:00-05:00"
    assert schedule["first_session_end"] == "2030-03-05T20:00:00-05:00"
    assert schedule["capacity"] == 25 and schedule["default_quantity"] == 2.0
    assert schedule["recurrence"]["weekdays"] == ["TU", "TH"]
    assert schedule["session_count"] == 20
    feed = f"/api/v1/schedules/{schedule['id']}/calendar.ics?key="
    assert schedule["calendar_url"].startswith(feed)
    sessions = data["sessions"]
    assert len(sessions) == 20
    assert sessions[0]["start"] == "2030-03-05T18:00:00-05:00"
    assert sessions[3]["start"] == "2030-03-14T18:00:00-04:00"  # after the DST change
    assert sessions[0]["end"] == "2030-03-05T20:00:00-05:00"
    assert sessions[0]["status"] == "scheduled" and sessions[0]["id"]


def test_dry_run_answers_200_and_writes_nothing(api_as, bob, benefit) -> None:
    response = api_as(bob).post(f"benefits/{benefit.pk}/schedules", body(dry_run=True))
    assert response.status_code == 200
    data = response.json()
    assert data["schedule"] is None and len(data["sessions"]) == 20
    assert data["sessions"][0]["id"] is None
    assert data["description"] == "Weekly on Tuesday and Thursday, 20 times"
    assert not BenefitSchedule.objects.exists()


def test_skip_dates_in_the_body(api_as, bob, benefit) -> None:
    response = api_as(bob).post(f"benefits/{benefit.pk}/schedules",
                                body(skip_dates=["2030-03-07"]))
    assert response.status_code == 201
    assert len(response.json()["sessions"]) == 19


@pytest.mark.parametrize(("changes", "field"), [
    ({"timezone": "Nowhere/Town"}, "timezone"),
    ({"first_session_end": "2030-03-05T17:00"}, "first_session_end"),
    ({"recurrence": {"weekdays": "TU"}}, "recurrence.weekdays"),
    ({"recurrence": {"until": "2030-06-01"}}, "recurrence.count"),
    ({"recurrence": {"count": None}}, "recurrence.count"),
    ({"recurrence": {"count": None, "until": "2030-03-01"}}, "recurrence.until"),
    ({"recurrence": {"count": 501}}, "recurrence.count"),
    ({"recurrence": {"frequency": "daily", "weekdays": None, "count": None,
                     "until": "2031-12-31"}}, "recurrence.until"),
    ({"recurrence": {"frequency": "fortnightly"}}, "recurrence.frequency"),
    ({"recurrence": {"weekdays": ["XX"]}}, "recurrence.weekdays.0"),
    ({"recurrence": {"frequency": "monthly", "weekdays": None,
                     "monthly": {"weekday": "TU", "ordinal": 7}}}, "recurrence.monthly.ordinal"),
    ({"first_session_start": "next tuesday"}, "first_session_start"),
    ({"default_quantity": 1.234}, "default_quantity"),
    ({"capacity": 0}, "capacity"),
    ({"skip_dates": ["2030-03-06"]}, "skip_dates.0"),
])
def test_bad_bodies_are_422_field_errors(api_as, bob, benefit, changes, field) -> None:
    response = api_as(bob).post(f"benefits/{benefit.pk}/schedules", body(**changes))
    assert_problem(response, 422, field)
    assert not BenefitSchedule.objects.exists()


def test_inactive_benefit_is_409(api_as, bob) -> None:
    benefit = BenefitFactory(is_active=False)
    assert_problem(api_as(bob).post(f"benefits/{benefit.pk}/schedules", BODY), 409)


def test_roles_and_scoping_on_create(api_as, charlie, dana, benefit) -> None:
    assert_problem(api_as(charlie).post(f"benefits/{benefit.pk}/schedules", BODY), 403)
    assert_problem(api_as(dana).post(f"benefits/{benefit.pk}/schedules", BODY), 403)
    assert_problem(api_as(None).post(f"benefits/{benefit.pk}/schedules", BODY), 401)
    assert_problem(api_as(charlie).post("benefits/999999/schedules", BODY), 403)
    from tests.factories import UserFactory
    limited = UserFactory(username="lim", role="manager")
    limited.programs.add(ProgramFactory())
    assert_problem(api_as(limited).post(f"benefits/{benefit.pk}/schedules", BODY), 404)
    assert_problem(api_as(limited).post("benefits/-1/schedules", BODY), 404)


def test_list_and_get_schedules(api_as, dana, schedule_id, benefit) -> None:
    client = api_as(dana)
    listed = client.get("schedules", benefit_id=benefit.pk).json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == schedule_id
    assert client.get("schedules", program_id=benefit.program_id).json()["count"] == 1
    assert client.get("schedules", program_id=ProgramFactory().pk).json()["count"] == 0
    one = client.get(f"schedules/{schedule_id}").json()
    assert one["description"] == "Weekly on Tuesday and Thursday, 20 times"
    assert_problem(client.get("schedules/424242"), 404)
    assert_problem(client.get("schedules", limit=5000), 422, "limit")


def test_schedule_sessions_with_counts(api_as, dana, schedule_id,
                                       django_assert_max_num_queries) -> None:
    session = BenefitSession.objects.filter(schedule_id=schedule_id).order_by("start").first()
    program = session.benefit.program
    for code in ["enrolled", "enrolled", "completed", "absent", "excused"]:
        assignment = AssignmentFactory(benefit=session.benefit,
                                       enrollment=EnrollmentFactory(program=program))
        DisbursementFactory(assignment=assignment, session=session,
                            status=status("disbursement", code))
    client = api_as(dana)
    with django_assert_max_num_queries(8):
        response = client.get(f"schedules/{schedule_id}/sessions", limit=100)
    data = response.json()
    assert data["count"] == 20
    assert data["items"][0]["counts"] == {"expected": 2, "delivered": 1, "absent": 1,
                                          "excused": 1, "cancelled": 0}
    assert data["items"][1]["counts"]["expected"] == 0


def test_add_sessions(api_as, bob, charlie, schedule_id) -> None:
    response = api_as(bob).post(f"schedules/{schedule_id}/sessions", {"count": 2})
    assert response.status_code == 201, response.content
    assert [s["start"] for s in response.json()["sessions"]] == [
        "2030-05-14T18:00:00-04:00", "2030-05-16T18:00:00-04:00"]
    assert_problem(api_as(bob).post(f"schedules/{schedule_id}/sessions", {"count": 0}), 422,
                   "count")
    assert_problem(api_as(bob).post(f"schedules/{schedule_id}/sessions", {"count": 481}), 422,
                   "count")
    assert_problem(api_as(charlie).post(f"schedules/{schedule_id}/sessions", {"count": 1}), 403)


def test_delete_future_names_the_sessions_it_kept(api_as, bob, schedule_id) -> None:
    sessions = list(BenefitSession.objects.filter(schedule_id=schedule_id).order_by("start"))
    assignment = AssignmentFactory(benefit=sessions[0].benefit,
                                   enrollment=EnrollmentFactory(program=sessions[0].benefit.program))
    DisbursementFactory(assignment=assignment, session=sessions[12],
                        status=status("disbursement", "completed"))
    response = api_as(bob).post(f"schedules/{schedule_id}/sessions/delete-future",
                                {"after": sessions[9].local_date.isoformat()})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["deleted"] == 9
    assert [k["id"] for k in data["kept"]] == [sessions[12].pk]
    assert data["kept"][0]["recorded"] == 1
    assert "Kept 1 session with recorded attendance" in data["detail"]
    assert_problem(api_as(bob).post(f"schedules/{schedule_id}/sessions/delete-future",
                                    {"after": "soon"}), 422, "after")


def test_change_recurrence_dry_run_and_save(api_as, bob, schedule_id) -> None:
    change = {"recurrence": {"frequency": "weekly", "weekdays": ["WE"], "count": 10},
              "dry_run": True}
    with time_machine.travel(dt.datetime(2030, 1, 1, tzinfo=dt.UTC), tick=False):
        client = api_as(bob)  # a token made today would have expired by 2030
        dry = client.post(f"schedules/{schedule_id}/recurrence", change)
        assert dry.status_code == 200, dry.content
        assert dry.json()["deleted"] == 20 and len(dry.json()["created"]) == 10
        assert BenefitSession.objects.filter(schedule_id=schedule_id).count() == 20
        saved = client.post(f"schedules/{schedule_id}/recurrence", {**change, "dry_run": False})
    assert saved.status_code == 200
    assert saved.json()["schedule"]["description"] == "Weekly on Wednesday, 10 times"
    assert BenefitSession.objects.filter(schedule_id=schedule_id).count() == 10
    bad = client.post(f"schedules/{schedule_id}/recurrence",
                      {"recurrence": {"frequency": "weekly", "weekdays": "TU"}})
    assert_problem(bad, 422, "recurrence.weekdays")


def test_sessions_by_day_program_and_benefit(api_as, dana, schedule_id, benefit) -> None:
    client = api_as(dana)
    on_day = client.get("sessions", date="2030-03-07").json()
    assert on_day["count"] == 1 and on_day["items"][0]["start"] == "2030-03-07T18:00:00-05:00"
    assert on_day["items"][0]["schedule_id"] == schedule_id
    assert client.get("sessions", program_id=benefit.program_id).json()["count"] == 20
    week = {"from": "2030-03-10", "to": "2030-03-20"}
    assert client.get("sessions", benefit_id=benefit.pk, **week).json()["count"] == 3
    assert client.get("sessions", benefit_id=BenefitFactory().pk).json()["count"] == 0
    assert_problem(client.get("sessions", date="yesterday"), 422, "date")


def test_session_detail_has_the_roster(api_as, dana, schedule_id) -> None:
    session = BenefitSession.objects.filter(schedule_id=schedule_id).first()
    assignment = AssignmentFactory(benefit=session.benefit,
                                   enrollment=EnrollmentFactory(program=session.benefit.program))
    disbursement = DisbursementFactory(assignment=assignment, session=session,
                                       status=status("disbursement", "enrolled"))
    data = api_as(dana).get(f"sessions/{session.pk}").json()
    assert data["timezone"] == "America/New_York"
    assert data["roster"] == [{
        "disbursement_id": disbursement.pk, "assignment_id": assignment.pk,
        "enrollment_id": assignment.enrollment_id, "person_id": assignment.person_id,
        "account_id": None, "status": "enrolled", "quantity": 1.0,
        "recipient_type": "enrollment"}]
    assert data["counts"]["expected"] == 1


def test_patch_session_status_location_and_time(api_as, bob, charlie, dana, schedule_id) -> None:
    session = BenefitSession.objects.filter(schedule_id=schedule_id).first()
    path = f"sessions/{session.pk}"
    # Staff change the status and the place, but cancelling (and restoring) is a manager's.
    assert_problem(api_as(charlie).patch(path, {"status": "cancelled", "location": "Gym"}), 403)
    response = api_as(charlie).patch(path, {"status": "completed", "location": "Gym"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "completed" and response.json()["location"] == "Gym"
    response = api_as(bob).patch(path, {"status": "cancelled"})
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert_problem(api_as(charlie).patch(path, {"status": "scheduled"}), 403)
    assert api_as(bob).patch(path, {"status": "scheduled"}).json()["status"] == "scheduled"
    assert_problem(api_as(charlie).patch(path, {"start": "2030-03-05T17:00"}), 403)
    assert_problem(api_as(dana).patch(path, {"status": "completed"}), 403)
    assert_problem(api_as(charlie).patch(path, {"status": "held"}), 422, "status")
    moved = api_as(bob).patch(path, {"start": "2030-03-05T17:00"})
    assert moved.status_code == 200
    assert moved.json()["start"] == "2030-03-05T17:00:00-05:00"
    assert moved.json()["end"] == "2030-03-05T19:00:00-05:00"
    assert_problem(api_as(bob).patch(path, {"end": "2030-03-05T16:00"}), 422, "end")


def test_kiosk_sees_only_todays_sessions(api_as, kim, benefit) -> None:
    today = SessionFactory(schedule__benefit=benefit, local_date=timezone.localdate())
    other = SessionFactory(schedule=today.schedule, local_date=dt.date(2030, 1, 1))
    client = api_as(kim)
    ids = [s["id"] for s in client.get("sessions").json()["items"]]
    assert ids == [today.pk]
    assert client.get(f"sessions/{today.pk}").json()["roster"] == []
    assert_problem(client.get(f"sessions/{other.pk}"), 404)
    assert_problem(client.get("schedules"), 403)


def test_program_limited_user_sees_only_their_programs(api_as, schedule_id) -> None:
    from tests.factories import UserFactory
    limited = UserFactory(username="lim", role="viewer")
    limited.programs.add(ProgramFactory())
    client = api_as(limited)
    session = BenefitSession.objects.filter(schedule_id=schedule_id).first()
    assert client.get("schedules").json()["count"] == 0
    assert client.get("sessions").json()["count"] == 0
    assert_problem(client.get(f"schedules/{schedule_id}"), 404)
    assert_problem(client.get(f"sessions/{session.pk}"), 404)
    assert_problem(client.get(f"schedules/{schedule_id}/calendar.ics"), 404)


def test_idempotent_create(api_as, bob, benefit) -> None:
    client = api_as(bob)
    headers = {"Idempotency-Key": "abc"}
    first = client.post(f"benefits/{benefit.pk}/schedules", BODY, headers=headers)
    again = client.post(f"benefits/{benefit.pk}/schedules", BODY, headers=headers)
    assert first.status_code == again.status_code == 201
    assert BenefitSchedule.objects.count() == 1


def test_openapi_documents_the_scheduling_endpoints(api) -> None:
    paths = api.get("openapi.json").json()["paths"]
    for path in ["/api/v1/benefits/{benefit_id}/schedules", "/api/v1/schedules/{schedule_id}",
                 "/api/v1/schedules/{schedule_id}/sessions/delete-future",
                 "/api/v1/schedules/{schedule_id}/recurrence",
                 "/api/v1/schedules/{schedule_id}/calendar.ics",
                 "/api/v1/programs/{program_id}/calendar.ics", "/api/v1/sessions/{session_id}"]:
        assert path in paths
    create = paths["/api/v1/benefits/{benefit_id}/schedules"]["post"]
    assert "daylight-saving" in create["description"]


def test_null_interval_means_every(api_as, bob, benefit) -> None:
    response = api_as(bob).post(f"benefits/{benefit.pk}/schedules",
                                body(recurrence={"interval": None}, dry_run=True))
    assert response.status_code == 200 and len(response.json()["sessions"]) == 20


def test_a_daily_schedule_of_500_sessions_with_an_empty_weekday_list(api_as, bob,
                                                                     benefit) -> None:
    response = api_as(bob).post(f"benefits/{benefit.pk}/schedules", body(
        recurrence={"frequency": "daily", "weekdays": [], "count": 500}))
    assert response.status_code == 201, response.content
    sessions = response.json()["sessions"]
    assert len(sessions) == 500
    assert sessions[1]["start"] == "2030-03-06T18:00:00-05:00"  # the next day: every day
