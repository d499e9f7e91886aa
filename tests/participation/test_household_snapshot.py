"""Every disbursement records its recipient's household and the household's size as they were
on ``disbursed_on``; later membership changes never change them."""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils.timezone import localdate

from programdesk.participation import services
from programdesk.participation.models import BenefitDisbursement
from programdesk.participation.services import AttendanceMark, DisbursementLine
from programdesk.people import services as people_services
from programdesk.people.models import Account, HouseholdMembership, Person
from programdesk.scheduling import services as scheduling_services
from tests import factories as f

pytestmark = pytest.mark.django_db

TODAY = localdate()
LAST_MONTH = TODAY - dt.timedelta(days=30)


@pytest.fixture
def harris() -> tuple[Account, Person, Person]:
    """The Harris household: Ana (head) and Ben since a year ago, two declared members."""
    account = f.AccountFactory(name="Harris", declared_size=2)
    ana = f.MembershipFactory(account=account, relationship="head").person
    ben = f.MembershipFactory(account=account, relationship="child").person
    return account, ana, ben


def snapshot(**filters) -> list[tuple[int | None, int | None]]:
    return list(BenefitDisbursement.objects.filter(**filters).order_by("id")
                .values_list("household_id", "household_size"))


def test_an_ad_hoc_disbursement_records_the_household_and_its_size(bob, harris) -> None:
    account, ana, _ = harris
    benefit = f.BenefitFactory()
    services.disbursements_create_ad_hoc(
        actor=bob, person=ana, disbursed_on=TODAY,
        lines=[DisbursementLine(benefit_id=benefit.pk, quantity=Decimal(1))])
    assert snapshot(person=ana) == [(account.pk, 4)]


def test_a_disbursement_to_the_household_itself_records_it(bob, harris) -> None:
    account, _, _ = harris
    benefit = f.BenefitFactory()
    services.disbursements_create_ad_hoc(
        actor=bob, account=account, disbursed_on=TODAY,
        lines=[DisbursementLine(benefit_id=benefit.pk, quantity=Decimal(1))])
    assert snapshot(account=account) == [(account.pk, 4)]


def test_people_in_no_household_and_organisations_record_none(bob) -> None:
    benefit = f.BenefitFactory()
    org = f.AccountFactory(kind="organization")
    alone = f.PersonFactory(account=org)
    services.disbursements_bulk_walk_in(actor=bob, benefit=benefit, quantity=Decimal(1),
                                        disbursed_on=TODAY, person_ids=[alone.pk],
                                        account_ids=[org.pk])
    services.disbursements_bulk_anonymous(actor=bob, benefit=benefit, quantity=Decimal(1),
                                          disbursed_on=TODAY, number_of_recipients=5)
    assert snapshot() == [(None, None)] * 3


def test_a_backdated_disbursement_counts_the_household_as_it_was_then(bob, harris) -> None:
    """Ben moved out ten days ago: a box logged today for last month still counts him."""
    account, ana, ben = harris
    people_services.household_member_end(actor=bob, account=account, person=ben,
                                         end_date=TODAY - dt.timedelta(days=10))
    benefit = f.BenefitFactory()
    services.disbursements_bulk_walk_in(actor=bob, benefit=benefit, quantity=Decimal(1),
                                        disbursed_on=LAST_MONTH, person_ids=[ana.pk])
    services.disbursements_bulk_walk_in(actor=bob, benefit=benefit, quantity=Decimal(1),
                                        disbursed_on=TODAY, person_ids=[ana.pk])
    assert snapshot(person=ana) == [(account.pk, 4), (account.pk, 3)]


def test_later_membership_changes_never_change_a_snapshot(bob, harris) -> None:
    account, ana, ben = harris
    benefit = f.BenefitFactory()
    services.disbursements_bulk_walk_in(actor=bob, benefit=benefit, quantity=Decimal(1),
                                        disbursed_on=TODAY, person_ids=[ana.pk, ben.pk])
    elsewhere = f.AccountFactory()
    people_services.household_member_move(actor=bob, person=ben, account=elsewhere)
    people_services.account_update(actor=bob, account=account, declared_size=7)
    assert snapshot() == [(account.pk, 4), (account.pk, 4)]


def test_session_disbursements_record_the_household_on_each_session_date(bob, harris) -> None:
    account, ana, _ = harris
    schedule = f.schedule_with_sessions(sessions=3)
    services.schedule_add_participants(actor=bob, schedule=schedule, person_ids=[ana.pk])
    assert snapshot(person=ana) == [(account.pk, 4)] * 3


