from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from programdesk.core.errors import Conflict, ValidationError
from programdesk.core.models import AuditEvent
from programdesk.participation import services
from programdesk.participation.models import BenefitDisbursement, ProgramEnrollment
from tests import factories as f
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db

Line = services.DisbursementLine


@pytest.fixture
def case_management() -> dict[str, Any]:
    program = f.ProgramFactory(name="Case Management")
    return {
        "program": program,
        "pass": f.BenefitFactory(program=program, name="Bus pass", unit=f.unit("pass")),
        "coaching": f.BenefitFactory(program=program, name="Job coaching", unit=f.unit("hour")),
        "resume": f.BenefitFactory(program=program, name="Résumé review", unit=f.unit("hour")),
    }


# --- ad hoc ---------------------------------------------------------------------------------


def test_case_worker_logs_three_benefits_in_one_go(bob, case_management) -> None:
    client = f.PersonFactory()
    case = f.CaseFactory(person=client)
    today = timezone.localdate()
    result = services.disbursements_create_ad_hoc(
        actor=bob, person=client, case=case, disbursed_on=today, lines=[
            Line(case_management["pass"].pk, Decimal(1)),
            Line(case_management["coaching"].pk, Decimal(1)),
            Line(case_management["resume"].pk, Decimal("0.5"))])
    assert len(result.disbursements) == 3
    rows = BenefitDisbursement.objects.filter(person=client).order_by("id")
    assert [(r.benefit.name, r.quantity, r.unit.code, r.status.code) for r in rows] == [
        ("Bus pass", Decimal(1), "pass", "completed"),
        ("Job coaching", Decimal(1), "hour", "completed"),
        ("Résumé review", Decimal("0.5"), "hour", "completed")]
    assert {r.case_id for r in rows} == {case.pk}
    assert {r.recipient_type for r in rows} == {"walk_in"}  # enrolled on the spot
    assert ProgramEnrollment.objects.filter(person=client).count() == 1
    event = AuditEvent.objects.get(action="disbursement.create_ad_hoc")
    assert sorted(event.object_ids) == sorted(r.pk for r in rows)


def test_ad_hoc_for_an_enrolled_client_is_an_enrollment_disbursement(bob, case_management) -> None:
    enrollment = f.EnrollmentFactory(program=case_management["program"])
    services.disbursements_create_ad_hoc(
        actor=bob, person=enrollment.person, disbursed_on=timezone.localdate(),
        lines=[Line(case_management["pass"].pk, Decimal(1), status="enrolled")])
    row = BenefitDisbursement.objects.get()
    assert (row.recipient_type, row.enrollment_id, row.status.code) == (
        "enrollment", enrollment.pk, "enrolled")


def test_ad_hoc_for_an_account(bob, case_management) -> None:
    account = f.AccountFactory()
    services.disbursements_create_ad_hoc(actor=bob, account=account,
                                         disbursed_on=timezone.localdate(),
                                         lines=[Line(case_management["pass"].pk, Decimal(2))])
    assert BenefitDisbursement.objects.get().account == account


def test_ad_hoc_bad_lines_name_each_line_and_write_nothing(bob, case_management) -> None:
    client = f.PersonFactory()
    with pytest.raises(ValidationError) as info:
        services.disbursements_create_ad_hoc(
            actor=bob, person=client, disbursed_on=timezone.localdate(), lines=[
                Line(case_management["pass"].pk, Decimal(1)), Line(999_999, Decimal(1))])
    assert info.value.message_for("items.1.benefit_id")
    with pytest.raises(ValidationError) as info:
        services.disbursements_create_ad_hoc(
            actor=bob, person=client, disbursed_on=timezone.localdate(), lines=[
                Line(case_management["pass"].pk, Decimal("0.125"))])
    assert info.value.message_for("items.0.quantity") == "At most 2 decimals."
    with pytest.raises(ValidationError) as info:
        services.disbursements_create_ad_hoc(
            actor=bob, person=client, disbursed_on=timezone.localdate(), lines=[
                Line(case_management["pass"].pk, Decimal(1), status="given")])
    assert info.value.message_for("items.0.status")
    assert not BenefitDisbursement.objects.exists()
    assert not ProgramEnrollment.objects.exists()


def test_case_of_another_client_is_refused(bob, case_management) -> None:
    with pytest.raises(ValidationError) as info:
        services.disbursements_create_ad_hoc(
            actor=bob, person=f.PersonFactory(), case=f.CaseFactory(),
            disbursed_on=timezone.localdate(),
            lines=[Line(case_management["pass"].pk, Decimal(1))])
    assert info.value.message_for("case_id")


