"""Every door that records a delivery holds it to the benefit's service limit: the benefit's
own API, ad hoc, bulk, check-in (staff and kiosk), the attendance sheet, a correction."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from programdesk.core.models import AuditEvent
from programdesk.participation import services
from programdesk.participation.models import BenefitDisbursement
from programdesk.participation.services import AttendanceMark, ServiceLimitExceeded
from programdesk.programs.models import Benefit
from tests import factories as f
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def limited(scope: str = "household", per: str = "month", **kwargs: Any) -> Benefit:
    return f.BenefitFactory(limit_max=1, limit_per=per, limit_scope=scope, **kwargs)


@pytest.fixture
def harris() -> tuple[Any, Any, Any]:
    household = f.AccountFactory(name="Harris", declared_size=0)
    ana = f.MembershipFactory(account=household, relationship="head",
                              person=f.PersonFactory(first_name="Ana", last_name="Harris")).person
    ben = f.MembershipFactory(account=household, relationship="child",
                              person=f.PersonFactory(first_name="Ben", last_name="Harris")).person
    return household, ana, ben


@pytest.fixture
def session() -> Any:
    """Today's session of a benefit limited to 1 per household per month, at Site B."""
    benefit = limited()
    schedule = f.ScheduleFactory(benefit=benefit, first_date=TODAY)
    return f.SessionFactory(schedule=schedule, local_date=TODAY, location="Site B")


def _served_message(day: dt.date, where: str) -> str:
    return f"already served this month on {day.isoformat()} at {where}"


# --- the benefit's limit in the API -----------------------------------------------------------

def test_a_benefit_takes_a_limit_and_drops_it(api: Any) -> None:
    program = f.ProgramFactory()
    limit = {"max": 1, "per": "days", "days": 30, "scope": "household"}
    response = api.post("benefits", {"program_id": program.pk, "name": "Emergency kit",
                                     "unit": "session", "limit": limit})
    assert response.status_code == 201, response.content
    assert response.json()["limit"] == limit
    pk = response.json()["id"]
    assert api.get(f"benefits/{pk}").json()["limit"] == limit
    response = api.patch(f"benefits/{pk}", {"limit": {"max": 2, "per": "week",
                                                       "scope": "person"}})
    assert response.json()["limit"] == {"max": 2, "per": "week", "days": None, "scope": "person"}
    assert api.patch(f"benefits/{pk}", {"name": "Kit"}).json()["limit"]["max"] == 2
    assert api.patch(f"benefits/{pk}", {"limit": None}).json()["limit"] is None
    assert Benefit.objects.get(pk=pk).limit_per is None
    assert_problem(api.patch(f"benefits/{pk}", {"limit": {"max": 1, "per": "days",
                                                          "scope": "person"}}),
                   422, "limit.days")
    assert_problem(api.patch(f"benefits/{pk}", {"limit": {"max": 0, "per": "week",
                                                          "scope": "person"}}), 422)