def test_attendance_takes_the_snapshot_again_for_whoever_moved_before_the_session(
        bob, harris) -> None:
    """The roster's rows are written ahead; on the day Ana lived elsewhere."""
    account, ana, _ = harris
    session = f.SessionFactory(local_date=TODAY)
    services.session_add_participants(actor=bob, session=session, person_ids=[ana.pk])
    row = BenefitDisbursement.objects.get(person=ana)
    assert (row.household_id, row.household_size) == (account.pk, 4)
    elsewhere = f.AccountFactory(declared_size=1)
    HouseholdMembership.objects.filter(person=ana).delete()  # she never lived there, it turns out
    people_services.household_member_add(actor=bob, account=elsewhere, person=ana)
    services.attendance_record(actor=bob, session=session,
                               marks=[AttendanceMark(disbursement_id=row.pk, status="completed")])
    assert snapshot(person=ana) == [(elsewhere.pk, 2)]


def test_attendance_clears_the_snapshot_of_whoever_left_every_household(bob, harris) -> None:
    _, ana, _ = harris
    session = f.SessionFactory(local_date=TODAY)
    services.session_add_participants(actor=bob, session=session, person_ids=[ana.pk])
    row = BenefitDisbursement.objects.get(person=ana)
    HouseholdMembership.objects.filter(person=ana).delete()  # she lived alone all along
    services.attendance_record(actor=bob, session=session,
                               marks=[AttendanceMark(disbursement_id=row.pk, status="completed")])
    assert snapshot(person=ana) == [(None, None)]


def test_attendance_takes_the_household_of_whoever_joined_one_before_the_session(
        bob, harris) -> None:
    account, _, _ = harris
    cleo = f.PersonFactory()
    session = f.SessionFactory(local_date=TODAY)
    services.session_add_participants(actor=bob, session=session, person_ids=[cleo.pk])
    row = BenefitDisbursement.objects.get(person=cleo)
    assert (row.household_id, row.household_size) == (None, None)
    f.MembershipFactory(account=account, person=cleo, start_date=LAST_MONTH)
    services.attendance_record(actor=bob, session=session,
                               marks=[AttendanceMark(disbursement_id=row.pk, status="completed")])
    assert snapshot(person=cleo) == [(account.pk, 5)]


def test_the_migration_fills_existing_rows_from_todays_memberships(harris) -> None:
    module = importlib.import_module(
        "programdesk.participation.migrations.0003_household_snapshot_fill")
    account, ana, _ = harris
    member = f.DisbursementFactory(assignment__enrollment__person=ana,
                                   disbursed_on=dt.date(2020, 1, 1))
    household = f.DisbursementFactory(assignment__enrollment__person=None,
                                      assignment__enrollment__account=account)
    loner = f.DisbursementFactory()
    module.snapshots_from_memberships(apps, None)
    assert snapshot(pk__in=[member.pk, household.pk, loner.pk]) == [
        (account.pk, 4), (account.pk, 4), (None, None)]


def test_a_schedules_new_sessions_record_the_rosters_households(bob, harris) -> None:
    """Scheduling adds sessions; its signal reaches participation's roster_disbursements_insert,
    which writes through session_disbursements_insert and its snapshot."""
    account, ana, _ = harris
    schedule = f.schedule_with_sessions(sessions=1)
    services.schedule_add_participants(actor=bob, schedule=schedule, person_ids=[ana.pk])
    scheduling_services.schedule_sessions_add(actor=bob, schedule=schedule, count=2)
    assert snapshot(person=ana) == [(account.pk, 4)] * 3


def test_a_moved_session_takes_the_snapshot_of_its_new_date(bob, harris) -> None:
    account, ana, _ = harris
    cy = f.PersonFactory()
    people_services.household_member_add(actor=bob, account=account, person=cy,
                                         start_date=TODAY - dt.timedelta(days=3))
    schedule = f.schedule_with_sessions(sessions=1)
    services.schedule_add_participants(actor=bob, schedule=schedule, person_ids=[ana.pk])
    assert snapshot(person=ana) == [(account.pk, 5)]
    session = schedule.sessions.get()
    scheduling_services.session_update(actor=bob, session=session,
                                       start=session.start - dt.timedelta(days=7))
    assert snapshot(person=ana) == [(account.pk, 4)]  # Cy had not joined yet
