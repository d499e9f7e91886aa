"""The OpenAPI document as a client reads it: strict JSON, valid OpenAPI 3.1, and naming every
error answer an operation can give."""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
import pytest
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"duplicated keys {duplicates} in an object with keys {keys}")
    return dict(pairs)


@pytest.fixture
def document(client: Any) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    # Python's json keeps the last of two equal keys; YAML and the docs page refuse them
    # ("duplicated mapping key"): an operation whose responses said 200 as a number and as
    # text became two "200" keys in the text of the document.
    parsed: dict[str, Any] = json.loads(response.content, object_pairs_hook=_no_duplicate_keys)
    return parsed


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, operation)
            for path, item in document["paths"].items() for method, operation in item.items()]


def test_openapi_document_has_no_duplicate_keys(document: dict[str, Any]) -> None:
    assert document["paths"]["/api/v1/reports/summary.csv"]["get"]["responses"]["200"][
        "content"] == {"text/csv": {}}


def test_openapi_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}"
              for e in OPENAPI_31_VALIDATOR.iter_errors(document)]
    assert errors == []
    # The meta-schema leaves the schemas themselves out: each is JSON Schema 2020-12.
    for name, schema in document["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name


def test_every_operation_documents_its_problem_answers(document: dict[str, Any]) -> None:
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for name, answer in document["components"]["responses"].items():
        if name != "Problem414":  # the web server's page
            assert answer["content"] == problem, name
    for method, path, operation in _operations(document):
        statuses = set(operation["responses"])
        expected = {"401", "403", "404", "414", "422"}
        if method in {"POST", "PUT", "PATCH", "DELETE"}:
            expected |= {"409", "413"}
        if "requestBody" in operation:
            expected.add("400")
        assert expected <= statuses, (method, path, sorted(statuses))
        assert any(status.startswith("2") for status in statuses), (method, path)


def test_problem_schema_matches_a_real_problem(client: Any, document: dict[str, Any]) -> None:
    answer = client.get("/api/v1/units")  # no credentials: 401
    assert answer.status_code == 401
    assert answer["Content-Type"] == "application/problem+json"
    jsonschema_rs.validate(document["components"]["schemas"]["Problem"], answer.json())


def test_no_two_api_schemas_share_a_name() -> None:
    """django-ninja names an OpenAPI component after its class: two classes of one name in two
    modules silently share one component, and one endpoint documents the other's shape (two
    ``RosterOut`` once made the sessions' roster wrong)."""
    import importlib
    import inspect
    import pkgutil

    from ninja import Schema

    import programdesk.api

    modules_of: dict[str, set[str]] = {}
    for info in pkgutil.iter_modules(programdesk.api.__path__):
        module = importlib.import_module(f"programdesk.api.{info.name}")
        for obj in vars(module).values():
            if (inspect.isclass(obj) and issubclass(obj, Schema)
                    and obj.__module__ == module.__name__):
                modules_of.setdefault(obj.__name__, set()).add(module.__name__)
    assert {name: mods for name, mods in modules_of.items() if len(mods) > 1} == {}
