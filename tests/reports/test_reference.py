"""Every report equals a hand count: generated data, each number recomputed by a plain loop over
all rows (tests/reports/world.py), for many filter combinations, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from programdesk.reports import selectors
from programdesk.reports.filtering import ReportFilter
from programdesk.reports.followups import (
    followups_absences,
    followups_not_served,
    followups_unrecorded_sessions,
)
from tests.factories import UserFactory
from tests.reports.world import (
    BASE,
    RANGE,
    Rows,
    World,
    build_world,
    ref_absence_streaks,
    ref_attendance,
    ref_completion,
    ref_not_served,
    ref_repeat,
    ref_summary,
    ref_units_by_month,
    ref_unrecorded_sessions,
)

pytestmark = pytest.mark.django_db

SEEDS = [1, 2]


def filters_for(world: World) -> list[ReportFilter]:
    p0, p1 = world.programs[0], world.programs[1]
    benefit = world.benefits[1]
    cohort = world.cohorts[0]
    schedule = world.schedules[2]
    lo, hi = RANGE
    return [
        ReportFilter(),
        ReportFilter(date_from=lo, date_to=hi),
        ReportFilter(date_from=lo),
        ReportFilter(date_to=hi),
        ReportFilter(date_from=hi, date_to=hi),
        # Wider than SQLITE_INDEX_MAX_DAYS: SQLite reads the table through, not the index.
        ReportFilter(date_from=dt.date(2026, 1, 10), date_to=dt.date(2026, 5, 1)),
        ReportFilter(program_id=p0.pk),
        ReportFilter(program_id=p1.pk, date_from=lo, date_to=hi),
        ReportFilter(benefit_id=benefit.pk),
        ReportFilter(program_id=benefit.program_id, benefit_id=benefit.pk, date_from=lo,
                     date_to=hi),
        ReportFilter(cohort_id=cohort.pk),
        ReportFilter(program_id=cohort.program_id, cohort_id=cohort.pk, date_from=lo,
                     date_to=hi),
        ReportFilter(schedule_id=schedule.pk),
        ReportFilter(schedule_id=schedule.pk, date_from=lo, date_to=hi),
    ]


@pytest.fixture(params=SEEDS)
def world(request, alice) -> World:
    return build_world(request.param)


def test_generated_data_covers_every_case(world) -> None:
    rows = Rows()
    buckets = {rows.bucket[d.status_id] for d in rows.disbursements}
    assert buckets == {"expected", "delivered", "absent", "excused", "cancelled"}
    assert {d.recipient_type for d in rows.disbursements} == {"enrollment", "walk_in",
                                                               "anonymous"}
    assert {x.status for x in rows.sessions.values()} == {"scheduled", "completed", "cancelled",
                                                           "postponed"}
    lo, hi = RANGE
    dates = [d.disbursed_on for d in rows.disbursements]
    assert min(dates) < lo and max(dates) > hi
    assert any(m.removed_on for m in rows.members)
    assert any(d.account_id for d in rows.disbursements)


def test_summary_equals_the_hand_count(world, alice) -> None:
    rows = Rows()
    for f in filters_for(world):
        got = selectors.report_summary(user=alice, filters=f)
        want = ref_summary(rows, f)
        assert dict(got) == want, f


def test_summary_for_a_user_limited_to_one_program(world) -> None:
    rows = Rows()
    limited = UserFactory(username="limited", role="viewer")
    limited.programs.add(world.programs[1])
    for f in [ReportFilter(), ReportFilter(date_from=RANGE[0], date_to=RANGE[1])]:
        got = selectors.report_summary(user=limited, filters=f)
        assert dict(got) == ref_summary(rows, f, visible={world.programs[1].pk})
        assert got != selectors.report_summary(user=UserFactory(username="all", role="viewer"),
                                               filters=f)


@pytest.mark.parametrize("group_by", ["person", "session", "schedule", "cohort"])
def test_attendance_equals_the_hand_count(world, alice, group_by) -> None:
    rows = Rows()
    for f in filters_for(world):
        report = selectors.report_attendance(user=alice, filters=f, group_by=group_by)
        want_rows, want_totals = ref_attendance(rows, f, group_by)
        key = {
            "person": lambda r: (r["person_id"], r["account_id"]),
            "session": lambda r: r["session_id"],
            "schedule": lambda r: r["schedule_id"],
            "cohort": lambda r: r["cohort_id"],
        }[group_by]
        got_rows = {key(r): (r["attended"], r["absent"], r["excused"]) for r in report["rows"]}
        assert got_rows == want_rows, f
        assert len(report["rows"]) == len(want_rows)
        t = report["totals"]
        assert (t["attended"], t["absent"], t["excused"]) == want_totals
        attended, absent, _ = want_totals
        assert t["rate"] == (attended / (attended + absent) if attended + absent else None)
        for r in report["rows"]:
            a, b = r["attended"], r["absent"]
            assert r["rate"] == (a / (a + b) if a + b else None)


def test_attendance_totals_match_the_summary(world, alice) -> None:
    for f in filters_for(world):
        summary = selectors.report_summary(user=alice, filters=f)
        totals = selectors.report_attendance(user=alice, filters=f)["totals"]
        assert totals["rate"] == summary["attendance_rate"]


def test_completion_equals_the_hand_count(world, alice) -> None:
    rows = Rows()
    for f in filters_for(world):
        if f.schedule_id:
            continue  # the reference has no roster walk; covered by the API tests
        got = selectors.report_completion(user=alice, filters=f)
        want = ref_completion(rows, f)
        assert {k: v for k, v in got["by_bucket"].items() if v} == want, f
        assert got["enrollments"] == sum(want.values())
        done, gone = want.get("completed", 0), want.get("withdrawn", 0)
        assert got["completion_rate"] == (done / (done + gone) if done + gone else None)


def test_units_by_month_equals_the_hand_count(world, alice) -> None:
    rows = Rows()
    for f in filters_for(world):
        got = {(r["month"], r["benefit_id"]): (r["quantity"], r["disbursements"])
               for r in selectors.report_units_by_month(user=alice, filters=f)}
        assert got == ref_units_by_month(rows, f), f


def test_repeat_participation_equals_the_hand_count(world, alice) -> None:
    rows = Rows()
    for f in filters_for(world):
        report = selectors.report_repeat_participation(user=alice, filters=f, min_times=2)
        distribution, by_code = ref_repeat(rows, f)
        assert {r["times"]: r["people"] for r in report["distribution"]} == dict(distribution)
        assert report["people_served"] == sum(distribution.values())
        assert report["people_served"] == selectors.report_summary(user=alice,
                                                                   filters=f)["people_served"]
        assert report["repeat_people"] == sum(n for t, n in distribution.items() if t >= 2)
        assert {r["postal_code"]: (r["people_served"], r["repeat_people"])
                for r in report["by_postal_code"]} == by_code


def test_consecutive_absences_equal_the_hand_count(world, alice) -> None:
    rows = Rows()
    for f in filters_for(world):
        for minimum in (2, 3):
            got = {(r["person_id"], r["session__schedule_id"]): (r["absences"],
                                                                 r["last_absent_on"])
                   for r in followups_absences(user=alice, filters=f, min_absences=minimum)}
            assert got == ref_absence_streaks(rows, f, minimum), f


def test_not_served_equals_the_hand_count(world, alice) -> None:
    rows = Rows()
    for f in filters_for(world):
        if f.schedule_id:
            continue
        for today in (BASE, BASE + dt.timedelta(days=40)):
            got = {r["id"] for r in followups_not_served(user=alice, filters=f, today=today)}
            assert got == ref_not_served(rows, f, today), (f, today)


def test_unrecorded_sessions_equal_the_hand_count(world, alice) -> None:
    rows = Rows()
    now = dt.datetime.combine(BASE, dt.time(12), tzinfo=ZoneInfo("America/New_York"))
    for f in filters_for(world):
        if f.schedule_id:
            continue
        got = {r["id"] for r in followups_unrecorded_sessions(user=alice, filters=f, now=now)}
        assert got == ref_unrecorded_sessions(rows, f, now), f
