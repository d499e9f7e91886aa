"""person_merge: everything moves to the survivor in one transaction; nothing is lost or
orphaned."""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps
from django.db import models

from programdesk.core.errors import Conflict, ValidationError
from programdesk.core.models import AuditEvent
from programdesk.participation.models import (
    BenefitAssignment,
    BenefitDisbursement,
    CohortMember,
    ProgramEnrollment,
    ScheduleAssignment,
)
from programdesk.people.models import Case, Person, PersonDocument
from programdesk.people.services import person_document_add, person_merge
from tests import factories as f

pytestmark = pytest.mark.django_db


def row_counts() -> dict[str, int]:
    return {m._meta.label: m._base_manager.count() for m in apps.get_models()
            if m._meta.app_label in {"people", "participation", "programs", "scheduling"}}


def references_to(person_id: int) -> dict[str, int]:
    found = {}
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.ForeignKey) and field.related_model is Person:
                n = model._base_manager.filter(**{field.attname: person_id}).count()
                if n:
                    found[f"{model._meta.label}.{field.name}"] = n
    return found


def history(person: Person, program=None) -> None:
    """An enrollment with an assignment, a roster entry, session and ad hoc disbursements, a
    cohort membership, a case and a document."""
    enrollment = f.EnrollmentFactory(person=person, **({"program": program} if program else {}))
    assignment = f.AssignmentFactory(enrollment=enrollment)
    entry = f.ScheduleAssignmentFactory(assignment=assignment)
    for day in range(3):
        session = f.SessionFactory(schedule=entry.schedule,
                                   local_date=dt.date(2026, 3, 2) + dt.timedelta(days=7 * day))
        f.DisbursementFactory(assignment=assignment, session=session,
                              disbursed_on=session.local_date)
    f.DisbursementFactory(assignment=assignment)
    cohort = f.CohortFactory(program=enrollment.program)
    CohortMember.objects.create(cohort=cohort, enrollment=enrollment, added_on=dt.date.today())
    f.CaseFactory(person=person)
    person_document_add(actor=None, person=person, document_type="age",
                        verified_on=dt.date(2025, 1, 1))


def test_merge_moves_every_row_and_loses_none(alice) -> None:
    survivor = f.PersonFactory(first_name="John", last_name="Smith", birth_date=None, email="")
    duplicate = f.PersonFactory(first_name="Jon", last_name="Smith",
                                birth_date=dt.date(1990, 4, 2), email="jon@example.org",
                                phone="617-555-0100", card_code="C-77", extra={"grade": "3"})
    history(survivor)
    history(duplicate)
    before = row_counts()
    moved_ids = {
        "enrollments": set(ProgramEnrollment.objects.filter(person=duplicate)
                           .values_list("id", flat=True)),
        "disbursements": set(BenefitDisbursement.objects.filter(person=duplicate)
                             .values_list("id", flat=True)),
    }

    merged = person_merge(actor=alice, survivor=survivor, duplicate=duplicate)

    after = row_counts()
    assert after.pop("people.Person") == before.pop("people.Person") - 1
    assert after == before  # every other row is still there
    assert references_to(duplicate.pk) == {}  # and none points at the deleted person
    assert not Person.objects.filter(pk=duplicate.pk).exists()
    assert ProgramEnrollment.objects.filter(person=survivor).count() == 2
    assert BenefitAssignment.objects.filter(person=survivor).count() == 2
    assert BenefitDisbursement.objects.filter(person=survivor).count() == 8
    assert ScheduleAssignment.objects.filter(assignment__person=survivor).count() == 2
    assert Case.objects.filter(person=survivor).count() == 2
    assert PersonDocument.objects.filter(person=survivor).count() == 2
    # blanks filled from the duplicate, the survivor's own values kept
    assert (merged.first_name, merged.birth_date, merged.email, merged.card_code) == (
        "John", dt.date(1990, 4, 2), "jon@example.org", "C-77")
    assert merged.extra == {"grade": "3"} and merged.phone_key == "6175550100"

    event = AuditEvent.objects.get(action="person.merge")
    assert event.object_id == survivor.pk and event.actor == alice
    assert event.before["duplicate"]["first_name"] == "Jon"
    moved = event.after["moved"]
    assert set(moved["participation.programenrollment.person"]) == moved_ids["enrollments"]
    assert set(moved["participation.benefitdisbursement.person"]) == moved_ids["disbursements"]


