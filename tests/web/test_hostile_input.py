"""Every page answers bad input with a 4xx, a redirect or a form error — never a 500.

The walk covers every URL pattern of the web app (``page_routes()``: the API has its own
fuzzing, the Django admin its own tests), with GET and POST, as each role:

- hostile path ids (0, -1, a 25-digit number, text, the other program's object);
- hostile values (huge integers, text, negative numbers, NUL bytes, 10 kB strings, empty) in
  every query parameter and form field the view reads — all at once, and, for the roles that
  reach the most code, one field at a time over a valid form;
- a valid form naming the other program's objects.

Which parameters a view reads is not listed by hand: the walk records every key read from
``request.GET`` / ``request.POST`` while it sends valid requests (``_recording_reads``), then
sends hostile values in exactly those. ``FORMS`` gives valid forms (and the ``action`` /
``mode`` a view branches on) so that each field is reached, ``QUERIES`` valid query strings.
Path ids come from the authorization matrix's tables (``tests/security/matrix.py``): a route
whose ids cannot be filled fails ``test_every_page_route_has_path_id_samples``.

Run alone: ``pytest tests/web/test_hostile_input.py``; ``-s`` prints how many requests each
role sent and which pages took the most.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.signals import got_request_exception
from django.db import transaction
from django.http import HttpResponse, QueryDict
from django.test import Client
from django.utils import timezone
from django.utils.datastructures import MultiValueDict

from programdesk.core.models import User
from programdesk.core.params import parse_id, parse_int
from programdesk.core.roles import Cap
from tests.security import matrix
from tests.security.routes import page_routes
from tests.security.world import Side, World, build_world

pytestmark = pytest.mark.django_db

HUGE = "9" * 25
TEN_KB = "x" * 10_000
# Sent in every parameter at once, and (the first three) one parameter at a time.
VALUES = [HUGE, "-1", "a\x00b", TEN_KB, "", "²", "1e999"]
WORST = [HUGE, "a\x00b"]  # for the roles walked lightly
ONE_BY_ONE = [HUGE, "a\x00b"]
PATH_VALUES = ["0", "-1", HUGE]
KEY = re.compile(r"[\w.\-]{1,100}")  # a form field's name
NEVER_SENT = {"csrfmiddlewaretoken"}
# A view branches on these: a variant keeps its own value while the rest is hostile.
PINNED = {"action", "mode"}

Form = dict[str, Any]
Seed = Callable[[Side, World], Form]


def _today() -> str:
    return timezone.localdate().isoformat()


def _person_form(s: Side, w: World) -> Form:
    return {"first_name": "Ana", "last_name": "Garcia", "birth_date": "1990-01-02",
            "email": "ana@example.org", "phone": "555-0100", "postal_code": "02139",
            "account": s.account.pk, "household_size": "2", "annual_income": "12000"}


def _rule_form(s: Side, w: World) -> Form:
    return {"first_date": "2030-03-04", "start_time": "18:00", "end_time": "20:00",
            "frequency": "weekly", "interval": "1", "weekdays": "MO", "monthly_mode": "day",
            "monthly_day": "4", "monthly_ordinal": "1", "monthly_weekday": "MO",
            "ends": "count", "count": "3", "until": "2030-06-01"}


def _log_form(s: Side, w: World) -> Form:
    return {"disbursed_on": _today(), "benefit_0": s.ad_hoc.benefit_id, "quantity_0": "1",
            "unit_0": "", "status_0": "completed", "extra_0_note": "x", "submission": "t1"}


def _bulk(mode: str) -> Seed:
    return lambda s, w: {
        "mode": mode, "quantity": "1", "unit": "", "disbursed_on": _today(),
        "status": "completed", "number_of_recipients": "2", "person_ids": s.person.pk,
        "enrollment_ids": s.enrollment.pk, "cohort": s.cohort.pk, "q": "Pat",
        "account": "House", "postal_code": "0", "served_before": "1",
        "enrollment_status": "active", "add_to_upcoming_session": "1"}


def _case_form(s: Side, w: World) -> Form:
    return {"subject": "Rent", "status": "open", "worker": w.users["staff"].pk,
            "programs": s.program.pk, "notes": "Called"}


def _field_form(s: Side, w: World) -> Form:
    return {"target": "person", "key": "shoe_size", "label": "Shoe size",
            "field_type": "number", "scope": f"p:{s.program.pk}", "required": "on",
            "max_length": "", "choices": "", "help_text": "h", "order": "1", "is_active": "on"}


def _eligibility_rule_form(s: Side, w: World) -> Form:
    return {"scope": f"p:{s.program.pk}", "criterion": "age", "mode": "warn", "age_min": "1",
            "age_max": "99", "codes": "02139", "prefixes": "021", "max_percent": "200",
            "document_type": "address", "within_days": "30", "is_active": "on"}


def _attendance(action: str) -> Seed:
    return lambda s, w: {"action": action, f"status_{s.disbursement.pk}": "completed",
                         f"quantity_{s.disbursement.pk}": "1", "person_ids": s.duplicate.pk}


# Valid forms of the pages that take a POST, each variant a branch of the view.
FORMS: dict[str, list[Seed]] = {
    "sessions/<int:pk>/": [_attendance("save"), _attendance("complete"),
                           _attendance("mark_all")],
    "sessions/<int:pk>/walk-in/": [
        lambda s, w: {"person_id": s.duplicate.pk},
        lambda s, w: {"action": "new", "first_name": "Ana", "last_name": "Garcia",
                      "postal_code": "02139"},
        lambda s, w: {"action": "new_anyway", "first_name": "Ana", "last_name": "Garcia",
                      "postal_code": "02139", "override_eligibility": "1",
                      "override_reason": "ok"}],
    "schedules/<int:pk>/participants/": [
        lambda s, w: {"action": "remove", "assignment_ids": s.assignment.pk},
        lambda s, w: {"person_ids": s.duplicate.pk, "account_ids": s.account.pk,
                      "enrollment_ids": s.enrollment.pk, "override_eligibility": "1",
                      "override_reason": "ok"}],
    "kiosk/<int:pk>/": [
        lambda s, w: {"action": "register", "first_name": "Ana", "last_name": "Garcia",
                      "postal_code": "02139"},
        lambda s, w: {"action": "check_in", "person_id": s.person.pk}],
    "programs/<int:pk>/enrollments/": [
        lambda s, w: {"cohort_id": s.cohort.pk, "enrollment_ids": s.enrollment.pk,
                      "status": "active", "cohort": s.cohort.pk, "q": "Pat"}],
    "enrollments/<int:pk>/": [
        lambda s, w: {"status": s.enrollment.status.code, "application_date": "2026-01-02",
                      "start_date": "2026-01-03", "end_date": ""}],
    "cohorts/<int:pk>/": [lambda s, w: {"action": "remove", "enrollment_ids": s.enrollment.pk},
                          lambda s, w: {"action": "add", "enrollment_ids": s.enrollment.pk}],
    "benefits/<int:benefit_id>/schedules/new/": [
        lambda s, w: {**_rule_form(s, w), "name": "Evenings", "timezone": "America/New_York",
                      "location": "Hall", "capacity": "9", "default_quantity": "1",
                      "action": "preview", "shown": "2030-03-11", "keep": "2030-03-11"}],
    "schedules/<int:pk>/sessions/add/": [lambda s, w: {"count": "1"}],
    "schedules/<int:pk>/sessions/delete-future/": [lambda s, w: {"after": "2099-01-01"}],
    "schedules/<int:pk>/recurrence/": [
        lambda s, w: {**_rule_form(s, w), "action": "preview", "shown": "2030-03-11"}],
    "sessions/<int:pk>/edit/": [
        lambda s, w: {"status": "scheduled", "location": "Hall", "date": _today(),
                      "start": "10:00", "end": "11:00"}],
    "people/<int:pk>/log-benefits/": [_log_form,
                                      lambda s, w: {**_log_form(s, w), "action": "refresh"}],
    "accounts/<int:pk>/log-benefits/": [_log_form],
    "cases/<int:pk>/log-benefits/": [_log_form],
    "benefits/<int:pk>/bulk/": [_bulk("walk_in"), _bulk("anonymous"), _bulk("enrollment")],
    "disbursements/<int:pk>/": [lambda s, w: {"status": "completed", "quantity": "2"},
                                lambda s, w: {"action": "delete", "reason": "typo"}],
    "people/new/": [_person_form, lambda s, w: {**_person_form(s, w), "create_anyway": "1"}],
    "people/<int:pk>/edit/": [_person_form],
    "people/<int:pk>/merge/": [lambda s, w: {"duplicate": s.duplicate.pk}],
    "people/<int:pk>/documents/": [
        lambda s, w: {"document_type": "address", "verified_on": _today(), "note": "seen"}],
    "accounts/new/": [lambda s, w: {"name": "House", "kind": "household", "email": "",
                                    "phone": "1", "postal_code": "0"}],
    "accounts/<int:pk>/edit/": [lambda s, w: {"name": "House", "kind": "household"}],
    "accounts/<int:pk>/members/": [lambda s, w: {"person": s.duplicate.pk},
                                   lambda s, w: {"person": s.person.pk, "remove": "1"},
                                   lambda s, w: {"person": s.duplicate.pk,
                                                 "relationship": "child", "on": _today()}],
    "accounts/<int:pk>/members/end/": [lambda s, w: {"person": s.person.pk,
                                                     "end_date": _today()}],
    "accounts/<int:pk>/members/move/": [lambda s, w: {"person": s.duplicate.pk,
                                                      "relationship": "head", "on": _today()}],
    "cases/new/": [lambda s, w: {"person": s.person.pk, **_case_form(s, w)},
                   lambda s, w: {"account": s.account.pk, **_case_form(s, w)}],
    "cases/<int:pk>/edit/": [_case_form],
    "programs/new/": [lambda s, w: {"name": "New", "status": "active", "start_date": "2026-01-01",
                                    "end_date": "2026-12-31", "summary": "s"}],
    "programs/<int:pk>/edit/": [lambda s, w: {"name": "New", "status": "active"}],
    "programs/<int:pk>/benefits/new/": [
        lambda s, w: {"name": "Bus pass", "benefit_type": "", "unit": "", "is_active": "on",
                      "default_quantity": "1", "description": "d"}],
    "benefits/<int:pk>/edit/": [lambda s, w: {"name": "Bus pass", "is_active": "on"}],
    "programs/<int:pk>/cohorts/new/": [
        lambda s, w: {"name": "Fall", "start_date": "2026-09-01", "end_date": "2026-12-01",
                      "max_members": "9"}],
    "cohorts/<int:pk>/edit/": [lambda s, w: {"name": "Fall", "max_members": "9"}],
    "settings/status-values/": [
        lambda s, w: {"kind": "disbursement", "code": "late", "label": "Late",
                      "bucket": "delivered"}],
    "settings/status-values/<int:pk>/": [
        lambda s, w: {"action": "save", "label": "Excused", "order": "3", "is_active": "on"},
        lambda s, w: {"action": "default"}, lambda s, w: {"action": "delete"}],
    "settings/custom-fields/new/": [_field_form],
    "settings/custom-fields/<int:pk>/edit/": [_field_form],
    "settings/eligibility-rules/new/": [_eligibility_rule_form],
    "settings/eligibility-rules/<int:pk>/edit/": [_eligibility_rule_form],
    "settings/income-guidelines/": [
        lambda s, w: {"rows": "2", "size_0": "1", "income_0": "15000", "size_1": "2",
                      "income_1": "$20,000"}],
    "settings/units/": [lambda s, w: {"code": "crate", "name": "Crate"}],
    "settings/benefit-types/": [lambda s, w: {"name": "Groceries", "kind": "goods",
                                              "unit": "item"}],
    "imports/": [lambda s, w: {"kind": "people"}],
    "imports/<int:pk>/": [lambda s, w: {"action": "check", "map_0": "first_name",
                                        "map_1": "last_name"},
                          lambda s, w: {"action": "commit"}],
    "login/": [lambda s, w: {"username": "nobody", "password": "wrong", "next": "/people/"}],
    "logout/": [lambda s, w: {"next": "/"}],
}
# Query strings of the pages that read one (GET).
QUERIES: dict[str, list[Seed]] = {
    "schedules/": [lambda s, w: {"program": s.program.pk}],
    "sessions/": [lambda s, w: {"program": s.program.pk, "week": _today()}],
    "sessions/<int:pk>/": [lambda s, w: {"q": "Pat"}],
    "sessions/<int:pk>/walk-in/": [lambda s, w: {"q": "Pat"}],
    "schedules/<int:pk>/participants/": [lambda s, w: {"q": "Pat"}],
    "schedules/<int:pk>/participants/search": [lambda s, w: {"q": "Pat"}],
    "kiosk/": [lambda s, w: {"location": "Hall"}],
    "kiosk/<int:pk>/": [lambda s, w: {"q": "Pat"}],
    "kiosk/<int:pk>/search": [lambda s, w: {"q": "Pat"}],
    "programs/<int:pk>/enrollments/": [
        lambda s, w: {"status": "active", "cohort": s.cohort.pk, "q": "Pat"}],
    "disbursements/line-fields": [lambda s, w: {"line": "0", "benefit_0": s.ad_hoc.benefit_id}],
    "people/<int:pk>/log-benefits/": [lambda s, w: {"lines": "4"}],
    "programs/<int:pk>/bulk/": [lambda s, w: {"benefit": s.benefit.pk}],
    "benefits/<int:pk>/bulk/": [_bulk("walk_in"), _bulk("enrollment")],
    "disbursements/": [
        lambda s, w: {"benefit": s.benefit.pk, "program": s.program.pk, "person": s.person.pk,
                      "recipient_type": "walk_in", "status": "completed", "from": "2026-01-01",
                      "to": "2030-01-01", "q": "Pat", "offset": "0"}],
    "people/": [lambda s, w: {"q": "Pat", "page": "2"}],
    "people/new/": [lambda s, w: {"account": s.account.pk, "first_name": "Ana",
                                  "last_name": "Garcia"}],
    "people/<int:pk>/": [lambda s, w: {"check": f"p:{s.program.pk}", "on": _today()},
                         lambda s, w: {"check": f"b:{s.benefit.pk}", "on": _today()}],
    "people/<int:pk>/merge/": [lambda s, w: {"duplicate": s.duplicate.pk}],
    "accounts/": [lambda s, w: {"q": "House", "kind": "household", "page": "1"}],
    "accounts/<int:pk>/": [lambda s, w: {"member_q": "Pat"}],
    "cases/": [lambda s, w: {"status": "closed", "mine": "1", "q": "Rent", "page": "1"}],
    "cases/new/": [lambda s, w: {"person": s.person.pk}, lambda s, w: {"account": s.account.pk}],
    "programs/": [lambda s, w: {"status": "active"}],
    "settings/status-values/": [lambda s, w: {"kind": "enrollment"}],
    "settings/custom-fields/new/": [lambda s, w: {"scope": f"p:{s.program.pk}",
                                                  "target": "disbursement"}],
    "settings/eligibility-rules/new/": [lambda s, w: {"scope": f"b:{s.benefit.pk}"}],
    "imports/": [lambda s, w: {"kind": "enrollments"}],
    "login/": [lambda s, w: {"next": "/people/"}],
}
REPORT_QUERY: Seed = lambda s, w: {  # noqa: E731
    "program_id": s.program.pk, "benefit_id": s.benefit.pk, "cohort_id": s.cohort.pk,
    "schedule_id": s.schedule.pk, "from": "2026-01-01", "to": "2030-01-01",
    "group_by": "session", "min_times": "2", "min_absences": "2", "days": "30"}
LIST_QUERY: Seed = lambda s, w: {  # noqa: E731
    **REPORT_QUERY(s, w), "person": s.person.pk, "account": s.account.pk,
    "session": s.session.pk, "status": "completed", "bucket": "delivered",
    "recipient_type": "walk_in", "q": "Pat"}


def _seeds(route: str, method: str) -> list[Seed]:
    if method == "POST":
        return FORMS.get(route, [])
    if route.startswith("reports/"):
        return [REPORT_QUERY]
    if route.startswith("exports/"):
        return [LIST_QUERY]
    return QUERIES.get(route, [lambda s, w: {}])


# --- the findings, one by one ------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("42", 42), (" 7 ", 7), (42, 42), (str(2**63 - 1), 2**63 - 1), (str(2**63), None),
    (HUGE, None), ("0", None), ("-1", None), ("", None), (None, None), ("abc", None),
    ("1.5", None), ("²", None), ("1_000", None), ("+3", None), (True, None), ("a\x00b", None)])
def test_parse_id_takes_only_ids_the_database_can_hold(raw: Any, expected: int | None) -> None:
    assert parse_id(raw) == expected


def test_parse_int_keeps_counts_in_range() -> None:
    assert parse_int("7", default=3, minimum=1, maximum=50) == 7
    assert parse_int(HUGE, default=3, minimum=1, maximum=50) == 3  # not a number we take
    assert parse_int("999", default=3, minimum=1, maximum=50) == 50
    assert parse_int("-4", default=3, minimum=0, maximum=50) == 0
    assert parse_int("²", default=3, minimum=1, maximum=50) == 3


def test_kiosk_check_in_with_a_bad_person_id_asks_again(client: Client, kim: User) -> None:
    from programdesk.participation.models import BenefitDisbursement
    from programdesk.people.services import person_merge
    from tests import factories as f

    schedule = f.schedule_with_sessions(sessions=1)
    session = schedule.sessions.get()
    survivor, merged = f.PersonFactory(), f.PersonFactory()
    person_merge(actor=None, survivor=survivor, duplicate=merged)
    client.force_login(kim)
    for person_id in ["", "abc", "-1", "0", "1.5", HUGE, str(2**63), str(merged.pk)]:
        response = client.post(f"/kiosk/{session.pk}/", {"person_id": person_id}, follow=True)
        assert response.status_code == 200, person_id
        assert b"could not check you in" in response.content, person_id
    assert not BenefitDisbursement.objects.exists()


def test_list_filters_that_are_no_ids_filter_nothing(client: Client, alice: User) -> None:
    from tests import factories as f

    schedule = f.schedule_with_sessions(sessions=1)
    program = schedule.benefit.program
    client.force_login(alice)
    for url, query in [("/disbursements/", {"program": HUGE}), ("/disbursements/", {"benefit": ""}),
                       ("/disbursements/", {"person": "-1", "offset": HUGE}),
                       (f"/programs/{program.pk}/enrollments/", {"cohort": HUGE}),
                       ("/schedules/", {"program": "abc"}), ("/sessions/", {"program": HUGE}),
                       (f"/benefits/{schedule.benefit_id}/bulk/", {"cohort": HUGE})]:
        assert client.get(url, query).status_code == 200, (url, query)


def test_a_cohort_id_that_is_no_id_is_a_message(client: Client, charlie: User) -> None:
    from tests import factories as f

    enrollment = f.EnrollmentFactory()
    client.force_login(charlie)
    for cohort_id in ["abc", HUGE, ""]:
        response = client.post(f"/programs/{enrollment.program_id}/enrollments/",
                               {"cohort_id": cohort_id, "enrollment_ids": enrollment.pk},
                               follow=True)
        assert b"Choose a cohort of this program." in response.content


def test_attendance_quantity_beyond_the_column_is_a_message(client: Client, charlie: User
                                                             ) -> None:
    """SQLite stored 25 digits; PostgreSQL's DECIMAL(12,2) answered 500."""
    from programdesk.participation import services
    from programdesk.participation.models import BenefitDisbursement
    from tests import factories as f

    schedule = f.schedule_with_sessions(sessions=1)
    services.schedule_add_participants(actor=charlie, schedule=schedule,
                                       person_ids=[f.PersonFactory().pk])
    row = BenefitDisbursement.objects.get()
    client.force_login(charlie)
    for quantity in [HUGE, "1e999", "NaN", "10000000000"]:
        response = client.post(f"/sessions/{row.session_id}/", {
            f"status_{row.pk}": "completed", f"quantity_{row.pk}": quantity})
        assert response.status_code == 200 and b"must be a number" in response.content
    assert BenefitDisbursement.objects.get().status.code == "enrolled"


