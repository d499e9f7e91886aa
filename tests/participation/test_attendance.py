from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from programdesk.core.errors import ValidationError
from programdesk.core.models import AuditEvent, User
from programdesk.participation import selectors, services
from programdesk.participation.models import BenefitDisbursement
from programdesk.scheduling.models import BenefitSession
from tests import factories as f

pytestmark = pytest.mark.django_db

Mark = services.AttendanceMark


@pytest.fixture
def sheet(charlie: User) -> tuple[BenefitSession, list[BenefitDisbursement]]:
    schedule = f.schedule_with_sessions(sessions=2)
    people = f.PersonFactory.create_batch(3)
    services.schedule_add_participants(actor=charlie, schedule=schedule,
                                       person_ids=[p.pk for p in people])
    session = schedule.sessions.order_by("start").first()
    assert session is not None
    rows = list(BenefitDisbursement.objects.filter(session=session).order_by("id"))
    return session, rows


def test_saving_a_sheet_sets_every_status_and_quantity(charlie, sheet) -> None:
    session, rows = sheet
    changed = services.attendance_record(actor=charlie, session=session, marks=[
        Mark(rows[0].pk, "completed", Decimal("1.5")), Mark(rows[1].pk, "absent"),
        Mark(rows[2].pk, "excused")], complete_session=True)
    assert changed == 3
    statuses = dict(BenefitDisbursement.objects.filter(session=session)
                    .values_list("id", "status__code"))
    assert statuses == {rows[0].pk: "completed", rows[1].pk: "absent", rows[2].pk: "excused"}
    assert BenefitDisbursement.objects.get(pk=rows[0].pk).quantity == Decimal("1.5")
    session.refresh_from_db()
    assert session.status == "completed"
    assert selectors.session_tally(session=session).rate == 0.5


def test_the_audit_event_lists_changed_quantities_as_stored(charlie, sheet) -> None:
    session, rows = sheet
    services.attendance_record(actor=charlie, session=session, marks=[
        Mark(rows[0].pk, "completed", Decimal("1.5")), Mark(rows[1].pk, "completed")])
    event = AuditEvent.objects.get(action="attendance.record")
    assert event.before["quantity"] == {str(rows[0].pk): "1.00"}
    assert event.after["quantity"] == {str(rows[0].pk): "1.5"}
    assert event.before["status"] == {"enrolled": [rows[0].pk, rows[1].pk]}


def test_a_sheet_of_several_statuses_and_quantities_writes_each_row_its_own(
        charlie, sheet) -> None:
    """The rows are written together (one UPDATE choosing each row's status, then the changed
    quantities): every row gets its own status and quantity, and rows a mark gives no
    quantity keep theirs."""
    session, rows = sheet
    changed = services.attendance_record(actor=charlie, session=session, marks=[
        Mark(rows[0].pk, "enrolled", Decimal("2")),  # the quantity alone changes
        Mark(rows[1].pk, "absent"),
        Mark(rows[2].pk, "completed", Decimal("1"))])  # the same quantity, a new status
    assert changed == 3
    assert list(BenefitDisbursement.objects.filter(session=session).order_by("id")
                .values_list("status__code", "quantity")) == [
        ("enrolled", Decimal("2")), ("absent", Decimal("1")), ("completed", Decimal("1"))]
    event = AuditEvent.objects.get(action="attendance.record")
    assert event.after["status"] == {"enrolled": [rows[0].pk], "absent": [rows[1].pk],
                                     "completed": [rows[2].pk]}
    assert event.after["quantity"] == {str(rows[0].pk): "2"}


def test_saving_the_same_sheet_again_changes_nothing(charlie, sheet) -> None:
    session, rows = sheet
    marks = [Mark(r.pk, "completed") for r in rows]
    services.attendance_record(actor=charlie, session=session, marks=marks)
    assert services.attendance_record(actor=charlie, session=session, marks=marks) == 0


