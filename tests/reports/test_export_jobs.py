"""Large list exports run as tasks (inline in the tests): the download redirects to the
export's page, whose file is its asker's only, escaped like a direct download, and purged
when it expires."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.core.management import call_command
from django.utils import timezone

from programdesk.reports import export_jobs
from programdesk.reports.models import ExportJob, ExportStatus
from tests.factories import UserFactory
from tests.reports.test_exports import NASTY, nasty_people  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


def downloaded(response) -> bytes:
    assert response.status_code == 200, response.status_code
    assert response["Cache-Control"] == "no-store"
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_large_export_is_written_by_a_task_and_downloaded_from_its_page(
        client, charlie, nasty_people, settings, fmt) -> None:  # noqa: F811
    settings.PROGRAMDESK_EXPORT_TASK_ROWS = len(NASTY) - 1
    client.force_login(charlie)
    # An integration's download: the machine keys (people get human names: below).
    response = client.get(f"/exports/people.{fmt}?search=Doe&headers=machine")
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/exports/jobs/{job.pk}/"
    assert job.user == charlie and job.status == ExportStatus.DONE
    assert job.row_count == len(NASTY) and job.filters["search"] == "Doe"
    assert oct(export_jobs.export_path(job).stat().st_mode & 0o777) == "0o600"
    page = client.get(f"/exports/jobs/{job.pk}/")
    assert b"Download" in page.content and f"/exports/jobs/{job.pk}/download".encode() in (
        page.content)
    assert client.get(f"/exports/jobs/{job.pk}/progress/").status_code == 204
    data = downloaded(client.get(f"/exports/jobs/{job.pk}/download"))
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
        values = list(sheet.iter_rows(values_only=True))
        rows = [dict(zip(values[0], row, strict=True)) for row in values[1:]]
    # Escaped as a direct download is. (XML reads a carriage return back as a line feed.)
    assert (sorted(str(r["first_name"]).replace("\n", "\r") for r in rows)
            == sorted("'" + v for v in NASTY))
    assert {r["extra.nickname"] for r in rows} == {"'=1+1"}
    client.get(f"/exports/people.{fmt}?search=Doe")
    human = ExportJob.objects.latest("pk")
    data = downloaded(client.get(f"/exports/jobs/{human.pk}/download"))
    first = (data.decode("utf-8-sig").splitlines()[0] if fmt == "csv" else next(
        openpyxl.load_workbook(io.BytesIO(data), read_only=True).worksheets[0].iter_rows(
            values_only=True)))
    assert "First name" in first and "first_name" not in first


def test_a_small_export_is_answered_at_once(client, charlie, nasty_people) -> None:  # noqa: F811
    client.force_login(charlie)
    response = client.get("/exports/people.csv")
    assert response.status_code == 200 and not ExportJob.objects.exists()


def test_an_export_is_its_askers_only(client, charlie, nasty_people, settings) -> None:  # noqa: F811
    settings.PROGRAMDESK_EXPORT_TASK_ROWS = 1
    client.force_login(charlie)
    client.get("/exports/people.csv")
    job = ExportJob.objects.get()
    client.force_login(UserFactory(username="other", role="admin"))
    for url in [f"/exports/jobs/{job.pk}/", f"/exports/jobs/{job.pk}/progress/",
                f"/exports/jobs/{job.pk}/download"]:
        assert client.get(url).status_code == 404, url


def test_bad_filters_are_refused_before_any_job(client, charlie, settings) -> None:
    settings.PROGRAMDESK_EXPORT_TASK_ROWS = 0
    client.force_login(charlie)
    assert client.get("/exports/people.csv?from=soon").status_code == 400
    assert client.get("/exports/people.csv?program_id=999999").status_code == 404
    assert not ExportJob.objects.exists()


def test_an_expired_export_is_gone_and_purged(client, charlie, nasty_people, settings,  # noqa: F811
                                              capsys) -> None:
    settings.PROGRAMDESK_EXPORT_TASK_ROWS = 1
    client.force_login(charlie)
    client.get("/exports/people.csv")
    job = ExportJob.objects.get()
    path = export_jobs.export_path(job)
    assert path.exists()
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - dt.timedelta(hours=1))
    assert client.get(f"/exports/jobs/{job.pk}/download").status_code == 404
    assert b"expired" in client.get(f"/exports/jobs/{job.pk}/").content
    call_command("purge")
    assert "1 export files" in capsys.readouterr().out
    assert not path.exists() and not ExportJob.objects.exists()


def test_an_export_whose_worker_died_is_failed_when_read(charlie, settings) -> None:
    job = ExportJob.objects.create(
        user=charlie, name="people", format="csv", filters={}, filename="people",
        stored_name="x.csv", status=ExportStatus.RUNNING,
        heartbeat_at=timezone.now() - dt.timedelta(hours=1),
        expires_at=timezone.now() + dt.timedelta(hours=1))
    job = export_jobs.export_job_fail_if_worker_lost(job=job)
    assert job.status == ExportStatus.FAILED and "stopped before it finished" in job.message
