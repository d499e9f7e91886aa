"""Mass assignment: every write endpoint of the API, given fields it does not declare — an `id`,
`created_by`, timestamps, another program's `program_id`, `is_active`, role and superuser flags —
ignores them: the same answer as without them, nothing written with them, nothing written to the
other program, no user changed, every audit event the caller's. Fields an endpoint does declare
(a benefit's `program_id`, say) are checked against the caller's programs by the matrix."""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from typing import Any

import pytest
from django.db.models import Model, Q

from programdesk.core.models import AuditEvent, FieldDefinition, User
from programdesk.participation.models import (
    BenefitAssignment,
    BenefitDisbursement,
    ProgramEnrollment,
)
from programdesk.people.models import Account, Case, Person, PersonDocument
from programdesk.programs.models import Benefit, EligibilityRule, Program, ProgramCohort
from programdesk.scheduling.models import BenefitSchedule, BenefitSession
from tests.conftest import ApiClient
from tests.security.matrix import API
from tests.security.test_matrix import _api_url, api_upload
from tests.security.world import World, build_world

pytestmark = pytest.mark.django_db

FORGED_ID = 987_654_321
WRITES = sorted((m, p) for (m, p) in API if m not in {"GET", "HEAD"})

# Models a write could touch, with how a row belongs to a program.
OWNED: list[tuple[type[Model], str]] = [
    (Program, "id"), (Benefit, "program_id"), (ProgramCohort, "program_id"),
    (ProgramEnrollment, "program_id"), (BenefitAssignment, "benefit__program_id"),
    (BenefitDisbursement, "program_id"), (BenefitSchedule, "benefit__program_id"),
    (BenefitSession, "benefit__program_id"), (EligibilityRule, "program_id"),
    (FieldDefinition, "program_id"), (Case, "programs"),
]
ALL_MODELS: list[type[Model]] = [m for m, _ in OWNED] + [Person, Account, PersonDocument, User,
                                                         AuditEvent]


def _forged(world: World) -> dict[str, Any]:
    other, boss = world.other, world.users["superadmin"]
    return {
        "id": FORGED_ID, "pk": FORGED_ID, "created_by": boss.pk, "created_by_id": boss.pk,
        "actor": boss.pk, "actor_id": boss.pk, "user_id": boss.pk, "worker": boss.pk,
        "created_at": "2001-01-01T00:00:00Z", "updated_at": "2001-01-01T00:00:00Z",
        "program_id": other.program.pk, "program": other.program.pk,
        "is_active": False, "is_superuser": True, "is_staff": True, "role": "admin",
        "programs": [], "program_ids": [other.program.pk], "enrollment_id": other.enrollment.pk,
        "benefit_id": other.benefit.pk, "assignment_id": other.assignment.pk,
        "session_id": other.session.pk, "person_id": other.person.pk,
        "account_id": other.account.pk, "case_id": other.case.pk, "unit_id": 1,
        "status_id": 1, "recipient_type": "anonymous", "recipient_count": 500,
        "digest": "0" * 64, "possible_duplicates": [],
    }


@cache
def _declared() -> dict[tuple[str, str], set[str]]:
    """The body fields each operation declares, from the OpenAPI document."""
    from programdesk.api.main import api

    schema = api.get_openapi_schema()
    components = schema["components"]["schemas"]

    def fields(node: dict[str, Any]) -> set[str]:
        if "$ref" in node:
            return fields(components[node["$ref"].rsplit("/", 1)[1]])
        found = set(node.get("properties", {}))
        for key in ("oneOf", "anyOf", "allOf"):
            for sub in node.get(key, []):
                found |= fields(sub)
        return found

    declared = {}
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            declared[(method.upper(), path)] = fields(body.get("schema", {}))
    return declared


def _other_program_rows(world: World) -> dict[str, int]:
    pid = world.other.program.pk
    return {model.__name__: model._default_manager.filter(**{field: pid}).count()
            for model, field in OWNED}


def _users() -> list[tuple[Any, ...]]:
    return sorted((u.pk, u.role, u.is_active, u.is_staff, u.is_superuser,
                   tuple(sorted(u.programs.values_list("id", flat=True))))
                  for u in User.objects.all())


def _send(client: ApiClient, method: str, url: str, body: Any) -> Any:
    return client.client.generic(method, url, data=json.dumps(body) if body is not None else "",
                                 content_type="application/json", headers=client.headers)


