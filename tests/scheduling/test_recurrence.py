"""recurrence.py: pure functions, no database. Property tests check the expansion against
dateutil for random rules; fixed tests pin daylight saving, month ends and limits."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil import rrule as du
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from programdesk.core.errors import ValidationError
from programdesk.scheduling import recurrence as rec

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
TWO_HOURS = dt.timedelta(hours=2)


def expand(data: dict[str, Any], first: dt.datetime, tz: ZoneInfo = NY,
           duration: dt.timedelta = TWO_HOURS) -> list[rec.Occurrence]:
    rule = rec.parse_rule(data, first=first)
    return rec.expand(rule, first=first, duration=duration, tz=tz)


def dates(occurrences: list[rec.Occurrence]) -> list[str]:
    return [o.local_date.isoformat() for o in occurrences]


def field_errors(data: Any, first: dt.datetime = dt.datetime(2026, 3, 3, 18)) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        rec.parse_rule(data, first=first)
    return {e["field"]: e["message"] for e in info.value.errors}


# --- property: the expansion is dateutil's rule, placed in the zone ----------------------------

DU_DAYS = (du.MO, du.TU, du.WE, du.TH, du.FR, du.SA, du.SU)
ZONES = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata",
         "America/Santiago", "Pacific/Auckland", "UTC"]


@st.composite
def rules(draw: Any) -> tuple[dict[str, Any], dt.datetime, du.rrule]:
    """A random rule, its first session and the dateutil rule built independently from it."""
    first = draw(st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 12, 31)
                              )).replace(second=0, microsecond=0)
    frequency = draw(st.sampled_from(["daily", "weekly", "monthly", "yearly"]))
    interval = draw(st.integers(1, 4))
    data: dict[str, Any] = {"frequency": frequency, "interval": interval}
    kwargs: dict[str, Any] = {"dtstart": first, "interval": interval, "wkst": du.MO}
    if frequency == "weekly":
        days = draw(st.lists(st.sampled_from(rec.WEEKDAYS), min_size=1, max_size=7, unique=True))
        data["weekdays"] = days
        kwargs["byweekday"] = [DU_DAYS[rec.WEEKDAYS.index(d)] for d in days]
    if frequency == "monthly":
        kind = draw(st.sampled_from(["day", "nth", "last", "default"]))
        if kind == "day":
            day = draw(st.integers(1, 31))
            data["monthly"] = {"day": day}
            kwargs.update({"bymonthday": day} if day <= 28 else
                          {"bymonthday": list(range(28, day + 1)), "bysetpos": -1})
        elif kind == "nth":
            weekday = draw(st.sampled_from(rec.WEEKDAYS))
            ordinal = draw(st.sampled_from(rec.ORDINALS))
            data["monthly"] = {"weekday": weekday, "ordinal": ordinal}
            kwargs["byweekday"] = DU_DAYS[rec.WEEKDAYS.index(weekday)](ordinal)
        elif kind == "last":
            data["monthly"] = {"last_day": True}
            kwargs["bymonthday"] = -1
        else:
            day = first.day
            kwargs.update({"bymonthday": day} if day <= 28 else
                          {"bymonthday": list(range(28, day + 1)), "bysetpos": -1})
    if frequency == "yearly":
        kwargs["bymonth"] = first.month
        kwargs.update({"bymonthday": first.day} if first.day <= 28 else
                      {"bymonthday": list(range(28, first.day + 1)), "bysetpos": -1})
    if draw(st.booleans()):
        count = draw(st.integers(1, 60))
        data["count"] = count
        kwargs["count"] = count
    else:
        until = first.date() + dt.timedelta(days=draw(st.integers(0, 800)))
        data["until"] = until.isoformat()
        kwargs["until"] = dt.datetime.combine(until, dt.time.max)
    freq: dict[str, Any] = {"daily": du.DAILY, "weekly": du.WEEKLY, "monthly": du.MONTHLY,
                            "yearly": du.YEARLY}
    return data, first, du.rrule(freq[frequency], **kwargs)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules(), st.sampled_from(ZONES), st.integers(15, 600))
def test_expansion_matches_dateutil(rule: Any, zone_name: str, minutes: int) -> None:
    data, first, reference = rule
    tz = ZoneInfo(zone_name)
    duration = dt.timedelta(minutes=minutes)
    # Schedules end by the year 2200 (services refuse a rule that runs past it).
    expected = [w for w in reference[:rec.MAX_SESSIONS + 1] if w.year <= rec.MAX_YEAR]
    got = expand(data, first, tz, duration)
    # Same wall-clock days and times as dateutil's rule...
    assert [o.local_date for o in got] == [w.date() for w in expected]
    for occurrence, wall in zip(got, expected, strict=True):
        start = occurrence.start
        assert start.tzinfo is not None and start.utcoffset() is not None
        # ...at the same local time, unless that time does not exist that day, when it moves
        # forward by the gap (never more than the gap, never backwards).
        local = start.replace(tzinfo=None)
        gap = local - wall
        assert dt.timedelta(0) <= gap <= dt.timedelta(hours=1)
        if gap:
            assert wall.replace(tzinfo=tz).astimezone(dt.UTC).astimezone(tz).replace(
                tzinfo=None) != wall  # the wall time really did not exist
        # Each session lasts as long as the first.
        assert occurrence.end.astimezone(dt.UTC) - start.astimezone(dt.UTC) == duration
    # Strictly increasing instants: no duplicates for the unique (schedule, start) constraint.
    instants = [o.start.astimezone(dt.UTC) for o in got]
    assert instants == sorted(set(instants))


@settings(max_examples=100, deadline=None)
@given(rules())
def test_stored_rule_reads_back_the_same(rule: Any) -> None:
    data, first, _ = rule
    parsed = rec.parse_rule(data, first=first)
    again = rec.rule_from_json(parsed.as_json(), first=first)
    assert again == parsed


@settings(max_examples=100, deadline=None)
@given(rules())
def test_rule_anchored_at_its_first_occurrence_gives_the_same_sessions(rule: Any) -> None:
    """Schedules store their first session as the rule's first date; re-expanding from there
    must give the same sessions."""
    data, first, _ = rule
    parsed = rec.parse_rule(data, first=first)
    got = rec.expand(parsed, first=first, duration=TWO_HOURS, tz=NY)
    if not got:
        return
    anchor = dt.datetime.combine(got[0].local_date, first.time())
    again = rec.expand(rec.rule_from_json(parsed.as_json(), first=anchor), first=anchor,
                       duration=TWO_HOURS, tz=NY)
    assert [o.start for o in again] == [o.start for o in got]


# --- daylight saving ---------------------------------------------------------------------------

def test_weekly_class_stays_at_18_local_across_dst_in_new_york() -> None:
    # 2030: DST starts Sunday 10 March, ends Sunday 3 November.
    got = expand({"frequency": "weekly", "weekdays": ["TU"], "count": 40},
                 dt.datetime(2030, 2, 26, 18, 0))
    assert all(o.start.hour == 18 and o.start.minute == 0 for o in got)
    offsets = {o.local_date.isoformat(): o.start.utcoffset() for o in got}
    assert offsets["2030-03-05"] == dt.timedelta(hours=-5)
    assert offsets["2030-03-12"] == dt.timedelta(hours=-4)
    assert offsets["2030-10-29"] == dt.timedelta(hours=-4)
    assert offsets["2030-11-05"] == dt.timedelta(hours=-5)
    # So the UTC time moves by an hour while the local time does not.
    utc = {o.local_date.isoformat(): o.start.astimezone(dt.UTC).hour for o in got}
    assert utc["2030-03-05"] == 23 and utc["2030-03-12"] == 22


def test_weekly_class_stays_at_18_local_across_dst_in_london() -> None:
    # 2030: BST starts Sunday 31 March, ends Sunday 27 October.
    got = expand({"frequency": "weekly", "weekdays": ["MO"], "count": 40},
                 dt.datetime(2030, 3, 18, 18, 0), LONDON)
    assert {(o.start.hour, o.start.minute) for o in got} == {(18, 0)}
    offsets = {o.local_date.isoformat(): o.start.utcoffset() for o in got}
    assert offsets["2030-03-25"] == dt.timedelta(0)
    assert offsets["2030-04-01"] == dt.timedelta(hours=1)
    assert offsets["2030-10-21"] == dt.timedelta(hours=1)
    assert offsets["2030-10-28"] == dt.timedelta(0)


def test_time_missing_at_spring_forward_moves_forward_by_the_gap_in_new_york() -> None:
    # 02:30 does not exist on Sunday 10 March 2030 in New York (02:00 → 03:00).
    got = expand({"frequency": "weekly", "weekdays": ["SU"], "count": 3},
                 dt.datetime(2030, 3, 3, 2, 30))
    assert [o.start.isoformat() for o in got] == [
        "2030-03-03T02:30:00-05:00",
        "2030-03-10T03:30:00-04:00",  # the next valid time, 02:30 read as EST = 03:30 EDT
        "2030-03-17T02:30:00-04:00",
    ]
    assert all(o.end.astimezone(dt.UTC) - o.start.astimezone(dt.UTC) == TWO_HOURS for o in got)


def test_time_missing_at_spring_forward_moves_forward_by_the_gap_in_london() -> None:
    # 01:30 does not exist on Sunday 31 March 2030 in London (01:00 → 02:00).
    got = expand({"frequency": "daily", "count": 3}, dt.datetime(2030, 3, 30, 1, 30), tz=LONDON)
    assert [o.start.isoformat() for o in got] == [
        "2030-03-30T01:30:00+00:00",
        "2030-03-31T02:30:00+01:00",
        "2030-04-01T01:30:00+01:00",
    ]


def test_time_repeated_at_fall_back_is_the_first_one() -> None:
    # 01:30 happens twice on Sunday 3 November 2030 in New York; the session is the first.
    got = expand({"frequency": "daily", "count": 2}, dt.datetime(2030, 11, 2, 1, 30))
    assert got[1].start.isoformat() == "2030-11-03T01:30:00-04:00"
    # ...and lasts two real hours, ending at 02:30 EST.
    assert got[1].end.isoformat() == "2030-11-03T02:30:00-05:00"


def test_session_spanning_the_change_keeps_its_length() -> None:
    got = expand({"frequency": "once"}, dt.datetime(2030, 3, 10, 1, 0), duration=TWO_HOURS)
    assert got[0].end.astimezone(dt.UTC) - got[0].start.astimezone(dt.UTC) == TWO_HOURS
    assert got[0].end.isoformat() == "2030-03-10T04:00:00-04:00"


# --- month ends and nth weekdays ---------------------------------------------------------------

def test_monthly_on_the_31st_falls_on_the_last_day_of_shorter_months() -> None:
    got = expand({"frequency": "monthly", "monthly": {"day": 31}, "count": 13},
                 dt.datetime(2027, 1, 31, 10))
    assert dates(got) == ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31",
                          "2027-06-30", "2027-07-31", "2027-08-31", "2027-09-30", "2027-10-31",
                          "2027-11-30", "2027-12-31", "2028-01-31"]


def test_monthly_on_the_30th_gives_february_its_last_day_in_leap_years() -> None:
    got = expand({"frequency": "monthly", "monthly": {"day": 30}, "count": 3},
                 dt.datetime(2028, 1, 30, 10))
    assert dates(got) == ["2028-01-30", "2028-02-29", "2028-03-30"]


def test_monthly_default_is_the_first_sessions_day() -> None:
    got = expand({"frequency": "monthly", "count": 3}, dt.datetime(2027, 1, 31, 10))
    assert dates(got) == ["2027-01-31", "2027-02-28", "2027-03-31"]


def test_monthly_on_the_last_day() -> None:
    got = expand({"frequency": "monthly", "monthly": {"last_day": True}, "count": 3},
                 dt.datetime(2027, 1, 5, 10))
    assert dates(got) == ["2027-01-31", "2027-02-28", "2027-03-31"]


def test_monthly_on_the_second_tuesday() -> None:
    got = expand({"frequency": "monthly", "monthly": {"weekday": "TU", "ordinal": 2},
                  "count": 4}, dt.datetime(2026, 3, 1, 18))
    assert dates(got) == ["2026-03-10", "2026-04-14", "2026-05-12", "2026-06-09"]


def test_monthly_on_the_last_friday_every_other_month() -> None:
    got = expand({"frequency": "monthly", "interval": 2,
                  "monthly": {"weekday": "FR", "ordinal": -1}, "count": 3},
                 dt.datetime(2026, 1, 1, 9))
    assert dates(got) == ["2026-01-30", "2026-03-27", "2026-05-29"]


def test_yearly_on_29_february_falls_on_the_28th_in_other_years() -> None:
    got = expand({"frequency": "yearly", "count": 5}, dt.datetime(2028, 2, 29, 12))
    assert dates(got) == ["2028-02-29", "2029-02-28", "2030-02-28", "2031-02-28", "2032-02-29"]


def test_every_two_weeks_on_two_days() -> None:
    got = expand({"frequency": "weekly", "interval": 2, "weekdays": ["TU", "TH"], "count": 4},
                 dt.datetime(2026, 3, 3, 18))
    assert dates(got) == ["2026-03-03", "2026-03-05", "2026-03-17", "2026-03-19"]


def test_weekdays_default_to_the_first_sessions_day() -> None:
    got = expand({"frequency": "weekly", "count": 2}, dt.datetime(2026, 3, 4, 18))
    assert dates(got) == ["2026-03-04", "2026-03-11"]


def test_daily_on_weekdays_only() -> None:
    got = expand({"frequency": "daily", "weekdays": ["MO", "TU", "WE", "TH", "FR"],
                  "until": "2026-03-10"}, dt.datetime(2026, 3, 5, 9))
    assert dates(got) == ["2026-03-05", "2026-03-06", "2026-03-09", "2026-03-10"]


def test_until_is_an_inclusive_local_date() -> None:
    got = expand({"frequency": "weekly", "until": "2026-03-17"}, dt.datetime(2026, 3, 3, 23, 30))
    assert dates(got) == ["2026-03-03", "2026-03-10", "2026-03-17"]


def test_once_is_one_session() -> None:
    got = expand({"frequency": "once"}, dt.datetime(2026, 3, 3, 18))
    assert dates(got) == ["2026-03-03"]


def test_first_date_off_the_rule_starts_at_the_rules_first_date() -> None:
    got = expand({"frequency": "weekly", "weekdays": ["TH"], "count": 2},
                 dt.datetime(2026, 3, 3, 18))
    assert dates(got) == ["2026-03-05", "2026-03-12"]


# --- limits and errors -------------------------------------------------------------------------

def test_500_sessions_is_the_limit() -> None:
    rule = rec.parse_rule({"frequency": "daily", "count": 500}, first=dt.datetime(2026, 1, 1, 9))
    got = rec.expand(rule, first=dt.datetime(2026, 1, 1, 9), duration=TWO_HOURS, tz=NY)
    assert len(got) == 500
    assert "recurrence.count" in field_errors({"frequency": "daily", "count": 501})


def test_expansion_stops_one_past_the_limit_for_long_untils() -> None:
    rule = rec.parse_rule({"frequency": "daily", "until": "2199-12-31"},
                          first=dt.datetime(2026, 1, 1, 9))
    got = rec.expand(rule, first=dt.datetime(2026, 1, 1, 9), duration=TWO_HOURS, tz=NY)
    assert len(got) == rec.MAX_SESSIONS + 1


@pytest.mark.parametrize(("data", "field"), [
    (None, "recurrence"),
    ({"frequency": "hourly", "count": 2}, "recurrence.frequency"),
    ({"frequency": "weekly", "weekdays": "TU", "count": 2}, "recurrence.weekdays"),
    ({"frequency": "weekly", "weekdays": ["XX"], "count": 2}, "recurrence.weekdays"),
    ({"frequency": "weekly", "count": 2, "until": "2026-05-01"}, "recurrence.count"),
    ({"frequency": "weekly"}, "recurrence.count"),
    ({"frequency": "weekly", "until": "2026-03-02"}, "recurrence.until"),
    ({"frequency": "weekly", "until": "someday"}, "recurrence.until"),
    ({"frequency": "weekly", "count": 0}, "recurrence.count"),
    ({"frequency": "weekly", "count": 2, "interval": 0}, "recurrence.interval"),
    ({"frequency": "monthly", "count": 2, "monthly": {"day": 32}}, "recurrence.monthly.day"),
    ({"frequency": "monthly", "count": 2, "monthly": {"weekday": "TU", "ordinal": 5}},
     "recurrence.monthly.ordinal"),
    ({"frequency": "monthly", "count": 2, "monthly": {"day": 3, "last_day": True}},
     "recurrence.monthly"),
    ({"frequency": "weekly", "count": 2, "monthly": {"day": 3}}, "recurrence.monthly"),
    ({"frequency": "monthly", "count": 2, "weekdays": ["TU"]}, "recurrence.weekdays"),
    ({"frequency": "once", "count": 3}, "recurrence.count"),
])
def test_bad_rules_are_field_errors(data: Any, field: str) -> None:
    assert field in field_errors(data)


def test_every_problem_is_reported_at_once() -> None:
    errors = field_errors({"frequency": "weekly", "weekdays": ["XX"], "count": 2,
                           "until": "2026-01-01",
                           "interval": -1})
    assert {"recurrence.weekdays", "recurrence.count", "recurrence.until",
            "recurrence.interval"} <= set(errors)


def test_unknown_time_zone_is_a_field_error() -> None:
    for name in ["Mars/Olympus", "../../etc/passwd", "", "+05:00"]:
        with pytest.raises(ValidationError) as info:
            rec.zone(name)
        assert info.value.errors[0]["field"] == "timezone"
    assert rec.zone("Europe/London") == LONDON


# --- words and continuing ----------------------------------------------------------------------

@pytest.mark.parametrize(("data", "words"), [
    ({"frequency": "weekly", "weekdays": ["TU", "TH"], "count": 20},
     "Weekly on Tuesday and Thursday, 20 times"),
    ({"frequency": "weekly", "interval": 2, "until": "2026-06-30"},
     "Every 2 weeks on Tuesday, until 30 June 2026"),
    ({"frequency": "monthly", "monthly": {"weekday": "TU", "ordinal": -1}, "count": 3},
     "Monthly on the last Tuesday, 3 times"),
    ({"frequency": "monthly", "monthly": {"day": 31}, "count": 3},
     "Monthly on day 31 (or the month's last day), 3 times"),
    ({"frequency": "once"}, "Once"),
])
def test_rules_in_words(data: dict[str, Any], words: str) -> None:
    first = dt.datetime(2026, 3, 3, 18)
    assert rec.describe(rec.parse_rule(data, first=first), first) == words


def test_end_at_moves_count_or_until() -> None:
    first = dt.datetime(2026, 3, 3, 18)
    counted = rec.parse_rule({"frequency": "weekly", "count": 5}, first=first)
    assert rec.end_at(counted, first, dt.date(2026, 3, 31)).count == 5
    assert rec.end_at(counted, first, dt.date(2026, 4, 14)).count == 7
    dated = rec.parse_rule({"frequency": "weekly", "until": "2026-03-31"}, first=first)
    assert rec.end_at(dated, first, dt.date(2026, 3, 17)).until == dt.date(2026, 3, 17)


def test_unbounded_continuation_after_a_time() -> None:
    first = dt.datetime(2026, 3, 3, 18)
    rule = rec.parse_rule({"frequency": "weekly", "count": 2}, first=first)
    got = rec.expand(rule, first=first, duration=TWO_HOURS, tz=NY, bounded=False,
                     after=dt.datetime(2026, 3, 10, 18), limit=2)
    assert dates(got[:2]) == ["2026-03-17", "2026-03-24"]


@pytest.mark.parametrize("frequency", ["daily", "weekly"])
def test_an_empty_weekday_list_means_what_leaving_it_out_means(frequency: str) -> None:
    first = dt.datetime(2026, 3, 3, 18)  # a Tuesday
    absent = expand({"frequency": frequency, "count": 9}, first)
    empty = expand({"frequency": frequency, "weekdays": [], "count": 9}, first)
    assert dates(empty) == dates(absent)
    if frequency == "daily":
        assert dates(empty)[:3] == ["2026-03-03", "2026-03-04", "2026-03-05"]
    else:
        assert {o.local_date.weekday() for o in empty} == {1}
