"""The house format (core/display.py): one way to show a day, a time and a quantity."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone

from programdesk.core import display
from programdesk.programs.models import UnitOfMeasure

NEW_YORK = ZoneInfo("America/New_York")


def test_a_day_is_day_month_year_with_the_weekday_where_asked() -> None:
    assert display.day(dt.date(2030, 3, 5)) == "5 Mar 2030"
    assert display.day(dt.date(2030, 3, 5), weekday=True) == "Tue 5 Mar 2030"
    assert display.day(None) == ""


@pytest.mark.parametrize(("hour", "minute", "text"), [
    (0, 5, "12:05 AM"), (9, 0, "9:00 AM"), (12, 0, "12:00 PM"), (17, 30, "5:30 PM")])
def test_a_time_is_a_twelve_hour_clock(hour: int, minute: int, text: str) -> None:
    assert display.clock(dt.time(hour, minute)) == text


def test_a_span_names_the_half_of_the_day_once_when_it_can() -> None:
    assert display.clock_span(dt.time(18), dt.time(20)) == "6:00–8:00 PM"
    assert display.clock_span(dt.time(11, 30), dt.time(13)) == "11:30 AM–1:00 PM"


def test_a_moment_keeps_the_zone_it_carries() -> None:
    when = dt.datetime(2030, 3, 5, 23, 0, tzinfo=dt.UTC).astimezone(NEW_YORK)
    assert display.moment(when) == "Tue 5 Mar 2030, 6:00 PM"


@pytest.mark.parametrize(("value", "unit", "text"), [
    (Decimal("2.00"), "Session", "2 sessions"),
    (Decimal("1.00"), "Session", "1 session"),
    (Decimal("1.5"), "Hour", "1.5 hours"),
    (Decimal("0.50"), "Hour", "0.5 hours"),
    (Decimal("1250"), "Meal", "1,250 meals"),
    (Decimal("3"), "Pass", "3 passes"),
    (Decimal("2"), "Box of food", "2 boxes of food"),
    (Decimal("4"), "Activity", "4 activities"),
    (Decimal("7.25"), None, "7.25"),
])
def test_a_quantity_is_its_number_and_its_unit_in_the_right_number(value, unit, text) -> None:
    assert display.quantity(value, unit) == text


@pytest.mark.django_db
def test_money_is_shown_as_dollars_and_cents() -> None:
    usd = UnitOfMeasure.objects.get(code="usd")
    assert display.quantity(Decimal("25"), usd) == "$25.00"
    assert display.quantity(Decimal("1234.5"), "usd") == "$1,234.50"


@pytest.mark.django_db
def test_the_template_filters_need_no_load_and_show_the_current_time_zone() -> None:
    hour = UnitOfMeasure.objects.get(code="hour")
    created = dt.datetime(2030, 3, 5, 23, 0, tzinfo=dt.UTC)
    with timezone.override(NEW_YORK):
        text = Template("{{ d|day }}|{{ d|day:'weekday' }}|{{ c|moment }}|{{ c|clock }}|"
                        "{{ q|qty:u }}|{{ n|num }}").render(Context({
                            "d": dt.date(2030, 3, 5), "c": created, "q": Decimal("2.00"),
                            "u": hour, "n": Decimal("1200.50")}))
    assert text == "5 Mar 2030|Tue 5 Mar 2030|Tue 5 Mar 2030, 6:00 PM|6:00 PM|2 hours|1,200.5"
