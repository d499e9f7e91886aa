from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from programdesk.core.errors import Conflict, ValidationError
from programdesk.core.models import AuditEvent
from programdesk.participation import services
from programdesk.participation.models import (
    BenefitAssignment,
    BenefitDisbursement,
    ProgramEnrollment,
    ScheduleAssignment,
)
from programdesk.people.models import Person
from programdesk.scheduling.models import BenefitSchedule
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def schedule() -> BenefitSchedule:
    return f.schedule_with_sessions(sessions=4)


def test_adding_people_creates_enrollment_assignment_roster_and_disbursements(charlie, schedule
                                                                              ) -> None:
    people = f.PersonFactory.create_batch(3)
    result = services.schedule_add_participants(actor=charlie, schedule=schedule,
                                                person_ids=[p.pk for p in people])
    assert (result.enrollments_created, result.assignments_created,
            result.disbursements_created) == (3, 3, 12)
    enrollment = ProgramEnrollment.objects.get(person=people[0])
    assert enrollment.program == schedule.benefit.program
    assert enrollment.status.code == "enrolled" and enrollment.is_active
    assert enrollment.start_date == timezone.localdate()
    assert ScheduleAssignment.objects.filter(schedule=schedule).count() == 3
    disbursement = BenefitDisbursement.objects.filter(person=people[0]).first()
    assert disbursement.status.code == "enrolled"
    assert disbursement.quantity == schedule.benefit.default_quantity
    assert disbursement.disbursed_on == disbursement.session.local_date
    assert disbursement.recipient_type == "enrollment"
    assert disbursement.program_id == schedule.benefit.program_id


def test_adding_twice_creates_nothing(charlie, schedule) -> None:
    person = f.PersonFactory()
    services.schedule_add_participants(actor=charlie, schedule=schedule, person_ids=[person.pk])
    again = services.schedule_add_participants(actor=charlie, schedule=schedule,
                                               person_ids=[person.pk])
    assert (again.enrollments_created, again.assignments_created,
            again.disbursements_created) == (0, 0, 0)
    assert BenefitDisbursement.objects.count() == 4


def test_existing_active_enrollment_and_assignment_are_reused(charlie, schedule) -> None:
    assignment = f.AssignmentFactory(benefit=schedule.benefit,
                                     enrollment__program=schedule.benefit.program)
    result = services.schedule_add_participants(
        actor=charlie, schedule=schedule, person_ids=[assignment.person_id])
    assert (result.enrollments_created, result.assignments_created) == (0, 0)
    assert BenefitAssignment.objects.get().pk == assignment.pk


def test_only_sessions_from_today_get_disbursements(charlie) -> None:
    today = timezone.localdate()
    schedule = f.schedule_with_sessions(sessions=4, first=today - dt.timedelta(days=14))
    result = services.schedule_add_participants(actor=charlie, schedule=schedule,
                                                person_ids=[f.PersonFactory().pk])
    assert result.disbursements_created == 2  # today and next week


def test_cancelled_sessions_get_no_disbursements(charlie, schedule) -> None:
    schedule.sessions.filter(local_date=timezone.localdate()).update(status="cancelled")
    result = services.schedule_add_participants(actor=charlie, schedule=schedule,
                                                person_ids=[f.PersonFactory().pk])
    assert result.disbursements_created == 3


def test_accounts_and_enrollments_can_be_added(charlie, schedule) -> None:
    account = f.AccountFactory()
    enrollment = f.EnrollmentFactory(program=schedule.benefit.program)
    result = services.schedule_add_participants(actor=charlie, schedule=schedule,
                                                account_ids=[account.pk],
                                                enrollment_ids=[enrollment.pk])
    assert result.enrollments_created == 1
    assert BenefitDisbursement.objects.filter(account=account, person=None).count() == 4
    assert BenefitDisbursement.objects.filter(enrollment=enrollment).count() == 4


def test_person_named_twice_counts_once(charlie, schedule) -> None:
    enrollment = f.EnrollmentFactory(program=schedule.benefit.program)
    result = services.schedule_add_participants(
        actor=charlie, schedule=schedule, person_ids=[enrollment.person_id] * 2,
        enrollment_ids=[enrollment.pk])
    assert result.disbursements_created == 4


def test_unknown_ids_are_named_and_nothing_is_written(charlie, schedule) -> None:
    person = f.PersonFactory()
    with pytest.raises(ValidationError) as info:
        services.schedule_add_participants(actor=charlie, schedule=schedule,
                                           person_ids=[person.pk, 999_999], account_ids=[888])
    assert "999999" in info.value.message_for("person_ids")
    assert "888" in info.value.message_for("account_ids")
    assert not ProgramEnrollment.objects.exists()


