"""Importing household members (relationship, dates), declared size and income."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from programdesk.core.errors import NotAllowed
from programdesk.core.models import AuditEvent
from programdesk.imports.results import ImportErrors
from programdesk.people.models import Account, HouseholdMembership, Person
from tests import factories as f
from tests.imports.util import check, commit, errors

pytestmark = pytest.mark.django_db


@pytest.fixture
def harris() -> Account:
    return f.AccountFactory(name="Harris household")


def _members(account: Account) -> list[tuple[str, str, dt.date, dt.date | None]]:
    return [(m.person.first_name, m.relationship, m.start_date, m.end_date)
            for m in HouseholdMembership.objects.filter(account=account)
            .select_related("person").order_by("start_date", "person__first_name")]


def test_dry_run_then_commit_then_reimport(charlie, harris) -> None:
    ana = f.PersonFactory(first_name="Ana", last_name="Harris", birth_date=dt.date(1980, 1, 2))
    text = ("Household,Person id,First name,Last name,Birth date,Relationship,Start date,"
            "End date,Declared size,Income\n") + f"""\
Harris household,{ana.pk},,,,Head of household,2024-01-01,,2,"$31,000"
Harris household,,Ben,Harris,2010-05-06,son,2024-01-01,,,
Harris household,,Cleo,Harris,1950-03-04,other relative,2023-06-01,2025-02-28,,
Osei household,,Kofi,Osei,1975-07-08,head,3/1/2025,,,
"""
    dry = check("households", text, charlie)
    assert dry.errors == [] and dry.dry_run
    assert dry.summary == {"memberships_new": 4, "memberships_matched": 0,
                           "memberships_repeated": 0, "households_new": 1,
                           "households_facts": 1, "people_new": 3, "people_matched": 1}
    assert not HouseholdMembership.objects.exists() and Person.objects.count() == 1

    commit("households", text, charlie)
    assert _members(harris) == [
        ("Cleo", "other_relative", dt.date(2023, 6, 1), dt.date(2025, 2, 28)),
        ("Ana", "head", dt.date(2024, 1, 1), None),
        ("Ben", "child", dt.date(2024, 1, 1), None)]
    harris.refresh_from_db()
    assert (harris.declared_size, harris.annual_income) == (2, Decimal("31000"))
    # current members' account is their household; a past member's is not
    people = {p.first_name: p.account_id for p in Person.objects.all()}
    osei = Account.objects.get(name="Osei household")
    assert people == {"Ana": harris.pk, "Ben": harris.pk, "Cleo": None, "Kofi": osei.pk}
    assert AuditEvent.objects.filter(action="household_membership.create_many").count() == 1
    assert AuditEvent.objects.filter(action="account.update_many").count() == 1

    again = commit("households", text, charlie)
    assert again.summary["memberships_new"] == 0
    assert again.summary["memberships_matched"] == 4
    assert HouseholdMembership.objects.count() == 4


def test_errors_have_row_numbers_and_nothing_is_written(charlie, harris) -> None:
    ana = f.PersonFactory(first_name="Ana", last_name="Harris")
    f.MembershipFactory(person=ana, account=harris, relationship="head",
                        start_date=dt.date(2024, 1, 1))
    org = f.AccountFactory(name="Food Bank", kind="organization")
    future = timezone.localdate() + dt.timedelta(days=3)
    text = ("Household id,Household,First name,Last name,Relationship,Start date,End date,"
            "Declared size\n") + f"""\
{harris.pk},,Ben,Harris,head,2024-02-01,,
,Harris household,Cleo,Harris,cousin,2024-02-01,,
,Harris household,Dan,Harris,child,{future.isoformat()},,
,Harris household,Eve,Harris,child,2024-05-01,2024-04-01,
{org.pk},,Fay,Bank,child,2024-01-01,,
999999,,Gus,None,child,2024-01-01,,
,Harris household,,,,,,lots
,Harris household,,,,,,3
,Harris household,,,,,,4
,Harris household,Hal,Harris,child,2024-01-01,,
,Harris household,Hal,Harris,child,2024-06-01,,
{harris.pk},,,,,,,
"""
    result = check("households", text, charlie)
    assert errors(result) == [
        (2, "Relationship", "The household already has a current head."),
        (3, "Relationship", "'cousin' is not a relationship: use head, spouse or partner, "
                            "child, other relative or other."),
        (4, "Start date", "A membership cannot start in the future."),
        (5, "End date", "The end date is before the start date."),
        (6, "Household id", f"Account {org.pk} is an organization, not a household."),
        (7, "Household id", "No household with id 999999."),
        (8, "Declared size", "'lots' is not a number."),
        (10, "Declared size", "Row 9 gives this household 3."),
        (12, "Start date", "Hal Harris's dates overlap those on row 11."),
        (13, "", "Name a person (first and last name, or person id), or give the household's "
                 "declared size or income."),
    ]
    with pytest.raises(ImportErrors):
        commit("households", text, charlie)
    assert HouseholdMembership.objects.count() == 1
    assert Person.objects.count() == 1


def test_a_membership_overlapping_one_recorded_is_refused(charlie, harris) -> None:
    ana = f.PersonFactory(first_name="Ana", last_name="Harris")
    f.MembershipFactory(person=ana, account=harris, start_date=dt.date(2024, 1, 1))
    other = f.AccountFactory(name="Lee household")
    head = "Household id,Person id,Start date,End date\n"
    text = f"{head}{other.pk},{ana.pk},2023-01-01,2024-03-01\n"
    assert errors(check("households", text, charlie)) == [
        (2, "Start date", f"Ana Harris is recorded in Harris household (#{harris.pk}) from "
                          "2024-01-01 and still is (end that membership first): the dates "
                          "overlap.")]
    # before it: fine, a past membership
    ok = f"{head}{other.pk},{ana.pk},2023-01-01,2023-12-31\n"
    assert commit("households", ok, charlie).summary["memberships_new"] == 1
    ana.refresh_from_db()
    assert ana.account_id == harris.pk  # still the current household


def test_a_viewer_may_not_import_households(dana) -> None:
    with pytest.raises(NotAllowed):
        check("households", "Household,First name,Last name\nHarris,Ana,Harris\n", dana)


def test_staff_import_only_what_they_may_see() -> None:
    mine, theirs = f.ProgramFactory(name="Mine"), f.ProgramFactory(name="Theirs")
    staff = f.UserFactory(role="staff")
    staff.programs.set([mine])
    hidden_home = f.AccountFactory(name="Secret household")
    hidden = f.PersonFactory(first_name="Hana", last_name="Secret")
    f.MembershipFactory(person=hidden, account=hidden_home)
    f.EnrollmentFactory(program=theirs, person=hidden)
    text = ("Household id,Household,Person id\n"
            f"{hidden_home.pk},,{hidden.pk}\n,Harris,{hidden.pk}\n")
    assert errors(check("households", text, staff)) == [
        (2, "Household id", f"No household with id {hidden_home.pk}."),
        (3, "Person id", f"No person with id {hidden.pk}."),
    ]
    # by name, the hidden household is as if it did not exist: a new one is made
    named = check("households", "Household,First name,Last name\nSecret household,Nora,New\n",
                  staff)
    assert named.errors == [] and named.summary["households_new"] == 1


def test_people_import_takes_the_household_start_date(charlie, harris) -> None:
    text = """First name,Last name,Household,Household start date
Ana,Harris,Harris household,2024-03-01
Ben,Harris,Harris household,
Cleo,Alone,,2024-03-01
Dan,Later,Harris household,2999-01-01
"""
    assert errors(check("people", text, charlie)) == [
        (4, "Household start date", "Name the household (account) the person joined."),
        (5, "Household start date", "A membership cannot start in the future."),
    ]
    commit("people", "\n".join(text.splitlines()[:3]) + "\n", charlie)
    today = timezone.localdate()
    assert _members(harris) == [("Ana", "other", dt.date(2024, 3, 1), None),
                                ("Ben", "other", today, None)]
