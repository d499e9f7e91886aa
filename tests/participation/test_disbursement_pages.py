from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from programdesk.participation.models import BenefitDisbursement
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_log_benefits_from_a_case_page(client, bob) -> None:
    program = f.ProgramFactory()
    coaching = f.BenefitFactory(program=program, name="Job coaching", unit=f.unit("hour"))
    resume = f.BenefitFactory(program=program, name="Résumé review", unit=f.unit("hour"))
    case = f.CaseFactory()
    client.force_login(bob)
    page = client.get(f"/cases/{case.pk}/log-benefits/")
    assert page.status_code == 200 and "Résumé review".encode() in page.content
    response = client.post(f"/cases/{case.pk}/log-benefits/", {
        "submission": "abc", "disbursed_on": timezone.localdate().isoformat(),
        "benefit_0": coaching.pk, "quantity_0": "1", "status_0": "completed",
        "benefit_1": resume.pk, "quantity_1": "30", "unit_1": "minute", "status_1": "completed",
        "benefit_2": "", "quantity_2": ""}, follow=True)
    assert b"Logged 2 benefits." in response.content
    rows = dict(BenefitDisbursement.objects.values_list("benefit__name", "quantity"))
    assert rows == {"Job coaching": 1, "Résumé review": 0.5}
    assert set(BenefitDisbursement.objects.values_list("case_id", flat=True)) == {case.pk}
    # the same form posted again (a double click) saves nothing more
    client.post(f"/cases/{case.pk}/log-benefits/", {
        "submission": "abc", "disbursed_on": timezone.localdate().isoformat(),
        "benefit_0": coaching.pk, "quantity_0": "1"})
    assert BenefitDisbursement.objects.count() == 2


def test_case_worker_logs_benefits_from_the_person_page(client, charlie, dana) -> None:
    benefit = f.BenefitFactory(name="Bus pass", unit=f.unit("pass"))
    person = f.PersonFactory()
    case = f.CaseFactory(person=person)
    client.force_login(dana)
    assert b"Log benefits" not in client.get(f"/people/{person.pk}/").content
    assert client.get(f"/people/{person.pk}/log-benefits/").status_code == 403
    client.force_login(charlie)
    for page in [f"/people/{person.pk}/", f"/cases/{case.pk}/"]:
        assert b"log-benefits/\">Log benefits</a>" in client.get(page).content
    response = client.post(f"/people/{person.pk}/log-benefits/", {
        "submission": "staff1", "disbursed_on": timezone.localdate().isoformat(),
        "benefit_0": benefit.pk, "quantity_0": "1", "status_0": "completed"}, follow=True)
    assert b"Logged 1 benefit." in response.content
    assert BenefitDisbursement.objects.get().person == person


def test_case_worker_bulk_disburses_from_the_disbursements_page(client, charlie) -> None:
    benefit = f.BenefitFactory(name="Hot meal", unit=f.unit("meal"))
    f.BenefitFactory(name="Retired", is_active=False)
    client.force_login(charlie)
    listing = client.get("/disbursements/").content.decode()
    assert 'href="/disbursements/bulk/"' in listing
    assert '<a href="/disbursements/bulk/" aria-current="page">' not in listing
    choose = client.get("/disbursements/bulk/").content.decode()
    assert "Hot meal" in choose and "Retired" not in choose
    assert '<a href="/disbursements/bulk/" aria-current="page">' in choose
    response = client.get("/disbursements/bulk/", {"benefit": benefit.pk})
    assert response["Location"] == f"/benefits/{benefit.pk}/bulk/"
    for page in [f"/benefits/{benefit.pk}/", f"/programs/{benefit.program_id}/"]:
        assert b"/bulk/\">New ad hoc bulk disbursement</a>" in client.get(page).content
    enrollment = f.EnrollmentFactory(program=benefit.program)
    posts: list[dict[str, Any]] = [{"mode": "walk_in", "person_ids": [f.PersonFactory().pk]},
                                   {"mode": "anonymous", "number_of_recipients": "12"},
                                   {"mode": "enrollment", "enrollment_ids": [enrollment.pk]}]
    for i, post in enumerate(posts):
        response = client.post(f"/benefits/{benefit.pk}/bulk/", {
            **post, "quantity": "1", "disbursed_on": "2026-03-04", "submission": f"b{i}"},
            follow=True)
        assert b"Saved 1 disbursement" in response.content
    assert sorted(BenefitDisbursement.objects.values_list("recipient_type", flat=True)) == [
        "anonymous", "enrollment", "walk_in"]