def test_two_active_enrollments_in_one_program_become_one_and_lose_no_row() -> None:
    program = f.ProgramFactory(name="Transit")
    survivor, duplicate = f.PersonFactory(), f.PersonFactory()
    history(survivor, program)
    history(duplicate, program)  # another benefit, schedule and cohort of the same program
    before = row_counts()
    person_merge(actor=None, survivor=survivor, duplicate=duplicate)
    after = row_counts()
    assert after.pop("people.Person") == before.pop("people.Person") - 1
    assert after.pop("participation.ProgramEnrollment") == (
        before.pop("participation.ProgramEnrollment") - 1)
    assert after == before
    [enrollment] = ProgramEnrollment.objects.filter(person=survivor)
    assert BenefitAssignment.objects.filter(enrollment=enrollment).count() == 2
    assert BenefitDisbursement.objects.filter(enrollment=enrollment).count() == 8
    assert CohortMember.objects.filter(enrollment=enrollment).count() == 2


def test_merging_enrollments_folds_the_same_benefit_session_and_cohort(alice) -> None:
    from programdesk.participation import services

    schedule = f.schedule_with_sessions(sessions=3)
    today = schedule.sessions.get(local_date=dt.date.today())
    survivor = f.PersonFactory(first_name="Kai", last_name="Green")
    duplicate = f.PersonFactory(first_name="Kai", last_name="Green")
    services.schedule_add_participants(actor=alice, schedule=schedule, person_ids=[survivor.pk])
    services.check_in(actor=alice, session=today, person_id=duplicate.pk)  # a walk-in, twice
    ProgramEnrollment.objects.filter(person=duplicate).update(start_date=dt.date(2025, 1, 6))
    cohort = f.CohortFactory(program=schedule.benefit.program)
    services.cohort_add_members(actor=alice, cohort=cohort, enrollment_ids=list(
        ProgramEnrollment.objects.values_list("id", flat=True)))

    person_merge(actor=alice, survivor=survivor, duplicate=duplicate)

    [enrollment] = ProgramEnrollment.objects.filter(program=schedule.benefit.program)
    assert enrollment.person_id == survivor.pk and enrollment.is_active
    assert enrollment.start_date == dt.date(2025, 1, 6)  # the earliest
    [assignment] = BenefitAssignment.objects.all()
    assert assignment.enrollment_id == enrollment.pk
    assert ScheduleAssignment.objects.get().assignment_id == assignment.pk
    # One disbursement per session; for today's both held, the check-in (delivered) wins.
    assert BenefitDisbursement.objects.filter(enrollment=enrollment).count() == 3
    assert BenefitDisbursement.objects.get(session=today).status.bucket == "delivered"
    assert CohortMember.objects.get().enrollment_id == enrollment.pk
    event = AuditEvent.objects.get(action="enrollment.merge")
    assert event.object_id == enrollment.pk and event.actor == alice
    assert event.before["merged"]["person"] == duplicate.pk
    assert len(event.after["disbursements_deleted"]) == 1
    merge = AuditEvent.objects.get(action="person.merge")
    assert merge.after["enrollments_merged"][0]["into"] == enrollment.pk


def test_an_ended_enrollment_in_the_same_program_merges() -> None:
    program = f.ProgramFactory()
    survivor, duplicate = f.PersonFactory(), f.PersonFactory()
    f.EnrollmentFactory(program=program, person=survivor)
    f.EnrollmentFactory(program=program, person=duplicate,
                        status=f.status("enrollment", "withdrawn"))
    person_merge(actor=None, survivor=survivor, duplicate=duplicate)
    assert ProgramEnrollment.objects.filter(person=survivor).count() == 2


def test_merging_a_person_with_themselves_is_refused() -> None:
    person = f.PersonFactory()
    with pytest.raises(ValidationError):
        person_merge(actor=None, survivor=person, duplicate=person)


def test_merging_someone_already_merged_is_a_conflict() -> None:
    survivor, duplicate = f.PersonFactory(), f.PersonFactory()
    person_merge(actor=None, survivor=survivor, duplicate=duplicate)
    with pytest.raises(Conflict):
        person_merge(actor=None, survivor=survivor, duplicate=duplicate)


def test_survivor_keeps_its_own_account_and_card() -> None:
    home, other = f.AccountFactory(), f.AccountFactory()
    survivor = f.PersonFactory(account=home, card_code="A1")
    duplicate = f.PersonFactory(account=other, card_code="B2")
    merged = person_merge(actor=None, survivor=survivor, duplicate=duplicate)
    assert (merged.account, merged.card_code) == (home, "A1")