def test_the_database_refuses_an_inconsistent_limit() -> None:
    from django.db import IntegrityError, transaction

    benefit = f.BenefitFactory()
    for columns in ({"limit_max": 1},
                    {"limit_max": 1, "limit_per": "days", "limit_scope": "person"},
                    {"limit_max": 1, "limit_per": "week", "limit_days": 3,
                     "limit_scope": "person"}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Benefit.objects.filter(pk=benefit.pk).update(**columns)


# --- ad hoc and bulk ----------------------------------------------------------------------------

def test_ad_hoc_refused_409_then_a_manager_overrides_and_staff_may_not(
        api_as: Any, bob: Any, charlie: Any, harris: Any) -> None:
    _, ana, ben = harris
    benefit = limited()
    body = {"person_id": ana.pk, "disbursed_on": TODAY.isoformat(),
            "items": [{"benefit_id": benefit.pk, "quantity": 1}]}
    assert api_as(charlie).post("disbursements", body).status_code == 201
    body["person_id"] = ben.pk
    problem = assert_problem(api_as(charlie).post("disbursements", body), 409,
                             "items.0.benefit_id")
    assert _served_message(TODAY, benefit.program.name) in problem["errors"][0]["message"]
    assert_problem(api_as(charlie).post("disbursements", {**body, "override_reason": "x"}), 403)
    response = api_as(bob).post("disbursements", {**body, "override_reason": "Lost the kit"})
    assert response.status_code == 201, response.content
    assert AuditEvent.objects.filter(action="disbursement.create_ad_hoc",
                                     reason="Lost the kit").count() == 1


def test_bulk_over_limit_refuse_or_skip(api_as: Any, charlie: Any, harris: Any) -> None:
    _, ana, ben = harris
    other = f.PersonFactory()
    benefit = limited()
    body = {"mode": "walk_in", "quantity": 1, "disbursed_on": TODAY.isoformat(),
            "person_ids": [ana.pk]}
    url = f"benefits/{benefit.pk}/bulk-disbursements"
    assert api_as(charlie).post(url, body).status_code == 201
    body["person_ids"] = [ben.pk, other.pk]
    assert_problem(api_as(charlie).post(url, body), 409, "person_ids")
    response = api_as(charlie).post(url, {**body, "over_limit": "skip"})
    assert response.status_code == 201, response.content
    assert response.json()["disbursements_created"] == 1
    assert response.json()["skipped"] == [{"person_id": ben.pk, "account_id": None,
                                           "last_served_on": TODAY.isoformat()}]
    assert_problem(api_as(charlie).post(url, {**body, "over_limit": "never"}), 422)


# --- check-in -----------------------------------------------------------------------------------

def test_check_in_refused_names_when_and_where_a_manager_overrides(
        api_as: Any, bob: Any, charlie: Any, harris: Any, session: Any) -> None:
    _, ana, ben = harris
    services.session_add_participants(actor=charlie, session=session,
                                      person_ids=[ana.pk, ben.pk])
    url = f"sessions/{session.pk}/check-in"
    assert api_as(charlie).post(url, {"person_id": ana.pk}).status_code == 200
    problem = assert_problem(api_as(charlie).post(url, {"person_id": ben.pk}), 409, "person_id")
    assert problem["errors"][0]["message"] == (
        f"Harris, Ben: {_served_message(TODAY, 'Site B')} (limit: 1 per household per month).")
    assert BenefitDisbursement.objects.get(person=ben).status.code != "completed"
    assert_problem(api_as(charlie).post(url, {"person_id": ben.pk, "override_reason": "x"}),
                   403)
    response = api_as(bob).post(url, {"person_id": ben.pk, "override_reason": "Second kit: "
                                                                             "new baby"})
    assert response.status_code == 200 and response.json()["status"] == "completed"
    event = AuditEvent.objects.filter(action="session.check_in").latest("id")
    assert event.reason == "Second kit: new baby"
    assert event.before["limit_overridden"][0]["person_id"] == ben.pk


def test_the_kiosk_only_says_see_a_staff_member(api_as: Any, charlie: Any, kim: Any,
                                                 harris: Any, session: Any) -> None:
    _, ana, ben = harris
    services.session_add_participants(actor=charlie, session=session, person_ids=[ana.pk])
    services.check_in(actor=charlie, session=session, person_id=ana.pk)
    response = api_as(kim).post(f"sessions/{session.pk}/check-in", {"person_id": ben.pk})
    problem = assert_problem(response, 409)
    assert problem["detail"] == "Please see a staff member."
    assert problem["errors"] == [{"field": "person_id", "message": "Please see a staff member."}]
    text = response.content.decode()
    assert "Harris" not in text and "Site B" not in text and TODAY.isoformat() not in text
    # ...and a walk-in (not on the roster) is refused the same way, nothing written.
    assert not BenefitDisbursement.objects.filter(person=ben).exists()


def test_a_walk_in_check_in_is_held_to_the_limit(charlie: Any, harris: Any,
                                                 session: Any) -> None:
    _, ana, ben = harris
    services.check_in(actor=charlie, session=session, person_id=ana.pk)  # walk-in
    with pytest.raises(ServiceLimitExceeded):
        services.check_in(actor=charlie, session=session, person_id=ben.pk)
    assert not BenefitDisbursement.objects.filter(person=ben).exists()
    services.check_in(actor=charlie, session=session, person_id=ana.pk)  # twice is once


# --- the attendance sheet, a correction -----------------------------------------------------------

def test_the_sheet_refuses_marks_past_the_limit_then_a_manager_overrides(
        api_as: Any, bob: Any, charlie: Any, harris: Any, session: Any) -> None:
    _, ana, ben = harris
    services.session_add_participants(actor=charlie, session=session,
                                      person_ids=[ana.pk, ben.pk])
    rows = {d.person_id: d.pk for d in BenefitDisbursement.objects.filter(session=session)}
    body = {"records": [{"disbursement_id": rows[ana.pk], "status": "completed"},
                        {"disbursement_id": rows[ben.pk], "status": "completed"}]}
    url = f"sessions/{session.pk}/attendance"
    problem = assert_problem(api_as(charlie).post(url, body), 409, "records.1.status")
    assert _served_message(TODAY, "Site B") in problem["errors"][0]["message"]
    assert not BenefitDisbursement.objects.filter(session=session,
                                                  status__code="completed").exists()
    assert_problem(api_as(charlie).post(url, {**body, "override_reason": "x"}), 403)
    response = api_as(bob).post(url, {**body, "override_reason": "Twins, two kits"})
    assert response.status_code == 200, response.content
    assert BenefitDisbursement.objects.filter(session=session,
                                              status__code="completed").count() == 2
    assert AuditEvent.objects.get(action="attendance.record").reason == "Twins, two kits"


def test_a_correction_into_delivered_is_held_to_the_limit(api_as: Any, bob: Any,
                                                          harris: Any) -> None:
    _, ana, ben = harris
    benefit = limited()
    services.disbursements_create_ad_hoc(
        actor=bob, person=ana, disbursed_on=TODAY,
        lines=[services.DisbursementLine(benefit_id=benefit.pk, quantity=Decimal(1))])
    absent = services.disbursements_create_ad_hoc(
        actor=bob, person=ben, disbursed_on=TODAY, override_reason="setup",
        lines=[services.DisbursementLine(benefit_id=benefit.pk, quantity=Decimal(1),
                                         status="absent")]).disbursements[0]
    url = f"disbursements/{absent.pk}"
    assert_problem(api_as(bob).patch(url, {"status": "completed"}), 409, "status")
    assert api_as(bob).patch(url, {"quantity": 2}).status_code == 200  # not a delivery
    response = api_as(bob).patch(url, {"status": "completed", "override_reason": "Recount"})
    assert response.status_code == 200 and response.json()["status"] == "completed"
    assert AuditEvent.objects.filter(action="disbursement.update").latest("id").reason == \
        "Recount"


# --- statements: a limit costs a few, no limit none (the pins in test_api/test_attendance) ------

def test_a_limited_check_in_adds_a_fixed_few_statements(charlie: Any, harris: Any,
                                                        session: Any) -> None:
    """The same roster check-in on a benefit without a limit and on one with: the limit adds
    the count (1) and, on PostgreSQL, the household's lock (1) — nothing else (the limit is
    read in the statement that reads the row; the household snapshot is taken either way)."""
    _, ana, _ = harris
    services.session_add_participants(actor=charlie, session=session, person_ids=[ana.pk])
    unlimited = f.SessionFactory(schedule=f.ScheduleFactory(first_date=TODAY), local_date=TODAY)
    services.session_add_participants(actor=charlie, session=unlimited, person_ids=[ana.pk])
    counts = []
    for s in (unlimited, session):
        with CaptureQueriesContext(connection) as captured:
            services.check_in(actor=charlie, session=s, person_id=ana.pk)
        counts.append(len(captured.captured_queries))
    lock = 1 if connection.vendor == "postgresql" else 0
    assert counts[1] - counts[0] == 1 + lock, counts


def test_a_limited_200_person_sheet_adds_a_fixed_few_statements(charlie: Any,
                                                                session: Any) -> None:
    people = [f.MembershipFactory().person for _ in range(200)]
    services.session_add_participants(actor=charlie, session=session,
                                      person_ids=[p.pk for p in people])
    rows = list(BenefitDisbursement.objects.filter(session=session))
    with CaptureQueriesContext(connection) as captured:
        services.attendance_record(actor=charlie, session=session,
                                   marks=[AttendanceMark(r.pk, "completed") for r in rows])
    # On PostgreSQL the households' rows are locked (everyone here is in one: no person lock).
    lock = 1 if connection.vendor == "postgresql" else 0
    # The unlimited sheet's 6 (test_attendance pins them; the household snapshot is one
    # statement however many are in households), plus whose rows they are (1) and the count
    # (1) — and the locks on PostgreSQL.
    assert len(captured.captured_queries) == 6 + 2 + lock, [
        q["sql"][:80] for q in captured.captured_queries]


# --- imports of past disbursements ----------------------------------------------------------------

def test_an_import_reports_rows_past_the_limit_by_row_number(bob: Any, harris: Any) -> None:
    from programdesk.imports.results import ImportErrors
    from tests.imports.util import check, commit, errors

    _, ana, ben = harris
    f.BenefitFactory(name="Emergency kit", limit_max=1, limit_per="month",
                     limit_scope="household")
    services.disbursements_create_ad_hoc(
        actor=bob, person=ana, disbursed_on=dt.date(2026, 3, 3),
        lines=[services.DisbursementLine(benefit_id=Benefit.objects.get().pk,
                                         quantity=Decimal(1))])
    text = ("Person id,Benefit,Date\n"
            f"{ben.pk},Emergency kit,2026-03-20\n"  # row 2: Ana was served on the 3rd
            f"{ben.pk},Emergency kit,2026-04-02\n"  # row 3: a new month
            f"{ana.pk},Emergency kit,2026-04-30\n")  # row 4: row 3 served the household
    found = errors(check("disbursements", text, bob))
    assert [(row, column) for row, column, _ in found] == [(2, ""), (4, "")]
    assert "already served this month on 2026-03-03" in found[0][2]
    assert "on 2026-04-02 at (this same request)" in found[1][2]
    with pytest.raises(ImportErrors):
        commit("disbursements", text, bob)
    assert BenefitDisbursement.objects.count() == 1
    # The rows within the limit import.
    commit("disbursements", "Person id,Benefit,Date\n"
                            f"{ben.pk},Emergency kit,2026-04-02\n", bob)
    assert BenefitDisbursement.objects.count() == 2
