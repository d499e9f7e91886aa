"""Households with dated membership: one current household per person, one current head per
household (database constraints), the person's account kept in step, the API."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.db import IntegrityError, transaction
from django.utils.timezone import localdate

from programdesk.core.errors import Conflict, ValidationError
from programdesk.people import services
from programdesk.people.models import HouseholdMembership, Person
from programdesk.people.selectors import household_snapshots, households_today
from tests.conftest import assert_problem
from tests.factories import AccountFactory, MembershipFactory, PersonFactory

pytestmark = pytest.mark.django_db

TODAY = localdate()
YESTERDAY = TODAY - dt.timedelta(days=1)


def members(account) -> list[tuple[int, str, dt.date, dt.date | None]]:
    return list(HouseholdMembership.objects.filter(account=account).order_by("id")
                .values_list("person_id", "relationship", "start_date", "end_date"))


# --- the database holds the rules -------------------------------------------------------------

def test_the_database_refuses_a_second_current_household() -> None:
    person = PersonFactory()
    MembershipFactory(person=person)
    with pytest.raises(IntegrityError), transaction.atomic():
        HouseholdMembership.objects.create(person=person, account=AccountFactory(),
                                           start_date=TODAY)


def test_the_database_refuses_a_second_current_head() -> None:
    head = MembershipFactory(relationship="head")
    with pytest.raises(IntegrityError), transaction.atomic():
        HouseholdMembership.objects.create(person=PersonFactory(), account=head.account,
                                           relationship="head", start_date=TODAY)


def test_past_memberships_and_past_heads_are_not_limited() -> None:
    account = AccountFactory()
    person = PersonFactory()
    for year in (2020, 2022):
        HouseholdMembership.objects.create(person=person, account=account, relationship="head",
                                           start_date=dt.date(year, 1, 1),
                                           end_date=dt.date(year, 12, 31))
    HouseholdMembership.objects.create(person=PersonFactory(), account=account,
                                       relationship="head", start_date=TODAY)
    assert HouseholdMembership.objects.filter(account=account).count() == 3


def test_the_database_refuses_an_end_before_the_start() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        HouseholdMembership.objects.create(person=PersonFactory(), account=AccountFactory(),
                                           start_date=TODAY, end_date=YESTERDAY)


# --- services ---------------------------------------------------------------------------------

def test_adding_a_member_makes_the_household_their_account(alice) -> None:
    account, person = AccountFactory(), PersonFactory()
    m = services.household_member_add(actor=alice, account=account, person=person,
                                      relationship="head")
    person.refresh_from_db()
    assert person.account_id == account.pk
    assert (m.relationship, m.start_date, m.end_date) == ("head", TODAY, None)


def test_a_second_current_household_is_a_conflict_naming_it(alice) -> None:
    first = MembershipFactory(account__name="Harris")
    with pytest.raises(Conflict, match="Harris"):
        services.household_member_add(actor=alice, account=AccountFactory(),
                                      person=first.person)


def test_a_second_head_is_a_conflict(alice) -> None:
    head = MembershipFactory(relationship="head", person__first_name="Ana")
    with pytest.raises(Conflict, match="Ana"):
        services.household_member_add(actor=alice, account=head.account,
                                      person=PersonFactory(), relationship="head")


def test_an_organisation_has_no_members(alice) -> None:
    with pytest.raises(ValidationError):
        services.household_member_add(actor=alice, account=AccountFactory(kind="organization"),
                                      person=PersonFactory())


def test_ending_a_membership_keeps_it_dated_and_clears_the_account(alice) -> None:
    m = MembershipFactory()
    services.household_member_end(actor=alice, account=m.account, person=m.person,
                                  end_date=YESTERDAY)
    m.refresh_from_db()
    m.person.refresh_from_db()
    assert m.end_date == YESTERDAY and m.person.account_id is None
    with pytest.raises(Conflict):  # not a current member any more
        services.household_member_end(actor=alice, account=m.account, person=m.person)


def test_an_end_before_the_start_or_in_the_future_is_refused(alice) -> None:
    m = MembershipFactory(start_date=TODAY)
    for day in (YESTERDAY, TODAY + dt.timedelta(days=1)):
        with pytest.raises(ValidationError):
            services.household_member_end(actor=alice, account=m.account, person=m.person,
                                          end_date=day)


def test_moving_ends_the_old_membership_the_day_before(alice) -> None:
    old = MembershipFactory()
    new_home = AccountFactory()
    moved = services.household_member_move(actor=alice, person=old.person, account=new_home,
                                           relationship="child")
    old.refresh_from_db()
    old.person.refresh_from_db()
    assert old.end_date == YESTERDAY
    assert (moved.account_id, moved.start_date, moved.relationship) == (new_home.pk, TODAY,
                                                                        "child")
    assert old.person.account_id == new_home.pk


def test_moving_the_day_one_joined_corrects_the_household(alice) -> None:
    """A membership that would end before it started never took effect: it is replaced."""
    wrong = MembershipFactory(start_date=TODAY)
    right = AccountFactory()
    services.household_member_move(actor=alice, person=wrong.person, account=right)
    assert list(HouseholdMembership.objects.filter(person=wrong.person)
                .values_list("account_id", flat=True)) == [right.pk]


def test_a_new_membership_starts_after_the_last_one_ended(alice) -> None:
    person = PersonFactory()
    HouseholdMembership.objects.create(person=person, account=AccountFactory(),
                                       start_date=TODAY - dt.timedelta(days=30),
                                       end_date=YESTERDAY)
    with pytest.raises(ValidationError):
        services.household_member_add(actor=alice, account=AccountFactory(), person=person,
                                      start_date=YESTERDAY)


def test_creating_a_person_in_a_household_starts_a_membership(alice) -> None:
    account = AccountFactory()
    person = services.person_create(actor=alice, first_name="Ana", last_name="Harris",
                                    account=account)
    assert members(account) == [(person.pk, "other", TODAY, None)]


def test_creating_a_person_in_an_organisation_starts_none(alice) -> None:
    services.person_create(actor=alice, first_name="Ana", last_name="Harris",
                           account=AccountFactory(kind="organization"))
    assert not HouseholdMembership.objects.exists()


def test_changing_the_account_moves_the_person(alice) -> None:
    old = MembershipFactory()
    new_home = AccountFactory()
    services.person_update(actor=alice, person=old.person, account=new_home)
    assert members(old.account) == [(old.person_id, "other", old.start_date, YESTERDAY)]
    assert members(new_home) == [(old.person_id, "other", TODAY, None)]
    services.person_update(actor=alice, person=old.person, account=None)
    assert members(new_home) == [(old.person_id, "other", TODAY, TODAY)]
    assert Person.objects.get(pk=old.person_id).account_id is None


def test_people_created_in_bulk_join_their_households(alice) -> None:
    account = AccountFactory()
    org = AccountFactory(kind="organization")
    created = services.people_create_many(actor=alice, rows=[
        {"first_name": "A", "last_name": "B", "account_id": account.pk},
        {"first_name": "C", "last_name": "D", "account_id": org.pk},
        {"first_name": "E", "last_name": "F"}])
    assert members(account) == [(created[0], "other", TODAY, None)]
    assert HouseholdMembership.objects.count() == 1


def test_a_household_with_members_stays_a_household(alice) -> None:
    m = MembershipFactory()
    with pytest.raises(Conflict):
        services.account_update(actor=alice, account=m.account, kind="organization")


def test_size_is_current_members_plus_declared_ones() -> None:
    account = AccountFactory(declared_size=3)
    head = MembershipFactory(account=account, relationship="head")
    MembershipFactory(account=account)
    MembershipFactory(account=account, end_date=YESTERDAY, person__account=None)
    facts = households_today([account.pk])[account.pk]
    assert (facts.members, facts.size, facts.head_person_id) == (2, 5, head.person_id)


def test_snapshots_are_as_on_the_day() -> None:
    """Who lived where on a day: the household then and its size then."""
    day1, day2 = dt.date(2026, 3, 1), dt.date(2026, 3, 20)
    harris, lee = AccountFactory(declared_size=1), AccountFactory()
    ana, ben, cy = PersonFactory(), PersonFactory(), PersonFactory()
    HouseholdMembership.objects.create(person=ana, account=harris, start_date=dt.date(2026, 1, 1),
                                       end_date=dt.date(2026, 3, 9))
    HouseholdMembership.objects.create(person=ana, account=lee, start_date=dt.date(2026, 3, 10))
    HouseholdMembership.objects.create(person=ben, account=harris,
                                       start_date=dt.date(2026, 1, 1))
    snaps = household_snapshots(person_ids=[ana.pk, ben.pk, cy.pk],
                                account_ids=[harris.pk], days=[day1, day2])
    assert snaps.of(ana.pk, None, day1) == (harris.pk, 3)  # Ana, Ben and one declared
    assert snaps.of(ana.pk, None, day2) == (lee.pk, 1)
    assert snaps.of(ben.pk, None, day2) == (harris.pk, 2)
    assert snaps.of(cy.pk, None, day1) == (None, None)
    assert snaps.of(None, harris.pk, day2) == (harris.pk, 2)


def test_snapshots_take_a_constant_number_of_queries(django_assert_max_num_queries) -> None:
    accounts = [AccountFactory() for _ in range(5)]
    people = [MembershipFactory(account=accounts[i % 5]).person_id for i in range(40)]
    with django_assert_max_num_queries(3):
        snaps = household_snapshots(person_ids=people, days=[TODAY])
        assert {snaps.of(p, None, TODAY)[1] for p in people} == {8}


# --- the data migration -----------------------------------------------------------------------

def test_the_migration_makes_todays_members_current_members() -> None:
    module = importlib.import_module("programdesk.people.migrations.0004_memberships_from_accounts")
    account = AccountFactory()
    a, b = PersonFactory(account=account), PersonFactory(account=account)
    PersonFactory(account=AccountFactory(kind="organization"))
    PersonFactory()
    assert module.memberships_from_accounts(apps, None) == 2
    assert sorted(members(account)) == sorted([(a.pk, "other", TODAY, None),
                                               (b.pk, "other", TODAY, None)])
    assert module.memberships_from_accounts(apps, None) == 0  # twice is once


# --- API --------------------------------------------------------------------------------------

def test_api_adds_lists_and_ends_members(api) -> None:
    account = api.post("accounts", {"name": "Harris", "declared_size": 2}).json()
    ana, ben = PersonFactory(), PersonFactory()
    r = api.post(f"accounts/{account['id']}/members",
                 {"person_id": ana.pk, "relationship": "head"})
    assert r.status_code == 201, r.content
    assert r.json() == {"person_id": ana.pk, "relationship": "head",
                        "start_date": TODAY.isoformat(), "end_date": None, "is_current": True}
    assert api.post(f"accounts/{account['id']}/members",
                    {"person_id": ben.pk, "relationship": "child"}).status_code == 201
    got = api.get(f"accounts/{account['id']}").json()
    assert (got["size"], got["head_person_id"], got["declared_size"]) == (4, ana.pk, 2)
    r = api.post(f"accounts/{account['id']}/members/{ben.pk}/end",
                 {"end_date": TODAY.isoformat()})
    assert r.status_code == 200 and r.json()["is_current"] is False
    current = api.get(f"accounts/{account['id']}/members", current="true").json()
    assert [m["person_id"] for m in current["items"]] == [ana.pk]
    everyone = api.get(f"accounts/{account['id']}/members").json()
    assert everyone["count"] == 2
    assert api.get(f"people/{ben.pk}").json()["account_id"] is None


def test_api_second_household_and_second_head_answer_409(api) -> None:
    first = MembershipFactory(account__name="Harris", relationship="head")
    other = AccountFactory()
    body = assert_problem(api.post(f"accounts/{other.pk}/members",
                                   {"person_id": first.person_id}), 409, "person_id")
    assert "Harris" in body["detail"] and body["household_id"] == first.account_id
    assert_problem(api.post(f"accounts/{first.account_id}/members",
                            {"person_id": PersonFactory().pk, "relationship": "head"}),
                   409, "relationship")


def test_api_patching_account_id_moves_the_person(api) -> None:
    old = MembershipFactory()
    new_home = AccountFactory()
    r = api.patch(f"people/{old.person_id}", {"account_id": new_home.pk})
    assert r.status_code == 200 and r.json()["account_id"] == new_home.pk
    assert members(new_home) == [(old.person_id, "other", TODAY, None)]
    assert members(old.account)[0][3] == YESTERDAY


def test_api_account_income_is_hidden_from_viewers(api_as, dana) -> None:
    account = AccountFactory(annual_income=25000)
    assert "annual_income" not in api_as(dana).get(f"accounts/{account.pk}").json()


def test_importing_people_into_a_household_starts_their_memberships(alice) -> None:
    from tests.imports.util import commit

    account = AccountFactory(name="Harris")
    result = commit("people", f"first_name,last_name,account_id\nAna,Harris,{account.pk}\n"
                              "Ben,Lee,\n", actor=alice)
    assert result.committed, result.errors
    ana = Person.objects.get(first_name="Ana")
    assert members(account) == [(ana.pk, "other", TODAY, None)]


def test_merging_two_people_in_different_households_is_a_conflict(alice) -> None:
    a, b = MembershipFactory(), MembershipFactory()
    with pytest.raises(Conflict):
        services.person_merge(actor=alice, survivor=a.person, duplicate=b.person)