def test_staff_limited_to_a_program_get_404_for_another_programs_benefits(client) -> None:
    mine, theirs = f.BenefitFactory(name="Our bus pass"), f.BenefitFactory(name="Their meal")
    staff = f.UserFactory(role="staff")
    staff.programs.set([mine.program])
    person = f.EnrollmentFactory(program=mine.program).person
    client.force_login(staff)
    assert client.get(f"/benefits/{theirs.pk}/bulk/").status_code == 404
    assert client.post(f"/benefits/{theirs.pk}/bulk/", {
        "mode": "anonymous", "number_of_recipients": "3", "quantity": "1",
        "disbursed_on": "2026-03-04"}).status_code == 404
    assert client.get(f"/programs/{theirs.program_id}/bulk/").status_code == 404
    assert client.get("/disbursements/bulk/", {"benefit": theirs.pk}).status_code == 404
    assert b"Their meal" not in client.get("/disbursements/bulk/").content
    page = client.get(f"/people/{person.pk}/log-benefits/").content
    assert b"Our bus pass" in page and b"Their meal" not in page
    response = client.post(f"/people/{person.pk}/log-benefits/", {
        "disbursed_on": "2026-03-04", "benefit_0": theirs.pk, "quantity_0": "1"})
    assert response.status_code == 200 and b"Unknown benefit" in response.content
    assert not BenefitDisbursement.objects.exists()


def test_log_benefits_bad_quantity_keeps_the_form(client, bob) -> None:
    benefit = f.BenefitFactory()
    person = f.PersonFactory()
    client.force_login(bob)
    response = client.post(f"/people/{person.pk}/log-benefits/", {
        "disbursed_on": timezone.localdate().isoformat(), "benefit_0": benefit.pk,
        "quantity_0": "lots"})
    assert response.status_code == 200 and b"is not a number" in response.content
    assert not BenefitDisbursement.objects.exists()


def test_bulk_anonymous_page(client, bob) -> None:
    benefit = f.BenefitFactory(unit=f.unit("meal"))
    client.force_login(bob)
    assert client.get(f"/benefits/{benefit.pk}/bulk/?mode=anonymous").status_code == 200
    response = client.post(f"/benefits/{benefit.pk}/bulk/", {
        "mode": "anonymous", "quantity": "40", "disbursed_on": "2026-03-04",
        "number_of_recipients": "40", "submission": "s1"}, follow=True)
    assert b"Saved 1 disbursement, 1 new enrollment." in response.content
    row = BenefitDisbursement.objects.get()
    assert row.recipient_count == 40 and row.person_id is None


def test_bulk_walk_in_page_shows_the_schedule_warning_and_saves_all_matching(client, bob) -> None:
    schedule = f.schedule_with_sessions(sessions=1)
    f.PersonFactory.create_batch(3, postal_code="02119")
    f.PersonFactory(postal_code="90210")
    client.force_login(bob)
    page = client.get(f"/benefits/{schedule.benefit_id}/bulk/?postal_code=021")
    assert b"This benefit has a schedule" in page.content
    assert b"All 3 matching" in page.content
    client.post(f"/benefits/{schedule.benefit_id}/bulk/", {
        "mode": "walk_in", "quantity": "1", "disbursed_on": "2026-03-04",
        "postal_code": "021", "all_matching": "1", "submission": "s2"})
    assert BenefitDisbursement.objects.filter(recipient_type="walk_in").count() == 3


