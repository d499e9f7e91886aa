"""GET /api/v1/reports/*: the contract's shapes, the counting rules on a small story, roles,
program scoping, field errors, and a constant number of queries whatever the data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from programdesk.participation.models import BenefitAssignment, BenefitDisbursement, CohortMember
from programdesk.scheduling.models import BenefitSession
from tests.conftest import assert_problem
from tests.factories import (
    AccountFactory,
    AssignmentFactory,
    BenefitFactory,
    CohortFactory,
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

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


@pytest.fixture
def story(db: None) -> dict[str, Any]:
    """A tutoring program in March 2026, small enough to count on one's fingers.

    Ana attends two sessions and misses one; Ben is excused once and absent once; the Lee
    household gets a food box; 40 meals go to 40 anonymous people; a session in February and an
    expected (not yet delivered) disbursement don't count."""
    program = ProgramFactory(name="Tutoring")
    tutoring = BenefitFactory(program=program, name="Tutoring", unit=unit("hour"))
    meals = BenefitFactory(program=program, name="Meals", unit=unit("meal"))
    ana = AssignmentFactory(benefit=tutoring, enrollment=EnrollmentFactory(program=program))
    ben = AssignmentFactory(benefit=tutoring, enrollment=EnrollmentFactory(program=program))
    lee = AssignmentFactory(benefit=meals, enrollment=EnrollmentFactory(
        program=program, person=None, account=AccountFactory(name="Lee household")))
    anonymous = AssignmentFactory(benefit=meals, enrollment=EnrollmentFactory(
        program=program, person=None, is_anonymous=True))
    s1, s2, s3 = (SessionFactory(schedule__benefit=tutoring, local_date=dt.date(2026, 3, d),
                                 status="completed") for d in (3, 10, 17))
    s2.schedule = s1.schedule
    s3.schedule = s1.schedule
    s2.save()
    s3.save()
    feb = SessionFactory(schedule=s1.schedule, local_date=dt.date(2026, 2, 24),
                         status="completed")
    upcoming = SessionFactory(schedule=s1.schedule, local_date=dt.date(2026, 3, 24))

    def at(a: BenefitAssignment, session: BenefitSession, code: str, quantity: str = "2"
           ) -> BenefitDisbursement:
        return DisbursementFactory(assignment=a, session=session, disbursed_on=session.local_date,
                                   status=status("disbursement", code),
                                   quantity=Decimal(quantity))

    at(ana, s1, "completed")
    at(ana, s2, "completed")
    at(ana, s3, "absent")
    at(ana, feb, "completed")
    at(ana, upcoming, "enrolled")
    at(ben, s1, "excused")
    at(ben, s2, "absent")
    DisbursementFactory(assignment=lee, disbursed_on=dt.date(2026, 3, 5), quantity=Decimal(1),
                        household=lee.account, household_size=3)
    DisbursementFactory(assignment=anonymous, recipient_count=40, quantity=Decimal(40),
                        disbursed_on=dt.date(2026, 3, 12))
    cohort = CohortFactory(program=program, name="Spring")
    CohortMember.objects.create(cohort=cohort, enrollment=ana.enrollment,
                                added_on=dt.date(2026, 1, 1))
    return {"program": program, "tutoring": tutoring, "schedule": s1.schedule, "ana": ana,
            "ben": ben, "cohort": cohort}


def test_summary_counts_the_story(api, story) -> None:
    body = api.get("reports/summary", program_id=story["program"].pk, **MARCH).json()
    assert body == {
        "people_served": 1,  # Ana, once however many sessions
        "accounts_served": 1,  # the Lee household
        "anonymous_recipients": 40,
        "disbursements": 4,  # Ana ×2, Lee, the anonymous 40 meals
        "units": [{"unit": "hour", "quantity": 4.0}, {"unit": "meal", "quantity": 41.0}],
        "attendance_rate": 0.5,  # 2 attended / (2 + 2 absent); Ben's excused counts in neither
        "sessions_held": 3,
        "households_served": 1,  # Lee
        "individuals_in_households_served": 3,  # Lee's size on its box
        "new_people": 0,  # Ana was first served in February
        "new_households": 1,  # Lee's first box
    }