def test_path_ids_the_database_cannot_hold_are_not_found(client: Client, alice: User) -> None:
    """One place for every URL pattern: no view is called with an id above 2**63 - 1."""
    from django.http import Http404
    from django.test import RequestFactory

    from programdesk.core.middleware import PageInputMiddleware

    middleware = PageInputMiddleware(lambda request: HttpResponse())
    request = RequestFactory().get(f"/anything/{HUGE}/")
    with pytest.raises(Http404):
        middleware.process_view(request, lambda r: None, (), {"pk": int(HUGE)})
    assert middleware.process_view(  # type: ignore[func-returns-value]
        request, lambda r: None, (), {"pk": 2**63 - 1}) is None
    client.force_login(alice)
    assert client.get(f"/people/{HUGE}/").status_code == 404
    assert client.post(f"/settings/status-values/{HUGE}/", {"action": "delete"}
                       ).status_code == 404
    assert client.get(f"/people/{2**63 - 1}/").status_code == 404


def test_nul_characters_in_page_input_are_dropped(client: Client, alice: User) -> None:
    from tests import factories as f

    f.PersonFactory(first_name="Ana", last_name="Lopez")
    client.force_login(alice)
    response = client.get("/people/", {"q": "Lo\x00pez"})
    assert response.status_code == 200 and b"Ana" in response.content
    response = client.post("/accounts/new/", {"name": "Lopez\x00 household", "kind": "household"})
    assert response.status_code == 302
    from programdesk.people.models import Account

    assert Account.objects.get().name == "Lopez household"