def test_bulk_by_enrollment_page(client, bob) -> None:
    benefit = f.BenefitFactory()
    enrollments = f.EnrollmentFactory.create_batch(2, program=benefit.program)
    client.force_login(bob)
    client.post(f"/benefits/{benefit.pk}/bulk/", {
        "mode": "enrollment", "quantity": "0.5", "disbursed_on": "2026-03-04",
        "enrollment_ids": [enrollments[0].pk], "submission": "s3"})
    assert BenefitDisbursement.objects.get().enrollment == enrollments[0]


def test_program_bulk_asks_for_the_benefit(client, bob) -> None:
    benefit = f.BenefitFactory()
    client.force_login(bob)
    assert benefit.name.encode() in client.get(f"/programs/{benefit.program_id}/bulk/").content
    response = client.get(f"/programs/{benefit.program_id}/bulk/", {"benefit": benefit.pk})
    assert response["Location"] == f"/benefits/{benefit.pk}/bulk/"


def test_disbursement_list_and_correction(client, bob, dana) -> None:
    row = f.DisbursementFactory()
    client.force_login(dana)
    listing = client.get("/disbursements/", {"benefit": row.benefit_id})
    assert row.benefit.name.encode() in listing.content
    assert client.post(f"/disbursements/{row.pk}/", {"status": "absent",
                                                     "quantity": "1"}).status_code == 403
    client.force_login(bob)
    client.post(f"/disbursements/{row.pk}/", {"status": "absent", "quantity": "3"})
    row.refresh_from_db()
    assert row.status.code == "absent" and row.quantity == 3
    client.post(f"/disbursements/{row.pk}/", {"action": "delete", "reason": "duplicate"})
    assert not BenefitDisbursement.objects.exists()


def test_log_benefits_collects_the_benefits_extra_fields(client, bob) -> None:
    bus = f.BenefitFactory(name="Bus pass", unit=f.unit("pass"))
    f.FieldDefinitionFactory(target="disbursement", key="route", label="Bus route",
                             field_type="choice", choices=["1", "22"], required=True,
                             benefit=bus)
    person = f.PersonFactory()
    client.force_login(bob)
    fields = client.get("/disbursements/line-fields", {"line": 0, "benefit_0": bus.pk})
    assert b"Bus route" in fields.content and b'name="extra_0_route"' in fields.content
    missing = client.post(f"/people/{person.pk}/log-benefits/", {
        "disbursed_on": "2026-03-04", "benefit_0": bus.pk, "quantity_0": "1"})
    assert b"Bus route" in missing.content and not BenefitDisbursement.objects.exists()
    client.post(f"/people/{person.pk}/log-benefits/", {
        "disbursed_on": "2026-03-04", "benefit_0": bus.pk, "quantity_0": "1",
        "extra_0_route": "22"})
    assert BenefitDisbursement.objects.get().extra == {"route": "22"}


def test_bulk_schedule_warning_marks_who_is_on_the_roster(client, charlie) -> None:
    from programdesk.participation import services

    schedule = f.schedule_with_sessions(sessions=2)
    on_it = f.PersonFactory(first_name="Ada", last_name="Rostered", postal_code="02119")
    f.PersonFactory(first_name="Bo", last_name="Walkin", postal_code="02119")
    services.schedule_add_participants(actor=charlie, schedule=schedule, person_ids=[on_it.pk])
    client.force_login(charlie)
    page = client.get(f"/benefits/{schedule.benefit_id}/bulk/", {"postal_code": "021"})
    rows = {line.split("</label>")[0].rsplit(">", 1)[-1]: line
            for line in page.content.decode().split("<tr>") if "pick-" in line}
    assert set(rows) == {"Rostered, Ada", "Walkin, Bo"}
    assert "on the schedule" in rows["Rostered, Ada"]
    assert "on the schedule" not in rows["Walkin, Bo"]
    page = client.get(f"/benefits/{schedule.benefit_id}/bulk/", {"mode": "enrollment"})
    assert page.content.decode().count('<span class="badge scheduled">on the schedule') == 2
