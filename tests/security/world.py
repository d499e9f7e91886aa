"""A small world for the security tests: two programs with one of everything each, and the
cast limited to the first ("own") so that the second ("other") is a program they may not see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils.timezone import localdate

from programdesk.core.models import FieldDefinition, StatusValue, User
from programdesk.participation.models import CohortMember
from programdesk.programs.models import IncomeGuideline
from tests import factories as f

ROLES = ["admin", "manager", "staff", "viewer", "kiosk"]
# Every name in the other program carries this word: a response to a user who may not see that
# program must not contain it.
OTHER_MARK = "Zebrafinch"


@dataclass
class Side:
    """One program and one of each thing that belongs to it."""

    program: Any
    benefit: Any
    schedule: Any
    session: Any  # today's
    person: Any  # enrolled, on the schedule's roster
    duplicate: Any  # a second person in the program (merge target)
    account: Any
    household: Any  # an account whose only member is enrolled here, itself enrolled nowhere
    member: Any  # that member
    enrollment: Any
    account_enrollment: Any
    assignment: Any
    disbursement: Any  # today's session's, still expected
    ad_hoc: Any  # an ad hoc, completed disbursement
    cohort: Any
    case: Any
    document: Any
    rule: Any
    field: Any


@dataclass
class World:
    own: Side
    other: Side
    users: dict[str, User] = field(default_factory=dict)
    status_value: Any = None
    global_field: Any = None

    def side(self, which: str) -> Side:
        return self.own if which == "own" else self.other

    def import_job(self, who: str) -> Any:
        """An import job of the user (jobs are their uploader's, not a program's), checked,
        with one row error (so it has an errors file)."""
        from programdesk.imports.jobs import import_job_check, import_job_create
        from programdesk.imports.models import ImportJob

        user = self.users[who]
        job = ImportJob.objects.filter(user=user).first()
        if job is None:
            job = import_job_create(actor=user, kind="people", filename="people.csv",
                                    data=b"first_name,last_name\nAda,\n")
            import_job_check(actor=user, job=job, mapping=job.mapping)
        return job


    def export_job(self, who: str) -> Any:
        """A finished large export of the user: their own program's people."""
        from programdesk.reports.export_jobs import export_job_create
        from programdesk.reports.lists import ListFilter
        from programdesk.reports.models import ExportJob
        from programdesk.reports.selectors import ReportFilter

        user = self.users[who]
        job = ExportJob.objects.filter(user=user).first()
        if job is None:
            job = export_job_create(
                actor=user, name="people", fmt="csv", filename="people",
                filters=ListFilter(report=ReportFilter(program_id=self.own.program.pk)))
        return job


def _side(name: str) -> Side:
    today = localdate()
    program = f.ProgramFactory(name=f"Program {name}")
    benefit = f.BenefitFactory(program=program, name=f"Class {name}")
    schedule = f.ScheduleFactory(benefit=benefit, first_date=today)
    session = f.SessionFactory(schedule=schedule, local_date=today)
    f.SessionFactory(schedule=schedule, local_date=today + dt.timedelta(days=7))
    person = f.PersonFactory(first_name=f"Pat{name}", last_name=f"Lee{name}",
                             annual_income=12000, household_size=2,
                             card_code=f"CARD-{name.upper()}")
    duplicate = f.PersonFactory(first_name=f"Pat{name}", last_name=f"Lee{name}x")
    account = f.AccountFactory(name=f"Household {name}")
    f.MembershipFactory(person=person, account=account, relationship="head")
    enrollment = f.EnrollmentFactory(program=program, person=person)
    # Enrolled (so only this program's users see them), but not actively: mergeable.
    f.EnrollmentFactory(program=program, person=duplicate,
                        status=f.status("enrollment", "withdrawn"))
    account_enrollment = f.EnrollmentFactory(program=program, person=None, account=account)
    # Scoped by its member alone (docs/api.md: an account is visible when a member or its own
    # enrollment is).
    household = f.AccountFactory(name=f"Family {name}")
    member = f.MembershipFactory(account=household, person__first_name=f"Kim{name}",
                                 person__last_name=f"Lee{name}").person
    f.EnrollmentFactory(program=program, person=member,
                        status=f.status("enrollment", "withdrawn"))
    assignment = f.AssignmentFactory(enrollment=enrollment, benefit=benefit)
    f.ScheduleAssignmentFactory(assignment=assignment, schedule=schedule, start_date=today)
    disbursement = f.DisbursementFactory(
        assignment=assignment, session=session, disbursed_on=today,
        status=f.status("disbursement", "enrolled"))
    other_benefit = f.BenefitFactory(program=program, name=f"Pantry {name}")
    ad_hoc = f.DisbursementFactory(
        assignment=f.AssignmentFactory(enrollment=enrollment, benefit=other_benefit))
    cohort = f.CohortFactory(program=program, name=f"Cohort {name}")
    CohortMember.objects.create(cohort=cohort, enrollment=account_enrollment, added_on=today)
    case = f.CaseFactory(person=person, subject=f"Case {name}")
    case.programs.add(program)
    document = f.DocumentFactory(person=person)
    rule = f.EligibilityRuleFactory(program=program)
    definition = f.FieldDefinitionFactory(program=program, key=f"field_{name.lower()}")
    return Side(program=program, benefit=benefit, schedule=schedule, session=session,
                person=person, duplicate=duplicate, account=account, household=household,
                member=member, enrollment=enrollment,
                account_enrollment=account_enrollment, assignment=assignment,
                disbursement=disbursement, ad_hoc=ad_hoc, cohort=cohort, case=case,
                document=document, rule=rule, field=definition)


def build_world() -> World:
    own, other = _side("Own"), _side(OTHER_MARK)
    world = World(own=own, other=other)
    # No passwords (hashing one costs more than the rest of the world): the tests log in
    # with force_login and tokens.
    for role in ROLES:
        user = User.objects.create(username=f"{role}_a", role=role, password="!")
        user.programs.set([own.program])
        world.users[role] = user
    # An admin who sees every program: the Django admin is only for them.
    world.users["superadmin"] = User.objects.create(username="admin_all", role="admin",
                                                    password="!")
    world.status_value = StatusValue.objects.get(kind="disbursement", code="excused")
    world.global_field = FieldDefinition.objects.create(
        target="person", key="pronouns", label="Pronouns", field_type="text")
    IncomeGuideline.objects.get_or_create(household_size=1, defaults={"annual_income": 15000})
    return world
