"""The server refuses what the OpenAPI document forbids (schemathesis's "schema-violating
request accepted") and documents what it refuses (its "schema-valid request rejected")."""

from __future__ import annotations

import json
from typing import Any

import pytest

from programdesk.programs.models import Benefit
from tests import factories as f
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def benefit() -> Any:
    return f.BenefitFactory()


@pytest.mark.parametrize("body", [[None, None], "text", None, 7])
def test_a_patch_body_that_is_not_an_object_is_a_422(api: Any, benefit: Any, body: Any) -> None:
    # `[null, null]` used to be read as a PATCH with no fields: a 200 that changed nothing.
    response = api.patch(f"benefits/{benefit.pk}", raw=json.dumps(body).encode())
    assert_problem(response, 422, "body")


@pytest.mark.parametrize("value", [0, 1, "true", "on"])
def test_a_boolean_must_be_true_or_false(api: Any, benefit: Any, value: Any) -> None:
    assert_problem(api.patch(f"benefits/{benefit.pk}", {"is_active": value}), 422, "is_active")
    assert Benefit.objects.get(pk=benefit.pk).is_active is True


def test_an_integer_field_refuses_false(api: Any) -> None:
    field_id = api.post("custom-fields", {"target": "person", "key": "size", "label": "Size",
                                          "field_type": "text"}).json()["id"]
    assert_problem(api.patch(f"custom-fields/{field_id}", {"order": False}), 422, "order")
    assert api.patch(f"custom-fields/{field_id}", {"order": 3}).json()["order"] == 3


@pytest.mark.parametrize("value", ["1.5", "", True])
def test_an_amount_is_a_json_number(api: Any, benefit: Any, value: Any) -> None:
    assert_problem(api.patch(f"benefits/{benefit.pk}", {"default_quantity": value}), 422,
                   "default_quantity")
    assert api.patch(f"benefits/{benefit.pk}", {"default_quantity": 2.5}).json()[
        "default_quantity"] == 2.5


def test_multipart_without_a_boundary_is_a_400_problem(api: Any) -> None:
    # It was a 500 (MultiPartParserError).
    response = api.client.post("/api/v1/imports/people", data=b"file=x",
                               content_type="multipart/form-data", headers=api.headers)
    assert_problem(response, 400)


def test_the_document_says_which_patch_fields_refuse_null(api: Any, benefit: Any) -> None:
    schema = api.get("openapi.json").json()["components"]["schemas"]["BenefitPatch"]
    assert schema["properties"]["name"] == {"maxLength": 200, "minLength": 1,
                                            "title": "Name", "type": "string"}
    assert {"type": "null"} in schema["properties"]["benefit_type_id"]["anyOf"]
    assert_problem(api.patch(f"benefits/{benefit.pk}", {"name": None}), 422, "name")
    assert api.patch(f"benefits/{benefit.pk}", {"benefit_type_id": None}).status_code == 200


def test_the_document_bounds_amounts(api: Any) -> None:
    schema = api.get("openapi.json").json()["components"]["schemas"]["BenefitIn"]
    quantity = schema["properties"]["default_quantity"]["anyOf"][0]
    assert quantity == {"type": "number", "minimum": 0, "maximum": 9999999999.99,
                        "multipleOf": 0.01, "description": "At most 2 decimals"}