def test_summary_without_dates_counts_everything(api, story) -> None:
    body = api.get("reports/summary").json()
    assert body["disbursements"] == 5 and body["sessions_held"] == 4
    assert body["attendance_rate"] == 3 / 5


def test_summary_with_nothing_in_range(api, story) -> None:
    body = api.get("reports/summary", **{"from": "2030-01-01"}).json()
    assert body == {"people_served": 0, "accounts_served": 0, "anonymous_recipients": 0,
                    "disbursements": 0, "units": [], "attendance_rate": None,
                    "sessions_held": 0, "households_served": 0,
                    "individuals_in_households_served": 0, "new_people": 0,
                    "new_households": 0}


def test_summary_by_cohort(api, story) -> None:
    body = api.get("reports/summary", cohort_id=story["cohort"].pk, **MARCH).json()
    assert body["people_served"] == 1 and body["accounts_served"] == 0
    assert body["attendance_rate"] == 2 / 3 and body["sessions_held"] == 3


def test_attendance_per_person(api, story) -> None:
    body = api.get("reports/attendance", schedule_id=story["schedule"].pk, **MARCH).json()
    rows = {r["person_id"]: r for r in body["rows"]}
    ana, ben = story["ana"].person_id, story["ben"].person_id
    assert (rows[ana]["attended"], rows[ana]["absent"], rows[ana]["excused"]) == (2, 1, 0)
    assert rows[ana]["rate"] == 2 / 3
    assert (rows[ben]["attended"], rows[ben]["absent"], rows[ben]["excused"]) == (0, 1, 1)
    assert rows[ben]["rate"] == 0.0
    assert body["totals"] == {"attended": 2, "absent": 2, "excused": 1, "rate": 0.5}
    assert set(body["rows"][0]) >= {"person_id", "attended", "absent", "excused", "rate"}


@pytest.mark.parametrize("group_by", ["session", "schedule", "cohort"])
def test_attendance_other_groupings(api, story, group_by) -> None:
    body = api.get("reports/attendance", program_id=story["program"].pk, group_by=group_by,
                   **MARCH).json()
    assert body["group_by"] == group_by
    if group_by == "session":
        assert [(r["local_date"], r["attended"], r["absent"], r["excused"])
                for r in body["rows"]] == [("2026-03-03", 1, 0, 1), ("2026-03-10", 1, 1, 0),
                                           ("2026-03-17", 0, 1, 0)]
    elif group_by == "schedule":
        assert len(body["rows"]) == 1 and body["rows"][0]["rate"] == 0.5
    else:
        assert [(r["cohort_id"], r["name"], r["attended"], r["absent"])
                for r in body["rows"]] == [(story["cohort"].pk, "Spring", 2, 1)]


def test_attendance_needs_a_schedule_program_or_cohort(api, story) -> None:
    assert_problem(api.get("reports/attendance", **MARCH), 422, "schedule_id")
    assert_problem(api.get("reports/attendance", program_id=story["program"].pk,
                           group_by="room"), 422, "group_by")


def test_completion(api, story) -> None:
    program = story["program"]
    for code in ["completed", "completed", "withdrawn", "applied"]:
        EnrollmentFactory(program=program, status=status("enrollment", code))
    body = api.get("reports/completion", program_id=program.pk).json()
    # Story: Ana, Ben and the Lee household enrolled (active); the anonymous one isn't counted.
    assert body["by_bucket"] == {"applied": 1, "waitlisted": 0, "active": 3, "completed": 2,
                                 "withdrawn": 1, "denied": 0}
    assert body["completion_rate"] == 2 / 3
    assert body["enrollments"] == 7


