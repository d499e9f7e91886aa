"""The scheduling pages without JavaScript: the wizard, the schedule page, the session page and
the week view."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from programdesk.participation.models import BenefitDisbursement
from programdesk.scheduling.models import BenefitSchedule, BenefitSession
from programdesk.web import wording
from tests.factories import BenefitFactory, PersonFactory, ProgramFactory, UserFactory
from tests.scheduling.conftest import disburse

pytestmark = pytest.mark.django_db

WIZARD: dict[str, Any] = {
    "name": "Spring cohort", "timezone": "America/New_York", "location": "Room 4",
    "capacity": "25", "default_quantity": "", "first_date": "2030-03-05", "start_time": "18:00",
    "end_time": "20:00", "frequency": "weekly", "interval": "1", "weekdays": ["TU", "TH"],
    "monthly_mode": "day", "monthly_day": "", "monthly_ordinal": "1", "monthly_weekday": "MO",
    "ends": "count", "count": "6", "until": "",
}


def test_wizard_previews_then_saves_without_the_dropped_date(client, bob, benefit) -> None:
    client.force_login(bob)
    url = f"/benefits/{benefit.pk}/schedules/new/"
    page = client.get(url)
    assert page.status_code == 200 and b"1. Details" in page.content
    preview = client.post(url, {**WIZARD, "action": "preview"})
    assert preview.status_code == 200
    text = preview.content.decode()
    assert "Weekly on Tuesday and Thursday, 6 times" in text
    assert text.count('name="keep"') == 6 and "Thu 7 Mar 2030" in text
    assert not BenefitSchedule.objects.exists()
    signature = preview.context["signature"]
    shown = [r["session"].local_date.isoformat() for r in preview.context["preview"]]
    keep = [d for d in shown if d != "2030-03-07"]
    saved = client.post(url, {**WIZARD, "action": "save", "signature": signature,
                              "shown": shown, "keep": keep})
    schedule = BenefitSchedule.objects.get()
    assert saved.status_code == 302 and saved["Location"] == f"/schedules/{schedule.pk}/"
    assert schedule.sessions.count() == 5 and schedule.skip_dates == ["2030-03-07"]
    assert schedule.capacity == 25 and schedule.location == "Room 4"


def test_saving_a_rule_changed_since_the_preview_previews_again(client, bob, benefit) -> None:
    client.force_login(bob)
    url = f"/benefits/{benefit.pk}/schedules/new/"
    signature = client.post(url, {**WIZARD, "action": "preview"}).context["signature"]
    again = client.post(url, {**WIZARD, "count": "8", "action": "save", "signature": signature})
    assert again.status_code == 200 and again.context["stale"]
    assert "rule changed since the last preview" in again.content.decode()
    assert not BenefitSchedule.objects.exists()


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"weekdays": []}, "weekdays", "Choose at least one weekday"),
    ({"end_time": "17:00"}, "end_time", "ends before it starts"),
    ({"timezone": "Moon/Base"}, "timezone", "Unknown time zone"),
    ({"ends": "until", "until": "2030-03-01"}, "until", "before the first session"),
    ({"count": "501"}, "count", "500"),
    ({"count": ""}, "count", "number of sessions or an end date"),
])
def test_wizard_errors_show_on_their_fields(client, bob, benefit, changes, field,
                                            message) -> None:
    client.force_login(bob)
    response = client.post(f"/benefits/{benefit.pk}/schedules/new/",
                           {**WIZARD, **changes, "action": "preview"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field]), errors
    assert not BenefitSchedule.objects.exists()


def test_wizard_monthly_on_the_last_friday(client, bob, benefit) -> None:
    client.force_login(bob)
    response = client.post(f"/benefits/{benefit.pk}/schedules/new/", {
        **WIZARD, "frequency": "monthly", "monthly_mode": "nth", "monthly_ordinal": "-1",
        "monthly_weekday": "FR", "count": "3", "action": "preview"})
    dates = [r["session"].local_date.isoformat() for r in response.context["preview"]]
    assert dates == ["2030-03-29", "2030-04-26", "2030-05-31"]


def test_wizard_refuses_an_inactive_benefit(client, bob) -> None:
    benefit = BenefitFactory(is_active=False, name="Old class")
    client.force_login(bob)
    page = client.get(f"/benefits/{benefit.pk}/schedules/new/")
    assert "is inactive" in page.content.decode() and b'name="action"' not in page.content
    post = client.post(f"/benefits/{benefit.pk}/schedules/new/", {**WIZARD, "action": "save"})
    assert post.status_code == 409 and not BenefitSchedule.objects.exists()


def test_wizard_is_for_managers(client, charlie, benefit) -> None:
    client.force_login(charlie)
    assert client.get(f"/benefits/{benefit.pk}/schedules/new/").status_code == 403
    client.force_login(UserFactory(username="boss", role="manager"))
    assert client.get("/benefits/424242/schedules/new/").status_code == 404


@pytest.fixture
def schedule(make_schedule: Any) -> BenefitSchedule:
    return make_schedule({"frequency": "weekly", "weekdays": ["TU"], "count": 4}).schedule


def test_schedule_page_lists_sessions_with_counts(client, dana, schedule,
                                                  django_assert_max_num_queries) -> None:
    session = schedule.sessions.order_by("start").first()
    for code in ["enrolled", "completed", "completed"]:
        disburse(session, code)
    client.force_login(dana)
    with django_assert_max_num_queries(12):
        page = client.get(f"/schedules/{schedule.pk}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Weekly on Tuesday, 4 times" in text and "6:00–8:00 PM EST" in text
    assert "6:00–8:00 PM EDT" in text  # after the change on 10 March 2030
    assert "/api/v1/schedules/" in text and "key=" in text  # the subscription link
    assert f"/schedules/{schedule.pk}/participants/" not in text  # viewers add nobody
    assert "Delete future sessions" not in text
    rows = list(page.context["sessions"])
    assert (rows[0].expected, rows[0].delivered) == (1, 2)


def test_schedule_page_actions_for_managers(client, bob, schedule) -> None:
    client.force_login(bob)
    text = client.get(f"/schedules/{schedule.pk}/").content.decode()
    assert f"/schedules/{schedule.pk}/participants/" in text
    assert "Delete future sessions" in text and "Change recurrence" in text
    response = client.post(f"/schedules/{schedule.pk}/sessions/add/", {"count": "2"}, follow=True)
    assert "Added 2 sessions." in response.content.decode()
    assert schedule.sessions.count() == 6
    last_kept = schedule.sessions.order_by("start")[1]
    disburse(schedule.sessions.order_by("start")[3], "absent")
    days = [s.local_date for s in schedule.sessions.order_by("start")]
    going = [wording.day(d) for d in (days[2], days[4], days[5])]
    url = f"/schedules/{schedule.pk}/sessions/delete-future/"
    # First the confirmation: it says what would go, and deletes nothing.
    confirm = client.get(url, {"after": last_kept.local_date.isoformat()})
    text = confirm.content.decode()
    assert f"This will delete 3 sessions from {going[0]} to {going[-1]}" in text
    assert "1 session after that date has recorded attendance and is kept" in text
    assert schedule.sessions.count() == 6
    # A POST that is not the confirmation only shows the confirmation.
    response = client.post(url, {"after": last_kept.local_date.isoformat()})
    assert response.status_code == 302 and "?after=" in response["Location"]
    assert schedule.sessions.count() == 6
    response = client.post(url, {"after": last_kept.local_date.isoformat(), "confirm": "1"},
                           follow=True)
    text = response.content.decode()
    assert f"Deleted 3 sessions ({going[0]} – {going[-1]})." in text
    assert "Kept 1 session with recorded attendance" in text
    assert schedule.sessions.count() == 3


def test_schedule_writes_are_for_managers(client, charlie, schedule) -> None:
    client.force_login(charlie)
    assert client.post(f"/schedules/{schedule.pk}/sessions/add/", {"count": "2"}).status_code == 403
    assert client.get(f"/schedules/{schedule.pk}/recurrence/").status_code == 403
    assert schedule.sessions.count() == 4


def test_change_recurrence_page(client, bob, schedule) -> None:
    client.force_login(bob)
    url = f"/schedules/{schedule.pk}/recurrence/"
    page = client.get(url)
    form = page.context["form"]
    assert form.initial["frequency"] == "weekly" and form.initial["weekdays"] == ["TU"]
    data = {**WIZARD, "weekdays": ["WE"], "count": "4", "action": "preview"}
    preview = client.post(url, data)
    result = preview.context["result"]
    assert result.dry_run and result.deleted == 4 and len(result.created) == 4
    saved = client.post(url, {**data, "action": "save",
                              "signature": preview.context["signature"]}, follow=True)
    assert "Changed the rule: 4 sessions created, 4 deleted" in saved.content.decode()
    assert {s.local_date.weekday() for s in schedule.sessions.all()} == {2}


def test_calendar_links_redirect_to_the_signed_feeds(client, dana, schedule) -> None:
    client.force_login(dana)
    response = client.get(f"/schedules/{schedule.pk}/calendar.ics")
    assert response.status_code == 302 and "key=" in response["Location"]
    feed = client.get(response["Location"])
    assert feed["Content-Type"].startswith("text/calendar")
    program = client.get(f"/programs/{schedule.benefit.program_id}/calendar.ics")
    assert program.status_code == 302
    assert program["Location"].startswith(f"/api/v1/programs/{schedule.benefit.program_id}/")


def test_session_page_header_and_read_only_roster(client, dana, schedule) -> None:
    session = schedule.sessions.order_by("start").first()
    disburse(session, person=PersonFactory(first_name="Ada", last_name="Lovelace"))
    client.force_login(dana)
    page = client.get(f"/sessions/{session.pk}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Tue 5 Mar 2030, 6:00–8:00 PM EST" in text and "America/New_York" in text
    assert "Lovelace, Ada" in text and "1</span> not recorded" in text
    assert page.context["counts"]["expected"] == 1
    assert "Edit session" not in text  # viewers only read
    assert "web/scheduling/session_detail.html" in [t.name for t in page.templates]


def test_staff_edit_a_session_but_only_managers_cancel_or_move_it(client, charlie, bob,
                                                                   schedule) -> None:
    session = schedule.sessions.order_by("start").first()
    waiting = disburse(session)
    client.force_login(charlie)
    text = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Cancel this session" not in text and 'name="start"' not in text
    assert '<option value="cancelled"' not in text
    # Not by URL either: not the confirmation, not its POST, not the edit form.
    assert client.get(f"/sessions/{session.pk}/cancel/").status_code == 403
    assert client.post(f"/sessions/{session.pk}/cancel/").status_code == 403
    assert client.post(f"/sessions/{session.pk}/edit/", {"status": "cancelled"}
                       ).status_code == 403
    session.refresh_from_db()
    waiting.refresh_from_db()
    assert session.status == "scheduled" and waiting.status.code != "cancelled"
    response = client.post(f"/sessions/{session.pk}/edit/", {"location": "Room 2"}, follow=True)
    assert "Session saved." in response.content.decode()
    response = client.post(f"/sessions/{session.pk}/edit/", {"start": "19:00"}, follow=True)
    assert "Only a manager may move a session." in response.content.decode()
    client.force_login(bob)
    client.post(f"/sessions/{session.pk}/edit/", {"location": "Hall", "date": "2030-03-06",
                                                  "start": "19:00", "end": "21:00"})
    session.refresh_from_db()
    assert session.local_start.isoformat() == "2030-03-06T19:00:00-05:00"
    assert session.location == "Hall"
    waiting.refresh_from_db()
    assert waiting.disbursed_on == dt.date(2030, 3, 6)


def test_manager_cancels_a_session_after_confirming_and_can_restore_it(client, bob,
                                                                       schedule) -> None:
    session = schedule.sessions.order_by("start").first()
    waiting = disburse(session)
    disburse(session, "absent")
    client.force_login(bob)
    text = client.get(f"/sessions/{session.pk}/").content.decode()
    assert f'href="/sessions/{session.pk}/cancel/"' in text
    # The edit form's status "cancelled" goes to the confirmation too, saving nothing.
    response = client.post(f"/sessions/{session.pk}/edit/", {"status": "cancelled",
                                                             "location": "Hall"})
    assert response["Location"] == f"/sessions/{session.pk}/cancel/"
    confirm = client.get(f"/sessions/{session.pk}/cancel/").content.decode()
    assert "This will cancel" in confirm
    assert "1 expected participant will be marked cancelled; 1 recorded mark" in confirm
    session.refresh_from_db()
    assert session.status == "scheduled" and session.location == ""
    response = client.post(f"/sessions/{session.pk}/cancel/", follow=True)
    text = response.content.decode()
    assert (f"Cancelled the session of {wording.day(session.local_date)}; 1 expected "
            "participant marked cancelled.") in text
    assert "Restore this session" in text
    session.refresh_from_db()
    waiting.refresh_from_db()
    assert session.status == "cancelled" and waiting.status.code == "cancelled"
    response = client.post(f"/sessions/{session.pk}/restore/", follow=True)
    assert "1 participant expected again." in response.content.decode()
    session.refresh_from_db()
    waiting.refresh_from_db()
    assert session.status == "scheduled" and waiting.status.bucket == "expected"


def test_staff_cannot_restore_a_cancelled_session(client, charlie, schedule) -> None:
    session = schedule.sessions.order_by("start").first()
    session.status = "cancelled"
    session.save(update_fields=["status"])
    client.force_login(charlie)
    text = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Restore this session" not in text and 'name="status" disabled' in text
    assert client.post(f"/sessions/{session.pk}/restore/").status_code == 403
    response = client.post(f"/sessions/{session.pk}/edit/", {"status": "scheduled"},
                           follow=True)
    assert "Only a manager may cancel a session or restore" in response.content.decode()
    session.refresh_from_db()
    assert session.status == "cancelled"


def test_delete_future_sessions_is_not_for_staff(client, charlie, schedule) -> None:
    client.force_login(charlie)
    text = client.get(f"/schedules/{schedule.pk}/").content.decode()
    assert "Delete future sessions" not in text
    url = f"/schedules/{schedule.pk}/sessions/delete-future/"
    assert client.get(url, {"after": "2000-01-01"}).status_code == 403
    assert client.post(url, {"after": "2000-01-01", "confirm": "1"}).status_code == 403
    assert schedule.sessions.count() == 4


def test_delete_one_future_session_says_one_session(client, bob, schedule) -> None:
    days = [s.local_date for s in schedule.sessions.order_by("start")]
    client.force_login(bob)
    url = f"/schedules/{schedule.pk}/sessions/delete-future/"
    text = client.get(url, {"after": days[2].isoformat()}).content.decode()
    assert f"This will delete 1 session on {wording.day(days[3])}" in text
    assert "0 sessions after that date have recorded attendance." in text
    response = client.post(url, {"after": days[2].isoformat(), "confirm": "1"}, follow=True)
    assert f"Deleted 1 session ({wording.day(days[3])})." in response.content.decode()
    text = client.get(url, {"after": days[2].isoformat()}).content.decode()
    assert "No session after" in text and "Delete 0" not in text


def test_week_view_shows_this_weeks_sessions_by_day(client, dana, make_schedule, benefit,
                                                    django_assert_max_num_queries) -> None:
    today = timezone.localdate()
    make_schedule({"frequency": "daily", "count": 14},
                  start=dt.datetime.combine(today - dt.timedelta(days=7), dt.time(9)))
    other = BenefitFactory(program=ProgramFactory(name="Food pantry"), name="Groceries")
    make_schedule({"frequency": "once"}, benefit=other,
                  start=dt.datetime.combine(today, dt.time(12)), name="Pantry day")
    client.force_login(dana)
    with django_assert_max_num_queries(10):
        page = client.get("/sessions/")
    text = page.content.decode()
    assert page.status_code == 200 and "Sessions this week" in text
    days = page.context["days"]
    assert [d["date"].weekday() for d in days] == list(range(7))
    assert today in [d["date"] for d in days]
    todays = next(d for d in days if d["date"] == today)["sessions"]
    assert {s.schedule.name for s in todays} == {"Spring cohort", "Pantry day"}
    filtered = client.get("/sessions/", {"program": other.program_id})
    assert filtered.context["count"] == 1
    monday = days[0]["date"]
    previous = client.get("/sessions/", {"week": (monday - dt.timedelta(days=7)).isoformat()})
    assert previous.context["monday"] == monday - dt.timedelta(days=7)
    assert client.get("/sessions/", {"week": "garbage"}).status_code == 200


def test_navigation_has_sessions_and_kiosk_is_kept_out(client, dana, kim) -> None:
    client.force_login(dana)
    assert b'href="/sessions/"' in client.get("/sessions/").content
    client.force_login(kim)
    assert client.get("/sessions/").status_code == 302


def test_program_limited_users_get_404(client, schedule) -> None:
    limited = UserFactory(username="lim", role="manager")
    limited.programs.add(ProgramFactory())
    client.force_login(limited)
    session = schedule.sessions.first()
    assert client.get(f"/schedules/{schedule.pk}/").status_code == 404
    assert client.get(f"/sessions/{session.pk}/").status_code == 404
    assert client.get(f"/benefits/{schedule.benefit_id}/schedules/new/").status_code == 404
    assert client.get(f"/schedules/{schedule.pk}/calendar.ics").status_code == 404
    assert client.post(f"/sessions/{session.pk}/edit/", {"status": "cancelled"}).status_code == 404
    assert BenefitSession.objects.filter(status="cancelled").count() == 0
    assert BenefitDisbursement.objects.count() == 0
