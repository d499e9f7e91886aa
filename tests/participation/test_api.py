from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from programdesk.participation import services
from programdesk.participation.models import BenefitDisbursement, ProgramEnrollment
from programdesk.scheduling.models import BenefitSchedule
from tests import factories as f
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def schedule() -> BenefitSchedule:
    return f.schedule_with_sessions(sessions=3)


def test_add_participants_answers_the_counts(api_as, charlie, schedule) -> None:
    people = f.PersonFactory.create_batch(2)
    response = api_as(charlie).post(f"schedules/{schedule.pk}/participants",
                                    {"person_ids": [p.pk for p in people]})
    assert response.status_code == 201, response.content
    assert response.json() == {"enrollments_created": 2, "assignments_created": 2,
                               "disbursements_created": 6, "warnings": [], "skipped": []}


def _age_rule(schedule: Any) -> tuple[Any, Any]:
    f.EligibilityRuleFactory(program=schedule.benefit.program, params={"min": 14, "max": 24},
                             mode="block")
    today = timezone.localdate()
    kai = f.PersonFactory(first_name="Kai", last_name="Green",
                          birth_date=today.replace(year=today.year - 30))
    young = f.PersonFactory(birth_date=today.replace(year=today.year - 16))
    return kai, young


def test_ineligible_people_refuse_the_request_by_default(api_as, charlie, schedule) -> None:
    kai, young = _age_rule(schedule)
    body = assert_problem(api_as(charlie).post(f"schedules/{schedule.pk}/participants",
                                               {"person_ids": [kai.pk, young.pk]}), 409)
    assert body["type"].endswith("eligibility_blocked")
    assert body["errors"][0]["message"].startswith("Green, Kai: ")
    assert not ProgramEnrollment.objects.exists()


def test_skip_adds_the_eligible_and_lists_the_others(api_as, charlie, schedule) -> None:
    kai, young = _age_rule(schedule)
    for path in (f"schedules/{schedule.pk}/participants",
                 f"sessions/{schedule.sessions.first().pk}/participants"):
        response = api_as(charlie).post(path, {"person_ids": [kai.pk, young.pk],
                                               "on_ineligible": "skip"})
        assert response.status_code == 201, response.content
        [skipped] = response.json()["skipped"]
        assert (skipped["person_id"], skipped["name"]) == (kai.pk, "Green, Kai")
        assert skipped["reasons"]
    assert list(ProgramEnrollment.objects.values_list("person_id", flat=True)) == [young.pk]


def test_an_unknown_on_ineligible_is_422(api_as, charlie, schedule) -> None:
    assert_problem(api_as(charlie).post(f"schedules/{schedule.pk}/participants",
                                        {"person_ids": [f.PersonFactory().pk],
                                         "on_ineligible": "sometimes"}), 422, "on_ineligible")


def test_add_participants_twice_answers_zeros(api_as, charlie, schedule) -> None:
    body = {"person_ids": [f.PersonFactory().pk]}
    api_as(charlie).post(f"schedules/{schedule.pk}/participants", body)
    again = api_as(charlie).post(f"schedules/{schedule.pk}/participants", body).json()
    assert again["disbursements_created"] == 0


def test_unknown_people_are_422_naming_them(api_as, charlie, schedule) -> None:
    body = assert_problem(api_as(charlie).post(f"schedules/{schedule.pk}/participants",
                                               {"person_ids": [424242]}), 422, "person_ids")
    assert "424242" in body["detail"]


def test_huge_ids_are_422_not_500(api_as, charlie, schedule) -> None:
    assert_problem(api_as(charlie).post(f"schedules/{schedule.pk}/participants",
                                        {"person_ids": [2**70]}), 422, "person_ids.0")


def test_inactive_benefit_is_409(api_as, charlie) -> None:
    schedule = f.schedule_with_sessions(sessions=1, benefit__is_active=False)
    assert_problem(api_as(charlie).post(f"schedules/{schedule.pk}/participants",
                                        {"person_ids": [f.PersonFactory().pk]}), 409)


def test_viewer_cannot_add_participants(api_as, dana, schedule) -> None:
    assert_problem(api_as(dana).post(f"schedules/{schedule.pk}/participants",
                                     {"person_ids": [f.PersonFactory().pk]}), 403)


def test_schedule_of_another_program_is_404_for_limited_users(api_as, schedule) -> None:
    limited = f.UserFactory(username="lim", role="staff")
    limited.programs.add(f.ProgramFactory())
    assert_problem(api_as(limited).post(f"schedules/{schedule.pk}/participants",
                                        {"person_ids": [f.PersonFactory().pk]}), 404)
    assert_problem(api_as(limited).get(f"schedules/{schedule.pk}/participants"), 404)


def test_roster_lists_participants_with_attendance(api_as, charlie, schedule) -> None:
    person = f.PersonFactory()
    services.schedule_add_participants(actor=charlie, schedule=schedule, person_ids=[person.pk])
    body = api_as(charlie).get(f"schedules/{schedule.pk}/participants").json()
    assert body["count"] == 1
    entry = body["items"][0]
    assert entry["person_id"] == person.pk and entry["end"] is None
    assert entry["start"] == timezone.localdate().isoformat()