def test_enrollment_of_another_program_is_refused(charlie, schedule) -> None:
    other = f.EnrollmentFactory()
    with pytest.raises(ValidationError):
        services.schedule_add_participants(actor=charlie, schedule=schedule,
                                           enrollment_ids=[other.pk])


def test_inactive_enrollment_is_refused_unless_allowed(charlie, schedule, settings) -> None:
    withdrawn = f.EnrollmentFactory(program=schedule.benefit.program,
                                    status=f.status("enrollment", "withdrawn"))
    with pytest.raises(Conflict):
        services.schedule_add_participants(actor=charlie, schedule=schedule,
                                           enrollment_ids=[withdrawn.pk])
    settings.PROGRAMDESK_ALLOW_INACTIVE_ENROLLMENT = True
    result = services.schedule_add_participants(actor=charlie, schedule=schedule,
                                                enrollment_ids=[withdrawn.pk])
    assert result.disbursements_created == 4


def test_withdrawn_person_gets_a_new_active_enrollment(charlie, schedule) -> None:
    old = f.EnrollmentFactory(program=schedule.benefit.program,
                              status=f.status("enrollment", "withdrawn"))
    result = services.schedule_add_participants(actor=charlie, schedule=schedule,
                                                person_ids=[old.person_id])
    assert result.enrollments_created == 1
    assert ProgramEnrollment.objects.filter(person=old.person, is_active=True).count() == 1


def test_inactive_benefit_is_a_conflict(charlie) -> None:
    schedule = f.schedule_with_sessions(sessions=2, benefit__is_active=False)
    with pytest.raises(Conflict):
        services.schedule_add_participants(actor=charlie, schedule=schedule,
                                           person_ids=[f.PersonFactory().pk])
    assert not BenefitDisbursement.objects.exists()


def test_over_capacity_warns(charlie) -> None:
    schedule = f.schedule_with_sessions(sessions=1, capacity=2)
    people = [p.pk for p in f.PersonFactory.create_batch(3)]
    result = services.schedule_add_participants(actor=charlie, schedule=schedule,
                                                person_ids=people)
    assert [w["code"] for w in result.warnings] == ["capacity_exceeded"]
    assert ScheduleAssignment.objects.count() == 3


def test_over_capacity_refused_in_block_mode(charlie, settings) -> None:
    settings.PROGRAMDESK_CAPACITY_MODE = "block"
    schedule = f.schedule_with_sessions(sessions=1, capacity=2)
    with pytest.raises(Conflict):
        services.schedule_add_participants(
            actor=charlie, schedule=schedule,
            person_ids=[p.pk for p in f.PersonFactory.create_batch(3)])
    assert not ScheduleAssignment.objects.exists()


def test_one_audit_event_per_call(charlie, schedule) -> None:
    services.schedule_add_participants(actor=charlie, schedule=schedule,
                                       person_ids=[p.pk for p in f.PersonFactory.create_batch(5)])
    event = AuditEvent.objects.get(action="schedule.add_participants")
    assert event.actor == charlie and event.object_id == schedule.pk
    assert len(event.after["enrollment_ids"]) == 5
    assert event.after["disbursements_created"] == 20


def test_schedule_default_quantity_wins_over_the_benefits(charlie) -> None:
    schedule = f.schedule_with_sessions(sessions=1, default_quantity=2)
    services.schedule_add_participants(actor=charlie, schedule=schedule,
                                       person_ids=[f.PersonFactory().pk])
    assert BenefitDisbursement.objects.get().quantity == 2


def test_thousand_people_take_a_constant_number_of_queries(charlie,
                                                           django_assert_max_num_queries) -> None:
    schedule = f.schedule_with_sessions(sessions=52, step_days=1)
    few = [p.pk for p in f.PersonFactory.create_batch(3)]
    many = [p.pk for p in f.PersonFactory.create_batch(1000)]
    with django_assert_max_num_queries(25) as few_queries:
        services.schedule_add_participants(actor=charlie, schedule=schedule, person_ids=few)
    with django_assert_max_num_queries(len(few_queries.captured_queries)):
        result = services.schedule_add_participants(actor=charlie, schedule=schedule,
                                                    person_ids=many)
    assert result.disbursements_created == 52_000


# --- one session ----------------------------------------------------------------------------


def test_adding_to_one_session_marks_new_enrollees_as_walk_ins(charlie, schedule) -> None:
    session = schedule.sessions.first()
    enrolled = f.EnrollmentFactory(program=schedule.benefit.program)
    newcomer = f.PersonFactory()
    result = services.session_add_participants(
        actor=charlie, session=session, person_ids=[newcomer.pk, enrolled.person_id])
    assert result.disbursements_created == 2
    kinds = dict(BenefitDisbursement.objects.values_list("person_id", "recipient_type"))
    assert kinds == {newcomer.pk: "walk_in", enrolled.person_id: "enrollment"}
    assert not ScheduleAssignment.objects.exists()