def test_completion_rate_is_null_without_completed_or_withdrawn(api, story) -> None:
    body = api.get("reports/completion", program_id=story["program"].pk).json()
    assert body["completion_rate"] is None


def test_completion_needs_a_program(api, story) -> None:
    assert_problem(api.get("reports/completion"), 422, "program_id")


def test_units_by_month(api, story) -> None:
    rows = api.get("reports/units-by-month", program_id=story["program"].pk).json()["rows"]
    assert [(r["month"], r["benefit"], r["unit"], r["quantity"], r["disbursements"])
            for r in rows] == [("2026-02", "Tutoring", "hour", 2.0, 1),
                               ("2026-03", "Meals", "meal", 41.0, 2),
                               ("2026-03", "Tutoring", "hour", 4.0, 2)]


def test_repeat_participation(api, story) -> None:
    body = api.get("reports/repeat-participation", min_times=3).json()
    # Ana was served on three days (Feb 24, Mar 3, Mar 10).
    assert body["people_served"] == 1 and body["repeat_people"] == 1
    assert body["distribution"] == [{"times": 3, "people": 1}]
    assert body["by_postal_code"] == [{"postal_code": "", "people_served": 1,
                                       "repeat_people": 1}]


def test_follow_ups(api, story, time_machine) -> None:
    time_machine.move_to(dt.datetime(2026, 3, 30, 12, tzinfo=dt.UTC), tick=False)
    body = api.get("reports/follow-ups/unrecorded-sessions").json()
    assert [x["local_date"] for x in body["items"]] == ["2026-03-24"]
    assert body["items"][0]["start"] == "2026-03-24T18:00:00-04:00"  # the session's own zone
    for a in (story["ana"], story["ben"]):
        a.enrollment.start_date = dt.date(2026, 2, 1)
        a.enrollment.save(update_fields=["start_date"])
    # Ana was last served on March 10 (20 days ago), Ben never; the Lee household's enrollment
    # only began today.
    not_served = api.get("reports/follow-ups/not-served", days=14).json()
    assert [(x["person_id"], x["last_served_on"]) for x in not_served["items"]] == [
        (story["ben"].person_id, None), (story["ana"].person_id, "2026-03-10")]
    not_served = api.get("reports/follow-ups/not-served", days=21).json()
    assert [x["person_id"] for x in not_served["items"]] == [story["ben"].person_id]
    absences = api.get("reports/follow-ups/absences", min_absences=1).json()
    assert {(x["person_id"], x["absences"]) for x in absences["items"]} == {
        (story["ana"].person_id, 1), (story["ben"].person_id, 1)}
    assert_problem(api.get("reports/follow-ups/absences", limit=5000), 422, "limit")


def test_field_errors(api, story) -> None:
    other = ProgramFactory()
    assert_problem(api.get("reports/summary", program_id=other.pk,
                           benefit_id=story["tutoring"].pk), 422, "benefit_id")
    assert_problem(api.get("reports/summary", program_id=other.pk,
                           cohort_id=story["cohort"].pk), 422, "cohort_id")
    assert_problem(api.get("reports/summary", **{"from": "2026-03-02", "to": "2026-03-01"}),
                   422, "to")
    assert_problem(api.get("reports/summary", **{"from": "March"}), 422, "from")
    assert_problem(api.get("reports/summary", program_id=2**70), 422, "program_id")
    assert_problem(api.get("reports/summary", program_id=999999), 404)


def test_roles(api_as, story, dana, kim, charlie) -> None:
    assert api_as(dana).get("reports/summary").status_code == 200
    assert api_as(charlie).get("reports/summary").status_code == 200
    assert_problem(api_as(kim).get("reports/summary"), 403)
    assert_problem(api_as(kim).get("reports/summary.csv"), 403)
    assert_problem(api_as(None).get("reports/summary"), 401)


