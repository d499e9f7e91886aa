"""Duplicate detection: people_find_duplicates (shown to staff) and people_match_rows (imports)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from programdesk.people.models import Person
from programdesk.people.selectors import (
    ASK_ANYONE_FROM,
    people_find_duplicates,
    people_match_rows,
)
from tests import factories as f

pytestmark = pytest.mark.django_db

APRIL_2 = dt.date(1990, 4, 2)
EVERYONE = Person.objects.all()  # the command line's scope


def reasons(**kwargs) -> dict[int, str]:
    return {m.person.pk: m.reason for m in people_find_duplicates(**{"user": None, **kwargs})}


def test_jon_smith_finds_john_smith_with_the_same_birth_date() -> None:
    john = f.PersonFactory(first_name="John", last_name="Smith", birth_date=APRIL_2)
    found = people_find_duplicates(first_name="Jon", last_name="Smith", birth_date=APRIL_2,
                                   user=None)
    assert [m.person for m in found] == [john]
    assert found[0].reason == "Same birth date and a similar name"


def test_same_name_and_birth_date_is_the_strongest_match() -> None:
    twin = f.PersonFactory(first_name="Jon", last_name="Smith", birth_date=APRIL_2)
    john = f.PersonFactory(first_name="John", last_name="Smith", birth_date=APRIL_2)
    found = people_find_duplicates(first_name="jon", last_name="SMITH", birth_date=APRIL_2,
                                   user=None)
    assert [m.person for m in found] == [twin, john]
    assert found[0].reason == "Same name and birth date"


def test_an_initial_or_short_form_counts_next_to_the_same_birth_date() -> None:
    jonathan = f.PersonFactory(first_name="Jonathan", last_name="Smith", birth_date=APRIL_2)
    assert jonathan.pk in reasons(first_name="J", last_name="Smith", birth_date=APRIL_2)
    assert jonathan.pk in reasons(first_name="Jon", last_name="Smith", birth_date=APRIL_2)
    # ...but not without it
    assert jonathan.pk not in reasons(first_name="J", last_name="Smith")


def test_typo_tolerant_name_without_birth_date() -> None:
    maria = f.PersonFactory(first_name="Maria", last_name="Gonzalez")
    assert reasons(first_name="Marai", last_name="Gonzales") == {
        maria.pk: "Similar name"}
    assert reasons(first_name="María", last_name="González") == {maria.pk: "Same name"}


def test_different_birth_dates_mean_different_people() -> None:
    f.PersonFactory(first_name="John", last_name="Smith", birth_date=APRIL_2)
    assert reasons(first_name="John", last_name="Smith", birth_date=dt.date(1985, 1, 1)) == {}


def test_same_email_or_phone_whatever_the_name() -> None:
    ana = f.PersonFactory(first_name="Ana", last_name="Diaz", email="ana@example.org",
                          phone="617-555-0100")
    assert reasons(first_name="Luis", last_name="Diaz", email="ANA@example.org ") == {
        ana.pk: "Same email address"}
    assert reasons(first_name="Luis", last_name="Diaz", phone="+1 (617) 555 0100") == {
        ana.pk: "Same phone number"}


def test_several_reasons_are_listed_together() -> None:
    ana = f.PersonFactory(first_name="Ana", last_name="Diaz", email="ana@example.org",
                          birth_date=APRIL_2)
    found = reasons(first_name="Anna", last_name="Diaz", email="ana@example.org",
                    birth_date=APRIL_2)
    assert found == {ana.pk: "Same birth date and a similar name, same email address"}


def test_swapped_first_and_last_name_with_the_same_birth_date() -> None:
    wei = f.PersonFactory(first_name="Wei", last_name="Chen", birth_date=APRIL_2)
    assert wei.pk in reasons(first_name="Chen", last_name="Wei", birth_date=APRIL_2)


def test_short_phone_numbers_and_strangers_do_not_match() -> None:
    f.PersonFactory(first_name="Ana", last_name="Diaz", phone="12")
    f.PersonFactory(first_name="Bo", last_name="Chen", birth_date=APRIL_2)
    assert reasons(first_name="Zed", last_name="Young", phone="12", birth_date=APRIL_2) == {}


def test_exclude_and_limit() -> None:
    people = [f.PersonFactory(first_name="John", last_name="Smith") for _ in range(4)]
    found = people_find_duplicates(first_name="John", last_name="Smith",
                                   exclude_id=people[0].pk, limit=2, user=None)
    assert len(found) == 2 and people[0].pk not in {m.person.pk for m in found}


def test_limited_users_only_see_duplicates_they_may_see() -> None:
    mine, other = f.ProgramFactory(), f.ProgramFactory()
    user = f.UserFactory(role="staff")
    user.programs.set([mine])
    hidden = f.EnrollmentFactory(program=other, person__first_name="John",
                                 person__last_name="Smith").person
    shown = f.PersonFactory(first_name="John", last_name="Smith")
    assert set(reasons(first_name="John", last_name="Smith", user=user)) == {shown.pk}
    assert hidden.pk in reasons(first_name="John", last_name="Smith")


def test_find_duplicates_is_one_query(django_assert_num_queries) -> None:
    for i in range(20):
        f.PersonFactory(first_name="John", last_name=f"Smith{i}", birth_date=APRIL_2)
    with django_assert_num_queries(1):
        people_find_duplicates(first_name="Jon", last_name="Smith", birth_date=APRIL_2,
                               email="x@example.org", phone="6175550100", user=None)


# --- Import matching -----------------------------------------------------------------------------

def test_match_rows_needs_a_similar_name_and_a_shared_fact() -> None:
    john = f.PersonFactory(first_name="John", last_name="Smith", birth_date=APRIL_2,
                           email="john@example.org", phone="617-555-0100")
    rows: list[dict[str, Any]] = [
        {"first_name": "Jon", "last_name": "Smith", "birth_date": "1990-04-02"},
        {"first_name": "John", "last_name": "Smyth", "email": "JOHN@example.org"},
        {"first_name": "John", "last_name": "Smith", "phone": "6175550100"},
        # family members share the phone and email: not the same person
        {"first_name": "Mary", "last_name": "Smith", "phone": "6175550100",
         "email": "john@example.org"},
        # same name, different birth date
        {"first_name": "John", "last_name": "Smith", "birth_date": dt.date(1991, 1, 1),
         "email": "john@example.org"},
        # a name alone is not enough for an unattended import
        {"first_name": "John", "last_name": "Smith"},
        {"first_name": "", "last_name": ""},
        {"first_name": "J", "last_name": "Smith", "birth_date": "not a date"},
    ]
    assert people_match_rows(rows, among=EVERYONE) == [john.pk, john.pk, john.pk, None, None,
                                                       None, None, None]


def test_match_rows_prefers_the_best_then_the_oldest() -> None:
    older = f.PersonFactory(first_name="John", last_name="Smith", birth_date=APRIL_2)
    newer = f.PersonFactory(first_name="John", last_name="Smith", birth_date=APRIL_2)
    best = f.PersonFactory(first_name="John", last_name="Smith", birth_date=APRIL_2,
                           email="js@example.org")
    assert people_match_rows([{"first_name": "John", "last_name": "Smith",
                               "birth_date": APRIL_2}], among=EVERYONE) == [older.pk]
    assert people_match_rows([{"first_name": "John", "last_name": "Smith",
                               "birth_date": APRIL_2, "email": "js@example.org"}],
                             among=EVERYONE) == [best.pk]
    assert newer.pk != older.pk


def test_match_rows_is_set_based(django_assert_max_num_queries) -> None:
    existing = [f.PersonFactory(first_name=f"Person{i}", last_name="Garcia",
                                birth_date=APRIL_2 + dt.timedelta(days=i),
                                email=f"p{i}@example.org") for i in range(30)]
    rows = [{"first_name": f"Person{i % 30}", "last_name": "Garcia",
             "birth_date": (APRIL_2 + dt.timedelta(days=i % 30)).isoformat(),
             "email": f"p{i % 30}@example.org", "phone": f"617555{i:04d}"}
            for i in range(3000)]
    rows.append({"first_name": "New", "last_name": "Person", "email": "new@example.org"})
    # Whether anyone is there to compare with (this many rows), then the candidates.
    with django_assert_max_num_queries(2):
        matched = people_match_rows(rows, among=EVERYONE)
    assert matched[:30] == [p.pk for p in existing]
    assert matched[-1] is None and len(matched) == 3001


def test_many_rows_against_nobody_send_no_keys(django_assert_num_queries) -> None:
    rows = [{"first_name": f"Person{i}", "last_name": "Garcia", "email": f"p{i}@example.org"}
            for i in range(ASK_ANYONE_FROM)]
    with django_assert_num_queries(1):  # "anyone?": no
        assert people_match_rows(rows, among=EVERYONE) == [None] * ASK_ANYONE_FROM


def test_many_rows_against_someone_outside_the_scope_match_nobody() -> None:
    """Ann is there but not among those the user may see: none of her keys is a match."""
    ann = f.PersonFactory(first_name="Ann", last_name="Lee", email="ann@example.org")
    rows = [{"first_name": "Ann", "last_name": "Lee", "email": "ann@example.org"}] * 1000
    assert people_match_rows(rows, among=EVERYONE.exclude(pk=ann.pk)) == [None] * 1000
    assert people_match_rows(rows, among=EVERYONE) == [ann.pk] * 1000


def test_match_rows_of_nothing_asks_nothing(django_assert_num_queries) -> None:
    with django_assert_num_queries(0):
        assert people_match_rows([{"first_name": "A", "last_name": "B"}],
                                 among=EVERYONE) == [None]
