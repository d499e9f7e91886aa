"""Imports on a real task worker (``manage.py db_worker`` as a subprocess, the database
backend): a restarted worker takes the jobs queued meanwhile, two workers never run one job
twice, a worker killed (SIGKILL) in the middle of an import's write transaction leaves
nothing written and the job failed with a message, and two app servers share the work (an
upload through one, its progress and outcome through the other). And the other tasks: a large
export, the purge."""

# ruff: noqa: S310 - requests to the test's own http://127.0.0.1 servers

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote
from urllib.request import Request, urlopen

import pytest
from django.db import connection, transaction
from django.test import Client
from django_tasks_db.models import DBTaskResult

from programdesk.core.services import token_create
from programdesk.imports import jobs, selectors
from programdesk.imports.models import ImportJob, JobStatus
from programdesk.people.models import Person
from tests import factories as f
from tests.polling import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def people_csv(n: int, prefix: str = "P") -> bytes:
    lines = ["First Name,Last Name,Zip"]
    lines += [f"{prefix}{i},Lee{prefix}{i},{i % 100000:05d}" for i in range(n)]
    return ("\n".join(lines) + "\n").encode()


def database_url() -> str:
    """The test database, as the worker subprocess's DATABASE_URL."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = quote(db["USER"] or "", safe="")
    password = quote(db["PASSWORD"] or "", safe="")
    return (f"postgres://{user}:{password}@{quote(db['HOST'] or '', safe='')}:"
            f"{db['PORT'] or 5432}/{db['NAME']}")


class Workers:
    """Task worker subprocesses on the test database; each stopped (or killed) at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen[bytes]] = []

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        env = dict(os.environ, DATABASE_URL=database_url(),
                   PROGRAMDESK_MEDIA_DIR=str(self.tmp_path))
        env.pop("PROGRAMDESK_TESTING", None)  # the database backend, not the inline one
        log = (self.tmp_path / f"worker-{name}.log").open("wb")
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def start(self, name: str, *extra: str) -> subprocess.Popen[bytes]:
        return self._spawn(name, [
            sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay",
            "--interval", "0.1", "--worker-id", name, *extra])

    def start_web(self, name: str) -> str:
        """A gunicorn app server on a free port; its base URL once it answers."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self._spawn(name, [sys.executable, "-m", "gunicorn", "programdesk.wsgi:application",
                           "--bind", f"127.0.0.1:{port}", "--workers", "1"])
        return f"http://127.0.0.1:{port}"

    def log(self, name: str) -> str:
        return (self.tmp_path / f"worker-{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)


@pytest.fixture
def workers(settings: Any, tmp_path: Path) -> Iterator[Workers]:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    pool = Workers(tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()


def shown(user: Any, pk: int) -> ImportJob:
    """The job as its page or the API shows it (marked failed if its worker died)."""
    return jobs.import_job_fail_if_worker_lost(job=selectors.import_job_get(user=user, pk=pk))


def job_status(pk: int) -> str:
    return ImportJob.objects.values_list("status", flat=True).get(pk=pk)


def test_a_restarted_worker_takes_the_jobs_queued_meanwhile(workers: Workers) -> None:
    charlie = f.UserFactory(username="charlie", role="staff")
    job = jobs.import_job_create(actor=charlie, kind="people", filename="people.csv",
                                 data=people_csv(3), then="check")
    # No worker yet: reading and checking wait in the queue, and are not taken for dead
    # however long.
    assert job.status == JobStatus.READING and job.phase == "queued" and not job.headers
    assert DBTaskResult.objects.get(id=job.task_id).status == "READY"
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=job.created_at.replace(year=2000))
    assert shown(charlie, job.pk).status == JobStatus.READING

    workers.start("first", "--batch").wait(timeout=120)
    job.refresh_from_db()
    assert job.status == JobStatus.CHECKED, job.message
    assert job.summary["people_new"] == 3 and job.headers == ["First Name", "Last Name", "Zip"]

    job = jobs.import_job_commit(actor=charlie, job=job)
    assert job.status == JobStatus.RUNNING and not Person.objects.exists()
    workers.start("second", "--batch").wait(timeout=120)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.message
    assert Person.objects.count() == 3
    assert DBTaskResult.objects.get(id=job.task_id).worker_ids == ["second"]


def test_two_workers_never_run_one_job_twice(workers: Workers) -> None:
    charlie = f.UserFactory(username="charlie", role="staff")
    queued = []
    for n in range(8):
        queued.append(jobs.import_job_create(actor=charlie, kind="people", filename=f"p{n}.csv",
                                             data=people_csv(20, prefix=f"J{n}x"),
                                             then="commit"))
    one, two = workers.start("one"), workers.start("two")
    results = DBTaskResult.objects.filter(id__in=[j.task_id for j in queued])
    # A job is done when its task's function returns; the worker records the task's own
    # result just after, so wait for both.
    wait_for(lambda: all(job_status(j.pk) == JobStatus.DONE for j in queued)
             and not results.exclude(status="SUCCESSFUL").exists(), what="8 imports")
    assert Person.objects.count() == 8 * 20  # each file imported once
    assert sorted(r.status for r in results) == ["SUCCESSFUL"] * 8
    # each task claimed by one worker, once; and each job started once
    assert all(len(r.worker_ids) == 1 for r in results), [r.worker_ids for r in results]
    assert all(r.return_value == "done" for r in results)
    assert one.poll() is None and two.poll() is None


def _mid_write_transaction(job_pk: int) -> bool:
    """Whether the worker is inside the import's write transaction: it holds the job row's
    lock (PostgreSQL) or the database's write lock (SQLite)."""
    if connection.vendor == "sqlite":
        probe = sqlite3.connect(connection.settings_dict["NAME"], timeout=0.05)
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return True
        else:
            probe.rollback()
            return False
        finally:
            probe.close()
    with transaction.atomic():
        locked = not ImportJob.objects.select_for_update(skip_locked=True).filter(
            pk=job_pk).exists()
    return locked


