"""factory_boy factories for every model. They write rows directly (tests set up state); the
behaviour under test always goes through the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import factory
from django.utils.timezone import localdate

from programdesk.core.models import StatusValue, User
from programdesk.participation.models import (
    BenefitAssignment,
    BenefitDisbursement,
    ProgramEnrollment,
    ScheduleAssignment,
)
from programdesk.people.models import Account, Case, HouseholdMembership, Person
from programdesk.programs.models import Benefit, Program, ProgramCohort, UnitOfMeasure
from programdesk.scheduling.models import BenefitSchedule, BenefitSession


def status(kind: str, code: str) -> StatusValue:
    return StatusValue.objects.get(kind=kind, code=code)


def unit(code: str = "session") -> UnitOfMeasure:
    return UnitOfMeasure.objects.get(code=code)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    role = "staff"
    password = factory.django.Password("correct horse battery")


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program

    name = factory.Sequence(lambda n: f"Program {n}")
    status = "active"


class BenefitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Benefit

    program = factory.SubFactory(ProgramFactory)
    name = factory.Sequence(lambda n: f"Benefit {n}")
    unit = factory.LazyFunction(unit)
    default_quantity = Decimal("1")
    is_active = True


class CohortFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProgramCohort

    program = factory.SubFactory(ProgramFactory)
    name = factory.Sequence(lambda n: f"Cohort {n}")


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Household {n}")
    kind = "household"


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = factory.Sequence(lambda n: f"Last{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    """A current membership from a year ago; keeps ``person.account`` in step as the
    services do."""

    class Meta:
        model = HouseholdMembership
        skip_postgeneration_save = True

    person = factory.SubFactory(PersonFactory)
    account = factory.SubFactory(AccountFactory)
    relationship = "other"
    start_date = factory.LazyFunction(lambda: localdate() - dt.timedelta(days=365))

    @factory.post_generation
    def sync_account(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create and obj.end_date is None and obj.person.account_id != obj.account_id:
            obj.person.account = obj.account
            obj.person.save(update_fields=["account"])


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    person = factory.SubFactory(PersonFactory)
    subject = "Housing support"
    opened_on = factory.LazyFunction(localdate)


class ScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BenefitSchedule

    benefit = factory.SubFactory(BenefitFactory)
    name = factory.Sequence(lambda n: f"Schedule {n}")
    timezone = "America/New_York"
    first_date = factory.LazyFunction(localdate)
    start_time = dt.time(18, 0)
    duration = dt.timedelta(hours=2)
    recurrence = factory.LazyFunction(lambda: {"frequency": "weekly", "interval": 1, "count": 10})


class SessionFactory(factory.django.DjangoModelFactory):
    """A session of ``schedule`` on ``local_date`` at the schedule's start time."""

    class Meta:
        model = BenefitSession
        exclude = ("tz",)

    schedule = factory.SubFactory(ScheduleFactory)
    benefit = factory.LazyAttribute(lambda o: o.schedule.benefit)
    local_date = factory.LazyFunction(localdate)
    tz = factory.LazyAttribute(lambda o: ZoneInfo(o.schedule.timezone))
    start = factory.LazyAttribute(
        lambda o: dt.datetime.combine(o.local_date, o.schedule.start_time, tzinfo=o.tz))
    end = factory.LazyAttribute(lambda o: o.start + o.schedule.duration)
    status = "scheduled"


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProgramEnrollment

    program = factory.SubFactory(ProgramFactory)
    person = factory.SubFactory(PersonFactory)
    status = factory.LazyFunction(lambda: status("enrollment", "enrolled"))
    is_active = factory.LazyAttribute(lambda o: o.status.bucket == "active")


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BenefitAssignment

    enrollment = factory.SubFactory(EnrollmentFactory)
    benefit = factory.SubFactory(BenefitFactory,
                                 program=factory.SelfAttribute("..enrollment.program"))
    person = factory.LazyAttribute(lambda o: o.enrollment.person)
    account = factory.LazyAttribute(lambda o: o.enrollment.account)
    is_anonymous = factory.LazyAttribute(lambda o: o.enrollment.is_anonymous)


class ScheduleAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScheduleAssignment

    assignment = factory.SubFactory(AssignmentFactory)
    schedule = factory.SubFactory(ScheduleFactory,
                                  benefit=factory.SelfAttribute("..assignment.benefit"))
    start_date = factory.LazyFunction(localdate)


class DisbursementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BenefitDisbursement

    assignment = factory.SubFactory(AssignmentFactory)
    enrollment = factory.LazyAttribute(lambda o: o.assignment.enrollment)
    benefit = factory.LazyAttribute(lambda o: o.assignment.benefit)
    program = factory.LazyAttribute(lambda o: o.assignment.benefit.program)
    person = factory.LazyAttribute(lambda o: o.assignment.person)
    account = factory.LazyAttribute(lambda o: o.assignment.account)
    recipient_type = factory.LazyAttribute(
        lambda o: "anonymous" if o.assignment.is_anonymous else "enrollment")
    recipient_count = 1
    quantity = Decimal("1")
    unit = factory.LazyAttribute(lambda o: o.assignment.benefit.unit)
    status = factory.LazyFunction(lambda: status("disbursement", "completed"))
    disbursed_on = factory.LazyFunction(localdate)


def schedule_with_sessions(*, sessions: int = 5, first: dt.date | None = None,
                           step_days: int = 7, **schedule_kwargs: object) -> BenefitSchedule:
    """A schedule and its sessions, ``step_days`` apart from ``first`` (today)."""
    first = first or localdate()
    schedule = ScheduleFactory(first_date=first, **schedule_kwargs)
    for i in range(sessions):
        SessionFactory(schedule=schedule, local_date=first + dt.timedelta(days=i * step_days))
    return schedule


# --- people and programs (issue 3) ---------------------------------------------------------------

class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "people.PersonDocument"

    person = factory.SubFactory(PersonFactory)
    document_type = "income"
    verified_on = factory.LazyFunction(localdate)


class EligibilityRuleFactory(factory.django.DjangoModelFactory):
    """An age rule (14-24, warn) on a program; pass criterion/params/mode/benefit to vary."""

    class Meta:
        model = "programs.EligibilityRule"

    program = factory.SubFactory(ProgramFactory)
    criterion = "age"
    params = factory.LazyFunction(lambda: {"min": 14, "max": 24})
    mode = "warn"


class FieldDefinitionFactory(factory.django.DjangoModelFactory):
    """A global text field on disbursements; pass target/field_type/choices/program/benefit."""

    class Meta:
        model = "core.FieldDefinition"

    target = "disbursement"
    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.LazyAttribute(lambda o: o.key.replace("_", " ").title())
    field_type = "text"
