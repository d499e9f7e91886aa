"""Importing accounts and enrollments."""

from __future__ import annotations

import datetime as dt

import pytest

from programdesk.core.errors import NotAllowed
from programdesk.core.models import AuditEvent
from programdesk.imports.results import ImportErrors
from programdesk.participation.models import ProgramEnrollment
from programdesk.people.models import Account, Person
from programdesk.programs.models import Program
from tests import factories as f
from tests.imports.util import check, commit, errors

pytestmark = pytest.mark.django_db


# --- accounts -------------------------------------------------------------------------------------


def test_accounts_import_and_reimport(charlie) -> None:
    text = """Account Name,Type,Email,Zip
Smith household,Household,smiths@example.org,02139
Food Bank of Boston,organisation,,02110
Smith household,household,,02140
"""
    result = commit("accounts", text, charlie)
    # two Smith households: different postal codes
    assert result.summary == {"accounts_new": 3, "accounts_matched": 0}
    assert Account.objects.get(name="Food Bank of Boston").kind == "organization"
    again = commit("accounts", text, charlie)
    assert again.summary == {"accounts_new": 0, "accounts_matched": 3}
    assert Account.objects.count() == 3
    assert AuditEvent.objects.filter(action="import.accounts").count() == 1


def test_account_errors_are_listed(charlie) -> None:
    result = check("accounts", "Name,Kind,Email\n,household,\nAcme,company,bad@\n", charlie)
    assert sorted(errors(result)) == [
        (2, "Name", "A name is required."),
        (3, "Email", "Enter a valid email address."),
        (3, "Kind", "'company' is not a kind of account: use household or organization."),
    ]


# --- enrollments ------------------------------------------------------------------------------


@pytest.fixture
def youth() -> Program:
    return f.ProgramFactory(name="Youth Mentoring")


def test_enrollments_with_statuses_and_dates(charlie, youth) -> None:
    ana = f.PersonFactory(first_name="Ana", last_name="Diaz", birth_date=dt.date(2008, 1, 5))
    text = f"""Person id,First name,Last name,Birth date,Program,Status,Start date,End date
{ana.pk},,,,youth mentoring,enrolled,2025-09-01,
,Ben,Okafor,2009-02-03,Youth Mentoring,Completed,2024-09-01,2025-06-15
,Chen,Wei,2010-03-04,Youth Mentoring,waitlisted,,
"""
    dry = check("enrollments", text, charlie)
    assert dry.errors == []
    assert dry.summary == {"enrollments_new": 3, "enrollments_matched": 0, "people_new": 2,
                           "people_matched": 1, "people_repeated": 0, "accounts_new": 0}
    commit("enrollments", text, charlie)
    rows = {e.person.first_name: e for e in ProgramEnrollment.objects.select_related(
        "person", "status")}
    assert rows["Ana"].status.code == "enrolled" and rows["Ana"].is_active
    assert rows["Ana"].start_date == dt.date(2025, 9, 1)
    assert rows["Ben"].status.code == "completed" and not rows["Ben"].is_active  # by label
    assert rows["Ben"].end_date == dt.date(2025, 6, 15)
    assert rows["Chen"].status.code == "waitlisted" and rows["Chen"].start_date is None
    assert Person.objects.count() == 3

    again = commit("enrollments", text, charlie)
    assert again.summary["enrollments_new"] == 0 and again.summary["enrollments_matched"] == 3
    assert ProgramEnrollment.objects.count() == 3


def test_an_existing_active_enrollment_is_reused(charlie, youth) -> None:
    enrollment = f.EnrollmentFactory(program=youth)
    person = enrollment.person
    text = f"Person id,Program,Status\n{person.pk},{youth.name},in_progress\n" \
           f"{person.pk},{youth.name},enrolled\n"
    result = commit("enrollments", text, charlie)
    assert result.summary["enrollments_new"] == 0 and result.summary["enrollments_matched"] == 2
    assert ProgramEnrollment.objects.get() == enrollment


def test_enrollment_errors(charlie, youth) -> None:
    f.FieldDefinitionFactory(target="enrollment", key="referral", field_type="choice",
                             choices=["school", "court"], program=youth)
    text = """First name,Last name,Program,Status,Start date,End date,referral
Ana,Diaz,Nowhere,enrolled,,,
Ben,Okafor,Youth Mentoring,graduated,2025-01-01,2024-01-01,friend
,,Youth Mentoring,enrolled,,,
"""
    result = check("enrollments", text, charlie)
    assert sorted((r, c) for r, c, _ in errors(result)) == [
        (2, "Program"), (3, "End date"), (3, "Status"), (3, "referral"), (4, "")]
    assert "No program named 'Nowhere'." in [m for _, _, m in errors(result)]
    with pytest.raises(ImportErrors):
        commit("enrollments", text, charlie)
    assert not ProgramEnrollment.objects.exists() and not Person.objects.exists()


def test_a_program_limited_user_imports_only_into_their_programs(youth) -> None:
    other = f.ProgramFactory(name="Food Pantry")
    erin = f.UserFactory(username="erin", role="staff")
    erin.programs.set([youth])
    text = "First,Last,Birth date,Program\nAna,Diaz,2001-01-01,Food Pantry\n"
    result = check("enrollments", text, erin)
    assert errors(result) == [(2, "Program", "No program named 'Food Pantry'.")]
    assert other.pk  # exists, but erin cannot see it


def test_account_enrollments(charlie, youth) -> None:
    acme = f.AccountFactory(name="Acme", kind="organization")
    bad = check("enrollments", "Account,Program\nAcme,Youth Mentoring\nNope,Youth Mentoring\n",
                charlie)
    assert errors(bad) == [(3, "Account", "No account named 'Nope': import accounts first.")]
    commit("enrollments", "Account,Program\nacme,Youth Mentoring\n", charlie)
    assert ProgramEnrollment.objects.get().account == acme


def test_a_new_person_needs_the_required_person_fields(charlie, youth) -> None:
    f.FieldDefinitionFactory(target="person", key="consent", label="Consent",
                             field_type="boolean", required=True)
    known = f.PersonFactory(first_name="Ana", last_name="Diaz", birth_date=dt.date(2000, 1, 1),
                            extra={"consent": True})
    text = "First,Last,Birth date,Program\nAna,Diaz,2000-01-01,Youth Mentoring\n" \
           "Ben,Okafor,2001-01-01,Youth Mentoring\n"
    result = check("enrollments", text, charlie)
    assert [(r, c) for r, c, _ in errors(result)] == [(3, "")]
    assert "import them first" in result.errors[0].message
    assert known.pk


def test_enrollments_need_the_staff_role(dana, youth) -> None:
    with pytest.raises(NotAllowed):
        check("enrollments", "First,Last,Program\nA,B,Youth Mentoring\n", dana)
