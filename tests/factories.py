"""factory_boy factories for every model. They write rows directly (tests set up state); the
behaviour under test always goes through the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Protocol, TypeVar, cast
from zoneinfo import ZoneInfo

import factory
from django.db.models import Model
from django.utils.timezone import localdate

from programdesk.core.models import FieldDefinition, StatusValue, User
from programdesk.participation.models import (
    BenefitAssignment,
    BenefitDisbursement,
    ProgramEnrollment,
    ScheduleAssignment,
)
from programdesk.people.models import Account, Case, HouseholdMembership, Person, PersonDocument
from programdesk.programs.models import (
    Benefit,
    EligibilityRule,
    Program,
    ProgramCohort,
    UnitOfMeasure,
)
from programdesk.scheduling.models import BenefitSchedule, BenefitSession

M = TypeVar("M", bound=Model)


class ModelFactory(factory.django.DjangoModelFactory[M]):
    """The base of every factory here."""

    class Meta:
        abstract = True


class Maker(Protocol[M]):
    """A factory as the tests use it: ``PersonFactory(...)`` is a saved ``Person``.

    factory_boy types ``create`` but not the call (its metaclass's ``__call__``, which mypy does
    not read), so each factory class is published under this type (``_typed`` below)."""

    _meta: Any

    def __call__(self, **kwargs: Any) -> M: ...
    def create(self, **kwargs: Any) -> M: ...
    def build(self, **kwargs: Any) -> M: ...
    def create_batch(self, size: int, **kwargs: Any) -> list[M]: ...


def _typed(factory_class: type[ModelFactory[M]]) -> Maker[M]:
    return cast("Maker[M]", factory_class)


def status(kind: str, code: str) -> StatusValue:
    return StatusValue.objects.get(kind=kind, code=code)


def unit(code: str = "session") -> UnitOfMeasure:
    return UnitOfMeasure.objects.get(code=code)


class _UserFactory(ModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    role = "staff"
    password = factory.django.Password("correct horse battery")

UserFactory = _typed(_UserFactory)


class _ProgramFactory(ModelFactory[Program]):
    class Meta:
        model = Program

    name = factory.Sequence(lambda n: f"Program {n}")
    status = "active"

ProgramFactory = _typed(_ProgramFactory)


class _BenefitFactory(ModelFactory[Benefit]):
    class Meta:
        model = Benefit

    program = factory.SubFactory(ProgramFactory)
    name = factory.Sequence(lambda n: f"Benefit {n}")
    unit = factory.LazyFunction(unit)
    default_quantity = Decimal("1")
    is_active = True

BenefitFactory = _typed(_BenefitFactory)


class _CohortFactory(ModelFactory[ProgramCohort]):
    class Meta:
        model = ProgramCohort

    program = factory.SubFactory(ProgramFactory)
    name = factory.Sequence(lambda n: f"Cohort {n}")

CohortFactory = _typed(_CohortFactory)


class _AccountFactory(ModelFactory[Account]):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Household {n}")
    kind = "household"

AccountFactory = _typed(_AccountFactory)


class _PersonFactory(ModelFactory[Person]):
    class Meta:
        model = Person

    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = factory.Sequence(lambda n: f"Last{n}")

PersonFactory = _typed(_PersonFactory)


class _MembershipFactory(ModelFactory[HouseholdMembership]):
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
    def sync_account(obj: HouseholdMembership, create: bool, extracted: Any,
                     **kwargs: Any) -> None:
        if create and obj.end_date is None and obj.person.account_id != obj.account_id:
            obj.person.account = obj.account
            obj.person.save(update_fields=["account"])

MembershipFactory = _typed(_MembershipFactory)


class _CaseFactory(ModelFactory[Case]):
    class Meta:
        model = Case

    person = factory.SubFactory(PersonFactory)
    subject = "Housing support"
    opened_on = factory.LazyFunction(localdate)

CaseFactory = _typed(_CaseFactory)


class _ScheduleFactory(ModelFactory[BenefitSchedule]):
    class Meta:
        model = BenefitSchedule

    benefit = factory.SubFactory(BenefitFactory)
    name = factory.Sequence(lambda n: f"Schedule {n}")
    timezone = "America/New_York"
    first_date = factory.LazyFunction(localdate)
    start_time = dt.time(18, 0)
    duration = dt.timedelta(hours=2)
    recurrence = factory.LazyFunction(lambda: {"frequency": "weekly", "interval": 1, "count": 10})

ScheduleFactory = _typed(_ScheduleFactory)


class _SessionFactory(ModelFactory[BenefitSession]):
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

SessionFactory = _typed(_SessionFactory)


class _EnrollmentFactory(ModelFactory[ProgramEnrollment]):
    class Meta:
        model = ProgramEnrollment

    program = factory.SubFactory(ProgramFactory)
    person = factory.SubFactory(PersonFactory)
    status = factory.LazyFunction(lambda: status("enrollment", "enrolled"))
    is_active = factory.LazyAttribute(lambda o: o.status.bucket == "active")

EnrollmentFactory = _typed(_EnrollmentFactory)


class _AssignmentFactory(ModelFactory[BenefitAssignment]):
    class Meta:
        model = BenefitAssignment

    enrollment = factory.SubFactory(EnrollmentFactory)
    benefit = factory.SubFactory(BenefitFactory,
                                 program=factory.SelfAttribute("..enrollment.program"))
    person = factory.LazyAttribute(lambda o: o.enrollment.person)
    account = factory.LazyAttribute(lambda o: o.enrollment.account)
    is_anonymous = factory.LazyAttribute(lambda o: o.enrollment.is_anonymous)

AssignmentFactory = _typed(_AssignmentFactory)


class _ScheduleAssignmentFactory(ModelFactory[ScheduleAssignment]):
    class Meta:
        model = ScheduleAssignment

    assignment = factory.SubFactory(AssignmentFactory)
    schedule = factory.SubFactory(ScheduleFactory,
                                  benefit=factory.SelfAttribute("..assignment.benefit"))
    start_date = factory.LazyFunction(localdate)

ScheduleAssignmentFactory = _typed(_ScheduleAssignmentFactory)


class _DisbursementFactory(ModelFactory[BenefitDisbursement]):
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

DisbursementFactory = _typed(_DisbursementFactory)


def schedule_with_sessions(*, sessions: int = 5, first: dt.date | None = None,
                           step_days: int = 7, **schedule_kwargs: object) -> BenefitSchedule:
    """A schedule and its sessions, ``step_days`` apart from ``first`` (today)."""
    first = first or localdate()
    schedule = ScheduleFactory(first_date=first, **schedule_kwargs)
    for i in range(sessions):
        SessionFactory(schedule=schedule, local_date=first + dt.timedelta(days=i * step_days))
    return schedule


# --- people and programs (issue 3) ---------------------------------------------------------------

class _DocumentFactory(ModelFactory[PersonDocument]):
    class Meta:
        model = PersonDocument

    person = factory.SubFactory(PersonFactory)
    document_type = "income"
    verified_on = factory.LazyFunction(localdate)

DocumentFactory = _typed(_DocumentFactory)


class _EligibilityRuleFactory(ModelFactory[EligibilityRule]):
    """An age rule (14-24, warn) on a program; pass criterion/params/mode/benefit to vary."""

    class Meta:
        model = EligibilityRule

    program = factory.SubFactory(ProgramFactory)
    criterion = "age"
    params = factory.LazyFunction(lambda: {"min": 14, "max": 24})
    mode = "warn"

EligibilityRuleFactory = _typed(_EligibilityRuleFactory)


class _FieldDefinitionFactory(ModelFactory[FieldDefinition]):
    """A global text field on disbursements; pass target/field_type/choices/program/benefit."""

    class Meta:
        model = FieldDefinition

    target = "disbursement"
    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.LazyAttribute(lambda o: o.key.replace("_", " ").title())
    field_type = "text"

FieldDefinitionFactory = _typed(_FieldDefinitionFactory)