def test_remove_participants(api_as, charlie, schedule) -> None:
    person = f.PersonFactory()
    services.schedule_add_participants(actor=charlie, schedule=schedule, person_ids=[person.pk])
    assignment_id = BenefitDisbursement.objects.first().assignment_id
    response = api_as(charlie).post(f"schedules/{schedule.pk}/participants/remove",
                                    {"assignment_ids": [assignment_id]})
    assert response.json() == {"disbursements_deleted": 3}


def test_attendance_saves_the_sheet_and_returns_the_roster(api_as, charlie, schedule) -> None:
    services.schedule_add_participants(actor=charlie, schedule=schedule,
                                       person_ids=[p.pk for p in f.PersonFactory.create_batch(2)])
    session = schedule.sessions.order_by("start").first()
    rows = list(BenefitDisbursement.objects.filter(session=session).order_by("id"))
    response = api_as(charlie).post(f"sessions/{session.pk}/attendance", {
        "records": [{"disbursement_id": rows[0].pk, "status": "completed", "quantity": 0.5},
                    {"disbursement_id": rows[1].pk, "status": "absent"}],
        "complete_session": True})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "completed"
    assert (body["counts"]["delivered"], body["counts"]["absent"]) == (1, 1)
    by_id = {r["disbursement_id"]: r for r in body["roster"]}
    assert by_id[rows[0].pk]["quantity"] == 0.5 and by_id[rows[0].pk]["status"] == "completed"
    assert body["start"].endswith(("-05:00", "-04:00"))


def test_attendance_with_a_bad_status_names_the_record(api_as, charlie, schedule) -> None:
    services.schedule_add_participants(actor=charlie, schedule=schedule,
                                       person_ids=[f.PersonFactory().pk])
    session = schedule.sessions.order_by("start").first()
    row = BenefitDisbursement.objects.filter(session=session).get()
    assert_problem(api_as(charlie).post(f"sessions/{session.pk}/attendance", {
        "records": [{"disbursement_id": row.pk, "status": "here"}]}), 422, "records.0.status")
    assert_problem(api_as(charlie).post(f"sessions/{session.pk}/attendance", {
        "records": [{"disbursement_id": row.pk, "status": "completed", "quantity": 1.234}]}),
        422, "records.0.quantity")


def test_kiosk_search_shows_first_name_and_last_initial_only(api_as, kim, schedule) -> None:
    f.PersonFactory(first_name="Rosa", last_name="Parks", email="rosa@example.org")
    session = schedule.sessions.get(local_date=timezone.localdate())
    body = api_as(kim).get(f"sessions/{session.pk}/check-in/search", q="ros").json()
    assert body["items"] == [{"person_id": body["items"][0]["person_id"],
                              "display_name": "Rosa P."}]


def test_kiosk_search_needs_two_letters(api_as, kim, schedule) -> None:
    session = schedule.sessions.get(local_date=timezone.localdate())
    assert_problem(api_as(kim).get(f"sessions/{session.pk}/check-in/search", q="r"), 422, "q")


def test_kiosk_checks_in_to_todays_sessions_only(api_as, kim, schedule) -> None:
    person = f.PersonFactory()
    later = schedule.sessions.exclude(local_date=timezone.localdate()).first()
    assert_problem(api_as(kim).post(f"sessions/{later.pk}/check-in",
                                    {"person_id": person.pk}), 403)
    today = schedule.sessions.get(local_date=timezone.localdate())
    response = api_as(kim).post(f"sessions/{today.pk}/check-in", {"person_id": person.pk})
    assert response.status_code == 200
    assert response.json()["recipient_type"] == "walk_in"
    assert response.json()["status"] == "completed"


def test_kiosk_cannot_read_rosters_or_people(api_as, kim, schedule) -> None:
    assert_problem(api_as(kim).get(f"schedules/{schedule.pk}/participants"), 403)
    assert_problem(api_as(kim).get("enrollments"), 403)


def test_second_active_enrollment_is_409(api_as, charlie) -> None:
    enrollment = f.EnrollmentFactory()
    body = assert_problem(api_as(charlie).post("enrollments", {
        "program_id": enrollment.program_id, "person_id": enrollment.person_id}), 409)
    assert body["existing_enrollment_id"] == enrollment.pk