def test_inactive_benefit_refuses_the_whole_request(bob, case_management) -> None:
    case_management["resume"].is_active = False
    case_management["resume"].save()
    with pytest.raises(Conflict):
        services.disbursements_create_ad_hoc(
            actor=bob, person=f.PersonFactory(), disbursed_on=timezone.localdate(), lines=[
                Line(case_management["pass"].pk, Decimal(1)),
                Line(case_management["resume"].pk, Decimal(1))])
    assert not BenefitDisbursement.objects.exists()


# --- bulk -----------------------------------------------------------------------------------


def test_bulk_walk_in_creates_what_is_missing_and_marks_walk_ins(bob) -> None:
    benefit = f.BenefitFactory(unit=f.unit("meal"))
    enrolled = f.EnrollmentFactory(program=benefit.program)
    newcomers = f.PersonFactory.create_batch(3)
    result = services.disbursements_bulk_walk_in(
        actor=bob, benefit=benefit, quantity=Decimal(1), disbursed_on=timezone.localdate(),
        person_ids=[enrolled.person_id, *[p.pk for p in newcomers]])
    assert (result.disbursements_created, result.enrollments_created) == (4, 3)
    assert result.warnings == []
    assert set(BenefitDisbursement.objects.values_list("recipient_type", flat=True)) == {
        "walk_in"}
    assert len(result.disbursement_ids) == 4
    assert AuditEvent.objects.get(action="disbursement.bulk_walk_in").object_ids == sorted(
        result.disbursement_ids)


def test_bulk_on_a_scheduled_benefit_warns(bob) -> None:
    schedule = f.schedule_with_sessions(sessions=1)
    result = services.disbursements_bulk_walk_in(
        actor=bob, benefit=schedule.benefit, quantity=Decimal(1),
        disbursed_on=timezone.localdate(), person_ids=[f.PersonFactory().pk])
    assert [w["code"] for w in result.warnings] == ["benefit_has_schedule"]


def test_bulk_walk_in_can_add_recipients_to_the_next_session(bob) -> None:
    today = timezone.localdate()
    schedule = f.schedule_with_sessions(sessions=2, first=today + dt.timedelta(days=1))
    person = f.PersonFactory()
    result = services.disbursements_bulk_walk_in(
        actor=bob, benefit=schedule.benefit, quantity=Decimal(1), disbursed_on=today,
        person_ids=[person.pk], add_to_upcoming_session=True)
    next_session = schedule.sessions.order_by("start").first()
    assert BenefitDisbursement.objects.filter(person=person, session=next_session).exists()
    assert "added_to_session" in [w["code"] for w in result.warnings]


def test_bulk_anonymous_writes_one_disbursement_and_no_personal_data(bob) -> None:
    benefit = f.BenefitFactory(unit=f.unit("meal"))
    result = services.disbursements_bulk_anonymous(
        actor=bob, benefit=benefit, quantity=Decimal(40), disbursed_on=timezone.localdate(),
        number_of_recipients=40)
    row = BenefitDisbursement.objects.get()
    assert (row.recipient_type, row.recipient_count, row.quantity) == ("anonymous", 40, 40)
    assert row.person_id is None and row.account_id is None
    assert row.enrollment.is_anonymous and row.enrollment.person_id is None
    assert result.enrollments_created == 1
    again = services.disbursements_bulk_anonymous(
        actor=bob, benefit=benefit, quantity=Decimal(35), disbursed_on=timezone.localdate(),
        number_of_recipients=35)
    assert again.enrollments_created == 0
    assert ProgramEnrollment.objects.filter(is_anonymous=True).count() == 1


def test_bulk_by_enrollment(bob) -> None:
    benefit = f.BenefitFactory(unit=f.unit("hour"))
    enrollments = f.EnrollmentFactory.create_batch(3, program=benefit.program)
    result = services.disbursements_bulk_enrollment(
        actor=bob, benefit=benefit, quantity=Decimal("0.5"), disbursed_on=timezone.localdate(),
        enrollment_ids=[e.pk for e in enrollments])
    assert result.disbursements_created == 3
    assert set(BenefitDisbursement.objects.values_list("recipient_type", flat=True)) == {
        "enrollment"}


