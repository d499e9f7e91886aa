from __future__ import annotations

import pytest
from django.utils import timezone

from programdesk.participation import services
from programdesk.participation.models import BenefitDisbursement, CohortMember, ProgramEnrollment
from programdesk.scheduling.models import BenefitSchedule
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def schedule() -> BenefitSchedule:
    return f.schedule_with_sessions(sessions=3)


def test_add_participants_page_adds_the_ticked_people(client, charlie, schedule) -> None:
    client.force_login(charlie)
    people = f.PersonFactory.create_batch(2, last_name="Okafor")
    page = client.get(f"/schedules/{schedule.pk}/participants/", {"q": "okafor"})
    assert page.status_code == 200 and b"Okafor" in page.content
    response = client.post(f"/schedules/{schedule.pk}/participants/",
                           {"person_ids": [p.pk for p in people]}, follow=True)
    assert b"6 new disbursements" in response.content
    assert BenefitDisbursement.objects.count() == 6


def test_add_participants_page_needs_staff(client, dana, schedule) -> None:
    client.force_login(dana)
    assert client.get(f"/schedules/{schedule.pk}/participants/").status_code == 403


def test_attendance_sheet_saves_statuses(client, charlie, schedule) -> None:
    services.schedule_add_participants(actor=charlie, schedule=schedule,
                                       person_ids=[p.pk for p in f.PersonFactory.create_batch(2)])
    session = schedule.sessions.order_by("start").first()
    rows = list(BenefitDisbursement.objects.filter(session=session).order_by("id"))
    client.force_login(charlie)
    page = client.get(f"/sessions/{session.pk}/")
    assert page.status_code == 200 and b"Mark all present" in page.content
    response = client.post(f"/sessions/{session.pk}/", {
        f"status_{rows[0].pk}": "completed", f"quantity_{rows[0].pk}": "2",
        f"status_{rows[1].pk}": "absent", "action": "complete"}, follow=True)
    assert b"Attendance saved (2 changed). Session completed." in response.content
    assert b"50%" in response.content
    session.refresh_from_db()
    assert session.status == "completed"


def test_attendance_sheet_bad_quantity_saves_nothing(client, charlie, schedule) -> None:
    services.schedule_add_participants(actor=charlie, schedule=schedule,
                                       person_ids=[f.PersonFactory().pk])
    session = schedule.sessions.order_by("start").first()
    row = BenefitDisbursement.objects.get(session=session)
    client.force_login(charlie)
    response = client.post(f"/sessions/{session.pk}/", {
        f"status_{row.pk}": "completed", f"quantity_{row.pk}": "-1"})
    assert b"must be a number" in response.content
    assert BenefitDisbursement.objects.get(pk=row.pk).status.code == "enrolled"


def test_viewer_sees_the_sheet_but_cannot_save(client, dana, charlie, schedule) -> None:
    services.schedule_add_participants(actor=charlie, schedule=schedule,
                                       person_ids=[f.PersonFactory().pk])
    session = schedule.sessions.order_by("start").first()
    client.force_login(dana)
    assert client.get(f"/sessions/{session.pk}/").status_code == 200
    assert client.post(f"/sessions/{session.pk}/", {}).status_code == 403


def test_kiosk_lists_todays_sessions_and_checks_in(client, kim, charlie, schedule) -> None:
    person = f.PersonFactory(first_name="Ana", last_name="Lopez")
    services.schedule_add_participants(actor=charlie, schedule=schedule, person_ids=[person.pk])
    today = schedule.sessions.get(local_date=timezone.localdate())
    client.force_login(kim)
    assert schedule.name.encode() in client.get("/kiosk/").content
    results = client.get(f"/kiosk/{today.pk}/search", {"q": "ana lo"})
    assert b"I'm Ana L." in results.content and b"Lopez" not in results.content
    response = client.post(f"/kiosk/{today.pk}/", {"person_id": person.pk}, follow=True)
    assert b"Welcome, Ana" in response.content
    assert BenefitDisbursement.objects.get(session=today, person=person).status.code == \
        "completed"