@pytest.mark.parametrize(("method", "path"), WRITES, ids=[f"{m} {p}" for m, p in WRITES])
def test_write_ignores_fields_it_does_not_declare(method: str, path: str) -> None:
    world = build_world()
    user = world.users["admin"]  # may do everything, in its own program only
    entry = API[(method, path)]
    declared = _declared().get((method, path), set())
    body = entry.body(world.own, world) if entry.body else None
    extras = {k: v for k, v in _forged(world).items() if k not in declared}
    if body is not None:
        body = {**body, **extras}
        if isinstance(body.get("records"), list):  # nested items get them too (the fields
            # a record declares keep their values: a sync record's id, session_id, person_id)
            body["records"] = [{**extras, **r} for r in body["records"]]
        if isinstance(body.get("items"), list):
            body["items"] = [{**i, **{k: v for k, v in extras.items() if k != "benefit_id"}}
                             for i in body["items"]]
    client = ApiClient(user)
    before_rows, before_users = _other_program_rows(world), _users()
    last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0

    url = _api_url(path, world.own, entry)
    if entry.upload is not None:  # a multipart form: the forged fields as form fields
        response = api_upload(client, url, entry, world.own, world, extra=extras)
    else:
        response = _send(client, method, url, body)

    assert response.status_code == entry.ok, response.content
    if response.content and response["Content-Type"].startswith("application/json"):
        assert f'"id": {FORGED_ID}' not in response.content.decode()
    for model in ALL_MODELS:
        assert not model._default_manager.filter(pk=FORGED_ID).exists(), model
        if any(f.name == "created_at" for f in model._meta.get_fields()):
            assert not model._default_manager.filter(
                created_at__lt=dt.datetime(2002, 1, 1, tzinfo=dt.UTC)).exists(), model
    assert _other_program_rows(world) == before_rows
    assert _users() == before_users
    actors = set(AuditEvent.objects.filter(id__gt=last_event).values_list("actor_id", flat=True))
    assert actors <= {user.pk}, actors
    if method == "POST" and path.endswith("/enrollments"):
        assert ProgramEnrollment.objects.get(pk=response.json()["id"]).is_active


def test_declared_program_fields_of_another_program_are_refused(api_as: Any) -> None:
    """The declared ones: a body naming another program's program, benefit or person."""
    world = build_world()
    client = api_as(world.users["admin"])
    other = world.other
    refused = [
        ("POST", "/api/v1/benefits", {"program_id": other.program.pk, "name": "X",
                                      "unit": "item"}),
        ("PATCH", f"/api/v1/benefits/{world.own.benefit.pk}", {"program_id": other.program.pk}),
        ("POST", "/api/v1/cases", {"person_id": world.own.person.pk, "subject": "x",
                                   "program_ids": [other.program.pk]}),
        ("POST", "/api/v1/enrollments", {"program_id": world.own.program.pk,
                                         "person_id": other.person.pk}),
        ("POST", f"/api/v1/schedules/{world.own.schedule.pk}/participants",
         {"person_ids": [other.person.pk]}),
        ("POST", f"/api/v1/sessions/{world.own.session.pk}/check-in",
         {"person_id": other.person.pk}),
        ("POST", f"/api/v1/cohorts/{world.own.cohort.pk}/members",
         {"enrollment_ids": [other.enrollment.pk]}),
        ("POST", f"/api/v1/sessions/{world.own.session.pk}/attendance",
         {"records": [{"disbursement_id": other.disbursement.pk, "status": "completed"}]}),
        ("POST", "/api/v1/disbursements", {
            "person_id": world.own.person.pk, "disbursed_on": "2026-03-04",
            "items": [{"benefit_id": other.benefit.pk, "quantity": 1}]}),
        ("POST", f"/api/v1/benefits/{world.own.benefit.pk}/bulk-disbursements", {
            "mode": "enrollment", "quantity": 1, "disbursed_on": "2026-03-04",
            "enrollment_ids": [other.enrollment.pk]}),
        ("POST", "/api/v1/custom-fields", {"target": "person", "key": "k", "label": "K",
                                           "field_type": "text", "benefit_id": other.benefit.pk}),
        ("POST", "/api/v1/eligibility-rules", {"benefit_id": other.benefit.pk,
                                               "criterion": "age", "params": {"min": 1}}),
        ("PATCH", f"/api/v1/cases/{world.own.case.pk}", {"program_ids": [other.program.pk]}),
    ]
    before = _other_program_rows(world)
    for method, url, body in refused:
        response = _send(client, method, url, body)
        assert response.status_code in {404, 409, 422}, (method, url, response.content)
    assert _other_program_rows(world) == before


def test_forms_read_only_the_fields_they_declare(client: Any) -> None:
    """Pages parse posts with Django forms, which read declared fields only: a person saved
    with forged fields keeps its id sequence, program and creator."""
    world = build_world()
    client.force_login(world.users["staff"])
    person = world.own.person
    response = client.post(f"/people/{person.pk}/edit/", {
        "first_name": "Patricia", "last_name": person.last_name, "id": FORGED_ID,
        "created_at": "2001-01-01", "role": "admin", "is_superuser": "on"})
    assert response.status_code == 302, response.content
    person.refresh_from_db()
    assert person.first_name == "Patricia"
    assert not Person.objects.filter(Q(pk=FORGED_ID) | Q(created_at__year=2001)).exists()
    assert User.objects.get(pk=world.users["staff"].pk).role == "staff"