def test_a_user_limited_to_programs_sees_only_theirs(api_as, story) -> None:
    other = ProgramFactory()
    DisbursementFactory(assignment__enrollment__program=other, disbursed_on=dt.date(2026, 3, 9))
    limited = UserFactory(username="erin", role="viewer")
    limited.programs.add(other)
    client = api_as(limited)
    body = client.get("reports/summary", **MARCH).json()
    assert body["people_served"] == 1 and body["anonymous_recipients"] == 0
    assert_problem(client.get("reports/summary", program_id=story["program"].pk), 404)
    assert_problem(client.get("reports/attendance", cohort_id=story["cohort"].pk), 404)
    assert_problem(client.get("reports/attendance", schedule_id=story["schedule"].pk), 404)
    assert_problem(client.get("reports/completion", program_id=story["program"].pk), 404)


ENDPOINTS = [
    ("reports/summary", {}),
    ("reports/attendance", {"group_by": "person"}),
    ("reports/attendance", {"group_by": "cohort"}),
    ("reports/completion", {}),
    ("reports/units-by-month", {}),
    ("reports/repeat-participation", {}),
    ("reports/follow-ups/absences", {}),
    ("reports/follow-ups/not-served", {}),
    ("reports/follow-ups/unrecorded-sessions", {}),
]


def _queries(api, path, params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(path, **params)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


@pytest.mark.parametrize(("path", "params"), ENDPOINTS)
def test_each_report_runs_a_constant_number_of_queries(api, alice, path, params,
                                                       django_assert_max_num_queries) -> None:
    program = ProgramFactory()
    DisbursementFactory(assignment__enrollment__program=program)
    params = {**params, "program_id": program.pk, **MARCH}
    api.get("reports/summary")  # the token's first use touches last_used_at; not counted here
    small = _queries(api, path, params)
    build_world(3, people=12, programs=1)
    for _ in range(30):
        DisbursementFactory(assignment__enrollment__program=program)
    assert _queries(api, path, params) == small
    # Auth (token, programs) + the program filter + the report's own queries.
    with django_assert_max_num_queries(9):
        api.get(path, **params)


def test_summary_is_six_queries(alice, story, django_assert_num_queries) -> None:
    from programdesk.reports.filtering import ReportFilter
    from programdesk.reports.selectors import report_summary
    alice.visible_program_ids()
    # totals, units per unit, sessions held, households served, new people, new households
    with django_assert_num_queries(6):
        report_summary(user=alice, filters=ReportFilter(date_from=dt.date(2026, 3, 1)))


def test_summary_without_a_date_range_is_four_queries(alice, story,
                                                      django_assert_num_queries) -> None:
    """Without a range everyone served is new: new people and households are the served ones,
    not two more scans of every delivered row (bench S5 over ten million rows)."""
    from programdesk.reports.filtering import ReportFilter
    from programdesk.reports.selectors import report_summary
    alice.visible_program_ids()
    with django_assert_num_queries(4):
        summary = report_summary(user=alice, filters=ReportFilter())
    assert summary["new_people"] == summary["people_served"] > 0
    assert summary["new_households"] == summary["households_served"]


@pytest.mark.parametrize("name", ["summary", "attendance", "completion", "units-by-month",
                                  "repeat-participation", "repeat-by-postal-code",
                                  "follow-ups-absences", "follow-ups-not-served",
                                  "follow-ups-unrecorded-sessions"])
def test_every_report_downloads_as_csv_and_xlsx(api, story, name) -> None:
    for fmt in ("csv", "xlsx"):
        response = api.get(f"reports/{name}.{fmt}", program_id=story["program"].pk)
        assert response.status_code == 200
        assert response["Content-Disposition"].endswith(f'.{fmt}"')
        assert b"".join(response.streaming_content)


def test_openapi_documents_the_reports(api) -> None:
    paths = api.get("/api/v1/openapi.json").json()["paths"]
    for p in ["/api/v1/reports/summary", "/api/v1/reports/attendance",
              "/api/v1/reports/completion", "/api/v1/reports/summary.csv"]:
        assert p in paths
        assert paths[p]["get"]["description"]