def test_kiosk_registers_a_newcomer(client, kim, schedule) -> None:
    today = schedule.sessions.get(local_date=timezone.localdate())
    client.force_login(kim)
    response = client.post(f"/kiosk/{today.pk}/", {
        "action": "register", "first_name": "Tomas", "last_name": "Reyes",
        "postal_code": "02119"}, follow=True)
    assert b"Welcome, Tomas" in response.content
    row = BenefitDisbursement.objects.get(session=today)
    assert row.recipient_type == "walk_in" and row.person.postal_code == "02119"


def test_kiosk_register_needs_names(client, kim, schedule) -> None:
    today = schedule.sessions.get(local_date=timezone.localdate())
    client.force_login(kim)
    response = client.post(f"/kiosk/{today.pk}/", {"action": "register", "first_name": "",
                                                   "last_name": ""})
    assert response.status_code == 200 and b"This field is required" in response.content
    assert not BenefitDisbursement.objects.exists()


def test_kiosk_cannot_open_other_days(client, kim, schedule) -> None:
    later = schedule.sessions.exclude(local_date=timezone.localdate()).first()
    client.force_login(kim)
    assert client.get(f"/kiosk/{later.pk}/").status_code == 404


def test_enrollment_pages(client, charlie) -> None:
    enrollment = f.EnrollmentFactory()
    cohort = f.CohortFactory(program=enrollment.program)
    client.force_login(charlie)
    listing = client.get(f"/programs/{enrollment.program_id}/enrollments/")
    assert enrollment.person.last_name.encode() in listing.content
    client.post(f"/programs/{enrollment.program_id}/enrollments/",
                {"enrollment_ids": [enrollment.pk], "cohort_id": cohort.pk})
    assert CohortMember.objects.filter(cohort=cohort, enrollment=enrollment).exists()
    response = client.post(f"/enrollments/{enrollment.pk}/", {"status": "withdrawn"},
                           follow=True)
    assert b"Enrollment saved" in response.content
    enrollment.refresh_from_db()
    assert not enrollment.is_active and enrollment.end_date is not None


def test_enrollment_page_shows_the_409_on_the_status_field(client, charlie) -> None:
    active = f.EnrollmentFactory()
    old = f.EnrollmentFactory(program=active.program, person=active.person,
                              status=f.status("enrollment", "withdrawn"))
    client.force_login(charlie)
    response = client.post(f"/enrollments/{old.pk}/", {"status": "enrolled"})
    assert b"already an active enrollment" in response.content
    assert ProgramEnrollment.objects.filter(person=active.person, is_active=True).count() == 1


def test_cohort_page(client, charlie) -> None:
    cohort = f.CohortFactory()
    enrollment = f.EnrollmentFactory(program=cohort.program)
    client.force_login(charlie)
    assert enrollment.person.last_name.encode() in client.get(f"/cohorts/{cohort.pk}/").content
    client.post(f"/cohorts/{cohort.pk}/", {"enrollment_ids": [enrollment.pk]})
    assert CohortMember.objects.filter(cohort=cohort, removed_on=None).count() == 1
    client.post(f"/cohorts/{cohort.pk}/", {"enrollment_ids": [enrollment.pk],
                                           "action": "remove"})
    assert CohortMember.objects.filter(cohort=cohort, removed_on=None).count() == 0


def test_removing_from_the_schedule_says_who_and_how_many_places(client, charlie) -> None:
    import datetime as dt

    schedule = f.schedule_with_sessions(sessions=3,
                                        first=timezone.localdate() + dt.timedelta(days=1))
    ada = f.PersonFactory(first_name="Ada", last_name="Lovelace")
    services.schedule_add_participants(actor=charlie, schedule=schedule, person_ids=[ada.pk])
    services.schedule_add_participants(
        actor=charlie, schedule=schedule,
        person_ids=[f.PersonFactory(first_name="Bo", last_name="Kim").pk])
    client.force_login(charlie)
    roster = {r.name: r.assignment_id
              for r in client.get(f"/schedules/{schedule.pk}/participants/").context["roster"]}
    response = client.post(f"/schedules/{schedule.pk}/participants/", {
        "action": "remove", "assignment_ids": [roster["Lovelace, Ada"]]}, follow=True)
    assert ("Removed Lovelace, Ada from the schedule from today on; 3 upcoming places "
            "deleted.") in response.content.decode()
    assert BenefitDisbursement.objects.filter(person=ada).count() == 0
    assert BenefitDisbursement.objects.count() == 3