def test_bulk_with_unknown_recipients_writes_nothing(bob) -> None:
    benefit = f.BenefitFactory()
    with pytest.raises(ValidationError) as info:
        services.disbursements_bulk_walk_in(
            actor=bob, benefit=benefit, quantity=Decimal(1), disbursed_on=timezone.localdate(),
            person_ids=[f.PersonFactory().pk, 777_777])
    assert "777777" in info.value.message_for("person_ids")
    assert not BenefitDisbursement.objects.exists() and not ProgramEnrollment.objects.exists()


def test_bulk_walk_in_to_many_people_takes_a_constant_number_of_queries(
        bob, django_assert_max_num_queries) -> None:
    benefit = f.BenefitFactory()
    few = [p.pk for p in f.PersonFactory.create_batch(3)]
    many = [p.pk for p in f.PersonFactory.create_batch(2000)]
    with django_assert_max_num_queries(30) as captured:
        services.disbursements_bulk_walk_in(actor=bob, benefit=benefit, quantity=Decimal(1),
                                            disbursed_on=timezone.localdate(), person_ids=few)
    with django_assert_max_num_queries(len(captured.captured_queries)):
        result = services.disbursements_bulk_walk_in(
            actor=bob, benefit=benefit, quantity=Decimal(1), disbursed_on=timezone.localdate(),
            person_ids=many)
    assert result.disbursements_created == 2000


# --- corrections ----------------------------------------------------------------------------


def test_update_and_delete_are_audited(bob) -> None:
    row = f.DisbursementFactory()
    services.disbursement_update(actor=bob, disbursement=row, status="absent",
                                 quantity=Decimal("2.5"))
    row.refresh_from_db()
    assert (row.status.code, row.quantity) == ("absent", Decimal("2.5"))
    row_id = row.pk
    services.disbursement_delete(actor=bob, disbursement=row, reason="entered twice")
    assert not BenefitDisbursement.objects.exists()
    event = AuditEvent.objects.get(action="disbursement.delete")
    assert event.object_id == row_id and event.reason == "entered twice"


# --- API ------------------------------------------------------------------------------------


def test_api_ad_hoc(api_as, bob, case_management) -> None:
    client = f.PersonFactory()
    response = api_as(bob).post("disbursements", {
        "person_id": client.pk, "disbursed_on": "2026-03-04", "items": [
            {"benefit_id": case_management["pass"].pk, "quantity": 1},
            {"benefit_id": case_management["resume"].pk, "quantity": 0.5}]})
    assert response.status_code == 201, response.content
    body = response.json()
    assert [d["quantity"] for d in body["disbursements"]] == [1.0, 0.5]
    first = body["disbursements"][0]
    assert set(first) == {"id", "assignment_id", "enrollment_id", "benefit_id", "program_id",
                          "session_id", "person_id", "account_id", "case_id", "recipient_type",
                          "recipient_count", "quantity", "unit", "status", "disbursed_on",
                          "extra", "household_id", "household_size"}
    assert (first["unit"], first["status"], first["disbursed_on"]) == (
        "pass", "completed", "2026-03-04")


def test_api_ad_hoc_by_a_case_worker_not_a_viewer(api_as, charlie, dana, case_management) -> None:
    body = {"person_id": f.PersonFactory().pk, "disbursed_on": "2026-03-04",
            "items": [{"benefit_id": case_management["pass"].pk, "quantity": 1}]}
    assert_problem(api_as(dana).post("disbursements", body), 403)
    response = api_as(charlie).post("disbursements", body)
    assert response.status_code == 201, response.content
    assert BenefitDisbursement.objects.get().benefit == case_management["pass"]


