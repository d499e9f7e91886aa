"""The household page: members now and in the past, size, adding, moving and ending a member
(with a confirmation for the steps that end a membership)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils.timezone import localdate

from programdesk.core.models import User
from programdesk.people.models import Account, HouseholdMembership, Person
from tests import factories as f

pytestmark = pytest.mark.django_db

TODAY = localdate()


@pytest.fixture
def as_charlie(client: Client, charlie: User) -> Client:
    client.force_login(charlie)
    return client


@pytest.fixture
def harris() -> tuple[Account, Person, Person]:
    account = f.AccountFactory(name="Harris", declared_size=2)
    ana = f.MembershipFactory(account=account, relationship="head",
                              person__first_name="Ana").person
    gone = f.MembershipFactory(account=account, person__first_name="Gus", person__account=None,
                               end_date=TODAY - dt.timedelta(days=3))
    return account, ana, gone.person


def test_the_page_shows_members_now_and_past_and_the_size(as_charlie, harris) -> None:
    account, ana, gus = harris
    body = as_charlie.get(f"/accounts/{account.pk}/").content.decode()
    assert "3 people" in body  # Ana and two not registered
    assert "Head of household" in body and ana.full_name in body
    past = body[body.index('id="past-members"'):]
    assert gus.full_name in past


def test_adding_someone_with_a_relationship_and_a_date(as_charlie, harris) -> None:
    account, _, _ = harris
    ben = f.PersonFactory(first_name="Ben")
    since = TODAY - dt.timedelta(days=10)
    response = as_charlie.post(f"/accounts/{account.pk}/members/", {
        "person": ben.pk, "relationship": "child", "on": since.isoformat()})
    assert response.status_code == 302
    m = HouseholdMembership.objects.get(person=ben)
    assert (m.account_id, m.relationship, m.start_date) == (account.pk, "child", since)


def test_a_second_head_is_refused_with_a_message(as_charlie, harris) -> None:
    account, _, _ = harris
    ben = f.PersonFactory(first_name="Ben")
    response = as_charlie.post(f"/accounts/{account.pk}/members/", {
        "person": ben.pk, "relationship": "head"}, follow=True)
    assert "already has a head" in response.content.decode()
    assert not HouseholdMembership.objects.filter(person=ben).exists()


def test_someone_from_another_household_is_moved_after_a_confirmation(as_charlie, harris) -> None:
    account, ana, _ = harris
    lee = f.AccountFactory(name="Lee")
    response = as_charlie.post(f"/accounts/{lee.pk}/members/", {"person": ana.pk})
    assert response["Location"] == f"/accounts/{lee.pk}/members/move/?person={ana.pk}"
    page = as_charlie.get(response["Location"]).content.decode()
    assert "Harris" in page and "Move Ana" in page
    as_charlie.post(f"/accounts/{lee.pk}/members/move/", {
        "person": ana.pk, "relationship": "head", "on": TODAY.isoformat()})
    assert list(HouseholdMembership.objects.filter(person=ana).order_by("id")
                .values_list("account_id", "end_date")) == [
        (account.pk, TODAY - dt.timedelta(days=1)), (lee.pk, None)]


def test_ending_a_membership_refuses_a_day_before_it_started(as_charlie, harris) -> None:
    account, ana, _ = harris
    response = as_charlie.post(f"/accounts/{account.pk}/members/end/", {
        "person": ana.pk, "end_date": "2000-01-01"})
    assert response.status_code == 200
    assert "end_date" in response.context["form"].errors
    assert HouseholdMembership.objects.get(person=ana).end_date is None


def test_the_household_form_takes_declared_size_and_income(as_charlie, harris) -> None:
    account, _, _ = harris
    as_charlie.post(f"/accounts/{account.pk}/edit/", {
        "name": "Harris", "kind": "household", "declared_size": "4", "annual_income": "31000"})
    account.refresh_from_db()
    assert (account.declared_size, account.annual_income) == (4, 31000)


def test_logging_benefits_says_which_household_is_served(as_charlie, harris) -> None:
    _, ana, _ = harris
    body = as_charlie.get(f"/people/{ana.pk}/log-benefits/").content.decode()
    assert "Serving" in body and "the Harris household, 3 people" in body
    alone = f.PersonFactory()
    assert "Serving" not in as_charlie.get(f"/people/{alone.pk}/log-benefits/").content.decode()


def test_the_kiosk_tells_the_size_of_ones_household_and_nothing_else(client, kim, harris) -> None:
    _, ana, _ = harris
    session = f.SessionFactory(local_date=TODAY)
    client.force_login(kim)
    response = client.post(f"/kiosk/{session.pk}/", {"person_id": ana.pk}, follow=True)
    body = response.content.decode()
    assert "checked in for your household of 3" in body
    assert "Harris" not in body.split("<main", 1)[1].split("</main>", 1)[0]


def test_the_person_page_lists_their_households_over_time(as_charlie, harris) -> None:
    _, _, gus = harris
    body = as_charlie.get(f"/people/{gus.pk}/").content.decode()
    listed = body[body.index('id="person-households"'):]
    assert "Harris" in listed and "other" in listed and "to now" not in listed.split("</ul>")[0]


def test_the_walk_in_panel_and_the_sheet_say_which_household_is_served(as_charlie, harris
                                                                       ) -> None:
    _, ana, _ = harris
    session = f.SessionFactory(local_date=TODAY)
    htmx = {"HTTP_HX_REQUEST": "true"}
    found = as_charlie.get(f"/sessions/{session.pk}/walk-in/", {"q": ana.last_name}, **htmx)
    assert "household: Harris" in found.content.decode()
    added = as_charlie.post(f"/sessions/{session.pk}/walk-in/", {"person_id": ana.pk}, **htmx)
    body = added.content.decode()
    assert "Serving the Harris household, 3 people." in body
    # the sheet row (out of band, and on the page) carries the household of the row
    assert "Harris household, 3 people" in body.split("sheet-rows", 1)[1]
    page = as_charlie.get(f"/sessions/{session.pk}/").content.decode()
    assert 'data-household>Harris household, 3 people</span>' in page
    alone = f.PersonFactory(first_name="Solo", last_name="Walker")
    solo = as_charlie.post(f"/sessions/{session.pk}/walk-in/", {"person_id": alone.pk}, **htmx)
    assert "Serving" not in solo.content.decode()
