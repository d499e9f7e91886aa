"""Each invariant is enforced by the database itself: these tests bypass the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from programdesk.core.models import StatusValue
from programdesk.participation.models import BenefitDisbursement, ProgramEnrollment
from tests import factories as f

pytestmark = pytest.mark.django_db


def violates(create: Any, name: str | None = None) -> None:
    with pytest.raises(IntegrityError) as info, transaction.atomic():
        create()
    if name is not None and "UNIQUE" not in str(info.value) and "unique" not in str(info.value):
        assert name in str(info.value), str(info.value)


def test_second_active_enrollment_for_same_person_and_program_fails() -> None:
    first = f.EnrollmentFactory()
    violates(lambda: f.EnrollmentFactory(program=first.program, person=first.person),
             "participation_enrollment_one_active_per_person")


def test_inactive_enrollments_may_repeat() -> None:
    first = f.EnrollmentFactory()
    withdrawn = f.status("enrollment", "withdrawn")
    f.EnrollmentFactory(program=first.program, person=first.person, status=withdrawn)
    f.EnrollmentFactory(program=first.program, person=first.person, status=withdrawn)
    assert ProgramEnrollment.objects.filter(person=first.person).count() == 3


def test_second_active_enrollment_for_same_account_fails() -> None:
    account = f.AccountFactory()
    first = f.EnrollmentFactory(person=None, account=account)
    violates(lambda: f.EnrollmentFactory(program=first.program, person=None, account=account))


def test_second_active_anonymous_enrollment_per_program_fails() -> None:
    first = f.EnrollmentFactory(person=None, is_anonymous=True)
    violates(lambda: f.EnrollmentFactory(program=first.program, person=None, is_anonymous=True))


@pytest.mark.parametrize("who", ["both", "none_named", "anonymous_with_person"])
def test_enrollment_names_exactly_one_enrollee(who: str) -> None:
    person, account = f.PersonFactory(), f.AccountFactory()
    cases: dict[str, dict[str, Any]] = {
        "both": {"person": person, "account": account},
        "none_named": {"person": None, "account": None, "is_anonymous": False},
        "anonymous_with_person": {"person": person, "is_anonymous": True},
    }
    kwargs = cases[who]
    violates(lambda: f.EnrollmentFactory(**kwargs), "participation_enrollment_one_enrollee")


def test_one_assignment_per_benefit_and_enrollment() -> None:
    first = f.AssignmentFactory()
    violates(lambda: f.AssignmentFactory(enrollment=first.enrollment, benefit=first.benefit))


def test_assignment_names_exactly_one_enrollee() -> None:
    enrollment = f.EnrollmentFactory()
    violates(lambda: f.AssignmentFactory(enrollment=enrollment, person=enrollment.person,
                                         account=f.AccountFactory()))


def test_one_disbursement_per_assignment_and_session() -> None:
    first = f.DisbursementFactory()
    session = f.SessionFactory(schedule__benefit=first.benefit)
    BenefitDisbursement.objects.filter(pk=first.pk).update(session=session)
    violates(lambda: f.DisbursementFactory(assignment=first.assignment, session=session))


def test_many_ad_hoc_disbursements_per_assignment_are_fine() -> None:
    first = f.DisbursementFactory()
    f.DisbursementFactory(assignment=first.assignment)
    assert BenefitDisbursement.objects.filter(assignment=first.assignment).count() == 2


@pytest.mark.parametrize("kwargs", [
    {"person": None, "account": None},  # named type with nobody
    {"recipient_type": "anonymous"},  # anonymous with a person
    {"recipient_count": 3},  # a named disbursement is one person
])
def test_disbursement_names_exactly_one_recipient(kwargs: dict[str, Any]) -> None:
    violates(lambda: f.DisbursementFactory(**kwargs), "participation_disbursement_one_recipient")


def test_disbursement_quantity_not_negative() -> None:
    violates(lambda: f.DisbursementFactory(quantity=Decimal("-1")),
             "participation_disbursement_quantity_not_negative")


def test_disbursement_recipient_count_at_least_one() -> None:
    enrollment = f.EnrollmentFactory(person=None, is_anonymous=True)
    assignment = f.AssignmentFactory(enrollment=enrollment)
    f.DisbursementFactory(assignment=assignment, recipient_count=40)
    violates(lambda: f.DisbursementFactory(assignment=assignment, recipient_count=0))


def test_session_end_after_start() -> None:
    schedule = f.ScheduleFactory()
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    violates(lambda: f.SessionFactory(schedule=schedule, end=past),
             "scheduling_benefitsession_end_after_start")


def test_schedule_duration_positive() -> None:
    violates(lambda: f.ScheduleFactory(duration=dt.timedelta(0)),
             "scheduling_benefitschedule_end_after_start")


@pytest.mark.parametrize("factory,field", [
    (f.ProgramFactory, "start_date"), (f.EnrollmentFactory, "start_date"),
    (f.CohortFactory, "start_date"),
])
def test_end_date_not_before_start(factory: Any, field: str) -> None:
    violates(lambda: factory(**{field: dt.date(2026, 5, 2), "end_date": dt.date(2026, 5, 1)}))


def test_benefit_default_quantity_not_negative() -> None:
    violates(lambda: f.BenefitFactory(default_quantity=Decimal("-0.5")))


def test_at_most_one_default_status_per_kind() -> None:
    violates(lambda: StatusValue.objects.filter(kind="disbursement", code="completed")
             .update(is_default=True), "core_statusvalue_one_default")


def test_status_bucket_belongs_to_its_kind() -> None:
    violates(lambda: StatusValue.objects.create(kind="disbursement", code="x", label="X",
                                                bucket="active"),
             "core_statusvalue_bucket_of_kind")


def test_status_code_unique_per_kind() -> None:
    violates(lambda: StatusValue.objects.create(kind="disbursement", code="absent", label="A",
                                                bucket="absent"))


def test_case_names_exactly_one_client() -> None:
    violates(lambda: f.CaseFactory(person=None), "people_case_one_client")
