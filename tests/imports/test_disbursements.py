"""Importing disbursements: past attendance by session date, ad hoc disbursements, anonymous
ones; re-imports add nothing; errors; roles; queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from programdesk.core.errors import NotAllowed
from programdesk.core.models import AuditEvent
from programdesk.imports.results import ImportErrors
from programdesk.participation.models import (
    BenefitAssignment,
    BenefitDisbursement,
    ProgramEnrollment,
)
from programdesk.people.models import Person
from programdesk.programs.models import Program
from programdesk.scheduling.models import BenefitSchedule
from tests import factories as f
from tests.imports.util import check, commit, errors

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 3, 2)


@pytest.fixture
def program() -> Program:
    return f.ProgramFactory(name="Youth Mentoring")


@pytest.fixture
def schedule(program: Program) -> BenefitSchedule:
    benefit = f.BenefitFactory(program=program, name="Tutoring", unit=f.unit("session"))
    return f.schedule_with_sessions(benefit=benefit, name="Spring cohort", sessions=3,
                                    first=MONDAY, default_quantity=Decimal("2"))


ATTENDANCE = """First Name,Last Name,Birth date,Benefit,Session date,Attendance
Ana,Diaz,2008-01-05,Tutoring,2026-03-02,completed
Ana,Diaz,2008-01-05,Tutoring,2026-03-09,Absent
Ben,Okafor,2009-02-03,Tutoring,3/2/2026,
"""


def test_past_attendance_maps_to_sessions_and_creates_what_is_missing(bob, schedule) -> None:
    dry = check("disbursements", ATTENDANCE, bob)
    assert dry.errors == []
    assert dry.summary == {"people_new": 2, "people_matched": 0, "people_repeated": 1,
                           "accounts_new": 0, "enrollments_new": 2, "disbursements_new": 3,
                           "disbursements_duplicate": 0}
    commit("disbursements", ATTENDANCE, bob)
    ana = Person.objects.get(first_name="Ana")
    enrollment = ProgramEnrollment.objects.get(person=ana)
    assert enrollment.is_active and enrollment.start_date == MONDAY  # the first session
    assert BenefitAssignment.objects.filter(enrollment=enrollment).count() == 1
    rows = {(d.person.first_name, d.session.local_date): d for d in
            BenefitDisbursement.objects.select_related("person", "session", "status")}
    assert set(rows) == {("Ana", MONDAY), ("Ana", MONDAY + dt.timedelta(7)), ("Ben", MONDAY)}
    first = rows[("Ana", MONDAY)]
    assert first.status.code == "completed" and first.disbursed_on == MONDAY
    assert first.quantity == Decimal("2")  # the schedule's default quantity
    assert rows[("Ana", MONDAY + dt.timedelta(7))].status.code == "absent"  # by label
    assert rows[("Ben", MONDAY)].status.code == "completed"  # default: delivered
    assert first.recipient_type == "enrollment" and first.program_id == schedule.benefit.program_id
    event = AuditEvent.objects.get(action="import.disbursements")
    assert sorted(event.object_ids) == sorted(d.pk for d in rows.values())


def test_reimporting_attendance_adds_nothing(bob, schedule) -> None:
    commit("disbursements", ATTENDANCE, bob)
    again = commit("disbursements", ATTENDANCE, bob)
    assert again.summary["disbursements_new"] == 0
    assert again.summary["disbursements_duplicate"] == 3
    assert again.summary["enrollments_new"] == 0 and again.summary["people_new"] == 0
    assert BenefitDisbursement.objects.count() == 3
    assert ProgramEnrollment.objects.count() == 2 and Person.objects.count() == 2


def test_a_schedule_column_names_the_session(bob, program) -> None:
    benefit = f.BenefitFactory(program=program, name="Tutoring")
    morning = f.schedule_with_sessions(benefit=benefit, name="Mornings", sessions=1,
                                       first=MONDAY)
    f.schedule_with_sessions(benefit=benefit, name="Evenings", sessions=1, first=MONDAY)
    person = f.PersonFactory()
    text = f"Person id,Benefit,Date\n{person.pk},Tutoring,2026-03-02\n"
    ambiguous = check("disbursements", text.replace("Date", "Session date"), bob)
    assert errors(ambiguous) == [(2, "Session date", "2 sessions of this benefit are on "
                                  "2026-03-02: add a schedule column to say which.")]
    # with a schedule, the date is the session's date
    result = commit("disbursements", f"Person id,Schedule,Date\n{person.pk},mornings,"
                                     "2026-03-02\n", bob)
    assert result.summary["disbursements_new"] == 1
    assert BenefitDisbursement.objects.get().session.schedule == morning


def test_attendance_errors(bob, schedule, program) -> None:
    f.BenefitFactory(program=f.ProgramFactory(), name="Tutoring")  # same name elsewhere
    inactive = f.BenefitFactory(program=program, name="Old class", is_active=False)
    cancelled = f.SessionFactory(schedule=schedule, local_date=MONDAY + dt.timedelta(days=1),
                                 status="cancelled")
    text = f"""First,Last,Program,Benefit,Session date,Status,Quantity