def test_adding_to_a_cancelled_session_is_refused(charlie, schedule) -> None:
    session = schedule.sessions.first()
    session.status = "cancelled"
    session.save()
    with pytest.raises(Conflict):
        services.session_add_participants(actor=charlie, session=session,
                                          person_ids=[f.PersonFactory().pk])


# --- removing -------------------------------------------------------------------------------


def test_removing_deletes_only_future_default_status_disbursements(charlie) -> None:
    today = timezone.localdate()
    schedule = f.schedule_with_sessions(sessions=4, first=today - dt.timedelta(days=14))
    person = f.PersonFactory()
    services.schedule_add_participants(actor=charlie, schedule=schedule, person_ids=[person.pk],
                                       on=today - dt.timedelta(days=14))
    past = BenefitDisbursement.objects.filter(person=person).order_by("disbursed_on")
    first = past[0]
    services.attendance_record(actor=charlie, session=first.session, marks=[
        services.AttendanceMark(disbursement_id=first.pk, status="completed")])
    future_recorded = past[3]
    services.attendance_record(actor=charlie, session=future_recorded.session, marks=[
        services.AttendanceMark(disbursement_id=future_recorded.pk, status="excused")])
    assignment = BenefitAssignment.objects.get(person=person)
    deleted = services.schedule_remove_participants(actor=charlie, schedule=schedule,
                                                    assignment_ids=[assignment.pk])
    assert deleted == 1  # today's session; next week's is recorded as excused, so it stays
    assert BenefitDisbursement.objects.filter(person=person).count() == 3
    entry = ScheduleAssignment.objects.get(assignment=assignment)
    assert entry.end_date == today - dt.timedelta(days=1)


def test_removed_person_can_be_added_again(charlie, schedule) -> None:
    person = f.PersonFactory()
    services.schedule_add_participants(actor=charlie, schedule=schedule, person_ids=[person.pk])
    assignment = BenefitAssignment.objects.get(person=person)
    services.schedule_remove_participants(actor=charlie, schedule=schedule,
                                          assignment_ids=[assignment.pk])
    result = services.schedule_add_participants(actor=charlie, schedule=schedule,
                                                person_ids=[person.pk])
    assert result.disbursements_created == 4
    assert ScheduleAssignment.objects.get(assignment=assignment).end_date is None


def test_removing_someone_added_today_takes_them_off_the_roster(charlie, schedule) -> None:
    person = f.PersonFactory()
    services.schedule_add_participants(actor=charlie, schedule=schedule, person_ids=[person.pk])
    assignment = BenefitAssignment.objects.get(person=person)
    services.schedule_remove_participants(actor=charlie, schedule=schedule,
                                          assignment_ids=[assignment.pk])
    assert not ScheduleAssignment.objects.exists()
    assert not BenefitDisbursement.objects.exists()


def test_removing_someone_not_on_the_roster_is_refused(charlie, schedule) -> None:
    with pytest.raises(ValidationError):
        services.schedule_remove_participants(actor=charlie, schedule=schedule,
                                              assignment_ids=[12345])


# --- eligibility ----------------------------------------------------------------------------


def _aged(years: int) -> Person:
    today = timezone.localdate()
    return f.PersonFactory(birth_date=today.replace(year=today.year - years))


def test_failed_warn_rule_is_a_warning(charlie, schedule) -> None:
    f.EligibilityRuleFactory(program=schedule.benefit.program, params={"min": 14, "max": 24},
                             mode="warn")
    result = services.schedule_add_participants(actor=charlie, schedule=schedule,
                                                person_ids=[_aged(30).pk, _aged(16).pk])
    assert [w["code"] for w in result.warnings] == ["eligibility"]
    assert result.enrollments_created == 2


def test_failed_block_rule_refuses_everyone_and_names_the_reasons(charlie, schedule) -> None:
    f.EligibilityRuleFactory(program=schedule.benefit.program, params={"min": 14, "max": 24},
                             mode="block")
    old = f.PersonFactory(first_name="Kai", last_name="Green",
                          birth_date=_aged(30).birth_date)
    with pytest.raises(Conflict) as info:
        services.schedule_add_participants(actor=charlie, schedule=schedule,
                                           person_ids=[old.pk, _aged(16).pk])
    assert info.value.extra["type"] == "eligibility_blocked"
    assert info.value.detail.startswith("1 person does not meet")
    assert info.value.errors[0]["message"].startswith("Green, Kai: ")
    assert not ProgramEnrollment.objects.exists()