def test_api_staff_log_and_bulk_but_do_not_correct_or_override(api_as, charlie) -> None:
    from programdesk.programs import services as program_services

    benefit = f.BenefitFactory(unit=f.unit("meal"))
    staff = api_as(charlie)
    walk_in = staff.post(f"benefits/{benefit.pk}/bulk-disbursements", {
        "mode": "walk_in", "quantity": 1, "disbursed_on": "2026-03-04",
        "person_ids": [p.pk for p in f.PersonFactory.create_batch(2)]})
    assert walk_in.status_code == 201, walk_in.content
    anonymous = staff.post(f"benefits/{benefit.pk}/bulk-disbursements", {
        "mode": "anonymous", "quantity": 40, "disbursed_on": "2026-03-04",
        "number_of_recipients": 40})
    assert anonymous.status_code == 201, anonymous.content
    enrollments = ProgramEnrollment.objects.filter(program=benefit.program, is_anonymous=False)
    by_enrollment = staff.post(f"benefits/{benefit.pk}/bulk-disbursements", {
        "mode": "enrollment", "quantity": 1, "disbursed_on": "2026-03-04",
        "enrollment_ids": [e.pk for e in enrollments]})
    assert by_enrollment.status_code == 201, by_enrollment.content
    assert BenefitDisbursement.objects.count() == 5
    row = BenefitDisbursement.objects.first()
    assert_problem(staff.patch(f"disbursements/{row.pk}", {"quantity": 3}), 403)
    assert_problem(staff.delete(f"disbursements/{row.pk}"), 403)
    # An eligibility override stays a manager's.
    program_services.eligibility_rule_create(actor=None, criterion="age",
                                             params={"min": 14, "max": 24}, mode="block",
                                             program=benefit.program)
    too_old = f.PersonFactory(birth_date=dt.date(1950, 1, 1))
    assert_problem(staff.post(f"benefits/{benefit.pk}/bulk-disbursements", {
        "mode": "walk_in", "quantity": 1, "disbursed_on": "2026-03-04",
        "person_ids": [too_old.pk], "override_eligibility": True,
        "override_reason": "Grandparent raising the kids"}), 403)
    assert BenefitDisbursement.objects.count() == 5


def test_api_staff_limited_to_a_program_cannot_disburse_another_programs_benefit(api_as) -> None:
    mine, theirs = f.BenefitFactory(), f.BenefitFactory()
    staff = f.UserFactory(role="staff")
    staff.programs.set([mine.program])
    client = api_as(staff)
    person = f.EnrollmentFactory(program=mine.program).person
    bodies: list[dict[str, Any]] = [{"mode": "walk_in", "person_ids": [person.pk]},
                                    {"mode": "anonymous", "number_of_recipients": 3},
                                    {"mode": "enrollment", "enrollment_ids": [
                                        f.EnrollmentFactory(program=theirs.program).pk]}]
    for body in bodies:
        assert_problem(client.post(f"benefits/{theirs.pk}/bulk-disbursements", {
            **body, "quantity": 1, "disbursed_on": "2026-03-04"}), 404)
    # Named in the body, another program's benefit is an unknown one (422, as every body id).
    assert_problem(client.post("disbursements", {
        "person_id": person.pk, "disbursed_on": "2026-03-04",
        "items": [{"benefit_id": theirs.pk, "quantity": 1}]}), 422, "items.0.benefit_id")
    assert not BenefitDisbursement.objects.exists()
    assert client.post(f"benefits/{mine.pk}/bulk-disbursements", {
        "mode": "anonymous", "number_of_recipients": 3, "quantity": 1,
        "disbursed_on": "2026-03-04"}).status_code == 201


def test_api_ad_hoc_bad_quantity_names_the_item(api_as, bob, case_management) -> None:
    assert_problem(api_as(bob).post("disbursements", {
        "person_id": f.PersonFactory().pk, "disbursed_on": "2026-03-04",
        "items": [{"benefit_id": case_management["pass"].pk, "quantity": -1}]}),
        422, "items.0.quantity")


def test_api_bulk_modes(api_as, bob) -> None:
    benefit = f.BenefitFactory(unit=f.unit("meal"))
    walk_in = api_as(bob).post(f"benefits/{benefit.pk}/bulk-disbursements", {
        "mode": "walk_in", "quantity": 1, "disbursed_on": "2026-03-04",
        "person_ids": [p.pk for p in f.PersonFactory.create_batch(2)]})
    assert walk_in.status_code == 201, walk_in.content
    assert walk_in.json() == {"disbursements_created": 2, "enrollments_created": 2,
                              "warnings": [], "skipped": []}
    anonymous = api_as(bob).post(f"benefits/{benefit.pk}/bulk-disbursements", {
        "mode": "anonymous", "quantity": 40, "disbursed_on": "2026-03-04",
        "number_of_recipients": 40})
    assert anonymous.json()["disbursements_created"] == 1
    enrollments = ProgramEnrollment.objects.filter(program=benefit.program, is_anonymous=False)
    by_enrollment = api_as(bob).post(f"benefits/{benefit.pk}/bulk-disbursements", {
        "mode": "enrollment", "quantity": 0.5, "disbursed_on": "2026-03-04",
        "enrollment_ids": [e.pk for e in enrollments]})
    assert by_enrollment.json()["disbursements_created"] == 2


