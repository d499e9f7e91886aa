"""Fuzzing the API from its own OpenAPI document (schemathesis, in-process through WSGI): for
every operation, generated valid and invalid requests as an admin — no answer is a 5xx, every
answer matches the schema the document gives for it, invalid input is refused with a 4xx.

Bounded by default: FUZZ_EXAMPLES generated examples per operation and mode (environment
variable, default 3) on both databases, which sends every operation valid and invalid
requests. The coverage phase (every boundary value and missing or mistyped field the schema
implies, about 60 requests per operation) is the long hunt's: the served run
(test_schemathesis_served.py) sends those requests on SQLite in every run, with every check.
The long hunt, PROGRAMDESK_FUZZ=long (python3 run.py test --long-fuzz): the coverage phase and
100 examples per operation and mode, on both databases. FUZZ_EXAMPLES and FUZZ_COVERAGE=1 set
either alone."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
)

from programdesk.core.services import token_create
from tests import factories as f
from tests.security.world import build_world

LONG = os.environ.get("PROGRAMDESK_FUZZ") == "long"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100" if LONG else "3"))


def _schema() -> Any:
    from programdesk.wsgi import application

    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    loaded.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES,
        deterministic=True)
    coverage = loaded.config.phases.coverage
    # Wrong methods on every path: one 405 test (tests/api) pins how they are answered.
    coverage.unexpected_methods = set()
    # The coverage phase (every boundary and missing or mistyped field the schema implies,
    # about 60 requests per operation) is the long hunt's: by default the served run sends
    # the same requests on SQLite with every check, and the generated examples alone reach
    # every operation here.
    coverage.enabled = LONG or bool(os.environ.get("FUZZ_COVERAGE"))
    return loaded


schema = _schema()


@pytest.fixture
def admin_headers(db: None) -> Iterator[dict[str, str]]:
    """An admin's token. As Django's test client does, requests keep the test's database
    connection (the WSGI handler would close it: it is inside the test's transaction)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    build_world()  # something for ids to find
    user = f.UserFactory(username="fuzzer", role="admin", password="!")
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield {"Authorization": f"Bearer {token_create(actor=None, user=user)}"}
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_fuzz(case: Any, admin_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=admin_headers, checks=[
        not_a_server_error, response_schema_conformance, negative_data_rejection])