def test_unknown_status_and_foreign_disbursement_are_field_errors(charlie, sheet) -> None:
    session, rows = sheet
    other = f.DisbursementFactory()
    with pytest.raises(ValidationError) as info:
        services.attendance_record(actor=charlie, session=session, marks=[
            Mark(rows[0].pk, "present"), Mark(other.pk, "completed")])
    assert info.value.message_for("records.0.status")
    assert info.value.message_for("records.1.disbursement_id")
    assert not BenefitDisbursement.objects.filter(status__code="completed").exclude(
        pk=other.pk).exists()


def test_late_entry_is_allowed_and_audited_as_late(charlie) -> None:
    schedule = f.schedule_with_sessions(sessions=1,
                                        first=timezone.localdate() - dt.timedelta(days=7))
    session = schedule.sessions.get()
    person = f.PersonFactory()
    services.session_add_participants(actor=charlie, session=session, person_ids=[person.pk])
    row = BenefitDisbursement.objects.get()
    services.attendance_record(actor=charlie, session=session,
                               marks=[Mark(row.pk, "completed")])
    event = AuditEvent.objects.get(action="attendance.record_late")
    assert event.before == {"status": {"enrolled": [row.pk]}, "quantity": {}}
    assert event.after["status"] == {"completed": [row.pk]}


def _one_session_sheet(actor, people) -> tuple[Any, list[BenefitDisbursement]]:
    """A one-session schedule with these people on it: the session and its rows."""
    schedule = f.schedule_with_sessions(sessions=1)
    services.schedule_add_participants(actor=actor, schedule=schedule,
                                       person_ids=[p.pk for p in people])
    session = schedule.sessions.get()
    return session, list(BenefitDisbursement.objects.filter(session=session))


def test_a_200_person_sheet_takes_a_constant_number_of_queries(
        charlie, django_assert_num_queries) -> None:
    session, rows = _one_session_sheet(charlie, f.PersonFactory.create_batch(200))
    # Exactly: the session (locked) with its rows and the statuses, the UPDATE of the changed
    # rows (one, whatever their statuses), the session's completion, the audit event — and
    # SAVEPOINT and RELEASE, which stand for BEGIN and COMMIT inside the test's transaction.
    # Nobody here is in a household, so no snapshot is read (the next test). The same on
    # PostgreSQL (the lock is in the read).
    with django_assert_num_queries(6):
        services.attendance_record(actor=charlie, session=session, complete_session=True,
                                   marks=[Mark(r.pk, "completed" if i % 3 else "absent")
                                          for i, r in enumerate(rows)])
    assert selectors.session_tally(session=session).delivered == 133


def test_a_sheet_of_people_in_households_reads_their_snapshot_in_one_statement_more(
        charlie, django_assert_num_queries) -> None:
    session, rows = _one_session_sheet(
        charlie, [f.MembershipFactory().person for _ in range(200)])
    # The 6 above and the household snapshot of the rows becoming delivered: one statement
    # however many (nobody moved, so nothing is rewritten).
    with django_assert_num_queries(7):
        services.attendance_record(actor=charlie, session=session, complete_session=True,
                                   marks=[Mark(r.pk, "completed") for r in rows])


# --- check-in -------------------------------------------------------------------------------


def test_check_in_of_someone_on_the_roster_completes_their_disbursement(kim, sheet) -> None:
    session, rows = sheet
    disbursement = services.check_in(actor=kim, session=session, person_id=rows[0].person_id)
    assert disbursement.pk == rows[0].pk
    assert disbursement.status.code == "completed"


def test_check_in_twice_is_once(kim, sheet) -> None:
    session, rows = sheet
    services.check_in(actor=kim, session=session, person_id=rows[0].person_id)
    services.check_in(actor=kim, session=session, person_id=rows[0].person_id)
    assert BenefitDisbursement.objects.filter(session=session).count() == 3
    assert AuditEvent.objects.filter(action="session.check_in").count() == 1