def test_skip_mode_adds_the_eligible_and_names_the_others(charlie, schedule) -> None:
    f.EligibilityRuleFactory(program=schedule.benefit.program, params={"min": 14, "max": 24},
                             mode="block")
    old = f.PersonFactory(first_name="Kai", last_name="Green",
                          birth_date=_aged(30).birth_date)
    young = [_aged(16) for _ in range(4)]
    result = services.schedule_add_participants(
        actor=charlie, schedule=schedule, person_ids=[old.pk] + [p.pk for p in young],
        on_ineligible=services.OnIneligible.SKIP)
    assert result.enrollments_created == 4
    assert [(s["person_id"], s["name"]) for s in result.skipped] == [(old.pk, "Green, Kai")]
    assert result.skipped[0]["reasons"] and "age" in result.skipped[0]["reasons"][0].lower()
    assert set(ProgramEnrollment.objects.values_list("person_id", flat=True)) == {
        p.pk for p in young}
    event = AuditEvent.objects.get(action="schedule.add_participants")
    assert len(event.after["enrollment_ids"]) == 4


def test_skip_mode_with_nobody_eligible_writes_nothing(charlie, schedule) -> None:
    f.EligibilityRuleFactory(program=schedule.benefit.program, params={"min": 14, "max": 24},
                             mode="block")
    for add in (services.schedule_add_participants, services.session_add_participants):
        target = ({"schedule": schedule} if add is services.schedule_add_participants
                  else {"session": schedule.sessions.first()})
        result = add(actor=charlie, person_ids=[_aged(30).pk],
                     on_ineligible=services.OnIneligible.SKIP, **target)
        assert len(result.skipped) == 1 and result.enrollments_created == 0
    assert not ProgramEnrollment.objects.exists()
    assert not AuditEvent.objects.filter(action__endswith="add_participants").exists()


def test_an_unknown_on_ineligible_mode_is_a_field_error(charlie, schedule) -> None:
    with pytest.raises(ValidationError) as info:
        services.schedule_add_participants(actor=charlie, schedule=schedule,
                                           person_ids=[f.PersonFactory().pk],
                                           on_ineligible="maybe")
    assert info.value.message_for("on_ineligible")


def test_preview_counts_who_would_join_and_writes_nothing(charlie) -> None:
    schedule = f.schedule_with_sessions(sessions=1, capacity=3)
    on = [p.pk for p in f.PersonFactory.create_batch(2)]
    services.schedule_add_participants(actor=charlie, schedule=schedule, person_ids=on)
    f.EligibilityRuleFactory(program=schedule.benefit.program, params={"min": 14, "max": 24},
                             mode="block")
    before = (ProgramEnrollment.objects.count(), ScheduleAssignment.objects.count())
    # The two already on the roster are old enough to fail the new rule: they do not join
    # twice, and the preview does not call them newcomers.
    newcomers = [_aged(16).pk for _ in range(3)]
    refused = _aged(40).pk
    preview = services.schedule_add_preview(actor=charlie, schedule=schedule,
                                            person_ids=[*on, *newcomers, refused])
    assert (preview.capacity, preview.on_roster, preview.joining, preview.over) == (3, 2, 3, 2)
    assert {r["person_id"] for r in preview.refused} == {*on, refused}
    assert (ProgramEnrollment.objects.count(), ScheduleAssignment.objects.count()) == before


def test_only_a_manager_may_override_and_only_with_a_reason(charlie, bob, schedule) -> None:
    from programdesk.core.errors import NotAllowed

    f.EligibilityRuleFactory(benefit=schedule.benefit, program=None,
                             params={"min": 14, "max": 24}, mode="block")
    old = _aged(30)
    override = services.EligibilityOverride(reason="Sibling of a participant")
    with pytest.raises(NotAllowed):
        services.schedule_add_participants(actor=charlie, schedule=schedule,
                                           person_ids=[old.pk], override=override)
    with pytest.raises(ValidationError):
        services.schedule_add_participants(actor=bob, schedule=schedule, person_ids=[old.pk],
                                           override=services.EligibilityOverride(reason=" "))
    result = services.schedule_add_participants(actor=bob, schedule=schedule,
                                                person_ids=[old.pk], override=override)
    assert [w["code"] for w in result.warnings] == ["eligibility_overridden"]
    assert result.warnings[0]["message"].startswith(f"{old.last_name}, {old.first_name}: ")
    event = AuditEvent.objects.get(action="schedule.add_participants")
    assert event.reason == "Sibling of a participant"
    assert str(old.pk) in event.before["eligibility_overridden"]


def test_program_limited_staff_cannot_add_people_of_other_programs(schedule) -> None:
    limited = f.UserFactory(username="lim", role="staff")
    limited.programs.add(schedule.benefit.program)
    elsewhere = f.EnrollmentFactory().person  # enrolled only in another program
    with pytest.raises(ValidationError) as info:
        services.schedule_add_participants(actor=limited, schedule=schedule,
                                           person_ids=[elsewhere.pk])
    assert str(elsewhere.pk) in info.value.message_for("person_ids")
