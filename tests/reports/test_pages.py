"""The report pages and the dashboard: filters, numbers, charts, roles, time zones, queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from programdesk.programs.models import Program
from programdesk.reports.charts import Series, bar_chart, nice_step
from tests.factories import (
    AssignmentFactory,
    BenefitFactory,
    DisbursementFactory,
    EnrollmentFactory,
    ProgramFactory,
    SessionFactory,
    UserFactory,
    status,
    unit,
)
from tests.reports.world import build_world

pytestmark = pytest.mark.django_db

PAGES = ["/reports/", "/reports/attendance/", "/reports/completion/", "/reports/repeat/",
         "/reports/follow-ups/"]


@pytest.fixture
def served(db: None) -> Program:
    program = ProgramFactory(name="Food pantry")
    benefit = BenefitFactory(program=program, name="<script>alert(1)</script>",
                             unit=unit("meal"))
    for day in (3, 10):
        DisbursementFactory(assignment__benefit=benefit, assignment__enrollment__program=program,
                            disbursed_on=dt.date(2026, 3, day), quantity=Decimal("3"))
    return program


@pytest.mark.parametrize("url", PAGES)
def test_every_report_page_renders_for_a_viewer(client, dana, served, url) -> None:
    client.force_login(dana)
    response = client.get(url, {"program_id": served.pk, "from": "2026-03-01",
                                "to": "2026-03-31"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Food pantry" in html
    assert f"{url.rstrip('/').split('/')[-1] or 'summary'}" in html or "Reports" in html
    assert "<script>alert(1)</script>" not in html  # names are escaped, charts included
    assert "program_id=" in html  # the download links carry the filters


def test_summary_page_shows_the_numbers_and_a_chart(client, dana, served) -> None:
    client.force_login(dana)
    html = client.get("/reports/", {"program_id": served.pk}).content.decode()
    assert 'data-measure="people_served">2<' in html
    assert 'data-measure="disbursements">2<' in html
    assert '<svg class="chart"' in html and 'role="img"' in html
    assert "&lt;script&gt;" in html
    assert f"/reports/summary.csv?program_id={served.pk}" in html
    assert f"/reports/units-by-month.xlsx?program_id={served.pk}" in html


def test_bad_filters_are_form_errors_not_crashes(client, dana, served) -> None:
    client.force_login(dana)
    other = ProgramFactory()
    benefit = served.benefits.get()
    for query in [{"from": "2026-03-02", "to": "2026-03-01"}, {"from": "someday"},
                  {"program_id": other.pk, "benefit_id": benefit.pk},
                  {"program_id": 999999}]:
        for url in PAGES:
            response = client.get(url, query)
            assert response.status_code == 200
            assert 'role="alert"' in response.content.decode(), (url, query)
    for url, query in [("/reports/repeat/", {"min_times": "0"}),
                       ("/reports/attendance/", {"group_by": "room"}),
                       ("/reports/follow-ups/", {"days": "-3"})]:
        assert 'role="alert"' in client.get(url, query).content.decode(), (url, query)


def test_a_limited_user_cannot_pick_other_programs(client, served) -> None:
    limited = UserFactory(username="erin", role="viewer")
    mine = ProgramFactory(name="Mine")
    limited.programs.add(mine)
    client.force_login(limited)
    html = client.get("/reports/").content.decode()
    assert "Mine" in html and "Food pantry" not in html
    html = client.get("/reports/", {"program_id": served.pk}).content.decode()
    assert 'role="alert"' in html and "Food pantry" not in html


def test_kiosk_and_strangers_are_kept_out(client, kim) -> None:
    assert client.get("/reports/").status_code == 302
    client.force_login(kim)
    assert client.get("/reports/")["Location"] == "/kiosk/"


@pytest.mark.parametrize("url", PAGES)
def test_report_pages_run_a_constant_number_of_queries(client, alice, url) -> None:
    client.force_login(alice)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url, {"from": "2026-01-01"}).status_code == 200
        return len(ctx.captured_queries)

    build_world(5, people=6, programs=1)
    small = count()
    build_world(6, people=12, programs=2)
    assert count() == small


# --- dashboard -------------------------------------------------------------------------------

def test_dashboard_shows_todays_sessions_in_their_own_time_zone(client, charlie,
                                                                time_machine) -> None:
    # 11 pm in New York on March 10 is already March 11 in Berlin.
    now = dt.datetime(2026, 3, 10, 23, 0, tzinfo=ZoneInfo("America/New_York"))
    time_machine.move_to(now, tick=False)
    ny = SessionFactory(schedule__name="Evening class", local_date=dt.date(2026, 3, 10))
    berlin = SessionFactory(schedule__name="Berlin breakfast", schedule__timezone="Europe/Berlin",
                            local_date=dt.date(2026, 3, 10))
    berlin_today = SessionFactory(schedule=berlin.schedule, local_date=dt.date(2026, 3, 11))
    for code in ["completed", "completed", "enrolled", "absent", "cancelled"]:
        DisbursementFactory(assignment__benefit=ny.benefit,
                            assignment__enrollment__program=ny.benefit.program, session=ny,
                            disbursed_on=ny.local_date, status=status("disbursement", code))
    client.force_login(charlie)
    response = client.get("/")
    sessions = {x["id"]: x for x in response.context["sessions"]}
    assert set(sessions) == {ny.pk, berlin_today.pk}
    assert (sessions[ny.pk]["expected"], sessions[ny.pk]["checked_in"]) == (4, 2)
    html = response.content.decode()
    assert "Evening class" in html and "Berlin breakfast" in html


def test_dashboard_this_month_and_follow_ups(client, charlie, time_machine) -> None:
    time_machine.move_to(dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC), tick=False)
    program = ProgramFactory()
    a = AssignmentFactory(enrollment__program=program, benefit__unit=unit("hour"))
    DisbursementFactory(assignment=a, disbursed_on=dt.date(2026, 3, 2), quantity=Decimal(2))
    DisbursementFactory(assignment=a, disbursed_on=dt.date(2026, 2, 27), quantity=Decimal(5))
    session = SessionFactory(schedule__benefit=a.benefit, local_date=dt.date(2026, 3, 9))
    DisbursementFactory(assignment=a, session=session, disbursed_on=session.local_date,
                        status=status("disbursement", "enrolled"))
    client.force_login(charlie)
    response = client.get("/")
    month = response.context["month"]
    assert month["people_served"] == 1
    assert [(u["unit"], u["quantity"]) for u in month["units"]] == [("hour", Decimal(2))]
    assert [x["id"] for x in response.context["unrecorded"]] == [session.pk]
    html = response.content.decode()
    assert "Past sessions without attendance" in html
    assert 'href="/people/new/"' in html and 'href="/imports/"' in html


def test_dashboard_for_a_viewer_has_no_write_actions(client, dana) -> None:
    client.force_login(dana)
    html = client.get("/").content.decode()
    assert 'href="/reports/"' in html and 'href="/people/new/"' not in html
    assert 'href="/imports/"' not in html


def test_dashboard_runs_a_constant_number_of_queries(client, charlie, time_machine) -> None:
    time_machine.move_to(dt.datetime(2026, 3, 15, 15, tzinfo=dt.UTC), tick=False)
    client.force_login(charlie)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/").status_code == 200
        return len(ctx.captured_queries)

    build_world(7, people=6, programs=1)
    small = count()
    build_world(8, people=12, programs=2)
    for _ in range(5):
        SessionFactory(local_date=dt.date(2026, 3, 15))
    assert count() == small


# --- charts ----------------------------------------------------------------------------------

def test_nice_steps() -> None:
    assert nice_step(0) == 1 and nice_step(10) == 2 and nice_step(47) == 10
    assert nice_step(0.3) == pytest.approx(0.1) and nice_step(1200) == 500


def test_chart_escapes_and_describes_itself() -> None:
    svg = bar_chart(title="A & B", categories=["<Jan>", "Feb"],
                    series=[Series("x<y", [1, 2]), Series("z", [None, 3.5])])
    assert "<Jan>" not in svg and "&lt;Jan&gt;" in svg and "x&lt;y" in svg
    assert "<title id=\"chart-title\">A &amp; B</title>" in svg
    assert "Feb: x&lt;y 2, z 3.5" in svg  # the text description lists every value
    empty = bar_chart(title="Nothing", categories=[], series=[Series("x", [])])
    assert "No data for these filters" in empty


def test_enrollment_completion_page_counts(client, dana) -> None:
    program = ProgramFactory()
    for code in ["completed", "withdrawn", "withdrawn", "enrolled"]:
        EnrollmentFactory(program=program, status=status("enrollment", code))
    client.force_login(dana)
    html = client.get("/reports/completion/", {"program_id": program.pk}).content.decode()
    assert 'data-measure="completion_rate">33%<' in html
