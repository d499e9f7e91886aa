"""Program-limited users: people, accounts and cases they may see (shared intake included)."""

from __future__ import annotations

import pytest

from programdesk.core.models import User
from programdesk.people.selectors import accounts_visible, cases_visible, people_visible
from programdesk.programs.models import Program
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup() -> tuple[User, Program, Program]:
    mine, other = f.ProgramFactory(), f.ProgramFactory()
    user = f.UserFactory(role="staff")
    user.programs.set([mine])
    return user, mine, other


def test_people_enrolled_in_my_programs_or_in_none(setup) -> None:
    user, mine, other = setup
    in_mine = f.EnrollmentFactory(program=mine).person
    withdrawn_from_mine = f.EnrollmentFactory(
        program=mine, status=f.status("enrollment", "withdrawn")).person
    in_both = f.EnrollmentFactory(program=other).person
    f.EnrollmentFactory(program=mine, person=in_both)
    only_other = f.EnrollmentFactory(program=other).person
    walk_in = f.PersonFactory()
    assert set(people_visible(user)) == {in_mine, withdrawn_from_mine, in_both, walk_in}
    assert only_other not in people_visible(user)
    assert people_visible(f.UserFactory(role="staff")).count() == 5  # unlimited users see all


def test_accounts_follow_the_same_rule(setup) -> None:
    user, mine, other = setup
    enrolled_elsewhere = f.AccountFactory()
    f.EnrollmentFactory(program=other, person=None, account=enrolled_elsewhere)
    enrolled_here = f.AccountFactory()
    f.EnrollmentFactory(program=mine, person=None, account=enrolled_here)
    new = f.AccountFactory()
    assert set(accounts_visible(user)) == {enrolled_here, new}


def test_cases_by_program_or_by_client(setup) -> None:
    user, mine, other = setup
    linked_mine = f.CaseFactory()
    linked_mine.programs.set([mine])
    linked_other = f.CaseFactory()
    linked_other.programs.set([other])
    unlinked_visible_client = f.CaseFactory()
    hidden_person = f.EnrollmentFactory(program=other).person
    unlinked_hidden_client = f.CaseFactory(person=hidden_person)
    assert set(cases_visible(user)) == {linked_mine, unlinked_visible_client}
    assert unlinked_hidden_client not in cases_visible(user)
    assert linked_other not in cases_visible(user)


def test_the_api_answers_404_outside(setup, api_as) -> None:
    user, _mine, other = setup
    hidden = f.EnrollmentFactory(program=other).person
    case = f.CaseFactory(person=hidden)
    client = api_as(user)
    assert client.get(f"people/{hidden.pk}").status_code == 404
    assert client.get(f"cases/{case.pk}").status_code == 404
    assert client.post("cases", {"person_id": hidden.pk, "subject": "X"}).status_code == 422
    assert client.post(f"people/{f.PersonFactory().pk}/merge",
                       {"duplicate_id": hidden.pk}).status_code == 422
