"""Staff saving at the same moment from several desks: requests sent at once to a live server
(its own threads, each with its own database connection) on SQLite and PostgreSQL. Nothing is
written twice, nothing is lost, nothing answers 500, SQLite never says "database is locked"."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils.timezone import localdate

from programdesk.core.services import token_create
from programdesk.participation.models import (
    BenefitAssignment,
    BenefitDisbursement,
    ProgramEnrollment,
    ScheduleAssignment,
)
from programdesk.people.models import Person
from tests import factories as f
from tests.security.test_idempotency import _at_once

pytestmark = pytest.mark.django_db(transaction=True)


def _send(url: str, token: str, method: str, body: Any) -> tuple[int, bytes]:
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(  # noqa: S310 — the test's own live server
        url, data=json.dumps(body).encode(), method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _tokens(*roles: str) -> list[str]:
    return [token_create(actor=None, user=f.UserFactory(username=f"{role}{i}", role=role,
                                                        password="!"))
            for i, role in enumerate(roles)]


def _all_ok(results: list[Any], *statuses: int) -> None:
    assert all(isinstance(r, tuple) for r in results), results
    assert {r[0] for r in results} <= set(statuses), [(r[0], r[1][:300]) for r in results]


def test_staff_adding_the_same_person_to_a_schedule_at_once(live_server: Any) -> None:
    schedule = f.schedule_with_sessions(sessions=5)
    person = f.PersonFactory()
    tokens = _tokens("staff", "staff", "manager", "admin")
    url = f"{live_server.url}/api/v1/schedules/{schedule.pk}/participants"
    body = {"person_ids": [person.pk]}
    results = _at_once(len(tokens), lambda: _send(url, tokens.pop(), "POST", body))
    _all_ok(results, 201)
    created = [__import__("json").loads(r[1])["disbursements_created"] for r in results]
    assert sum(created) == 5  # one request made them, the others found them
    assert ProgramEnrollment.objects.filter(person=person).count() == 1
    assert BenefitAssignment.objects.filter(person=person).count() == 1
    assert ScheduleAssignment.objects.filter(assignment__person=person).count() == 1
    assert BenefitDisbursement.objects.filter(person=person).count() == 5


def test_checking_in_the_same_person_twice_at_once(live_server: Any) -> None:
    schedule = f.schedule_with_sessions(sessions=1)
    session = schedule.sessions.get()
    on_roster = f.DisbursementFactory(
        assignment=f.AssignmentFactory(benefit=schedule.benefit,
                                       enrollment__program=schedule.benefit.program),
        session=session, status=f.status("disbursement", "enrolled"))
    walk_in = f.PersonFactory()
    tokens = _tokens("kiosk", "staff", "kiosk", "staff")
    url = f"{live_server.url}/api/v1/sessions/{session.pk}/check-in"
    for person_id in (on_roster.person_id, walk_in.pk):
        round_tokens = list(tokens)
        results = _at_once(4, lambda pid=person_id, t=round_tokens: _send(
            url, t.pop(), "POST", {"person_id": pid}))
        _all_ok(results, 200)
        rows = BenefitDisbursement.objects.filter(session=session, person_id=person_id)
        assert rows.count() == 1
        assert rows.get().status.code == "completed"
    assert ProgramEnrollment.objects.filter(person=walk_in).count() == 1
    assert BenefitDisbursement.objects.get(person=walk_in).recipient_type == "walk_in"


def test_two_bulk_disbursements_with_overlapping_recipients(live_server: Any) -> None:
    benefit = f.BenefitFactory()
    people = [f.PersonFactory() for _ in range(6)]
    ids = [p.pk for p in people]
    tokens = _tokens("manager", "admin")
    url = f"{live_server.url}/api/v1/benefits/{benefit.pk}/bulk-disbursements"
    bodies = [{"mode": "walk_in", "quantity": 1, "disbursed_on": "2026-03-04",
               "person_ids": part} for part in (ids[:4], ids[2:])]
    results = _at_once(2, lambda: _send(url, tokens.pop(), "POST", bodies.pop()))
    _all_ok(results, 201)
    for person in people:
        assert ProgramEnrollment.objects.filter(person=person, is_active=True).count() == 1
        assert BenefitAssignment.objects.filter(person=person, benefit=benefit).count() == 1
    counts = {p.pk: BenefitDisbursement.objects.filter(person=p).count() for p in people}
    assert counts == {pid: 2 if pid in ids[2:4] else 1 for pid in ids}  # none lost
    assert BenefitDisbursement.objects.filter(benefit=benefit).count() == 8


def test_anonymous_bulk_disbursements_at_once_share_one_anonymous_enrollment(
        live_server: Any) -> None:
    benefit = f.BenefitFactory()
    tokens = _tokens("manager", "admin", "manager")
    url = f"{live_server.url}/api/v1/benefits/{benefit.pk}/bulk-disbursements"
    body = {"mode": "anonymous", "quantity": 40, "disbursed_on": "2026-03-04",
            "number_of_recipients": 40}
    results = _at_once(3, lambda: _send(url, tokens.pop(), "POST", body))
    _all_ok(results, 201)
    assert ProgramEnrollment.objects.filter(program=benefit.program, is_anonymous=True,
                                            is_active=True).count() == 1
    assert BenefitDisbursement.objects.filter(benefit=benefit).count() == 3


def test_ten_concurrent_writers_all_complete(live_server: Any) -> None:
    """Ten desks writing different things at once: every write lands (on SQLite the writers
    queue on the busy timeout; none fails with "database is locked")."""
    schedule = f.schedule_with_sessions(sessions=3, first=localdate() + dt.timedelta(days=1))
    benefit = schedule.benefit
    tokens = _tokens(*["manager"] * 10)
    base = f"{live_server.url}/api/v1"
    jobs = []
    for n in range(10):
        person = f.PersonFactory(first_name=f"Writer{n}")
        jobs.append([
            ("POST", f"{base}/people", {"first_name": f"New{n}", "last_name": "Desk"}),
            ("POST", f"{base}/schedules/{schedule.pk}/participants", {"person_ids": [person.pk]}),
            ("POST", f"{base}/benefits/{benefit.pk}/bulk-disbursements", {
                "mode": "walk_in", "quantity": 1, "disbursed_on": "2026-03-04",
                "person_ids": [person.pk]}),
            ("PATCH", f"{base}/people/{person.pk}", {"phone": f"555-01{n:02}"}),
        ])

    def desk() -> list[tuple[int, bytes]]:
        token, steps = tokens.pop(), jobs.pop()
        return [_send(url, token, method, body) for method, url, body in steps]

    results = _at_once(10, desk)
    assert all(isinstance(r, list) for r in results), results
    answers = [a for r in results for a in r]
    assert all(status < 300 for status, _ in answers), [a for a in answers if a[0] >= 300]
    assert not any(b"locked" in body for _, body in answers)
    assert Person.objects.filter(last_name="Desk").count() == 10
    assert ScheduleAssignment.objects.filter(schedule=schedule).count() == 10
    assert BenefitDisbursement.objects.filter(benefit=benefit, session__isnull=False,
                                              ).count() == 30
    assert BenefitDisbursement.objects.filter(benefit=benefit, session__isnull=True,
                                              quantity=Decimal(1)).count() == 10
    assert Person.objects.filter(phone__startswith="555-01").count() == 10