def test_api_bulk_unknown_mode_and_missing_fields(api_as, bob) -> None:
    benefit = f.BenefitFactory()
    assert_problem(api_as(bob).post(f"benefits/{benefit.pk}/bulk-disbursements", {
        "mode": "raffle", "quantity": 1, "disbursed_on": "2026-03-04"}), 422)
    assert_problem(api_as(bob).post(f"benefits/{benefit.pk}/bulk-disbursements", {
        "mode": "anonymous", "quantity": 1, "disbursed_on": "2026-03-04"}), 422)


def test_api_bulk_repeated_with_the_same_key_writes_once(api_as, bob) -> None:
    benefit = f.BenefitFactory()
    body = {"mode": "anonymous", "quantity": 40, "disbursed_on": "2026-03-04",
            "number_of_recipients": 40}
    client = api_as(bob)
    first = client.post(f"benefits/{benefit.pk}/bulk-disbursements", body,
                        headers={"Idempotency-Key": "wed-meal"})
    second = client.post(f"benefits/{benefit.pk}/bulk-disbursements", body,
                         headers={"Idempotency-Key": "wed-meal"})
    assert first.json() == second.json()
    assert BenefitDisbursement.objects.count() == 1


def test_api_list_filters_and_patch(api_as, bob, dana) -> None:
    row = f.DisbursementFactory(disbursed_on=dt.date(2026, 3, 4))
    f.DisbursementFactory(disbursed_on=dt.date(2026, 5, 1))
    listing = api_as(dana).get("disbursements", **{"from": "2026-03-01", "to": "2026-03-31"})
    assert [d["id"] for d in listing.json()["items"]] == [row.pk]
    assert_problem(api_as(dana).patch(f"disbursements/{row.pk}", {"status": "absent"}), 403)
    patched = api_as(bob).patch(f"disbursements/{row.pk}", {"status": "absent",
                                                            "quantity": 2})
    assert patched.json()["status"] == "absent" and patched.json()["quantity"] == 2
    assert api_as(bob).delete(f"disbursements/{row.pk}").status_code == 204
    assert_problem(api_as(bob).get(f"disbursements/{row.pk}"), 404)


def test_bulk_eligibility_block_is_refused_unless_overridden(bob) -> None:
    benefit = f.BenefitFactory()
    f.EligibilityRuleFactory(program=benefit.program, criterion="postal_code",
                             params={"prefixes": ["021"]}, mode="block")
    inside, outside = f.PersonFactory(postal_code="02119"), f.PersonFactory(postal_code="90210")
    with pytest.raises(Conflict):
        services.disbursements_bulk_walk_in(
            actor=bob, benefit=benefit, quantity=Decimal(1), disbursed_on=timezone.localdate(),
            person_ids=[inside.pk, outside.pk])
    assert not BenefitDisbursement.objects.exists()
    result = services.disbursements_bulk_walk_in(
        actor=bob, benefit=benefit, quantity=Decimal(1), disbursed_on=timezone.localdate(),
        person_ids=[inside.pk, outside.pk],
        override=services.EligibilityOverride(reason="Displaced by the flood"))
    assert result.disbursements_created == 2


def test_ad_hoc_validates_the_benefits_custom_fields(bob, case_management) -> None:
    f.FieldDefinitionFactory(target="disbursement", key="route", label="Bus route",
                             field_type="choice", choices=["1", "22", "39"], required=True,
                             benefit=case_management["pass"])
    client = f.PersonFactory()
    with pytest.raises(ValidationError) as info:
        services.disbursements_create_ad_hoc(
            actor=bob, person=client, disbursed_on=timezone.localdate(), lines=[
                Line(case_management["coaching"].pk, Decimal(1)),
                Line(case_management["pass"].pk, Decimal(1), extra={"route": "7"})])
    assert info.value.message_for("items.1.extra.route")
    with pytest.raises(ValidationError) as info:
        services.disbursements_create_ad_hoc(
            actor=bob, person=client, disbursed_on=timezone.localdate(), lines=[
                Line(case_management["pass"].pk, Decimal(1))])
    assert info.value.message_for("items.0.extra.route")
    assert not BenefitDisbursement.objects.exists()
    services.disbursements_create_ad_hoc(
        actor=bob, person=client, disbursed_on=timezone.localdate(),
        lines=[Line(case_management["pass"].pk, Decimal(1), extra={"route": "22"})])
    assert BenefitDisbursement.objects.get().extra == {"route": "22"}