def test_check_in_of_someone_new_adds_a_completed_walk_in(kim, sheet) -> None:
    session, _ = sheet
    walk_in = f.PersonFactory()
    disbursement = services.check_in(actor=kim, session=session, person_id=walk_in.pk)
    assert disbursement.recipient_type == "walk_in"
    assert disbursement.status.code == "completed"
    assert BenefitDisbursement.objects.filter(session=session).count() == 4


def test_kiosk_registering_a_likely_duplicate_asks_and_writes_nothing(kim, sheet) -> None:
    from programdesk.core.errors import Conflict
    from programdesk.people.models import Person

    session, _ = sheet
    kai = f.PersonFactory(first_name="Kai", last_name="Green", postal_code="02121",
                          phone="617-555-0100", email="kai@example.org")
    people = Person.objects.count()
    with pytest.raises(Conflict) as info:
        services.kiosk_register(actor=kim, session=session, first_name="kai",
                                last_name="Green", postal_code="02 121")
    assert info.value.extra["type"] == "possible_duplicate"
    [match] = info.value.extra["matches"]
    # Only what a kiosk may show: no last name, phone, email or postal code.
    assert set(match) == {"person_id", "display_name", "registered"}
    assert (match["person_id"], match["display_name"]) == (kai.pk, "Kai G.")
    assert Person.objects.count() == people
    assert not BenefitDisbursement.objects.filter(person=kai).exists()


def test_kiosk_registers_when_the_postal_code_differs_or_the_person_says_new(kim, sheet) -> None:
    session, _ = sheet
    f.PersonFactory(first_name="Kai", last_name="Green", postal_code="02121")
    elsewhere = services.kiosk_register(actor=kim, session=session, first_name="Kai",
                                        last_name="Green", postal_code="90210")
    confirmed = services.kiosk_register(actor=kim, session=session, first_name="Kai",
                                        last_name="Green", postal_code="02121",
                                        new_person_confirmed=True)
    assert BenefitDisbursement.objects.filter(
        session=session, person__in=[elsewhere, confirmed]).count() == 2


def test_consecutive_absences_count_the_latest_run(charlie) -> None:
    today = timezone.localdate()
    schedule = f.schedule_with_sessions(sessions=5, first=today - dt.timedelta(days=28))
    person = f.PersonFactory()
    services.schedule_add_participants(actor=charlie, schedule=schedule, person_ids=[person.pk],
                                       on=today - dt.timedelta(days=28))
    rows = list(BenefitDisbursement.objects.filter(person=person).order_by("disbursed_on"))
    for row, status in zip(rows, ["completed", "absent", "excused", "absent", "absent"],
                           strict=True):
        services.attendance_record(actor=charlie, session=row.session,
                                   marks=[Mark(row.pk, status)])
    runs = selectors.consecutive_absences(schedule=schedule)
    assert runs == {rows[0].assignment_id: 2}


def test_completing_a_cancelled_session_is_refused(charlie) -> None:
    from programdesk.core.errors import Conflict

    session = f.schedule_with_sessions(sessions=1).sessions.get()
    session.status = "cancelled"
    session.save(update_fields=["status"])
    # An empty sheet saved with "complete" would otherwise restore it, a manager's decision.
    with pytest.raises(Conflict):
        services.attendance_record(actor=charlie, session=session, marks=[],
                                   complete_session=True)
    session.refresh_from_db()
    assert session.status == "cancelled"


def test_kiosk_search_tells_two_people_with_one_display_name_apart_by_month(kim, sheet) -> None:
    session, _ = sheet
    f.PersonFactory(first_name="Kai", last_name="Green")
    f.PersonFactory(first_name="Kai", last_name="Gomez")
    f.PersonFactory(first_name="Kai", last_name="Lee")
    found = {r["display_name"]: r["registered"] is not None
             for r in selectors.kiosk_search(session=session, query="kai", user=kim)}
    assert found == {"Kai G.": True, "Kai L.": False}
