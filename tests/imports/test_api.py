"""POST /api/v1/imports/{kind}: dry run, commit, every error, roles."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from programdesk.core.models import User
from programdesk.core.services import token_create
from programdesk.people.models import Person
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db

CSV = b"Given,Family,Zip\nAna,Diaz,02139\nBen,Okafor,02140\n"
MAPPING = json.dumps({"Given": "first_name", "Family": "last_name"})


def post(client: Client, user: User, kind: str, data: bytes, **form: str) -> Any:
    token = token_create(actor=None, user=user)
    return client.post(f"/api/v1/imports/{kind}",
                       {"file": SimpleUploadedFile("people.csv", data), **form},
                       headers={"Authorization": f"Bearer {token}"})


def test_dry_run_then_import(client, charlie) -> None:
    response = post(client, charlie, "people", CSV, dry_run="true", mapping=MAPPING)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["dry_run"] and not body["committed"] and body["errors"] == []
    assert body["summary"]["people_new"] == 2
    assert body["mapping"] == {"Given": "first_name", "Family": "last_name",
                               "Zip": "postal_code"}
    assert not Person.objects.exists()
    # the mapping is remembered for this user
    body = post(client, charlie, "people", CSV).json()
    assert body["committed"] and Person.objects.count() == 2


def test_a_committed_import_says_it_was_no_dry_run(client, charlie) -> None:
    body = post(client, charlie, "people", CSV, mapping=MAPPING).json()
    assert body["committed"] is True
    assert body["dry_run"] is False


def test_errors_are_a_422_naming_rows_and_columns(client, charlie) -> None:
    bad = CSV + b"Cy,,02141\n"
    dry = post(client, charlie, "people", bad, dry_run="true", mapping=MAPPING).json()
    assert dry["errors"] == [{"row": 4, "column": "Family",
                              "message": "A last name is required."}]
    response = post(client, charlie, "people", bad, mapping=MAPPING)
    body = assert_problem(response, 422, "rows.4.Family")
    assert body["row_errors"] == dry["errors"]
    assert not Person.objects.exists()


def test_bad_requests(client, charlie, dana) -> None:
    assert_problem(post(client, charlie, "people", CSV, mapping="[1]"), 422, "mapping")
    assert_problem(post(client, charlie, "people", b"\x00bin"), 422, "file")
    assert_problem(post(client, charlie, "people", b"Notes\nx\n"), 422, "mapping.first_name")
    assert_problem(post(client, charlie, "disbursements", CSV), 403)
    assert_problem(post(client, dana, "people", CSV), 403)
    assert_problem(post(client, charlie, "cats", CSV), 422, "kind")
    assert client.post("/api/v1/imports/people").status_code == 401


def get(client: Client, user: User, url: str) -> Any:
    token = token_create(actor=None, user=user)
    return client.get(url, headers={"Authorization": f"Bearer {token}"})


def test_a_background_import_is_a_job_polled_until_done(client, charlie, bob) -> None:
    response = post(client, charlie, "people", CSV, dry_run="true", mapping=MAPPING,
                    background="true")
    assert response.status_code == 202, response.content
    job = response.json()
    # The test settings run tasks inline: the job has finished when the answer comes.
    assert job["status"] == "checked" and job["dry_run"] and not job["committed"]
    assert job["summary"]["people_new"] == 2 and job["errors"] == []
    assert job["mapping"] == {"Given": "first_name", "Family": "last_name",
                              "Zip": "postal_code"}
    assert get(client, charlie, job["url"]).json() == job
    assert not Person.objects.exists()

    response = post(client, charlie, "people", CSV, mapping=MAPPING, background="true")
    assert response.status_code == 202, response.content
    job = get(client, charlie, response.json()["url"]).json()
    assert job["status"] == "done" and job["committed"] and not job["dry_run"]
    assert job["done"] == job["total"] == 2 and job["summary"]["people_new"] == 2
    assert Person.objects.count() == 2
    # someone else's job is not found
    assert_problem(get(client, bob, response.json()["url"]), 404)


def test_a_background_import_with_errors_fails_listing_them_and_writes_nothing(
        client, charlie) -> None:
    bad = CSV + b"Cy,,02141\n"
    response = post(client, charlie, "people", bad, mapping=MAPPING, background="true")
    job = get(client, charlie, response.json()["url"]).json()
    assert job["status"] == "failed" and not job["committed"]
    assert job["errors"] == [{"row": 4, "column": "Family",
                              "message": "A last name is required."}]
    assert "Nothing was imported" in job["message"]
    assert not Person.objects.exists()
    # the file is read by the task, after the answer: a bad mapping ends the job as failed,
    # with the message a synchronous import answers as a 422
    response = post(client, charlie, "people", CSV, mapping='{"Nope": "first_name"}',
                    background="true")
    assert response.status_code == 202, response.content
    job = get(client, charlie, response.json()["url"]).json()
    assert job["status"] == "failed" and not job["committed"]
    assert job["message"] == "The file has no column 'Nope'. Its columns: Given, Family, Zip."
    assert_problem(post(client, charlie, "people", CSV, mapping='{"Nope": "first_name"}'),
                   422, "map.Nope")


def test_a_background_file_that_cannot_be_read_ends_its_job_failed_with_the_reason(
        client, charlie) -> None:
    response = post(client, charlie, "people", b"Given,Family\n\xff\xfe\x00\x01,x\n",
                    background="true")
    assert response.status_code == 202, response.content
    job = get(client, charlie, response.json()["url"]).json()
    assert job["status"] == "failed" and job["rows"] == 0
    sync = assert_problem(post(client, charlie, "people", b"Given,Family\n\xff\xfe\x00\x01,x\n"),
                          422, "file")
    assert job["message"] == sync["errors"][0]["message"]
    # the cheap checks are still made in the request: an empty file, an .xls
    assert_problem(post(client, charlie, "people", b"  ", background="true"), 422, "file")


def test_a_large_file_without_background_is_refused_saying_to_send_background(
        client, charlie) -> None:
    rows = b"".join(b"P%d,Lee%d\n" % (i, i) for i in range(10_001))
    big = b"Given,Family\n" + rows
    body = assert_problem(post(client, charlie, "people", big, dry_run="true",
                               mapping=MAPPING), 413, "file")
    assert "background=true" in body["detail"]
    padded = b"Given,Family\nAna,Diaz\n" + b" " * (1024 * 1024)
    assert_problem(post(client, charlie, "people", padded, dry_run="true"), 413, "file")
    # an XLSX over 256 kB, refused before it is read
    from tests.imports.test_parsers import xlsx

    big_rows: list[list[object]] = [[os.urandom(16).hex(), "Lee"] for _ in range(20_000)]
    workbook = xlsx([["Given", "Family"], *big_rows])
    assert len(workbook) > 256 * 1024
    assert_problem(post(client, charlie, "people", workbook, dry_run="true"), 413, "file")
    # the same file in the background is read, checked and answered through its job
    response = post(client, charlie, "people", big, dry_run="true", mapping=MAPPING,
                    background="true")
    job = get(client, charlie, response.json()["url"]).json()
    assert job["status"] == "checked" and job["summary"]["people_new"] == 10_001


def test_households_through_the_api(client, charlie, dana) -> None:
    data = b"Household,First name,Last name,Relationship\nHarris,Ana,Harris,head\n"
    dry = post(client, charlie, "households", data, dry_run="true").json()
    assert dry["errors"] == [] and dry["summary"]["memberships_new"] == 1
    done = post(client, charlie, "households", data).json()
    assert done["summary"]["memberships_new"] == 1 and not done["dry_run"]
    assert post(client, dana, "households", data).status_code == 403
