"""The OpenAPI document: ninja's, plus the problem answers every operation can give.

Ninja documents the success answer of each operation; the errors come from the exception
handlers and middleware (main.py, middleware.py), the same for every operation. One place adds
them, by what the operation takes, so the document names every status a client can receive.
"""

from __future__ import annotations

from typing import Any

from programdesk.api.problems import PROBLEM_CONTENT_TYPE

WRITE_METHODS = {"post", "put", "patch", "delete"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details. `errors` names each invalid field "
                   "(dotted path) with its message; some problems add members (e.g. `warnings`).",
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                "required": ["field", "message"],
            },
        },
    },
    "required": ["type", "title", "status", "detail", "errors"],
}

# Why each status happens; the operations that can answer it are chosen in _statuses.
PROBLEM_DESCRIPTIONS = {
    400: "The body is not JSON (or not the form data) the operation takes.",
    401: "No valid credentials: send `Authorization: Bearer <token>` or log in.",
    403: "Your role may not do this, or the CSRF check failed (session authentication).",
    404: "No such record, or one you may not see (the path or an id in the request).",
    409: "The change conflicts with existing data, or the Idempotency-Key was used with "
         "another request or is still in progress.",
    413: "The body is larger than the server takes (an import: a file over 20 MB, or over 1 MB "
         "— an XLSX: 256 kB — or 10,000 rows without `background=true`).",
    414: "The URL is longer than the server takes (its web server answers, in its own words).",
    422: "Invalid input: `errors` names each field and what is wrong with it.",
}


def _statuses(method: str, operation: dict[str, Any]) -> list[int]:
    statuses = [401, 403, 404, 414, 422]
    if method in WRITE_METHODS:
        statuses += [409, 413]
        if "requestBody" in operation:
            statuses.append(400)
    return sorted(statuses)


def add_problem_responses(document: dict[str, Any]) -> dict[str, Any]:
    """Declare the problem answers in every operation of ``document`` (in place)."""
    components = document.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    responses = components.setdefault("responses", {})
    for status, description in PROBLEM_DESCRIPTIONS.items():
        if status == 414:  # gunicorn's (or the proxy's) own page, before Django sees it
            responses["Problem414"] = {"description": description}
            continue
        responses[f"Problem{status}"] = {
            "description": description,
            "content": {PROBLEM_CONTENT_TYPE: {
                "schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    for schema in components["schemas"].values():
        _no_null_defaults(schema)
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            declared = operation.setdefault("responses", {})
            for status in _statuses(method, operation):
                declared.setdefault(status, {"$ref": f"#/components/responses/Problem{status}"})
    return document


def _allows_null(schema: dict[str, Any]) -> bool:
    return (schema.get("type") == "null" or "null" in (schema.get("type") or [])
            or any(_allows_null(sub) for sub in schema.get("anyOf", [])))


def _no_null_defaults(schema: dict[str, Any]) -> None:
    """A field that may be left out but not sent as null (a PATCH's NotNull) has the default
    null in pydantic's schema; a client (or a fuzzer) would read null as a valid value."""
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None and not _allows_null(prop):
            del prop["default"]
