"""The import pages: upload, map, check, import; errors listed; roles; long imports in the
background (a task) with their progress."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from programdesk.core.errors import Conflict
from programdesk.imports import jobs, selectors
from programdesk.imports.models import ImportJob, JobStatus
from programdesk.imports.progress import JobProgress
from programdesk.people.models import Person
from tests import factories as f

pytestmark = pytest.mark.django_db

GOOD = b"First Name,Last Name,Zip\nAna,Diaz,02139\nBen,Okafor,02140\n"
BAD = b"First Name,Last Name,Zip\nAna,Diaz,02139\nBen,,02140\nCy,Wei,000000000000000000000\n"


def upload(client: Client, data: bytes, kind: str = "people", name: str = "people.csv"
           ) -> Any:
    return client.post("/imports/", {"kind": kind, "file": SimpleUploadedFile(name, data)})


def mapping_form(job: ImportJob) -> dict[str, str]:
    return {f"map_{i}": field for i, field in enumerate(job.mapping)}


def test_upload_map_check_and_import(client, charlie) -> None:
    client.force_login(charlie)
    page = client.get("/imports/")
    assert page.status_code == 200 and b"Upload and match columns" in page.content
    assert b'value="disbursements"' not in page.content  # staff may not import them
    response = upload(client, GOOD)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/"
    assert job.mapping == ["first_name", "last_name", "postal_code"] and job.row_count == 2
    page = client.get(f"/imports/{job.pk}/")
    assert b"Ana, Ben" in page.content  # sample values under the column
    assert b'<option value="postal_code" selected>' in page.content

    client.post(f"/imports/{job.pk}/", {"action": "check", **mapping_form(job)})
    job.refresh_from_db()
    assert job.status == JobStatus.CHECKED and job.error_count == 0
    page = client.get(f"/imports/{job.pk}/")
    assert b"2 new people" in page.content and b"Import 2 rows" in page.content
    assert not Person.objects.exists()

    response = client.post(f"/imports/{job.pk}/", {"action": "commit"}, follow=True)
    assert b"Imported" in response.content and b"2 new people" in response.content
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and Person.objects.count() == 2
    assert not jobs.job_path(job).exists()  # the upload is gone once imported
    # a second click imports nothing more
    response = client.post(f"/imports/{job.pk}/", {"action": "commit"}, follow=True)
    assert b"Check the file" in response.content or b"imported already" in response.content
    assert Person.objects.count() == 2


def test_every_error_is_listed_and_nothing_can_be_imported(client, charlie) -> None:
    client.force_login(charlie)
    upload(client, BAD)
    job = ImportJob.objects.get()
    client.post(f"/imports/{job.pk}/", {"action": "check", **mapping_form(job)})
    page = client.get(f"/imports/{job.pk}/")
    content = page.content.decode()
    assert "2 errors." in content
    assert "A last name is required." in content and "At most 20 characters." in content
    assert "Import 3 rows" not in content
    response = client.post(f"/imports/{job.pk}/", {"action": "commit"}, follow=True)
    assert b"Check the file (without errors)" in response.content
    assert not Person.objects.exists()
    errors = client.get(f"/imports/{job.pk}/errors.csv")
    assert errors["Content-Disposition"] == 'attachment; filename="errors-people.csv"'
    body = errors.content.decode()
    assert body.splitlines() == ["row,column,message", "3,Last Name,A last name is required.",
                                 "4,Zip,At most 20 characters."]


def test_errors_file_makes_formulas_from_the_upload_inert(client, charlie) -> None:
    client.force_login(charlie)
    upload(client, b'First Name,"=HYPERLINK(""http://x"")"\nAna,\n')
    job = ImportJob.objects.get()
    client.post(f"/imports/{job.pk}/", {"action": "check", "map_0": "first_name",
                                        "map_1": "last_name"})
    body = client.get(f"/imports/{job.pk}/errors.csv").content.decode()
    assert "'=HYPERLINK" in body
    assert ",=HYPERLINK" not in body and "\n=HYPERLINK" not in body


def test_changing_the_mapping_on_the_page(client, charlie) -> None:
    client.force_login(charlie)
    upload(client, b"Given,Family\nAna,Diaz\n")
    job = ImportJob.objects.get()
    assert job.mapping == ["", ""]
    response = client.post(f"/imports/{job.pk}/", {"action": "check", "map_0": "first_name"})
    assert b"A column must be mapped to" in response.content  # last name missing
    client.post(f"/imports/{job.pk}/", {"action": "check", "map_0": "first_name",
                                        "map_1": "last_name"})
    job.refresh_from_db()
    assert job.status == JobStatus.CHECKED and job.mapping == ["first_name", "last_name"]
    # remembered for the next file
    upload(client, b"Given,Family\nBen,Okafor\n")
    assert ImportJob.objects.first().mapping == ["first_name", "last_name"]


def test_bad_files_are_refused_with_a_message(client, charlie, settings) -> None:
    client.force_login(charlie)
    # read by the task, after the upload: the job's page says why it failed
    response = upload(client, b"\x00\x01binary")
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/"
    assert job.status == JobStatus.FAILED and "binary data" in job.message
    page = client.get(f"/imports/{job.pk}/")
    assert b"binary data" in page.content and b"Upload a file" in page.content
    assert b'id="mapping"' not in page.content
    assert not jobs.job_path(job).exists()  # nothing kept of a file that cannot be read
    ImportJob.objects.all().delete()
    # the cheap checks stay on the upload form
    response = upload(client, b"  \n")
    assert response.status_code == 400 and b"The file is empty." in response.content
    response = client.post("/imports/", {"kind": "people"})
    assert b"Choose a CSV or XLSX file." in response.content
    from programdesk.imports import parsers

    response = upload(client, b"a" * (parsers.MAX_BYTES + 10))
    assert response.status_code == 400 and b"larger than 20 MB" in response.content
    assert not ImportJob.objects.exists()


def test_roles_and_ownership(client, charlie, dana, bob) -> None:
    client.force_login(dana)
    assert client.get("/imports/").status_code == 403
    client.force_login(charlie)
    response = upload(client, b"Benefit,Date\nMeals,2026-01-01\n", kind="disbursements")
    assert b"may not import disbursements" in response.content
    client.force_login(bob)
    upload(client, GOOD)
    job = ImportJob.objects.get()
    client.force_login(charlie)
    assert client.get(f"/imports/{job.pk}/").status_code == 404
    assert client.post(f"/imports/{job.pk}/", {"action": "commit"}).status_code == 404


def test_templates(client, charlie) -> None:
    f.FieldDefinitionFactory(target="person", key="grade", label="School grade")
    client.force_login(charlie)
    response = client.get("/imports/template/people.csv")
    assert response["Content-Type"].startswith("text/csv")
    header = response.content.decode().strip()
    assert header.startswith("First name,Last name,Birth date") and "School grade" in header
    assert client.get("/imports/template/nothing.csv").status_code == 404


def test_a_running_import_shows_its_progress(client, charlie) -> None:
    client.force_login(charlie)
    upload(client, GOOD)
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, phase="writing", progress_done=1, progress_total=2,
        heartbeat_at=timezone.now())
    page = client.get(f"/imports/{job.pk}/")
    assert b'hx-get="/imports/%d/progress/"' % job.pk in page.content
    panel = client.get(f"/imports/{job.pk}/progress/")
    assert b"Writing records" in panel.content and b'value="50"' in panel.content
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE)
    finished = client.get(f"/imports/{job.pk}/progress/")
    assert finished.status_code == 204 and finished["HX-Refresh"] == "true"


def test_a_queued_check_says_it_waits_for_a_worker(client, charlie) -> None:
    client.force_login(charlie)
    upload(client, GOOD)
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.CHECKING, phase="queued",
                                               heartbeat_at=timezone.now())
    panel = client.get(f"/imports/{job.pk}/progress/")
    assert b"Waiting for a task worker" in panel.content


def test_a_stalled_import_is_marked_failed(charlie, settings) -> None:
    job = ImportJob.objects.create(user=charlie, kind="people", filename="x.csv",
                                   stored_name="gone.csv", size=1, status=JobStatus.RUNNING,
                                   action="commit", phase="writing",
                                   heartbeat_at=timezone.now())
    assert jobs.import_job_fail_if_worker_lost(job=job).status == JobStatus.RUNNING
    stale = settings.PROGRAMDESK_TASK_STALE_SECONDS
    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(seconds=stale + 5))
    read = selectors.import_job_get(user=charlie, pk=job.pk)
    assert read.status == JobStatus.RUNNING  # the selector only reads
    job = jobs.import_job_fail_if_worker_lost(job=read)
    assert job.status == JobStatus.FAILED and "Nothing was imported" in job.message


def test_a_job_whose_worker_died_while_reading_says_to_upload_again(charlie, settings) -> None:
    job = ImportJob.objects.create(user=charlie, kind="people", filename="x.csv",
                                   stored_name="gone.csv", size=1, status=JobStatus.READING,
                                   action="read", phase="reading",
                                   heartbeat_at=timezone.now() - dt.timedelta(days=1))
    job = jobs.import_job_fail_if_worker_lost(job=job)
    assert job.status == JobStatus.FAILED and "Upload it again" in job.message


def test_an_import_runs_as_a_task_and_writes_its_progress_in_its_row(
        client, charlie, monkeypatch) -> None:
    seen: list[tuple[str, int, int]] = []
    original = JobProgress.__call__

    def spy(self, phase, done, total) -> None:
        original(self, phase, done, total)
        row = ImportJob.objects.get(pk=self.job_id)
        seen.append((row.phase, row.progress_done, row.progress_total))

    monkeypatch.setattr(JobProgress, "__call__", spy)
    client.force_login(charlie)
    upload(client, GOOD)
    job = ImportJob.objects.get()
    client.post(f"/imports/{job.pk}/", {"action": "check", **mapping_form(job)})
    job.refresh_from_db()
    assert job.status == JobStatus.CHECKED and job.action == "check" and job.task_id
    client.post(f"/imports/{job.pk}/", {"action": "commit"})
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.message
    assert job.action == "commit" and job.phase == "done"
    assert job.summary["people_new"] == 2 and Person.objects.count() == 2
    assert ("writing", 0, 2) in seen and ("done", 2, 2) in seen


def test_a_check_while_the_import_waits_is_refused_and_keeps_the_checked_mapping(
        client, charlie) -> None:
    client.force_login(charlie)
    upload(client, GOOD)
    job = ImportJob.objects.get()
    seen_before = ImportJob.objects.get()  # a second request read it before the import began
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, action="commit",
                                               phase="queued", heartbeat_at=timezone.now())
    response = client.post(f"/imports/{job.pk}/", {"action": "check", "map_0": "first_name",
                                                   "map_1": "last_name", "map_2": ""},
                           follow=True)
    assert b"being checked or imported" in response.content
    with pytest.raises(Conflict):
        jobs.import_job_check(actor=charlie, job=seen_before,
                              mapping=["first_name", "last_name", ""])
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    assert job.mapping == ["first_name", "last_name", "postal_code"]


def test_a_file_being_read_shows_its_progress_then_its_columns(client, charlie) -> None:
    client.force_login(charlie)
    upload(client, GOOD)
    job = ImportJob.objects.get()
    assert job.status == JobStatus.UPLOADED and job.samples  # read inline in the tests
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.READING, phase="reading",
                                               heartbeat_at=timezone.now())
    page = client.get(f"/imports/{job.pk}/")
    assert b"Reading the file" in page.content and b'id="mapping"' not in page.content
    assert b"Reading the file" in client.get(f"/imports/{job.pk}/progress/").content
    response = client.post(f"/imports/{job.pk}/", {"action": "check"}, follow=True)
    assert b"still being read" in response.content  # nothing queued
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.UPLOADED, phase="read")
    assert client.get(f"/imports/{job.pk}/progress/").status_code == 204
    page = client.get(f"/imports/{job.pk}/")
    assert b'id="mapping"' in page.content
    # the first values of each column come from the job, not from reading the file again
    jobs.job_path(job).unlink()
    assert job.samples[0][0].encode() in client.get(f"/imports/{job.pk}/").content
