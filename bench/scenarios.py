"""The scenarios. Each returns {"rows", "seconds", "baseline_seconds", ...}: the service's time
and the time of the same rows written (or the same aggregate read) with plain
``executemany``/SQL, both on the same database, fastest of ``repeat`` runs each.

Imports of Django modules happen inside the functions: ``bench.run`` sets up Django first.
"""

from __future__ import annotations

import datetime as dt
import resource
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

Result = dict[str, Any]


def _best(repeat: int, run: Callable[[], Any], reset: Callable[[], Any]) -> float:
    """Fastest of ``repeat`` timed runs; ``reset`` (untimed) restores the state after each."""
    best = float("inf")
    for _ in range(max(repeat, 1)):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
        reset()
    return best


def _best_interleaved(rounds: int, service: Callable[[], Any], baseline: Callable[[], Any],
                      reset: Callable[[], Any]) -> tuple[float, float]:
    """The fastest of ``rounds`` timed runs of each, service and baseline taking turns: for a
    scenario whose run is a tenth of a second, a slow spell of this machine (runs here swing
    by a quarter for seconds at a time) would otherwise fall on one side only."""
    best_service = best_baseline = float("inf")
    for _ in range(max(rounds, 1)):
        best_service = min(best_service, _best(1, service, reset))
        best_baseline = min(best_baseline, _best(1, baseline, reset))
    return best_service, best_baseline


