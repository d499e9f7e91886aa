"""The API's promises for bad input (docs/api.md, docs/security.md): every refusal is a 4xx problem
that names what is wrong, and nothing is written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from programdesk.core.models import IdempotencyRecord, User
from programdesk.core.services import token_create
from programdesk.imports.parsers import MAX_BYTES
from programdesk.people.models import Account, Person
from tests import factories as f
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db


# --- the body is a JSON object -----------------------------------------------------------------

@pytest.mark.parametrize("raw", [b"[]", b'["x"]', b'"first_name"', b"null", b"42", b"true"])
def test_patch_with_a_body_that_is_not_an_object_is_422(api, raw) -> None:
    person = f.PersonFactory(first_name="Ana")
    body = assert_problem(api.patch(f"people/{person.pk}", raw=raw), 422, "body")
    assert "JSON object" in body["detail"]
    person.refresh_from_db()
    assert person.first_name == "Ana"


@pytest.mark.parametrize("raw", [b"[]", b"null", b'"x"'])
def test_post_with_a_body_that_is_not_an_object_is_422(api, raw) -> None:
    assert_problem(api.post("accounts", raw=raw), 422, "body")
    assert not Account.objects.exists()


def test_a_body_that_is_not_an_object_is_still_401_without_credentials(api_as) -> None:
    assert_problem(api_as(None).post("accounts", raw=b"[]"), 401)


# --- size limits -------------------------------------------------------------------------------

def test_a_json_body_over_the_limit_is_413_naming_the_limit(api, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
    raw = json.dumps({"name": "x" * (3 * 1024 * 1024)}).encode()
    body = assert_problem(api.post("accounts", raw=raw), 413)
    assert "2 MB" in body["detail"]
    assert not Account.objects.exists()


def test_a_body_over_the_limit_with_an_idempotency_key_is_413(api, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    raw = json.dumps({"name": "x" * 2000}).encode()
    response = api.post("accounts", raw=raw, headers={"Idempotency-Key": "big-1"})
    assert "1,000 bytes" in assert_problem(response, 413)["detail"]
    assert not IdempotencyRecord.objects.exists()


def _upload(client: Client, user: User, data: bytes, **headers: str) -> Any:
    token = token_create(actor=None, user=user)
    return client.post("/api/v1/imports/people",
                       {"file": SimpleUploadedFile("people.csv", data), "dry_run": "true"},
                       headers={"Authorization": f"Bearer {token}", **headers})


def test_an_upload_over_the_import_limit_is_413_naming_the_limit(client, charlie) -> None:
    response = _upload(client, charlie, b"first_name\n" + b"x" * (MAX_BYTES + 100_000))
    assert "20 MB" in assert_problem(response, 413)["detail"]


def test_an_upload_over_the_json_limit_with_an_idempotency_key_is_imported(
        client, charlie, settings) -> None:
    # The key's digest must not read the upload into memory (nor refuse it at the JSON limit).
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    data = b"first_name,last_name,postal_code\n" + b"Ana,Diaz,02139\n" * 200
    first = _upload(client, charlie, data, **{"Idempotency-Key": "upload-1"})
    assert first.status_code == 200, first.content
    again = _upload(client, charlie, data, **{"Idempotency-Key": "upload-1"})
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    other = _upload(client, charlie, data + b"Ben,Okafor,02140\n",
                    **{"Idempotency-Key": "upload-1"})
    assert_problem(other, 409)


# --- NUL characters ----------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "body", "field"), [
    ("people", {"first_name": "A\x00na", "last_name": "Diaz"}, "first_name"),
    ("people", {"first_name": "Ana", "last_name": "Diaz", "phone": "555\x00"}, "phone"),
    ("accounts", {"name": "Diaz\x00 household"}, "name"),
    ("programs", {"name": "Pantry", "extra": {"note": "a\x00"}}, "extra.note"),
])
def test_a_nul_in_any_text_is_422_naming_the_field(api, path, body, field) -> None:
    body = assert_problem(api.post(path, body), 422, field)
    assert "NUL" in body["detail"]
    assert not Person.objects.exists() and not Account.objects.exists()


def test_a_nul_in_a_patch_is_422_naming_the_field(api) -> None:
    person = f.PersonFactory(last_name="Diaz")
    assert_problem(api.patch(f"people/{person.pk}", {"last_name": "Di\x00az"}), 422,
                   "last_name")
    person.refresh_from_db()
    assert person.last_name == "Diaz"


def test_a_nul_in_a_query_parameter_is_422_naming_it(api) -> None:
    assert_problem(api.get("people", search="Ana\x00"), 422, "search")


# --- dates are ISO text, never numbers ---------------------------------------------------------

@pytest.mark.parametrize("value", ["8.64e4", "-3.2e-110", "1E5", " 2e3 ", ".5e1", "86400",
                                   8.64e4])
def test_a_date_as_a_number_in_exponent_notation_is_422(api, value) -> None:
    response = api.post("people", {"first_name": "Ana", "last_name": "Diaz",
                                   "birth_date": value})
    assert_problem(response, 422, "birth_date")
    assert not Person.objects.exists()


@pytest.mark.parametrize("value", ["8.64e4", "-3.2e-110"])
def test_a_datetime_as_a_number_in_exponent_notation_is_422(api, value) -> None:
    benefit = f.BenefitFactory()
    body = {"name": "Evenings", "timezone": "America/New_York", "first_session_start": value,
            "first_session_end": "2030-03-05T20:00", "recurrence": {"frequency": "once"}}
    assert_problem(api.post(f"benefits/{benefit.pk}/schedules", body), 422,
                   "first_session_start")


@pytest.mark.parametrize("value", ["8.64e4", "-3.2e-110"])
def test_a_date_as_a_number_in_a_query_parameter_is_422(api, value) -> None:
    assert_problem(api.get("disbursements", **{"from": value}), 422, "from")
    assert_problem(api.get("disbursements", to=value), 422, "to")


# --- imports: stray bytes and NULs are row errors ------------------------------------------------

MOSTLY_UTF8 = ("First,Last\nJosé,Núñez\nAna,".encode() + "Müller".encode("cp1252")
               + b"\nBen,Okafor\n")


def test_an_import_that_is_utf8_but_for_a_stray_byte_names_its_row_and_column(
        client, charlie) -> None:
    dry = _upload(client, charlie, MOSTLY_UTF8)
    assert dry.status_code == 200, dry.content
    assert [(e["row"], e["column"]) for e in dry.json()["errors"]] == [(3, "Last")]
    token = token_create(actor=None, user=charlie)
    response = client.post("/api/v1/imports/people",
                           {"file": SimpleUploadedFile("people.csv", MOSTLY_UTF8)},
                           headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 422, "rows.3.Last")
    assert not Person.objects.exists()
    assert not Person.objects.filter(first_name__contains="Ã").exists()