Ana,Diaz,Youth Mentoring,Tutoring,2026-03-03,,
Ana,Diaz,Youth Mentoring,Tutoring,2026-03-04,,
Ana,Diaz,,Tutoring,2026-03-02,,
Ana,Diaz,Youth Mentoring,{inactive.name},2026-03-02,,
Ana,Diaz,Youth Mentoring,Tutoring,2026-03-02,attended,-1
"""
    result = check("disbursements", text, bob)
    assert errors(result) == [
        (2, "Session date", f"The session on {cancelled.local_date} was cancelled."),
        (3, "Session date", "There is no session on 2026-03-04 of this benefit."),
        (4, "Benefit", "2 benefits are named 'Tutoring' in different programs: add a program "
                       "column."),
        (5, "Benefit", "The benefit 'Old class' is not active."),
        (6, "Quantity", "Must not be negative."),
        (6, "Status", "Unknown disbursement status 'attended'. Use one of: enrolled, "
                      "completed, absent, excused, cancelled."),
    ]
    with pytest.raises(ImportErrors):
        commit("disbursements", text, bob)
    assert not BenefitDisbursement.objects.exists() and not Person.objects.exists()


def test_ad_hoc_disbursements_count_per_recipient_benefit_and_day(bob, program) -> None:
    f.BenefitFactory(program=program, name="Bus pass", unit=f.unit("item"))
    person = f.PersonFactory(first_name="Ana", last_name="Diaz", email="ana@example.org")
    text = """First name,Last name,Email,Benefit,Date,Quantity
