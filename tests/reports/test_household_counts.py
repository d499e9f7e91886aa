"""The funder counts in the summary — households served, individuals in them, new people, new
households — on a small world with exact numbers, and their stability when people move."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils.timezone import localdate

from programdesk.core.models import User
from programdesk.participation import services
from programdesk.people import services as people_services
from programdesk.people.models import HouseholdMembership
from programdesk.reports.filtering import report_filter
from programdesk.reports.selectors import report_summary
from tests.factories import AccountFactory, BenefitFactory, PersonFactory

pytestmark = pytest.mark.django_db


def month_start(months_back: int) -> dt.date:
    """The first day of the month ``months_back`` months before this one."""
    day = localdate().replace(day=1)
    for _ in range(months_back):
        day = (day - dt.timedelta(days=1)).replace(day=1)
    return day


M = month_start(2)  # "March": a whole month in the past
FEB = month_start(3)
M_END = month_start(1) - dt.timedelta(days=1)
COUNTS = ("people_served", "households_served", "individuals_in_households_served",
          "new_people", "new_households")


def on(day: int) -> dt.date:
    return M.replace(day=day)


@pytest.fixture
def world(alice: User) -> dict[str, Any]:
    """Harris (Ana the head, Ben; one declared member) and Lee (Cy) since before February;
    Dee lives alone. Ana got a box in February. In March: Ana on the 3rd, Ben on the 5th, Cy
    on the 10th, Dee on the 12th; Ben moves to Lee on the 15th and gets a box on the 18th;
    Cy is marked absent on the 25th (not a delivery)."""
    harris = AccountFactory(name="Harris", declared_size=1)
    lee = AccountFactory(name="Lee")
    ana, ben, cy, dee = (PersonFactory(first_name=n) for n in ("Ana", "Ben", "Cy", "Dee"))
    start = FEB - dt.timedelta(days=40)
    for person, account, relationship in ((ana, harris, "head"), (ben, harris, "child"),
                                          (cy, lee, "head")):
        people_services.household_member_add(actor=alice, account=account, person=person,
                                             relationship=relationship, start_date=start)
    benefit = BenefitFactory(name="Food box")

    def give(person, day, status=None) -> None:
        services.disbursements_bulk_walk_in(actor=alice, benefit=benefit, quantity=Decimal(1),
                                            disbursed_on=day, person_ids=[person.pk],
                                            status=status)

    give(ana, FEB.replace(day=15))
    give(ana, on(3))
    give(ben, on(5))
    give(cy, on(10))
    give(dee, on(12))
    people_services.household_member_move(actor=alice, person=ben, account=lee, on=on(15))
    give(ben, on(18))
    give(cy, on(25), status="absent")
    return {"harris": harris, "lee": lee, "ana": ana, "ben": ben, "benefit": benefit}


def counts(user, **filters) -> dict[str, int]:
    summary = report_summary(user=user, filters=report_filter(user=user, **filters))
    return {k: summary[k] for k in COUNTS}  # type: ignore[literal-required]


def test_the_counts_of_a_month(alice, world) -> None:
    assert counts(alice, date_from=M, date_to=M_END) == {
        "people_served": 4,  # Ana, Ben, Cy, Dee
        "households_served": 2,  # Harris, Lee (Dee is in none)
        # Harris on its latest delivery (the 5th): Ana, Ben and one declared = 3;
        # Lee on its latest (the 18th): Cy and Ben = 2.
        "individuals_in_households_served": 5,
        "new_people": 3,  # Ana was first served in February
        "new_households": 1,  # Lee; Harris was first served in February
    }


def test_the_counts_of_february_and_of_all_time(alice, world) -> None:
    assert counts(alice, date_from=FEB, date_to=M - dt.timedelta(days=1)) == {
        "people_served": 1, "households_served": 1, "individuals_in_households_served": 3,
        "new_people": 1, "new_households": 1}
    assert counts(alice) == {
        "people_served": 4, "households_served": 2, "individuals_in_households_served": 5,
        "new_people": 4, "new_households": 2}


def test_new_is_counted_within_the_program_filtered_on(alice, world) -> None:
    """Ana's first box of another program's benefit in March makes her new to that program."""
    other = BenefitFactory(name="Coats")
    services.disbursements_bulk_walk_in(actor=alice, benefit=other, quantity=Decimal(1),
                                        disbursed_on=on(20), person_ids=[world["ana"].pk])
    result = counts(alice, program_id=other.program_id, date_from=M, date_to=M_END)
    assert result == {"people_served": 1, "households_served": 1,
                      "individuals_in_households_served": 2,  # Ben had left Harris by then
                      "new_people": 1, "new_households": 1}


def test_a_membership_change_after_a_visit_leaves_last_months_counts_unchanged(
        alice, world) -> None:
    before = counts(alice, date_from=M, date_to=M_END)
    elsewhere = AccountFactory(name="Zed", declared_size=4)
    people_services.household_member_move(actor=alice, person=world["ana"], account=elsewhere,
                                          relationship="head")
    people_services.household_member_end(actor=alice, account=world["lee"], person=world["ben"])
    people_services.account_update(actor=alice, account=world["harris"], declared_size=6)
    HouseholdMembership.objects.filter(person=world["ben"]).update(relationship="other")
    assert counts(alice, date_from=M, date_to=M_END) == before


def test_the_api_summary_has_the_counts(api, world) -> None:
    body = api.get("reports/summary", **{"from": M.isoformat(), "to": M_END.isoformat()}).json()
    assert {k: body[k] for k in COUNTS} == {
        "people_served": 4, "households_served": 2, "individuals_in_households_served": 5,
        "new_people": 3, "new_households": 1}
