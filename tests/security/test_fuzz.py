"""Fuzzing the API from its own OpenAPI document (schemathesis, in-process through WSGI): for
every operation, generated valid and invalid requests as an admin — no answer is a 5xx, every
answer matches the schema the document gives for it, invalid input is refused with a 4xx.

Bounded: FUZZ_EXAMPLES per operation and generation mode (environment variable, default 3),
so the whole run takes about a minute per database on two cores; raise it for a
longer hunt (FUZZ_EXAMPLES=100 python3 run.py test)."""

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

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))


def _schema() -> Any:
    from programdesk.wsgi import application

    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    loaded.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES,
        deterministic=True)
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