Ana,Diaz,ana@example.org,Bus pass,2026-03-02,1
Ana,Diaz,ana@example.org,Bus pass,2026-03-02,1
Ana,Diaz,ana@example.org,Bus pass,2026-03-03,2
"""
    result = commit("disbursements", text, bob)
    # two bus passes the same day are two disbursements
    assert result.summary["disbursements_new"] == 3 and result.summary["people_matched"] == 1
    assert result.summary["people_repeated"] == 2
    rows = list(BenefitDisbursement.objects.order_by("disbursed_on", "id")
                .values_list("person_id", "session_id", "quantity", "status__code"))
    assert rows == [(person.pk, None, Decimal(1), "completed"),
                    (person.pk, None, Decimal(1), "completed"),
                    (person.pk, None, Decimal(2), "completed")]
    again = commit("disbursements", text, bob)
    assert again.summary["disbursements_new"] == 0
    assert again.summary["disbursements_duplicate"] == 3
    # one more row for the same day: one more disbursement
    more = commit("disbursements", text + "Ana,Diaz,ana@example.org,Bus pass,2026-03-02,1\n",
                  bob)
    assert more.summary["disbursements_new"] == 1
    assert BenefitDisbursement.objects.count() == 4


def test_anonymous_rows(bob, program) -> None:
    f.BenefitFactory(program=program, name="Meals", unit=f.unit("meal"))
    text = "Benefit,Date,Quantity,Number of recipients\nMeals,2026-03-04,40,40\n"
    result = commit("disbursements", text, bob)
    assert result.summary["disbursements_new"] == 1
    row = BenefitDisbursement.objects.get()
    assert (row.recipient_type, row.recipient_count, row.quantity, row.person_id) == (
        "anonymous", 40, Decimal(40), None)
    assert row.enrollment.is_anonymous
    assert commit("disbursements", text, bob).summary["disbursements_new"] == 0
    bad = check("disbursements", "First,Last,Benefit,Date,Number of recipients\n"
                                 "Ana,Diaz,Meals,2026-03-04,3\n,,Meals,2026-03-04,\n", bob)
    assert [(r, c) for r, c, _ in errors(bad)] == [(2, "Number of recipients"), (3, "")]


def test_disbursement_custom_fields(bob, program) -> None:
    pantry = f.BenefitFactory(program=program, name="Groceries", unit=f.unit("item"))
    f.FieldDefinitionFactory(target="disbursement", key="pounds", field_type="number",
                             required=True, benefit=pantry)
    pk = f.PersonFactory().pk
    text = f"Person id,Benefit,Date,pounds\n{pk},Groceries,2026-03-04,12.5\n" \
           f"{pk},Groceries,2026-03-05,\n"
    result = check("disbursements", text, bob)
    assert [(r, c) for r, c, _ in errors(result)] == [(3, "pounds")]
    commit("disbursements", text.splitlines()[0] + "\n" + text.splitlines()[1] + "\n", bob)
    assert BenefitDisbursement.objects.get().extra == {"pounds": 12.5}


def test_disbursements_need_a_manager(charlie, schedule) -> None:
    with pytest.raises(NotAllowed):
        check("disbursements", ATTENDANCE, charlie)


def test_a_program_limited_manager_sees_only_their_benefits(schedule) -> None:
    frank = f.UserFactory(username="frank", role="manager")
    frank.programs.set([f.ProgramFactory()])
    result = check("disbursements", ATTENDANCE, frank)
    assert {m for _, _, m in errors(result)} == {"No benefit named 'Tutoring'."}


def test_thousands_of_attendance_rows_take_a_fixed_number_of_queries(
        bob, schedule, django_assert_max_num_queries) -> None:
    days = ["2026-03-02", "2026-03-09", "2026-03-16"]
    lines = ["First,Last,Birth date,Benefit,Session date,Status"]
    lines += [f"P{i},Q{i},2000-01-{1 + i % 28:02d},Tutoring,{days[i % 3]},completed"
              for i in range(2000)]
    lines += [f"P{i},Q{i},2000-01-{1 + i % 28:02d},Tutoring,{days[(i + 1) % 3]},absent"
              for i in range(2000)]
    text = "\n".join(lines) + "\n"
    with django_assert_max_num_queries(13):
        dry = check("disbursements", text, bob)
    assert dry.summary["disbursements_new"] == 4000 and dry.summary["people_new"] == 2000
    # 31, and up to 3 for the household snapshot (people's memberships, households' declared
    # sizes and members) — 1 here, nobody is in a household.
    with django_assert_max_num_queries(34):
        commit("disbursements", text, bob)
    assert BenefitDisbursement.objects.count() == 4000
    with django_assert_max_num_queries(13):
        assert check("disbursements", text, bob).summary["disbursements_duplicate"] == 4000



def test_a_row_lists_all_its_errors(bob, program) -> None:
    result = check("disbursements", "Person id,Benefit,Date,Status,Quantity\n"
                                    "x,Nothing,someday,attended,1.234\n", bob)
    assert sorted(c for _, c, _ in errors(result)) == [
        "Benefit", "Date", "Person id", "Quantity", "Status"]


def test_imported_disbursements_record_the_household_as_on_their_date(bob, program) -> None:
    """Through participation's disbursements_insert_many: Ana's household then, its size then
    (Ben joined after the first date)."""
    f.BenefitFactory(program=program, name="Groceries", unit=f.unit("item"))
    harris = f.AccountFactory(name="Harris", declared_size=1)
    ana = f.MembershipFactory(account=harris, start_date=dt.date(2026, 1, 1)).person
    f.MembershipFactory(account=harris, start_date=dt.date(2026, 3, 5))
    commit("disbursements", f"Person id,Benefit,Date\n{ana.pk},Groceries,2026-03-04\n"
                            f"{ana.pk},Groceries,2026-03-06\n", bob)
    assert list(BenefitDisbursement.objects.order_by("disbursed_on").values_list(
        "household_id", "household_size")) == [(harris.pk, 2), (harris.pk, 3)]
