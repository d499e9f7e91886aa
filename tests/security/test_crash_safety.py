"""Crash safety: a crash injected at a random row of a bulk write — the first, a random one, the
last — leaves the database exactly as it was (every table's rows and checksum, audit included).
The crash is raised from inside the database driver's row loop, as a dying process would stop."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils.timezone import localdate

from programdesk.core import backup
from programdesk.participation import services
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)

WRITES = ("INSERT", "UPDATE", "DELETE", "COPY")


class InjectedCrash(Exception):
    pass


@contextmanager
def rows_written(crash_at: int | None = None) -> Iterator[dict[str, int]]:
    """Count the rows written (each row of an executemany, each single write statement) and,
    with ``crash_at``, crash when that row is about to be written."""
    state = {"rows": 0}

    def tick() -> None:
        if crash_at is not None and state["rows"] == crash_at:
            raise InjectedCrash(f"crash at row {crash_at}")
        state["rows"] += 1

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool,
                context: Any) -> Any:
        if not sql.lstrip().upper().startswith(WRITES):
            return execute(sql, params, many, context)
        if many:
            def rows() -> Iterator[Any]:
                for row in params:
                    tick()
                    yield row
            return execute(sql, rows(), many, context)
        tick()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield state


def _count_rows(operation: Callable[[], Any]) -> int:
    with transaction.atomic():
        with rows_written() as state:
            operation()
        transaction.set_rollback(True)
    return state["rows"]


def _crash_everywhere(operation: Callable[[], Any], seed: int, *, at_least: int = 11) -> None:
    """Crash at the first, a random and the last row written — at every one when there are
    fewer than 11 (a set-based write is a few statements, not a row loop)."""
    total = _count_rows(operation)
    assert total >= at_least, total
    rng = random.Random(seed)
    db = backup.database_settings()
    # Sequences are left out: PostgreSQL advances them even in transactions rolled back.
    before = backup.fingerprint(db, sequences=False)
    crash_at = (range(total) if total <= 10
                else sorted({0, rng.randrange(1, total - 1), total - 1}))
    for row in crash_at:
        with pytest.raises(InjectedCrash), rows_written(crash_at=row):
            operation()
        after = backup.fingerprint(db, sequences=False)
        assert after == before, f"crash at row {row} of {total} (seed {seed})"
    operation()  # and without a crash it writes
    assert backup.fingerprint(db, sequences=False) != before


def _people(n: int) -> list[int]:
    return [f.PersonFactory().pk for _ in range(n)]


SEED = random.randrange(1_000_000)
# A set-based write is a few statements whatever the number of rows (on SQLite each insert
# of a bulk is one multi-row statement): fewer than 11, so each of them is crashed at.
SET_BASED = 3


def test_crash_in_a_bulk_walk_in_disbursement_leaves_nothing() -> None:
    benefit = f.BenefitFactory()
    people = _people(25)
    actor = f.UserFactory(username="mona", role="manager", password="!")
    _crash_everywhere(lambda: services.disbursements_bulk_walk_in(
        actor=actor, benefit=benefit, quantity=Decimal(1), disbursed_on=localdate(),
        person_ids=people), SEED, at_least=SET_BASED)


def test_crash_in_a_bulk_disbursement_by_enrollment_leaves_nothing() -> None:
    benefit = f.BenefitFactory()
    enrollments = [f.EnrollmentFactory(program=benefit.program).pk for _ in range(25)]
    actor = f.UserFactory(username="mona", role="manager", password="!")
    _crash_everywhere(lambda: services.disbursements_bulk_enrollment(
        actor=actor, benefit=benefit, quantity=Decimal("0.5"), disbursed_on=localdate(),
        enrollment_ids=enrollments), SEED, at_least=SET_BASED)


def test_crash_adding_people_to_a_schedule_leaves_nothing() -> None:
    schedule = f.schedule_with_sessions(sessions=4, first=localdate() + dt.timedelta(days=1))
    people = _people(10)
    actor = f.UserFactory(username="sam", role="staff", password="!")
    _crash_everywhere(lambda: services.schedule_add_participants(
        actor=actor, schedule=schedule, person_ids=people), SEED)


def test_crash_recording_attendance_leaves_nothing() -> None:
    schedule = f.schedule_with_sessions(sessions=1)
    session = schedule.sessions.get()
    marks = []
    for _ in range(15):
        row = f.DisbursementFactory(
            assignment=f.AssignmentFactory(benefit=schedule.benefit,
                                           enrollment__program=schedule.benefit.program),
            session=session, status=f.status("disbursement", "enrolled"))
        marks.append(services.AttendanceMark(disbursement_id=row.pk, status="completed"))
    actor = f.UserFactory(username="sam", role="staff", password="!")
    # The sheet's rows are one UPDATE (then the session's completion and the audit event):
    # a crash before any of those statements leaves nothing.
    _crash_everywhere(lambda: services.attendance_record(
        actor=actor, session=session, marks=marks, complete_session=True), SEED, at_least=3)


def test_crash_importing_attendance_leaves_nothing() -> None:
    """An import of past attendance writes people, enrollments, assignments and disbursements:
    a crash at any of those rows leaves none of them."""
    from tests.imports.util import commit

    program = f.ProgramFactory(name="Youth Mentoring")
    benefit = f.BenefitFactory(program=program, name="Tutoring", unit=f.unit("session"))
    f.schedule_with_sessions(benefit=benefit, sessions=3, first=dt.date(2026, 3, 2))
    lines = ["First Name,Last Name,Benefit,Session date,Attendance"]
    for i in range(8):
        lines += [f"Ana{i},Diaz,Tutoring,2026-03-02,completed",
                  f"Ana{i},Diaz,Tutoring,2026-03-09,absent"]
    text = "\n".join(lines) + "\n"
    actor = f.UserFactory(username="mona", role="manager", password="!")
    _crash_everywhere(lambda: commit("disbursements", text, actor), SEED, at_least=SET_BASED)
