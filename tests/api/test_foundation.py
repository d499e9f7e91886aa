"""The API's conventions (docs/api.md): auth, problem JSON for every error, pagination."""

from __future__ import annotations

import pytest
from django.test import Client

from programdesk.core.models import ApiToken
from tests.conftest import assert_problem
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_no_credentials_is_401_problem(api_as) -> None:
    response = api_as(None).get("status-values")
    assert_problem(response, 401)
    assert response["WWW-Authenticate"] == "Bearer"


def test_no_credentials_on_a_write_is_401_not_403(api_as) -> None:
    assert_problem(api_as(None).post("units", {"code": "box", "name": "Box"}), 401)


def test_wrong_token_is_401(api_as) -> None:
    client = api_as(None)
    client.headers["Authorization"] = "Bearer pd_not-a-real-token"
    assert_problem(client.get("units"), 401)


def test_token_is_stored_hashed(alice, api_as) -> None:
    client = api_as(alice)
    raw = client.headers["Authorization"].split()[1]
    token = ApiToken.objects.get(user=alice)
    assert token.digest != raw and raw not in token.digest and len(token.digest) == 64
    assert client.get("units").status_code == 200


def test_disabled_user_token_stops_working(alice, api_as) -> None:
    client = api_as(alice)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert_problem(client.get("units"), 401)


def test_session_auth_needs_csrf_on_writes(alice) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get("/api/v1/units").status_code == 200
    response = client.post("/api/v1/units", {"code": "box", "name": "Box"},
                           content_type="application/json")
    assert_problem(response, 403)


def test_session_auth_with_csrf_token_writes(alice) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.get("/")  # the page renders a CSRF token, which sets the cookie
    token = client.cookies["csrftoken"].value
    response = client.post("/api/v1/units", {"code": "box", "name": "Box"},
                           content_type="application/json", headers={"X-CSRFToken": token})
    assert response.status_code == 201, response.content


def test_malformed_body_is_400_problem(api) -> None:
    assert_problem(api.post("units", raw=b"{not json"), 400)


def test_invalid_fields_are_422_with_field_names(api) -> None:
    body = assert_problem(api.post("benefit-types", {"name": "", "kind": "gift"}), 422,
                          "name", "kind", "unit")
    assert "kind" in body["detail"]


def test_unknown_path_is_404_problem(api) -> None:
    assert_problem(api.get("no-such-thing"), 404)


def test_wrong_method_is_405_problem(api) -> None:
    response = api.delete("units")
    assert_problem(response, 405)


def test_limit_over_1000_is_422(api) -> None:
    assert_problem(api.get("status-values", limit=1001), 422, "limit")


def test_lists_have_count_and_items(api) -> None:
    body = api.get("status-values", kind="disbursement", limit=2, offset=1).json()
    assert body["count"] == 5
    assert [item["code"] for item in body["items"]] == ["completed", "absent"]
    assert set(body["items"][0]) >= {"code", "label", "bucket", "is_default"}


def test_status_values_by_kind(api) -> None:
    body = api.get("status-values", kind="enrollment").json()
    defaults = [item["code"] for item in body["items"] if item["is_default"]]
    assert defaults == ["enrolled"]


def test_unit_create_needs_admin(bob, api_as) -> None:
    assert_problem(api_as(bob).post("units", {"code": "box", "name": "Box"}), 403)


def test_unit_create_and_duplicate(api) -> None:
    created = api.post("units", {"code": "box", "name": "Box"})
    assert created.status_code == 201
    assert created.json()["code"] == "box"
    assert_problem(api.post("units", {"code": "box", "name": "Box"}), 422, "code")


def test_benefit_type_create(api) -> None:
    response = api.post("benefit-types", {"name": "Groceries", "kind": "goods", "unit": "item"})
    assert response.status_code == 201
    assert response.json()["unit"] == "item"
    assert_problem(api.post("benefit-types", {"name": "X", "kind": "goods", "unit": "nope"}),
                   422, "unit")


def test_viewer_reads_reference_data(dana, api_as) -> None:
    assert api_as(dana).get("benefit-types").status_code == 200


def test_kiosk_cannot_read_reference_lists(kim, api_as) -> None:
    assert_problem(api_as(kim).get("units"), 403)


def test_openapi_document_is_served(client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert "/api/v1/status-values" in response.json()["paths"]


def test_docs_page_uses_local_assets(client) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert b"cdn." not in response.content


def test_idempotency_key_replays_the_first_answer(api) -> None:
    first = api.post("units", {"code": "crate", "name": "Crate"},
                     headers={"Idempotency-Key": "k1"})
    again = api.post("units", {"code": "crate", "name": "Crate"},
                     headers={"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"


def test_idempotency_key_with_another_body_is_409(api) -> None:
    api.post("units", {"code": "crate", "name": "Crate"}, headers={"Idempotency-Key": "k2"})
    assert_problem(api.post("units", {"code": "bin", "name": "Bin"},
                            headers={"Idempotency-Key": "k2"}), 409)


def test_idempotency_keys_are_per_user(api, api_as) -> None:
    other = api_as(UserFactory(username="zed", role="admin"))
    api.post("units", {"code": "crate", "name": "Crate"}, headers={"Idempotency-Key": "k3"})
    response = other.post("units", {"code": "bin", "name": "Bin"},
                          headers={"Idempotency-Key": "k3"})
    assert response.status_code == 201


def test_me_says_who_the_token_is_their_role_capabilities_and_programs(api_as, kim) -> None:
    from programdesk.programs.models import Program
    from tests import factories as f

    body = api_as(kim).get("me").json()
    assert body == {"id": kim.pk, "username": "kim", "role": "kiosk",
                    "capabilities": ["check_in"], "program_ids": None}
    programs: list[Program] = [f.ProgramFactory(), f.ProgramFactory()]
    kim.programs.set(programs)
    body = api_as(kim).get("me").json()
    assert body["program_ids"] == sorted(p.pk for p in programs)
    assert_problem(api_as(None).get("me"), 401)