# --- path ids ----------------------------------------------------------------------------------

def _sample(route: str, name: str, side: Side, world: World, user: User) -> str:
    """The id (or slug) a route's path parameter takes for a side's object."""
    if name == "kind":
        return matrix.PAGE_SLUGS[name]
    if route.startswith("imports/<int:pk>"):
        return str(_import_job(world, user).pk)
    if route.startswith("exports/jobs/<int:pk>"):
        owner = next((who for who, u in world.users.items() if u == user), "admin")
        return str(world.export_job(owner if user.can(Cap.READ_RECORDS) else "admin").pk)
    if route in matrix.PAGE_GLOBAL_OBJECTS:
        return str(getattr(world, matrix.PAGE_GLOBAL_OBJECTS[route]).pk)
    if name in matrix.PAGE_PARAMS:
        return str(getattr(side, matrix.PAGE_PARAMS[name]).pk)
    owner = max((p for p in matrix.PAGE_OBJECTS if route.startswith(p)), key=len)
    return str(getattr(side, matrix.PAGE_OBJECTS[owner]).pk)


def _import_job(world: World, user: User) -> Any:
    from programdesk.imports.jobs import import_job_check, import_job_create
    from programdesk.imports.models import ImportJob

    job = ImportJob.objects.filter(user=user).first()
    if job is None and user.can(Cap.WRITE_RECORDS):
        job = import_job_create(actor=user, kind="people", filename="people.csv",
                                data=b"first_name,last_name\nAda,\n")
        import_job_check(actor=user, job=job, mapping=job.mapping)
    return job or ImportJob.objects.first() or world.import_job("admin")


PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def _url(route: str, side: Side, world: World, user: User,
         hostile: tuple[str, str] | None = None) -> str:
    def fill(match: re.Match[str]) -> str:
        if hostile is not None and match.group(2) == hostile[0]:
            return hostile[1]
        return _sample(route, match.group(2), side, world, user)

    return "/" + PARAM.sub(fill, route)


def test_every_page_route_has_path_id_samples() -> None:
    """A new page whose path names an object the matrix's tables don't know fails here (add it
    to PAGE_OBJECTS / PAGE_PARAMS in tests/security/matrix.py)."""
    missing = []
    for route in page_routes():
        for kind, name in PARAM.findall(route):
            known = (name in matrix.PAGE_PARAMS or name in matrix.PAGE_SLUGS
                     or route in matrix.PAGE_GLOBAL_OBJECTS
                     or route.startswith(("imports/", "exports/jobs/"))
                     or any(route.startswith(p) for p in matrix.PAGE_OBJECTS))
            if not known or kind not in {"int", "slug"}:
                missing.append(f"{route}: <{kind}:{name}>")
    assert not missing, missing


# --- the walk ----------------------------------------------------------------------------------

@contextmanager
def _recording_reads() -> Iterator[set[str]]:
    """Every key a view reads from a QueryDict (request.GET, request.POST). The patch is on
    MultiValueDict, where QueryDict's reads live (the URL resolver's are not counted)."""
    seen: set[str] = set()
    originals = {name: getattr(MultiValueDict, name) for name in ("__getitem__", "get",
                                                                   "getlist")}

    def wrap(name: str) -> Any:
        original = originals[name]

        def method(self: Any, key: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(self, QueryDict) and isinstance(key, str):
                seen.add(key)
            return original(self, key, *args, **kwargs)

        return method

    def contains(self: Any, key: Any) -> bool:
        if isinstance(self, QueryDict) and isinstance(key, str):
            seen.add(key)
        return dict.__contains__(self, key)

    for name in originals:
        setattr(MultiValueDict, name, wrap(name))
    MultiValueDict.__contains__ = contains  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        for name, original in originals.items():
            setattr(MultiValueDict, name, original)
        del MultiValueDict.__contains__


class Walker:
    """Sends requests as one user, each rolled back, and collects every 5xx."""

    def __init__(self, world: World, user: User | None, label: str) -> None:
        self.world, self.user, self.label = world, user, label
        self.client = Client(raise_request_exception=False)
        self.failures: list[str] = []
        self.sent = 0
        self.per_route: Counter[str] = Counter()
        self._login()

    def _login(self) -> None:
        if self.user is not None:
            self.client.force_login(self.user)

    def send(self, method: str, url: str, form: Form) -> Any:
        errors: list[str] = []

        def on_exception(sender: Any, **kwargs: Any) -> None:
            errors.append(repr(sys.exc_info()[1])[:300])

        got_request_exception.connect(on_exception)
        try:
            with transaction.atomic():
                if method == "GET":
                    response = self.client.get(url, form)
                else:
                    response = self.client.post(url, form)
                transaction.set_rollback(True)
        finally:
            got_request_exception.disconnect(on_exception)
        self.sent += 1
        self.per_route[f"{method} {url.split('?')[0]}"] += 1
        if response.status_code >= 500:
            shown = {k: (v[:20] + "…" if isinstance(v, str) and len(v) > 20 else v)
                     for k, v in form.items()}
            self.failures.append(f"{self.label} {method} {url[:80]} {shown}: "
                                 f"{response.status_code} {errors}")
        if url.startswith("/logout/"):
            self._login()
        return response

    def denied(self, response: Any) -> bool:
        """The role may not use the page: nothing past the role check to walk."""
        location = response.get("Location", "") if response.status_code == 302 else ""
        return response.status_code in {403, 405} or (
            location.startswith(("/login/", "/kiosk/")) and "login/" not in response.request[
                "PATH_INFO"])

    def send_both(self, method: str, url: str, form: Form) -> Any:
        """A POST carries its form in the query string too: views read both."""
        if method == "POST" and form:
            url = f"{url}?{urlencode(form)}"
        return self.send(method, url, form)

    def walk(self, route: str, method: str, level: str) -> None:
        """``level``: "full" sends everything; "scoped" a hostile path id, the other program's
        objects and huge numbers; "light" one request with huge numbers everywhere."""
        own, other = self.world.own, self.world.other
        user = self.user or self.world.users["admin"]
        url = _url(route, own, self.world, user)
        seeds = _seeds(route, method)
        with _recording_reads() as read:
            first = self.send(method, url, {})
            if self.denied(first):
                return
            forms = [seed(own, self.world) for seed in seeds]
            for seed, form in zip(seeds, forms, strict=True):
                if form and level == "full":
                    self.send_both(method, url, form)
                if form and level != "light":
                    # valid forms and queries naming the other program's objects
                    self.send_both(method, url, seed(other, self.world))
        keys = {k for k in read | {k for form in forms for k in form}
                if KEY.fullmatch(k) and k not in NEVER_SENT}
        forms = forms or [{}]
        huge_path = _url(route, own, self.world, user, ("pk", HUGE)) if "<int:pk>" in route else url
        if level == "light" or route.endswith(".xlsx") or (method == "POST" and not seeds):
            # xlsx: the same filters as the csv twin, walked in full there. A POST to a page
            # that takes no form: in case it reads one anyway.
            self.send_both(method, huge_path, {**forms[0], **dict.fromkeys(keys, HUGE)})
            return
        self.send_path_ids(route, method, level, user, forms[0])
        if not keys:
            return  # the view reads no parameter: nothing more to send
        self.send_hostile_values(url, method, level, keys, forms)

    def send_path_ids(self, route: str, method: str, level: str, user: Any,
                      form: dict[str, Any]) -> None:
        """Hostile path ids, and the other program's object."""
        own, other = self.world.own, self.world.other
        for kind, name in PARAM.findall(route):
            if kind == "int":
                values = PATH_VALUES if level == "full" and method == "GET" else [HUGE]
                for value in values:
                    self.send_both(method, _url(route, own, self.world, user, (name, value)),
                                   form)
        if PARAM.search(route):
            self.send_both(method, _url(route, other, self.world, user), form)

    def send_hostile_values(self, url: str, method: str, level: str, keys: set[str],
                            forms: list[dict[str, Any]]) -> None:
        # hostile values everywhere at once: each value in the first form, the worst in the
        # others (each a branch of the view)
        for i, form in enumerate(forms if level == "full" else forms[:1]):
            pinned = {k: v for k, v in form.items() if k in PINNED}
            values = VALUES if level == "full" and i == 0 else WORST if level == "full" else [HUGE]
            for value in values:
                self.send_both(method, url, {**dict.fromkeys(keys, value), **pinned})
        if level != "full" or method != "POST":
            return
        # one field at a time, the rest of a valid form that has it
        for key in sorted(keys - PINNED):
            form = next((f for f in forms if key in f), forms[0])
            for value in ONE_BY_ONE:
                self.send_both(method, url, {**form, key: value})


ROLE_GROUPS = {
    "alice": "full",  # admin, every program: reaches every view's code
    "limited_admin": "scoped",  # an admin limited to the own program: every page, scoped
    "limited_staff": "scoped",
    "bob": "light", "charlie": "light", "dana": "light", "kim": "light", "anonymous": "light",
}


@pytest.mark.parametrize("who", list(ROLE_GROUPS))
def test_no_page_answers_500_to_hostile_input(who: str, request: pytest.FixtureRequest
                                              ) -> None:
    import logging
    import time

    logging.getLogger("django.request").setLevel(logging.CRITICAL)  # the failures say enough
    started = time.monotonic()
    world = build_world()
    special = {"limited_admin": world.users["admin"], "limited_staff": world.users["staff"],
               "anonymous": None}
    user: User | None = special[who] if who in special else request.getfixturevalue(who)
    walker = Walker(world, user, who)
    routes = [r for r in page_routes() if r != "logout/"] + ["logout/"]  # logout last
    for route in routes:
        for method in ("GET", "POST"):
            walker.walk(route, method, ROLE_GROUPS[who])
    print(f"{who}: {walker.sent} requests in {time.monotonic() - started:.1f} s; most: "
          f"{walker.per_route.most_common(30)}")
    assert not walker.failures, "\n".join(walker.failures)