def test_enrollment_create_and_status_change_sets_dates(api_as, charlie) -> None:
    program, person = f.ProgramFactory(), f.PersonFactory()
    created = api_as(charlie).post("enrollments", {"program_id": program.pk,
                                                   "person_id": person.pk, "status": "applied"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["is_active"] is False and body["application_date"] is not None
    active = api_as(charlie).patch(f"enrollments/{body['id']}", {"status": "enrolled"}).json()
    assert active["is_active"] is True and active["start_date"] is not None
    done = api_as(charlie).patch(f"enrollments/{body['id']}", {"status": "completed"}).json()
    assert done["is_active"] is False and done["end_date"] is not None


def test_reactivating_when_another_is_active_is_409(api_as, charlie) -> None:
    active = f.EnrollmentFactory()
    old = f.EnrollmentFactory(program=active.program, person=active.person,
                              status=f.status("enrollment", "withdrawn"))
    assert_problem(api_as(charlie).patch(f"enrollments/{old.pk}", {"status": "in_progress"}),
                   409)


def test_enrollment_needs_exactly_one_enrollee(api_as, charlie) -> None:
    program = f.ProgramFactory()
    assert_problem(api_as(charlie).post("enrollments", {"program_id": program.pk}), 422)
    anonymous = api_as(charlie).post("enrollments", {"program_id": program.pk,
                                                     "is_anonymous": True})
    assert anonymous.status_code == 201 and anonymous.json()["person_id"] is None


def test_enrollment_list_filters_by_program_and_status(api_as, dana) -> None:
    first = f.EnrollmentFactory()
    f.EnrollmentFactory(program=first.program, status=f.status("enrollment", "withdrawn"))
    f.EnrollmentFactory()
    body = api_as(dana).get("enrollments", program_id=first.program_id, status="enrolled").json()
    assert [e["id"] for e in body["items"]] == [first.pk]


def test_cohort_members(api_as, charlie) -> None:
    cohort = f.CohortFactory(max_members=2)
    enrollments = f.EnrollmentFactory.create_batch(3, program=cohort.program)
    response = api_as(charlie).post(f"cohorts/{cohort.pk}/members",
                                    {"enrollment_ids": [e.pk for e in enrollments[:2]]})
    assert response.status_code == 201
    assert response.json()["member_enrollment_ids"] == sorted(e.pk for e in enrollments[:2])
    assert_problem(api_as(charlie).post(f"cohorts/{cohort.pk}/members",
                                        {"enrollment_ids": [enrollments[2].pk]}), 409)
    other = f.EnrollmentFactory()
    assert_problem(api_as(charlie).post(f"cohorts/{cohort.pk}/members",
                                        {"enrollment_ids": [other.pk]}), 422, "enrollment_ids")


@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_of_the_same_person_write_one_set(charlie) -> None:
    schedule = f.schedule_with_sessions(sessions=5)
    person = f.PersonFactory()
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def add() -> None:
        try:
            barrier.wait()
            services.schedule_add_participants(actor=charlie, schedule=schedule,
                                               person_ids=[person.pk])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=add) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert ProgramEnrollment.objects.filter(person=person).count() == 1
    assert BenefitDisbursement.objects.filter(person=person).count() == 5


# The kiosk's hot path (S7 in docs/performance.md), pinned exactly, authentication included:
# the token with its program scope, the session, then in one transaction the row (locked, with
# the delivered status, the benefit's limit and whether the person is in a household), its
# UPDATE and the audit event — SAVEPOINT and RELEASE stand for BEGIN and COMMIT inside the
# test's transaction. A service limit adds the count of earlier deliveries (and, on
# PostgreSQL, the lock of whom it counts: participation/services/limits.py); a person in a
# household, the snapshot's three reads (their memberships, the household's declared size,
# its members). A statement more is a regression to look at; one fewer, a pin to lower.
CHECK_IN_STATEMENTS = 7


@pytest.mark.parametrize(("limit", "household", "statements"), [
    (False, False, CHECK_IN_STATEMENTS),
    (True, False, CHECK_IN_STATEMENTS + 1),
    (False, True, CHECK_IN_STATEMENTS + 3),
    (True, True, CHECK_IN_STATEMENTS + 4),
])
def test_a_check_in_on_the_roster_takes_a_pinned_number_of_statements(
        api_as, kim, charlie, schedule, django_assert_num_queries, limit: bool,
        household: bool, statements: int) -> None:
    from programdesk.core.models import AuditEvent

    if limit:
        benefit = schedule.benefit
        benefit.limit_max, benefit.limit_per, benefit.limit_scope = 1, "month", "household"
        benefit.save(update_fields=["limit_max", "limit_per", "limit_scope"])
        if connection.vendor == "postgresql":
            statements += 1  # the row of whom the limit counts, locked
    person = f.PersonFactory()
    if household:
        f.MembershipFactory(person=person, account=f.AccountFactory(declared_size=2),
                            relationship="head")
    today = schedule.sessions.get(local_date=timezone.localdate())
    services.session_add_participants(actor=charlie, session=today, person_ids=[person.pk])
    client = api_as(kim)
    client.get("me")  # the token's last_used_at is written (at most once a minute) here
    with django_assert_num_queries(statements):
        response = client.post(f"sessions/{today.pk}/check-in", {"person_id": person.pk})
    assert response.status_code == 200 and response.json()["status"] == "completed"
    assert response.json()["household_size"] == (3 if household else None)
    assert AuditEvent.objects.filter(action="session.check_in").count() == 1