def test_a_worker_killed_mid_import_leaves_nothing_and_the_job_failed(
        workers: Workers, settings: Any) -> None:
    charlie = f.UserFactory(username="charlie", role="staff")
    rows = 60_000  # its write transaction must outlast the probe below, even on a quiet machine
    job = jobs.import_job_create(actor=charlie, kind="people", filename="big.csv",
                                 data=people_csv(rows), then="commit")
    worker = workers.start("doomed")
    wait_for(lambda: ImportJob.objects.filter(pk=job.pk, phase="checked").exists(),
             what="the check before the writes")
    wait_for(lambda: _mid_write_transaction(job.pk), seconds=30, what="the write transaction")
    time.sleep(0.05)  # some rows written, uncommitted
    assert job_status(job.pk) == JobStatus.RUNNING, workers.log("doomed")
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)

    assert not Person.objects.exists()  # the transaction died with the worker
    assert job_status(job.pk) == JobStatus.RUNNING  # nobody has noticed yet
    assert DBTaskResult.objects.get(id=job.task_id).status == "RUNNING"
    # Read after the stale time, the job is marked failed, with a message saying why.
    settings.PROGRAMDESK_TASK_STALE_SECONDS = 1
    time.sleep(1.2)
    job = shown(charlie, job.pk)
    assert job.status == JobStatus.FAILED
    assert "stopped before it finished" in job.message and "Nothing was imported" in job.message
    assert DBTaskResult.objects.get(id=job.task_id).status == "FAILED"
    # A new worker does not run it again; the records stay unwritten.
    workers.start("next", "--batch").wait(timeout=120)
    assert not Person.objects.exists() and job_status(job.pk) == JobStatus.FAILED


def test_a_live_import_is_not_given_up_while_it_writes(workers: Workers, settings: Any) -> None:
    """Its progress row cannot move during the write transaction (SQLite), so it may look
    stale: the lock it holds keeps it from being marked failed."""
    charlie = f.UserFactory(username="charlie", role="staff")
    job = jobs.import_job_create(actor=charlie, kind="people", filename="big.csv",
                                 data=people_csv(20_000), then="commit")
    workers.start("live")
    wait_for(lambda: _mid_write_transaction(job.pk), seconds=120, what="the write transaction")
    settings.PROGRAMDESK_TASK_STALE_SECONDS = 0
    seen = shown(charlie, job.pk).status
    assert seen in {JobStatus.RUNNING, JobStatus.DONE}
    wait_for(lambda: job_status(job.pk) != JobStatus.RUNNING, what="the import")
    assert job_status(job.pk) == JobStatus.DONE, workers.log("live")
    assert Person.objects.count() == 20_000


