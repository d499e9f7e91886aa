"""The household snapshot rule is written twice: in Python (``HouseholdSnapshots.of``, for rows
about to be inserted) and in SQL (``household_snapshot_sql``, for rows already written, as an
attendance sheet's rows becoming delivered). Both must give the same answer on any data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils.timezone import localdate

from programdesk.participation.models import BenefitDisbursement
from programdesk.participation.services.writers import disbursements_household_refresh
from programdesk.people.models import Account, HouseholdMembership, Person
from programdesk.people.selectors import household_snapshot_sql, household_snapshots
from tests import factories as f

pytestmark = pytest.mark.django_db

DAY = localdate() - dt.timedelta(days=10)  # the session's day
DAYS = [DAY - dt.timedelta(days=1), DAY, DAY + dt.timedelta(days=1)]


def _member(person: Person, account: Account, start: dt.date,
            end: dt.date | None = None) -> HouseholdMembership:
    return HouseholdMembership.objects.create(person=person, account=account,
                                              start_date=start, end_date=end)


def _tricky_world() -> tuple[list[Person], list[Account]]:
    """Moves on the day, memberships ending on the day or the day before, starting on the day
    or the day after, two memberships covering one day, a membership of an organisation,
    declared sizes (and none), people in no household."""
    harris = f.AccountFactory(name="Harris", declared_size=2)
    lopez = f.AccountFactory(name="Lopez", declared_size=None)
    nguyen = f.AccountFactory(name="Nguyen", declared_size=1)
    org = f.AccountFactory(name="Food bank", kind="organization", declared_size=3)
    people = {name: f.PersonFactory(first_name=name) for name in [
        "ana", "ben", "cy", "dee", "eve", "pat", "quin", "ola", "zed", "old", "new"]}
    long_ago = DAY - dt.timedelta(days=365)
    _member(people["ana"], harris, long_ago)
    _member(people["ben"], harris, long_ago, DAY - dt.timedelta(days=1))  # left the day before
    _member(people["cy"], harris, DAY)  # joined on the day
    _member(people["dee"], harris, DAY - dt.timedelta(days=30), DAY)  # left on the day
    _member(people["eve"], harris, DAY + dt.timedelta(days=1))  # joins the day after
    # Pat moved on the day, both memberships covering it: the earlier started counts.
    _member(people["pat"], nguyen, DAY)
    _member(people["pat"], lopez, DAY - dt.timedelta(days=100), DAY)
    # Quin: two memberships starting the same day, both covering it: the lower id counts.
    _member(people["quin"], nguyen, DAY - dt.timedelta(days=5), DAY + dt.timedelta(days=2))
    _member(people["quin"], lopez, DAY - dt.timedelta(days=5))
    _member(people["ola"], org, long_ago)  # a membership of an account that is no household
    _member(people["old"], lopez, long_ago, DAY - dt.timedelta(days=200))  # long gone
    _member(people["new"], lopez, DAY + dt.timedelta(days=200))  # not yet
    return list(people.values()), [harris, lopez, nguyen, org]


def _rows(people: list[Person], accounts: list[Account]) -> list[BenefitDisbursement]:
    """A disbursement for each person and account on each of the days."""
    assignment = f.AssignmentFactory()
    rows: list[tuple[Person | None, Account | None, dt.date]] = [
        (p, None, day) for p in people for day in DAYS]
    rows += [(None, a, day) for a in accounts for day in DAYS]
    return [f.DisbursementFactory(assignment=assignment, person=person, account=account,
                                  disbursed_on=day) for person, account, day in rows]


def test_the_sql_rule_gives_what_household_snapshots_of_gives() -> None:
    people, accounts = _tricky_world()
    rows = _rows(people, accounts)
    python = household_snapshots(person_ids=[p.pk for p in people],
                                 account_ids=[a.pk for a in accounts], days=DAYS)
    expected = {d.pk: python.of(d.person_id, d.account_id, d.disbursed_on) for d in rows}
    sql = household_snapshot_sql(
        "SELECT id AS ref, person_id, account_id, disbursed_on AS day"
        " FROM participation_benefitdisbursement")
    with connection.cursor() as cursor:
        cursor.execute(sql)
        found = {ref: (household, size) for ref, household, size in cursor.fetchall()}
    assert found == expected
    # The data is tricky enough to matter: households, sizes and people in none all occur.
    harris, lopez, nguyen, org = accounts
    by_name = {p.first_name: p for p in people}

    def of(who: Person | Account, day: dt.date) -> tuple[int | None, int | None]:
        return next(expected[d.pk] for d in rows if d.disbursed_on == day
                    and who.pk == (d.person_id if isinstance(who, Person) else d.account_id))

    # On the day Harris is ana, cy, dee and 2 declared; the day before ana, ben, dee and 2.
    assert of(by_name["ana"], DAY) == (harris.pk, 5)
    assert of(harris, DAYS[0]) == (harris.pk, 5)
    assert of(by_name["ben"], DAY) == (None, None)
    assert of(by_name["pat"], DAY) == (lopez.pk, 2)  # pat and quin, none declared
    assert of(by_name["pat"], DAYS[2]) == (nguyen.pk, 3)  # pat, quin and 1 declared
    assert of(by_name["quin"], DAY) == (nguyen.pk, 3)
    assert of(by_name["ola"], DAY) == (org.pk, 0)
    assert of(org, DAY) == (None, None)
    assert of(by_name["zed"], DAY) == (None, None)


def test_refreshing_rewrites_only_the_snapshots_that_differ() -> None:
    people, accounts = _tricky_world()
    rows = _rows(people, accounts)
    BenefitDisbursement.objects.update(household=None, household_size=None)
    snapshots = disbursements_household_refresh(disbursement_ids=[d.pk for d in rows])
    stored = dict(BenefitDisbursement.objects.values_list("id", "household_id"))
    sizes = dict(BenefitDisbursement.objects.values_list("id", "household_size"))
    assert snapshots == {pk: (stored[pk], sizes[pk]) for pk in stored}
    python = household_snapshots(person_ids=[p.pk for p in people],
                                 account_ids=[a.pk for a in accounts], days=DAYS)
    assert snapshots == {d.pk: python.of(d.person_id, d.account_id, d.disbursed_on)
                         for d in rows}