def _sql(sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall() if cursor.description else []


def _many(sql: str, rows: Any) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _values(now: Any, day: Any) -> tuple[Any, Any, Any]:
    from django.db import connection

    return (connection.ops.adapt_datetimefield_value(now),
            connection.ops.adapt_datefield_value(day),
            connection.ops.adapt_json_value({}, None))


def _vendor() -> str:
    from django.db import connection

    return str(connection.vendor)


def _copy(table: str, columns: str, rows: Any) -> None:
    """PostgreSQL's ``COPY table (columns) FROM STDIN`` of ``rows`` (set-up only): psycopg 3's
    ``cursor.copy`` on the raw cursor under Django's; the values adapted as parameters are."""
    from django.db import connection

    with (connection.cursor() as wrapper,
          wrapper.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy):
        for row in rows:
            copy.write_row(row)


def _analyze() -> None:
    """Fresh planner statistics; on PostgreSQL also the visibility map (``VACUUM``), as
    autovacuum would leave a table written in bulk, so both sides may read indexes alone."""
    from django.db import connection

    _sql("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def _explain(name: str, service: Callable[[], Any], baseline: Callable[[], Any]) -> None:
    """With ``PROGRAMDESK_BENCH_EXPLAIN=FILE`` on PostgreSQL: append the ``EXPLAIN (ANALYZE,
    BUFFERS)`` of each statement the service and the baseline run (after the timed runs, so
    it changes no number) to FILE — docs/performance.md shows them."""
    import os

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    path = os.environ.get("PROGRAMDESK_BENCH_EXPLAIN")
    if not path or connection.vendor != "postgresql":
        return
    with open(path, "a", encoding="utf-8") as out:
        for side, run in (("service", service), ("baseline", baseline)):
            with CaptureQueriesContext(connection) as ctx:
                run()
            for query in ctx.captured_queries:
                sql = query["sql"]
                if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                    continue
                plan = _sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                out.write(f"### {name} {side}\n{sql}\n\n")
                out.write("\n".join(row[0] for row in plan) + "\n\n")


def _clear_participation() -> None:
    for table in ["participation_benefitdisbursement", "participation_scheduleassignment",
                  "participation_cohortmember", "participation_benefitassignment",
                  "participation_programenrollment"]:
        _sql(f"DELETE FROM {table}")


# --- data -----------------------------------------------------------------------------------


def _admin() -> Any:
    from programdesk.core.models import User

    return User.objects.get_or_create(username="bench", defaults={"role": "admin"})[0]


def _program_and_benefit(name: str, unit: str = "session") -> tuple[Any, Any]:
    from programdesk.programs.models import UnitOfMeasure
    from programdesk.programs.services import benefit_create, program_create

    program = program_create(actor=None, name=name)
    benefit = benefit_create(actor=None, program=program, name=f"{name} benefit",
                             unit=UnitOfMeasure.objects.get(code=unit))
    return program, benefit


def _people(n: int) -> list[int]:
    """``n`` people, through the people service (setup: not timed)."""
    from programdesk.core.bulk import chunked
    from programdesk.people.services import people_create_many

    ids: list[int] = []
    for chunk in chunked(range(n), 10_000):
        ids += people_create_many(actor=None, rows=[
            {"first_name": f"First{i}", "last_name": f"Last{i}",
             "postal_code": f"{2100 + i % 50:05d}"} for i in chunk])
    return ids


def _schedule(benefit: Any, sessions: int, first: dt.date) -> Any:
    from zoneinfo import ZoneInfo

    from programdesk.scheduling.models import BenefitSchedule, BenefitSession

    schedule = BenefitSchedule.objects.create(
        benefit=benefit, name="Bench schedule", timezone="America/New_York", first_date=first,
        start_time=dt.time(18), duration=dt.timedelta(hours=2),
        recurrence={"frequency": "daily", "interval": 1, "count": sessions})
    tz = ZoneInfo("America/New_York")
    BenefitSession.objects.bulk_create([
        BenefitSession(schedule=schedule, benefit=benefit, local_date=day,
                       start=dt.datetime.combine(day, dt.time(18), tzinfo=tz),
                       end=dt.datetime.combine(day, dt.time(20), tzinfo=tz))
        for day in (first + dt.timedelta(days=i) for i in range(sessions))])
    return schedule


# --- S1: add people to a 52-session schedule ------------------------------------------------


def _baseline_add_to_schedule(schedule: Any, benefit: Any, person_ids: list[int]) -> None:
    """What adding participants writes, by hand: enrollments, assignments, roster, one
    disbursement per (person, session) — plain executemany and two id look-ups."""
    from django.db import transaction
    from django.utils import timezone

    from programdesk.core.models import StatusValue

    today = timezone.localdate()
    now, day, extra = _values(timezone.now(), today)
    enrolled = StatusValue.objects.get(kind="enrollment", code="enrolled").pk
    expected = StatusValue.objects.get(kind="disbursement", code="enrolled").pk
    sessions = _sql("SELECT id, local_date FROM scheduling_benefitsession WHERE schedule_id = %s",
                    [schedule.pk])
    with transaction.atomic():
        _many("INSERT INTO participation_programenrollment (program_id, person_id, account_id, "
              "is_anonymous, status_id, is_active, start_date, extra, created_at, updated_at) "
              "VALUES (%s, %s, NULL, %s, %s, %s, %s, %s, %s, %s)",
              ((benefit.program_id, p, False, enrolled, True, day, extra, now, now)
               for p in person_ids))
        enrollments = _sql("SELECT id, person_id FROM participation_programenrollment "
                           "WHERE program_id = %s", [benefit.program_id])
        _many("INSERT INTO participation_benefitassignment (benefit_id, enrollment_id, "
              "person_id, account_id, is_anonymous, created_at, updated_at) "
              "VALUES (%s, %s, %s, NULL, %s, %s, %s)",
              ((benefit.pk, e, p, False, now, now) for e, p in enrollments))
        assignments = _sql("SELECT id, enrollment_id, person_id FROM "
                           "participation_benefitassignment WHERE benefit_id = %s", [benefit.pk])
        _many("INSERT INTO participation_scheduleassignment (schedule_id, assignment_id, "
              "start_date, created_at, updated_at) VALUES (%s, %s, %s, %s, %s)",
              ((schedule.pk, a, day, now, now) for a, _, _ in assignments))
        _many("INSERT INTO participation_benefitdisbursement (assignment_id, session_id, "
              "enrollment_id, benefit_id, program_id, person_id, account_id, case_id, "
              "recipient_type, recipient_count, quantity, unit_id, status_id, disbursed_on, "
              "extra, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, NULL, NULL, %s, "
              "%s, %s, %s, %s, %s, %s, %s, %s)",
              ((a, s, e, benefit.pk, benefit.program_id, p, "enrollment", 1, Decimal(1),
                benefit.unit_id, expected, s_day, extra, now, now)
               for s, s_day in sessions for a, e, p in assignments))


def s1_add_to_schedule(*, scale: float, repeat: int) -> Result:
    from django.utils import timezone

    from programdesk.participation.services import schedule_add_participants

    people = _people(int(1000 * scale))
    _, benefit = _program_and_benefit("S1 class")
    schedule = _schedule(benefit, 52, timezone.localdate())
    actor = _admin()
    seconds = _best(repeat, lambda: schedule_add_participants(
        actor=actor, schedule=schedule, person_ids=people), _clear_participation)
    # The process's peak so far: set-up and the service, before the baseline runs.
    service_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    baseline = _best(repeat, lambda: _baseline_add_to_schedule(schedule, benefit, people),
                     _clear_participation)
    return {"rows": len(people) * 52, "seconds": seconds, "baseline_seconds": baseline,
            "service_peak_rss_mb": round(service_peak, 1)}


# --- S2: bulk walk-in -----------------------------------------------------------------------


def _baseline_walk_in(benefit: Any, person_ids: list[int]) -> None:
    from django.db import transaction
    from django.utils import timezone

    from programdesk.core.models import StatusValue

    today = timezone.localdate()
    now, day, extra = _values(timezone.now(), today)
    enrolled = StatusValue.objects.get(kind="enrollment", code="enrolled").pk
    completed = StatusValue.objects.get(kind="disbursement", code="completed").pk
    with transaction.atomic():
        _many("INSERT INTO participation_programenrollment (program_id, person_id, account_id, "
              "is_anonymous, status_id, is_active, start_date, extra, created_at, updated_at) "
              "VALUES (%s, %s, NULL, %s, %s, %s, %s, %s, %s, %s)",
              ((benefit.program_id, p, False, enrolled, True, day, extra, now, now)
               for p in person_ids))
        enrollments = _sql("SELECT id, person_id FROM participation_programenrollment "
                           "WHERE program_id = %s", [benefit.program_id])
        _many("INSERT INTO participation_benefitassignment (benefit_id, enrollment_id, "
              "person_id, account_id, is_anonymous, created_at, updated_at) "
              "VALUES (%s, %s, %s, NULL, %s, %s, %s)",
              ((benefit.pk, e, p, False, now, now) for e, p in enrollments))
        assignments = _sql("SELECT id, enrollment_id, person_id FROM "
                           "participation_benefitassignment WHERE benefit_id = %s", [benefit.pk])
        _many("INSERT INTO participation_benefitdisbursement (assignment_id, session_id, "
              "enrollment_id, benefit_id, program_id, person_id, account_id, case_id, "
              "recipient_type, recipient_count, quantity, unit_id, status_id, disbursed_on, "
              "extra, created_at, updated_at) VALUES (%s, NULL, %s, %s, %s, %s, NULL, NULL, %s, "
              "%s, %s, %s, %s, %s, %s, %s, %s)",
              ((a, e, benefit.pk, benefit.program_id, p, "walk_in", 1, Decimal(1),
                benefit.unit_id, completed, day, extra, now, now) for a, e, p in assignments))


def s2_bulk_walk_in(*, scale: float, repeat: int) -> Result:
    from django.utils import timezone

    from programdesk.participation.services import disbursements_bulk_walk_in

    people = _people(int(10_000 * scale))
    _, benefit = _program_and_benefit("S2 meal", unit="meal")
    actor = _admin()
    seconds = _best(repeat, lambda: disbursements_bulk_walk_in(
        actor=actor, benefit=benefit, quantity=Decimal(1), disbursed_on=timezone.localdate(),
        person_ids=people), _clear_participation)
    baseline = _best(repeat, lambda: _baseline_walk_in(benefit, people), _clear_participation)
    return {"rows": len(people), "seconds": seconds, "baseline_seconds": baseline}


# --- S3: bulk anonymous, many small requests ------------------------------------------------


def s3_bulk_anonymous(*, scale: float, repeat: int) -> Result:
    from django.db import transaction
    from django.utils import timezone

    from programdesk.core.models import StatusValue
    from programdesk.participation.models import BenefitAssignment
    from programdesk.participation.services import disbursements_bulk_anonymous

    requests = int(1000 * scale)
    _, benefit = _program_and_benefit("S3 meal", unit="meal")
    actor = _admin()
    today = timezone.localdate()

    def service() -> None:
        for _ in range(requests):
            disbursements_bulk_anonymous(actor=actor, benefit=benefit, quantity=Decimal(40),
                                         disbursed_on=today, number_of_recipients=40)

    seconds = _best(repeat, service, lambda: _sql(
        "DELETE FROM participation_benefitdisbursement"))
    service()  # leaves the anonymous enrollment and assignment the baseline writes onto
    assignment = BenefitAssignment.objects.get(benefit=benefit)
    completed = StatusValue.objects.get(kind="disbursement", code="completed").pk
    _sql("DELETE FROM participation_benefitdisbursement")

    def baseline() -> None:
        now, day, extra = _values(timezone.now(), today)
        for _ in range(requests):  # one transaction per request, as the service has
            with transaction.atomic():
                _sql("INSERT INTO participation_benefitdisbursement (assignment_id, session_id, "
                     "enrollment_id, benefit_id, program_id, person_id, account_id, case_id, "
                     "recipient_type, recipient_count, quantity, unit_id, status_id, "
                     "disbursed_on, extra, created_at, updated_at) VALUES (%s, NULL, %s, %s, "
                     "%s, NULL, NULL, NULL, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                     [assignment.pk, assignment.enrollment_id, benefit.pk, benefit.program_id,
                      "anonymous", 40, Decimal(40), benefit.unit_id, completed, day, extra,
                      now, now])

    baseline_seconds = _best(repeat, baseline, lambda: _sql(
        "DELETE FROM participation_benefitdisbursement"))
    return {"rows": requests, "seconds": seconds, "baseline_seconds": baseline_seconds}


# --- S4: attendance sheets ------------------------------------------------------------------


def s4_attendance(*, scale: float, repeat: int) -> Result:
    from django.db import transaction
    from django.utils import timezone

    from programdesk.core.models import StatusValue
    from programdesk.participation.models import BenefitDisbursement
    from programdesk.participation.services import (
        AttendanceMark,
        attendance_record,
        schedule_add_participants,
    )

    sheet_size = int(200 * scale)
    people = _people(sheet_size)
    _, benefit = _program_and_benefit("S4 class")
    schedule = _schedule(benefit, 52, timezone.localdate())
    actor = _admin()
    schedule_add_participants(actor=actor, schedule=schedule, person_ids=people)
    sessions = list(schedule.sessions.order_by("start"))
    sheets = {s.pk: list(BenefitDisbursement.objects.filter(session=s).order_by("id")
                         .values_list("id", flat=True)) for s in sessions}
    statuses = ["completed", "completed", "completed", "absent", "excused"]
    ids = {code: StatusValue.objects.get(kind="disbursement", code=code).pk
           for code in [*statuses, "enrolled"]}

    def reset() -> None:
        _sql("UPDATE participation_benefitdisbursement SET status_id = %s", [ids["enrolled"]])

    def service() -> None:
        for session in sessions:
            attendance_record(actor=actor, session=session, marks=[
                AttendanceMark(d, statuses[i % 5]) for i, d in enumerate(sheets[session.pk])])

    def baseline() -> None:
        now = _values(timezone.now(), None)[0]
        for session in sessions:
            with transaction.atomic():
                _many("UPDATE participation_benefitdisbursement SET status_id = %s, "
                      "quantity = %s, updated_at = %s WHERE id = %s",
                      [(ids[statuses[i % 5]], Decimal(1), now, d)
                       for i, d in enumerate(sheets[session.pk])])

    # One run of 52 sheets is about a tenth of a second: five rounds per repeat, in turns.
    seconds, baseline_seconds = _best_interleaved(5 * repeat, service, baseline, reset)
    return {"rows": sheet_size * len(sessions), "seconds": seconds,
            "baseline_seconds": baseline_seconds, "rounds": 5 * max(repeat, 1)}


SCENARIOS: dict[str, Callable[..., Result]] = {
    "S1": s1_add_to_schedule,
    "S2": s2_bulk_walk_in,
    "S3": s3_bulk_anonymous,
    "S4": s4_attendance,
}


# --- S5: the summary report over a million disbursements ------------------------------------


def _many_disbursements(n: int, *, before: Callable[[], None] | None = None) -> None:
    """``n`` session disbursements over 5 programs (setup, plain SQL): 20,000 people each
    enrolled in one program, 50 sessions a benefit, statuses and dates spread over two years.
    ``before`` runs once the people exist, before the disbursements are written (S9's
    households: on PostgreSQL each disbursement is written with its household snapshot)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from programdesk.core.models import StatusValue

    sessions_per_benefit = 50
    people = max(n // sessions_per_benefit, 1)
    person_ids = _people(people)
    if before is not None:
        before()
    today = timezone.localdate()
    statuses = [StatusValue.objects.get(kind="disbursement", code=c).pk
                for c in ["completed"] * 6 + ["absent", "absent", "excused", "enrolled"]]
    enrolled = StatusValue.objects.get(kind="enrollment", code="enrolled").pk
    benefits = [_program_and_benefit(f"S5 program {i}")[1] for i in range(5)]
    with transaction.atomic():
        sessions: dict[int, list[tuple[int, dt.date]]] = {}
        schedules: list[int] = []
        for benefit in benefits:
            schedule = _schedule(benefit, sessions_per_benefit, today - dt.timedelta(days=700))
            _sql("UPDATE scheduling_benefitsession SET status = 'completed' "
                 "WHERE schedule_id = %s", [schedule.pk])
            sessions[benefit.pk] = [(s.pk, s.local_date) for s in schedule.sessions.all()]
            schedules.append(schedule.pk)
        now, day, extra = _values(timezone.now(), today)
        if connection.vendor == "postgresql":
            _pg_many_disbursements(person_ids=person_ids, benefits=benefits,
                                   schedules=schedules, statuses=statuses, enrolled=enrolled,
                                   now=now, day=day)
            return
        _many("INSERT INTO participation_programenrollment (program_id, person_id, account_id, "
              "is_anonymous, status_id, is_active, start_date, extra, created_at, updated_at) "
              "VALUES (%s, %s, NULL, %s, %s, %s, %s, %s, %s, %s)",
              ((benefits[i % 5].program_id, p, False, enrolled, True, day, extra, now, now)
               for i, p in enumerate(person_ids)))
        by_program = {b.program_id: b for b in benefits}
        rows = _sql("SELECT id, program_id, person_id FROM participation_programenrollment")
        _many("INSERT INTO participation_benefitassignment (benefit_id, enrollment_id, "
              "person_id, account_id, is_anonymous, created_at, updated_at) "
              "VALUES (%s, %s, %s, NULL, %s, %s, %s)",
              ((by_program[prog].pk, e, p, False, now, now) for e, prog, p in rows))
        assignments = _sql("SELECT a.id, a.enrollment_id, a.person_id, a.benefit_id, "
                           "e.program_id FROM participation_benefitassignment a JOIN "
                           "participation_programenrollment e ON e.id = a.enrollment_id")
        ops = connection.ops
        _many("INSERT INTO participation_benefitdisbursement (assignment_id, session_id, "
              "enrollment_id, benefit_id, program_id, person_id, account_id, case_id, "
              "recipient_type, recipient_count, quantity, unit_id, status_id, disbursed_on, "
              "extra, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, NULL, NULL, "
              "'enrollment', 1, %s, %s, %s, %s, %s, %s, %s)",
              ((a, s, e, b, prog, p, Decimal(1 + (a + s) % 3), benefits[0].unit_id,
                statuses[(a * 7 + s) % 10], ops.adapt_datefield_value(s_day), extra, now, now)
               for a, e, p, b, prog in assignments for s, s_day in sessions[b]))


def _pg_many_disbursements(*, person_ids: list[int], benefits: list[Any], schedules: list[int],
                           statuses: list[int], enrolled: int, now: Any, day: Any) -> None:
    """``_many_disbursements``' rows on PostgreSQL, the same values, set-based: each
    ``INSERT ... SELECT`` writes a table in one statement on the server, where the
    ``executemany`` of SQLite's path sends (and Python builds) ten million rows. The person in
    position i (by id) is enrolled in program i % 5; a disbursement's status is
    ``statuses[(assignment * 7 + session) % 10]``, its quantity ``1 + (assignment + session) %
    3``. Each disbursement carries its person's household snapshot when ``before`` put them in
    one (S9; what ``_s9_snapshot`` writes on SQLite)."""
    programs = [b.program_id for b in benefits]
    _sql("SET LOCAL work_mem = '256MB'")  # the disbursements' ORDER BY sorts in memory
    if _sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")[0][0]:
        # The rows are consistent by construction: skip the foreign keys' checks (deferred
        # triggers, ten million rows times nine keys at COMMIT) in this set-up transaction
        # only. Unique and CHECK constraints still hold every row. (A superuser's setting:
        # pg_virtualenv's user is one; on another server the checks simply run.)
        _sql("SET LOCAL session_replication_role = replica")
    # Statistics of the tables just written, or the planner takes them for empty (nested loops).
    _sql("ANALYZE people_person, people_account, people_householdmembership, "
         "scheduling_benefitsession")
    _sql("INSERT INTO participation_programenrollment (program_id, person_id, account_id, "
         "is_anonymous, status_id, is_active, start_date, extra, created_at, updated_at) "
         "SELECT (%s::bigint[])[((p.n - 1) %% 5) + 1], p.id, NULL, false, %s, true, %s, "
         "'{}'::jsonb, %s, %s FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n "
         "FROM people_person WHERE id = ANY(%s)) p ORDER BY p.id",
         [programs, enrolled, day, now, now, person_ids])
    _sql("INSERT INTO participation_benefitassignment (benefit_id, enrollment_id, person_id, "
         "account_id, is_anonymous, created_at, updated_at) SELECT b.id, e.id, e.person_id, "
         "NULL, false, %s, %s FROM participation_programenrollment e JOIN programs_benefit b "
         "ON b.program_id = e.program_id WHERE b.id = ANY(%s) ORDER BY e.id",
         [now, now, [b.pk for b in benefits]])
    _sql("ANALYZE participation_programenrollment, participation_benefitassignment")
    # Indexes not behind a constraint are built once after the rows, not kept up row by row:
    # the same definitions (pg_indexes), sorted in one pass each.
    indexes = _sql("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = "
                   "'participation_benefitdisbursement' AND indexname NOT IN (SELECT conname "
                   "FROM pg_constraint WHERE conrelid = "
                   "'participation_benefitdisbursement'::regclass)")
    for name, _ in indexes:
        _sql(f'DROP INDEX "{name}"')
    _sql("WITH hh AS MATERIALIZED (SELECT p.id, p.account_id, z.size FROM people_person p "
         "JOIN (SELECT m.account_id, COUNT(*) + COALESCE(MAX(acc.declared_size), 0) AS size "
         "FROM people_householdmembership m JOIN people_account acc ON acc.id = m.account_id "
         "GROUP BY m.account_id) z ON z.account_id = p.account_id) "
         "INSERT INTO participation_benefitdisbursement (assignment_id, session_id, "
         "enrollment_id, benefit_id, program_id, person_id, account_id, case_id, "
         "recipient_type, recipient_count, quantity, unit_id, status_id, disbursed_on, extra, "
         "created_at, updated_at, household_id, household_size) "
         "SELECT a.id, s.id, a.enrollment_id, a.benefit_id, e.program_id, a.person_id, NULL, "
         "NULL, 'enrollment', 1, 1 + (a.id + s.id) %% 3, %s, "
         "(%s::bigint[])[((a.id * 7 + s.id) %% 10) + 1], s.local_date, '{}'::jsonb, %s, %s, "
         "hh.account_id, hh.size "
         "FROM participation_benefitassignment a "
         "JOIN participation_programenrollment e ON e.id = a.enrollment_id "
         "JOIN scheduling_benefitsession s ON s.benefit_id = a.benefit_id "
         "AND s.schedule_id = ANY(%s) "
         "LEFT JOIN hh ON hh.id = a.person_id "
         "WHERE a.benefit_id = ANY(%s) ORDER BY a.id, s.id",
         [benefits[0].unit_id, statuses, now, now, schedules, [b.pk for b in benefits]])
    _sql("SET LOCAL maintenance_work_mem = '512MB'")
    for _, definition in indexes:
        _sql(definition)


def s5_summary_report(*, scale: float, repeat: int) -> Result:
    from programdesk.reports.filtering import report_filter
    from programdesk.reports.selectors import report_summary

    n = int(1_000_000 * scale)
    started = time.perf_counter()
    _many_disbursements(n)
    if _vendor() == "postgresql":
        _analyze()
    setup_seconds = time.perf_counter() - started
    admin = _admin()
    rows = _sql("SELECT COUNT(*) FROM participation_benefitdisbursement")[0][0]

    def service() -> Any:
        return report_summary(user=admin, filters=report_filter(user=admin))

    def baseline() -> Any:
        """The same three aggregates, written by hand."""
        totals = _sql(
            "SELECT COUNT(DISTINCT CASE WHEN s.bucket = 'delivered' THEN d.person_id END), "
            "COUNT(DISTINCT CASE WHEN s.bucket = 'delivered' THEN d.account_id END), "
            "SUM(CASE WHEN s.bucket = 'delivered' AND d.recipient_type = 'anonymous' "
            "THEN d.recipient_count END), "
            "COUNT(CASE WHEN s.bucket = 'delivered' THEN 1 END), "
            "COUNT(CASE WHEN s.bucket = 'delivered' AND d.session_id IS NOT NULL THEN 1 END), "
            "COUNT(CASE WHEN s.bucket = 'absent' AND d.session_id IS NOT NULL THEN 1 END) "
            "FROM participation_benefitdisbursement d JOIN core_statusvalue s "
            "ON s.id = d.status_id WHERE s.bucket IN ('delivered', 'absent')")
        units = _sql("SELECT u.code, SUM(d.quantity) FROM participation_benefitdisbursement d "
                     "JOIN core_statusvalue s ON s.id = d.status_id JOIN "
                     "programs_unitofmeasure u ON u.id = d.unit_id WHERE s.bucket = "
                     "'delivered' GROUP BY u.code ORDER BY u.code")
        held = _sql("SELECT COUNT(*) FROM scheduling_benefitsession WHERE status = 'completed'")
        return totals, units, held

    summary = service()
    totals, _, _ = baseline()
    # Both must say the same, or the comparison means nothing.
    assert (summary["people_served"], summary["disbursements"]) == (totals[0][0], totals[0][3]), (
        summary, totals)
    seconds = _best(repeat, service, lambda: None)
    baseline_seconds = _best(repeat, baseline, lambda: None)
    _explain("S5", service, baseline)
    return {"rows": rows, "seconds": seconds, "baseline_seconds": baseline_seconds,
            "setup_seconds": round(setup_seconds, 1)}


# --- S6: import people from CSV -------------------------------------------------------------


def s6_import_people(*, scale: float, repeat: int) -> Result:
    import csv
    import io

    from django.db import transaction
    from django.utils import timezone

    from programdesk.imports.fields import guess_mapping
    from programdesk.imports.parsers import read_table
    from programdesk.imports.services import import_check, import_commit
    from programdesk.people import matching

    n = int(100_000 * scale)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["First Name", "Last Name", "Birth Date", "Email", "Phone", "Zip"])
    start = dt.date(1950, 1, 1)
    for i in range(n):
        writer.writerow([f"Given{i}", f"Family{i % 5000}", start + dt.timedelta(days=i % 20000),
                         f"person{i}@example.org", f"617-{i // 10000:03d}-{i % 10000:04d}",
                         f"{2100 + i % 50:05d}"])
    data = out.getvalue().encode()
    admin = _admin()

    def table_and_mapping() -> tuple[Any, list[str]]:
        table = read_table(data, "people.csv")
        return table, guess_mapping("people", table.headers)

    def dry_run() -> None:
        table, mapping = table_and_mapping()
        result = import_check(actor=admin, kind="people", table=table, mapping=mapping)
        assert not result.errors, result.errors[:3]

    def commit() -> None:
        table, mapping = table_and_mapping()
        import_commit(actor=admin, kind="people", table=table, mapping=mapping)

    def clear() -> None:
        _sql("DELETE FROM people_person")

    dry_seconds = _best(repeat, dry_run, lambda: None)
    seconds = _best(repeat, commit, clear)

    # The baseline: the same people rows (keys computed), one executemany.
    table, _ = table_and_mapping()
    now, _, extra = _values(timezone.now(), None)
    rows = [(first, last, dt.date.fromisoformat(born), email, phone, postal, None, None, None,
             None, extra, matching.sound_key(first), matching.sound_key(last),
             matching.phone_key(phone), now, now)
            for _, (first, last, born, email, phone, postal) in table.rows]

    def baseline() -> None:
        with transaction.atomic():
            _many("INSERT INTO people_person (first_name, last_name, birth_date, email, phone, "
                  "postal_code, account_id, household_size, annual_income, card_code, extra, "
                  "first_name_key, last_name_key, phone_key, created_at, updated_at) VALUES "
                  "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)

    baseline_seconds = _best(repeat, baseline, clear)
    return {"rows": n, "seconds": seconds, "baseline_seconds": baseline_seconds,
            "rows_per_second": round(n / seconds), "dry_run_seconds": round(dry_seconds, 4),
            "dry_run_rows_per_second": round(n / dry_seconds)}


# --- S7: check-in over HTTP -----------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _hammer(port: int, requests: list[tuple[str, str, bytes, dict[str, str]]],
            concurrency: int) -> float:
    """Send every request over ``concurrency`` client threads; seconds for all of them."""
    import http.client
    import threading

    queue = list(reversed(requests))
    lock = threading.Lock()
    failures: list[str] = []

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                method, path, body, headers = queue.pop()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request(method, path, body=body or None, headers=headers)
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status >= 400:
                failures.append(f"{method} {path}: {response.status}")

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError(f"{len(failures)} failed requests, e.g. {failures[:3]}")
    return time.perf_counter() - started


def _check_in_statements(token: str, session_id: int, person_id: int) -> int:
    """How many SQL statements one check-in on the roster runs, authentication included:
    counted in this process, through Django's test client, on the same code path."""
    import json

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(SERVER_NAME="127.0.0.1", headers={"Authorization": f"Bearer {token}"})
    client.get("/api/v1/me")  # the token's first use writes its last_used_at; later ones do not
    with CaptureQueriesContext(connection) as statements:
        response = client.post(f"/api/v1/sessions/{session_id}/check-in",
                               json.dumps({"person_id": person_id}),
                               content_type="application/json")
    assert response.status_code == 200, response.content
    return len(statements.captured_queries)


def s7_http_check_in(*, scale: float, repeat: int) -> Result:
    """Check-ins over HTTP (8 client threads) against the lightest view behind the same token
    authentication, ``GET /api/v1/me``: both pay for the connection, the middleware and the
    token check, so the ratio is what the check-in itself costs. The server is gunicorn as
    ``manage.py serve`` runs it (``serve.gunicorn_command``: its workers, its access log) in
    this environment (``WORKERS``, ``CONN_MAX_AGE``)."""
    import json
    import os
    import subprocess
    import urllib.request

    from django.conf import settings
    from django.db import connections
    from django.utils import timezone

    from programdesk.core.models import StatusValue
    from programdesk.core.services import token_create, user_create
    from programdesk.management.commands.serve import gunicorn_command, web_workers
    from programdesk.participation.services import schedule_add_participants

    n = int(2000 * scale)
    people = _people(n + 1)  # the last one is checked in once, in-process, to count statements
    _, benefit = _program_and_benefit("S7 drop-in")
    schedule = _schedule(benefit, 1, timezone.localdate())
    schedule_add_participants(actor=_admin(), schedule=schedule, person_ids=people)
    session_id = schedule.sessions.get().pk
    kiosk = user_create(actor=None, username="kiosk-bench", role="kiosk")
    token = token_create(actor=None, user=kiosk)
    statements = _check_in_statements(token, session_id, people.pop())
    expected = StatusValue.objects.get(kind="disbursement", code="enrolled").pk
    connections.close_all()

    port = _free_port()
    workers = web_workers()
    # Its access log (stdout) goes nowhere: this process's stdout is the JSON line.
    server = subprocess.Popen(
        gunicorn_command(bind=f"127.0.0.1:{port}", workers=workers),
        env=dict(os.environ, ALLOWED_HOSTS="127.0.0.1"), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        check_ins = [("POST", f"/api/v1/sessions/{session_id}/check-in",
                      json.dumps({"person_id": p}).encode(), headers) for p in people]
        me: list[tuple[str, str, bytes, dict[str, str]]] = [
            ("GET", "/api/v1/me", b"", headers) for _ in people]
        def back_to_expected() -> None:
            # so every run's check-ins write (a second check-in writes nothing and would
            # measure only the read)
            _sql("UPDATE participation_benefitdisbursement SET status_id = %s", [expected])
            connections.close_all()

        # In turns, check-ins then /me (a slow spell of the machine lasts seconds here).
        seconds, baseline = _best_interleaved(
            repeat, lambda: _hammer(port, check_ins, 8), lambda: _hammer(port, me, 8),
            back_to_expected)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return {"rows": n, "seconds": seconds, "baseline_seconds": baseline,
            "rps": round(n / seconds, 1), "baseline_rps": round(n / baseline, 1),
            "baseline_view": "GET /api/v1/me", "statements": statements,
            "web_workers": workers,
            "conn_max_age": settings.DATABASES["default"]["CONN_MAX_AGE"]}


SCENARIOS["S5"] = s5_summary_report
SCENARIOS["S6"] = s6_import_people
SCENARIOS["S7"] = s7_http_check_in


# --- S8: the front desk under load while a large import runs --------------------------------

LOAD_USERS = 20
LOAD_SECONDS = 60
QUIET_SECONDS = 20
WEB_WORKERS = 4
TASK_WORKERS = 2


def _percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` 0.95: the p95); None for no values."""
    import math

    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _load(port: int, config: str, log: str, seconds: int) -> None:
    """Run the locust front desk (bench/locustfile.py) headless for ``seconds`` against the
    server on 127.0.0.1:``port``; its requests land in ``log``."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    locustfile = Path(__file__).resolve().parent / "locustfile.py"
    subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless",
         "--users", str(LOAD_USERS), "--spawn-rate", str(LOAD_USERS),
         "--run-time", f"{seconds}s", "--host", f"http://127.0.0.1:{port}",
         "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "10"],
        env=dict(os.environ, PROGRAMDESK_BENCH_LOAD=config, PROGRAMDESK_BENCH_LOAD_LOG=log),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=seconds + 120)


def _requests(log: str) -> list[tuple[float, str, float, bool]]:
    """The logged requests: (start, name, milliseconds, failed)."""
    import csv

    with open(log, newline="") as fh:
        return [(float(start), name, float(ms), failed == "1")
                for start, name, ms, failed in csv.reader(fh)]


def s8_load_during_import(*, scale: float, repeat: int) -> Result:
    """`manage.py serve` (4 gunicorn workers, 2 task workers) under a locust front desk — check-ins,
    roster reads, attendance saves — first quiet, then while a 100,000-row people import runs on a
    task worker. ``seconds`` is the p95 of the requests made while the import ran, the baseline
    the p95 of the quiet run: the ratio is how much the import slows the front desk."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import tempfile
    import urllib.request
    from pathlib import Path

    import requests
    from django.conf import settings
    from django.db import connections
    from django.utils import timezone

    from programdesk.core.services import token_create, user_create
    from programdesk.imports.models import ImportJob, JobStatus
    from programdesk.participation.models import BenefitDisbursement
    from programdesk.participation.services import schedule_add_participants

    # The front desk's world: 10 schedules of 5 daily sessions from today, 200 people on each.
    people = _people(2000)
    _, benefit = _program_and_benefit("S8 class")
    admin = _admin()
    schedules = []
    for i in range(10):
        schedule = _schedule(benefit, 5, timezone.localdate())
        schedule_add_participants(actor=admin, schedule=schedule,
                                  person_ids=people[i * 200:(i + 1) * 200])
        schedules.append(schedule)
    sessions = [{"id": session.pk, "local_date": session.local_date,
                 "people": people[i * 200:(i + 1) * 200],
                 "disbursements": list(BenefitDisbursement.objects.filter(
                     session=session).values_list("pk", flat=True))}
                for i, schedule in enumerate(schedules) for session in schedule.sessions.all()]
    today = timezone.localdate()
    kiosk = user_create(actor=None, username="kiosk-s8", role="kiosk")
    staff_token = token_create(actor=None, user=admin)
    tmp = Path(tempfile.mkdtemp(prefix="s8-", dir=settings.VAR_DIR))
    config = tmp / "load.json"
    config.write_text(json.dumps({
        "kiosk_token": token_create(actor=None, user=kiosk), "staff_token": staff_token,
        "schedules": [s.pk for s in schedules],
        "today": [{"id": s["id"], "people": s["people"]} for s in sessions
                  if s["local_date"] == today],
        "sheets": [{"id": s["id"], "disbursements": s["disbursements"]} for s in sessions]}))

    n = int(100_000 * scale)
    lines = ["First Name,Last Name,Birth Date,Email,Phone,Zip"]
    start = dt.date(1950, 1, 1)
    lines += [f"Given{i},Family{i % 5000},{start + dt.timedelta(days=i % 20000)},"
              f"person{i}@example.org,617-{i // 10000:03d}-{i % 10000:04d},{2100 + i % 50:05d}"
              for i in range(n)]
    upload = ("\n".join(lines) + "\n").encode()
    connections.close_all()

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    serve_log = (tmp / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), "serve", "--no-demo",
         "--bind", f"127.0.0.1:{port}", "--workers", str(WEB_WORKERS),
         "--task-workers", str(TASK_WORKERS)],
        env=dict(os.environ, ALLOWED_HOSTS="127.0.0.1"), stdout=serve_log,
        stderr=subprocess.STDOUT)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)  # noqa: S310
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError(f"serve exited; see {tmp / 'serve.log'}") from None
                time.sleep(0.2)

        quiet_log = str(tmp / "quiet.csv")
        _load(port, str(config), quiet_log, QUIET_SECONDS)

        response = requests.post(
            f"{base}/api/v1/imports/people", headers={"Authorization": f"Bearer {staff_token}"},
            data={"background": "true"}, files={"file": ("people.csv", upload, "text/csv")},
            timeout=300)
        response.raise_for_status()
        job_id = response.json()["id"]
        busy_log = str(tmp / "busy.csv")
        _load(port, str(config), busy_log, LOAD_SECONDS)
        # Other work on the machine shows here (the line's load_1m is taken before set-up).
        load_end = round(os.getloadavg()[0], 2)

        deadline = time.monotonic() + 900
        job = ImportJob.objects.get(pk=job_id)
        while job.status not in {JobStatus.DONE, JobStatus.FAILED} and time.monotonic() < deadline:
            time.sleep(1)
            job = ImportJob.objects.get(pk=job_id)
        connections.close_all()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        serve_log.close()

    quiet, busy = _requests(quiet_log), _requests(busy_log)
    began = job.started_at.timestamp() if job.started_at else float("inf")
    ended = job.finished_at.timestamp() if job.finished_at else float("inf")
    during = [r for r in busy if began <= r[0] <= ended]
    p95 = _percentile([r[2] for r in during], 0.95)
    p95_quiet = _percentile([r[2] for r in quiet], 0.95)
    import_seconds = (ended - began) if job.finished_at and job.started_at else None
    per_kind = {f"p95_ms_{name.replace('-', '_')}": _percentile(
        [r[2] for r in during if r[1] == name], 0.95)
        for name in ("check-in", "roster", "attendance")}
    return {
        "rows": n,
        "seconds": (p95 or 0) / 1000, "baseline_seconds": (p95_quiet or 0) / 1000,
        "p95_ms": p95, "p95_ms_quiet": p95_quiet,
        "p95_ms_all": _percentile([r[2] for r in busy], 0.95),
        **per_kind,
        "errors": sum(r[3] for r in quiet + busy),
        "requests": len(busy), "requests_during_import": len(during),
        "requests_quiet": len(quiet),
        "import_status": str(job.status), "import_message": job.message,
        "import_seconds": round(import_seconds, 1) if import_seconds else None,
        "import_rows_per_s": round(n / import_seconds) if import_seconds else None,
        "users": LOAD_USERS, "load_seconds": LOAD_SECONDS, "quiet_seconds": QUIET_SECONDS,
        "web_workers": WEB_WORKERS, "task_workers": TASK_WORKERS, "load_1m_end": load_end,
        # How serve ran: the task workers' nice value and database connection reuse.
        "task_worker_nice": settings.TASK_WORKER_NICE,
        "conn_max_age": settings.CONN_MAX_AGE,
    }


SCENARIOS["S8"] = s8_load_during_import


# --- S9: demographics over a million disbursements -------------------------------------------

# Sizes up to 9 (8 members and a declared one): every size served has its row.
S9_GUIDELINE = {size: Decimal(15650 + 5500 * (size - 1)) for size in range(1, 10)}


def _households_for_s9() -> None:
    """S5's people in households (setup, plain SQL; run before the disbursements are written):
    nine in ten people in households of 1 to 8 (declared members in one of three), birth dates
    over 90 years, a yearly income on four households in five, the guideline table — as the
    services would have recorded them. Each disbursement's household snapshot is written with
    it on PostgreSQL, by ``_s9_snapshot`` afterwards on SQLite."""
    from django.db import connection, transaction
    from django.utils import timezone

    postgres = connection.vendor == "postgresql"
    now, day, _ = _values(timezone.now(), timezone.localdate() - dt.timedelta(days=800))
    people = [row[0] for row in _sql("SELECT id FROM people_person ORDER BY id")]
    with transaction.atomic():
        _many("INSERT INTO programs_incomeguideline (household_size, annual_income) "
              "VALUES (%s, %s)", list(S9_GUIDELINE.items()))
        birth = timezone.localdate() - dt.timedelta(days=1)
        ops = connection.ops
        if postgres:  # the same dates, in one statement
            _sql("UPDATE people_person SET birth_date = %s::date - ((id * 7919) %% 33000)::int",
                 [birth])
        else:
            _many("UPDATE people_person SET birth_date = %s WHERE id = %s",
                  ((ops.adapt_datefield_value(birth - dt.timedelta(days=(p * 7919) % 33000)), p)
                   for p in people))
        groups: list[list[int]] = []
        i = 0
        while i < len(people):
            size = 1 + len(groups) % 8
            if len(groups) % 10 == 9:  # one in ten people in no household
                i += 1
                groups.append([])
                continue
            groups.append(people[i:i + size])
            i += size
        households = [g for g in groups if g]
        accounts = ((f"Household {n}", 1 if n % 3 == 0 else None,
                     None if n % 5 == 0 else Decimal(8000 + (n * 3571) % 90000), now, now)
                    for n in range(len(households)))
        if postgres:
            _copy("people_account", "name, kind, email, phone, postal_code, declared_size, "
                  "annual_income, created_at, updated_at",
                  ((name, "household", "", "", "", *rest) for name, *rest in accounts))
        else:
            _many("INSERT INTO people_account (name, kind, email, phone, postal_code, "
                  "declared_size, annual_income, created_at, updated_at) VALUES "
                  "(%s, 'household', '', '', '', %s, %s, %s, %s)", accounts)
        ids = [row[0] for row in _sql("SELECT id FROM people_account ORDER BY id")]
        members = ((p, account, "head" if k == 0 else "other", day, None, now, now)
                   for account, group in zip(ids, households, strict=True)
                   for k, p in enumerate(group))
        if postgres:
            _copy("people_householdmembership", "person_id, account_id, relationship, "
                  "start_date, end_date, created_at, updated_at", members)
            _sql("UPDATE people_person p SET account_id = m.account_id "
                 "FROM people_householdmembership m WHERE m.person_id = p.id")
            return
        _many("INSERT INTO people_householdmembership (person_id, account_id, relationship, "
              "start_date, end_date, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, "
              "%s)", members)
        _many("UPDATE people_person SET account_id = %s WHERE id = %s",
              ((account, p) for account, group in zip(ids, households, strict=True)
               for p in group))


def _s9_snapshot() -> None:
    """Every disbursement's household snapshot on SQLite (PostgreSQL's set-up writes it with
    the row), then fresh planner statistics on both."""
    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        with transaction.atomic():
            _sql("UPDATE participation_benefitdisbursement SET household_id = "
                 "(SELECT p.account_id FROM people_person p WHERE p.id = person_id)")
            _sql("UPDATE participation_benefitdisbursement SET household_size = "
                 "(SELECT COUNT(*) + COALESCE(MAX(a.declared_size), 0) FROM "
                 "people_householdmembership m JOIN people_account a ON a.id = m.account_id "
                 "WHERE m.account_id = participation_benefitdisbursement.household_id) "
                 "WHERE household_id IS NOT NULL")
    _analyze()


def _s9_age(on: str, birth: str) -> str:
    from django.db import connection

    if connection.vendor == "sqlite":
        years = (f"(CAST(strftime('%Y%m%d', {on}) AS INTEGER) - "
                 f"CAST(strftime('%Y%m%d', {birth}) AS INTEGER)) / 10000")
    else:
        years = (f"(CAST(to_char({on}, 'YYYYMMDD') AS INTEGER) - "
                 f"CAST(to_char({birth}, 'YYYYMMDD') AS INTEGER)) / 10000")
    return f"CASE WHEN {birth} IS NULL OR {birth} > {on} THEN NULL ELSE {years} END"


def _s9_baseline() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The same counts written by hand: people by age and household, households by size and
    income band with the TEFAP sums — two statements, as the report's."""
    people = _sql(
        f"SELECT {_s9_age('p.first_on', 'pe.birth_date')}, p.no_household, COUNT(*) FROM ("
        "SELECT d.person_id, MIN(d.disbursed_on) AS first_on, CASE WHEN COUNT(d.household_id) "
        "= 0 THEN 1 ELSE 0 END AS no_household FROM participation_benefitdisbursement d JOIN "
        "core_statusvalue s ON s.id = d.status_id WHERE s.bucket = 'delivered' AND d.person_id "
        "IS NOT NULL GROUP BY d.person_id) p JOIN people_person pe ON pe.id = p.person_id "
        "GROUP BY 1, 2")
    bands = " ".join(f"WHEN a.annual_income * 100 <= g.annual_income * {limit} THEN '{band}'"
                     for band, limit in [("0-50", 50), ("51-75", 75), ("76-100", 100),
                                         ("101-125", 125), ("126-150", 150), ("151-175", 175),
                                         ("176-200", 200), ("201-250", 250)])
    age = _s9_age("h.disbursed_on", "pe.birth_date")
    households = _sql(
        "WITH h AS (SELECT x.id, x.household_id, x.household_size, x.disbursed_on FROM ("
        "SELECT d.id, d.household_id, d.household_size, d.disbursed_on, ROW_NUMBER() OVER ("
        "PARTITION BY d.household_id ORDER BY d.disbursed_on DESC, d.id DESC) AS rn FROM "
        "participation_benefitdisbursement d JOIN core_statusvalue s ON s.id = d.status_id "
        "WHERE s.bucket = 'delivered' AND d.household_id IS NOT NULL) x WHERE x.rn = 1), "
        f"ages AS (SELECT h.id, SUM(CASE WHEN {age} BETWEEN 0 AND 17 THEN 1 ELSE 0 END) AS c, "
        f"SUM(CASE WHEN {age} BETWEEN 18 AND 59 THEN 1 ELSE 0 END) AS ad, "
        f"SUM(CASE WHEN {age} >= 60 THEN 1 ELSE 0 END) AS se FROM h "
        "JOIN people_householdmembership m ON m.account_id = h.household_id AND m.start_date "
        "<= h.disbursed_on AND (m.end_date IS NULL OR m.end_date >= h.disbursed_on) "
        "JOIN people_person pe ON pe.id = m.person_id GROUP BY h.id) "
        "SELECT h.household_size, CASE WHEN a.annual_income IS NULL OR g.annual_income IS NULL "
        f"THEN 'unknown' {bands} ELSE '251+' END, COUNT(*), "
        "SUM(CASE WHEN COALESCE(ages.c, 0) > 0 THEN 1 ELSE 0 END), SUM(ages.c), SUM(ages.ad), "
        "SUM(ages.se) FROM h JOIN people_account a ON a.id = h.household_id LEFT JOIN "
        "programs_incomeguideline g ON g.household_size = h.household_size LEFT JOIN ages ON "
        "ages.id = h.id GROUP BY 1, 2")
    return people, households


def s9_demographics(*, scale: float, repeat: int) -> Result:
    from programdesk.reports.demographics import report_demographics
    from programdesk.reports.filtering import report_filter

    n = int(1_000_000 * scale)
    started = time.perf_counter()
    _many_disbursements(n, before=_households_for_s9)
    _s9_snapshot()
    setup_seconds = time.perf_counter() - started
    admin = _admin()
    rows = _sql("SELECT COUNT(*) FROM participation_benefitdisbursement")[0][0]

    def service() -> Any:
        return report_demographics(user=admin, filters=report_filter(user=admin))

    report = service()
    people, households = _s9_baseline()
    # Both must say the same, or the comparison means nothing.
    assert report["people"] == sum(r[2] for r in people), (report["people"], people)
    assert report["households"] == sum(r[2] for r in households)
    assert report["tefap"]["persons"] == sum(r[0] * r[2] for r in households)
    assert report["tefap"]["children_0_17"] == sum(r[4] or 0 for r in households)
    unknown = next(b["count"] for b in report["income_bands"] if b["band"] == "unknown")
    assert unknown == sum(r[2] for r in households if r[1] == "unknown")
    seconds = _best(repeat, service, lambda: None)
    baseline_seconds = _best(repeat, _s9_baseline, lambda: None)
    _explain("S9", service, _s9_baseline)
    return {"rows": rows, "seconds": seconds, "baseline_seconds": baseline_seconds,
            "people": report["people"], "households": report["households"],
            "setup_seconds": round(setup_seconds, 1)}


SCENARIOS["S9"] = s9_demographics
