"""Report reads from a replica (core/db_router.py), with a second PostgreSQL database standing in
for it: a copy of the test database taken at one moment (``CREATE DATABASE … TEMPLATE``), after
which the primary moves on — a replica that is behind. A report read inside
``replica_reads()`` (the report pages, the report API, the downloads) sees the copy; every write,
and every other read, is the primary's.

PostgreSQL only: the suite's SQLite database has no second database to stand in.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, cast

import pytest
from django.conf import settings
from django.db import connections, transaction
from django.test import Client

from programdesk.core.db_router import REPLICA, replica_alias, replica_reads
from programdesk.core.models import User
from programdesk.people.models import Person
from programdesk.reports import filtering, selectors
from tests import factories as f
from tests.conftest import ApiClient

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                       reason="needs PostgreSQL: a second database stands in for the replica"),
    pytest.mark.django_db(transaction=True, databases=["default", REPLICA]),
]


def _recreate(name: str, *, template: str | None = None) -> None:
    """(Re)create database ``name``, empty or as a copy of ``template`` (which then must have
    no connection open: ours are closed first)."""
    connections.close_all()
    with connections["default"]._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"'
                       + (f' TEMPLATE "{template}"' if template else ""))


@pytest.fixture(scope="module")
def replica_name(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """The alias ``replica``, as DATABASE_REPLICA_URL would configure it, pointing at a second
    database on the test server (empty until a test copies the primary into it)."""
    with django_db_blocker.unblock():
        primary = connections["default"].settings_dict
        name = f"{primary['NAME']}_replica"
        _recreate(name)
        alias: Any = {**primary, "NAME": name, "TEST": {**primary["TEST"], "NAME": name}}
        configured = settings.DATABASES.get(REPLICA)  # DATABASE_REPLICA_URL's mirror, if set
        settings.DATABASES[REPLICA] = alias
        connections.settings[REPLICA] = alias  # the same dict as settings.DATABASES, or not
        try:
            yield name
        finally:
            connections[REPLICA].close()
            del connections[REPLICA]
            settings.DATABASES.pop(REPLICA, None)
            connections.settings.pop(REPLICA, None)
            if configured is not None:
                settings.DATABASES[REPLICA] = connections.settings[REPLICA] = configured
            connections.close_all()
            with connections["default"]._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


def replicate(replica_name: str) -> None:
    """The replica catches up: it becomes a copy of the primary as it is now."""
    _recreate(replica_name, template=connections["default"].settings_dict["NAME"])


def served(*, program: Any) -> Any:
    """A person with one delivered disbursement in ``program``."""
    enrollment = f.EnrollmentFactory(program=program)
    benefit = f.BenefitFactory(program=program)
    return f.DisbursementFactory(assignment=f.AssignmentFactory(enrollment=enrollment,
                                                                benefit=benefit))


def test_report_reads_go_to_the_replica_everything_else_to_the_primary(
        replica_name: str, alice: User) -> None:
    program = f.ProgramFactory()
    served(program=program)
    replicate(replica_name)
    served(program=program)  # since the copy: on the primary only
    filters = filtering.report_filter(user=alice)

    assert replica_alias() == REPLICA
    assert selectors.report_summary(user=alice, filters=filters)["people_served"] == 2
    with replica_reads():
        assert selectors.report_summary(user=alice, filters=filters)["people_served"] == 1

        # A write inside goes to the primary, and so does a read in a write transaction.
        person = f.PersonFactory(first_name="Written")
        assert Person.objects.using("default").filter(pk=person.pk).exists()
        assert not Person.objects.using(REPLICA).filter(pk=person.pk).exists()
        assert not Person.objects.filter(pk=person.pk).exists()  # a report read: the replica
        with transaction.atomic():
            assert Person.objects.filter(pk=person.pk).exists()
    # Outside, reads are the primary's: what was just written is there.
    assert Person.objects.filter(pk=person.pk).exists()


def test_report_api_and_downloads_read_the_replica_other_pages_the_primary(
        replica_name: str, alice: User) -> None:
    program = f.ProgramFactory()
    served(program=program)
    replicate(replica_name)
    served(program=program)
    api = ApiClient(alice)

    # The report API and a report download: the replica's one person.
    assert api.get("reports/summary").json()["people_served"] == 1
    web = Client()
    web.force_login(alice)
    report = web.get("/reports/summary.csv")
    assert report.status_code == 200
    # A list download streams its rows after the view has returned: still from the replica.
    listed = web.get("/exports/disbursements.csv")
    lines = b"".join(cast(Any, listed).streaming_content).decode().strip().splitlines()
    assert len(lines) == 1 + 1, lines

    # Not a report: the disbursements list reads the primary, which has both.
    assert api.get("disbursements").json()["count"] == 2
    # A report page renders from the replica.
    page = web.get("/reports/")
    assert page.status_code == 200
    assert page.context["summary"]["people_served"] == 1
