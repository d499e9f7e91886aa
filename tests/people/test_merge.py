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


def test_two_active_enrollments_in_one_program_are_a_conflict_and_nothing_changes() -> None:
    program = f.ProgramFactory(name="Transit")
    survivor, duplicate = f.PersonFactory(), f.PersonFactory()
    history(survivor, program)
    history(duplicate, program)
    before = row_counts()
    with pytest.raises(Conflict) as info:
        person_merge(actor=None, survivor=survivor, duplicate=duplicate)
    assert "Transit" in info.value.detail
    assert row_counts() == before
    assert ProgramEnrollment.objects.filter(person=duplicate).count() == 1


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