def test_two_app_servers_upload_through_one_and_follow_through_the_other(
        workers: Workers) -> None:
    charlie = f.UserFactory(username="charlie", role="staff")
    token = token_create(actor=None, user=charlie)
    workers.start("worker")
    first, second = workers.start_web("web-1"), workers.start_web("web-2")

    def up(base: str) -> bool:
        try:
            return urlopen(f"{base}/login/", timeout=5).status == 200
        except OSError:
            return False

    wait_for(lambda: up(first) and up(second), what="both app servers")
    boundary = "programdeskboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"background\"\r\n\r\n"
            f"true\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"people.csv\"\r\nContent-Type: text/csv\r\n\r\n").encode()
    body += people_csv(5_000) + f"\r\n--{boundary}--\r\n".encode()
    auth = {"Authorization": f"Bearer {token}"}
    with urlopen(Request(f"{first}/api/v1/imports/people", data=body, headers={
            **auth, "Content-Type": f"multipart/form-data; boundary={boundary}"}),
            timeout=60) as response:
        assert response.status == 202
        url = json.load(response)["url"]

    seen: list[dict[str, Any]] = []

    def finished() -> bool:
        with urlopen(Request(second + url, headers=auth), timeout=10) as response:
            seen.append(json.load(response))
        return seen[-1]["status"] not in {"reading", "running"}

    wait_for(finished, what="the import, read through the second server")
    assert seen[-1]["status"] == "done" and seen[-1]["summary"]["people_new"] == 5_000
    assert seen[-1]["done"] == seen[-1]["total"] == 5_000
    assert Person.objects.count() == 5_000
    # The page too, with a session (sessions live in the database) on the second server.
    browser = Client()
    browser.force_login(charlie)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    job = ImportJob.objects.get()
    with urlopen(Request(f"{second}/imports/{job.pk}/", headers={"Cookie": cookie}),
                 timeout=10) as response:
        page = response.read().decode()
    assert "Imported" in page and "5000 new people" in page


def test_a_worker_writes_a_large_export_and_runs_the_purge(workers: Workers, settings: Any,
                                                          tmp_path: Path) -> None:
    """The other tasks on a real worker: an export job's file, and the queued purge (which
    deletes an expired export's file)."""
    from django.core.management import call_command

    from programdesk.reports import export_jobs
    from programdesk.reports.lists import ListFilter
    from programdesk.reports.models import ExportJob, ExportStatus
    from programdesk.reports.selectors import ReportFilter

    settings.PROGRAMDESK_MEDIA_DIR = tmp_path  # where the worker writes (Workers' env)
    admin = f.UserFactory(username="ada", role="admin")
    for n in range(3):
        f.PersonFactory(first_name=f"=cmd{n}", last_name="Lee")
    job = export_jobs.export_job_create(actor=admin, name="people", fmt="csv",
                                        filters=ListFilter(report=ReportFilter()),
                                        filename="people")
    assert job.status == ExportStatus.QUEUED
    workers.start("exporter", "--batch").wait(timeout=120)
    job.refresh_from_db()
    assert job.status == ExportStatus.DONE, workers.log("exporter")
    text = export_jobs.export_path(job).read_text(encoding="utf-8-sig")
    assert job.row_count == 3 and text.count("'=cmd") == 3

    ExportJob.objects.filter(pk=job.pk).update(expires_at=job.created_at)
    call_command("purge", "--enqueue")
    workers.start("purger", "--batch").wait(timeout=120)
    assert not export_jobs.export_path(job).exists() and not ExportJob.objects.exists()
    assert DBTaskResult.objects.filter(task_path="programdesk.management.tasks.purge_run",
                                       status="SUCCESSFUL").exists()
