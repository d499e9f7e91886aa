"""Imports obey program scoping: a user limited to one program imports files naming a person
(or a household) who is only in another program. Every kind of import treats that row exactly
like a row naming somebody nobody has — the same counts, the same errors, a new person — and
never matches, reveals or changes the other person."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from programdesk.core.models import User
from programdesk.core.services import token_create
from programdesk.participation.models import BenefitDisbursement, ProgramEnrollment
from programdesk.people.models import Account, Person
from tests import factories as f
from tests.imports.util import check, commit

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 3, 2)

# The same shape of row, once for the hidden person and once for someone nobody has.
HIDDEN = {"first": "Hana", "last": "Secret", "birth": "1980-05-06", "email": "hana@example.org",
          "phone": "617-555-0199", "household": "Secret household"}
NOBODY = {"first": "Nora", "last": "Nobody", "birth": "1980-05-06", "email": "nora@example.org",
          "phone": "617-555-0188", "household": "Nobody household"}


class Scene:
    def __init__(self) -> None:
        self.mine = f.ProgramFactory(name="Mine")
        self.theirs = f.ProgramFactory(name="Theirs")
        self.staff = f.UserFactory(role="staff")
        self.staff.programs.set([self.mine])
        self.manager = f.UserFactory(role="manager")
        self.manager.programs.set([self.mine])
        # Only in the other program: enrolled there, in a household of their own that has
        # no enrollment (so the household is hidden through its member).
        self.household = f.AccountFactory(name=HIDDEN["household"], postal_code="02139")
        self.hidden = f.PersonFactory(
            first_name=HIDDEN["first"], last_name=HIDDEN["last"],
            birth_date=dt.date.fromisoformat(HIDDEN["birth"]), email=HIDDEN["email"],
            phone=HIDDEN["phone"], account=self.household, annual_income=Decimal("9000"))
        f.EnrollmentFactory(program=self.theirs, person=self.hidden)
        # A hidden person with nothing but a name (matched by name alone when visible).
        self.bare = f.PersonFactory(first_name="Otto", last_name="Bare")
        f.EnrollmentFactory(program=self.theirs, person=self.bare)
        benefit = f.BenefitFactory(program=self.mine, name="Tutoring", unit=f.unit("session"))
        f.schedule_with_sessions(benefit=benefit, name="Spring", sessions=2, first=MONDAY,
                                 default_quantity=Decimal("1"))

    def untouched(self) -> None:
        """The hidden people and household are as they were: nothing added, matched or changed."""
        for person in (self.hidden, self.bare):
            assert set(ProgramEnrollment.objects.filter(person=person)
                       .values_list("program_id", flat=True)) == {self.theirs.pk}
            assert not BenefitDisbursement.objects.filter(person=person).exists()
        hidden = Person.objects.get(pk=self.hidden.pk)
        assert (hidden.first_name, hidden.email, hidden.account_id) == (
            HIDDEN["first"], HIDDEN["email"], self.household.pk)
        assert Person.objects.filter(account=self.household).count() == 1
        assert not ProgramEnrollment.objects.filter(account=self.household).exists()


@pytest.fixture
def scene() -> Scene:
    return Scene()


def _neutral(result: dict[str, Any], who: dict[str, str]) -> Any:
    """The answer with the row's own words taken out of its texts, to compare two files'
    answers."""
    def clean(value: Any) -> Any:
        if isinstance(value, str):
            for key, word in who.items():
                value = value.replace(word, f"<{key}>")
            return value
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return clean({k: result.get(k) for k in ("rows", "summary", "errors", "warnings")})


# kind → (who imports, the file as a template of one row)
FILES: dict[str, tuple[str, str]] = {
    "people": ("staff", "First Name,Last Name,Birth Date,Email,Phone,Account\n"
                        "{first},{last},{birth},{email},{phone},{household}\n"),
    "accounts": ("staff", "Name,Kind,Postal code\n{household},household,02139\n"),
    "enrollments": ("staff", "Program,First Name,Last Name,Birth Date,Email,Phone,Start date\n"
                             "Mine,{first},{last},{birth},{email},{phone},2026-01-05\n"),
    "disbursements": ("manager", "First Name,Last Name,Birth date,Email,Phone,Benefit,"
                                 "Session date,Attendance\n"
                                 "{first},{last},{birth},{email},{phone},Tutoring,2026-03-02,"
                                 "completed\n"),
}


def _user(scene: Scene, who: str) -> User:
    return scene.staff if who == "staff" else scene.manager


@pytest.mark.parametrize("kind", sorted(FILES))
def test_import_never_matches_or_reveals_an_invisible_person(scene: Scene, kind: str) -> None:
    who, template = FILES[kind]
    user = _user(scene, who)
    hidden_file, nobody_file = template.format(**HIDDEN), template.format(**NOBODY)
    dry_hidden = check(kind, hidden_file, user)
    dry_nobody = check(kind, nobody_file, user)
    assert dry_hidden.errors == [] and dry_nobody.errors == []
    assert _neutral(dry_hidden.as_dict(), HIDDEN) == _neutral(dry_nobody.as_dict(), NOBODY)
    assert dry_hidden.summary.get("people_matched", 0) == 0
    assert dry_hidden.summary.get("accounts_matched", 0) == 0

    done_hidden = commit(kind, hidden_file, user)
    done_nobody = commit(kind, nobody_file, user)
    assert _neutral(done_hidden.as_dict(), HIDDEN) == _neutral(done_nobody.as_dict(), NOBODY)
    scene.untouched()
    if kind != "accounts":  # a new person of that name, in the user's program where enrolled
        twin = Person.objects.exclude(pk=scene.hidden.pk).get(first_name=HIDDEN["first"],
                                                                last_name=HIDDEN["last"])
        if kind in {"enrollments", "disbursements"}:
            assert ProgramEnrollment.objects.filter(person=twin, program=scene.mine).exists()
        if kind == "people":  # joined a new household of that name, not the hidden one
            assert twin.account_id not in {None, scene.household.pk}
    else:
        assert Account.objects.filter(name=HIDDEN["household"]).count() == 2
    # An admin who sees every program still matches the person (the rule is the user's).
    if kind in {"people", "enrollments"}:
        everyone = f.UserFactory(role="admin")
        again = check(kind, hidden_file, everyone)
        assert again.summary["people_matched"] == 1 and again.summary["people_new"] == 0


def test_a_name_alone_never_matches_an_invisible_person(scene: Scene) -> None:
    bare, nobody = {"first": "Otto", "last": "Bare"}, {"first": "Nina", "last": "Nobody"}
    template = "Program,First Name,Last Name\nMine,{first},{last}\n"
    files = [("people", "First Name,Last Name\n{first},{last}\n"), ("enrollments", template)]
    for kind, text in files:
        hidden = check(kind, text.format(**bare), scene.staff).as_dict()
        new = check(kind, text.format(**nobody), scene.staff).as_dict()
        assert _neutral(hidden, bare) == _neutral(new, nobody)
        assert hidden["summary"]["people_new"] == 1
    for kind, text in files:
        # (the second file matches the person the first one made: the user's own now)
        commit(kind, text.format(**bare), scene.staff)
    scene.untouched()


def test_rows_naming_an_invisible_person_or_household_by_id_or_name_are_unknown(
        scene: Scene) -> None:
    """By id: the same error as an id nobody has. By account name: the same error as a name
    nobody has."""
    missing = Person.objects.order_by("-pk").first().pk + 1000
    by_id = "Program,Person ID\nMine,{id}\n"
    hidden = check("enrollments", by_id.format(id=scene.hidden.pk), scene.staff).as_dict()
    new = check("enrollments", by_id.format(id=missing), scene.staff).as_dict()
    assert _neutral(hidden, {"id": str(scene.hidden.pk)}) == _neutral(new, {"id": str(missing)})
    assert hidden["errors"]
    by_name = "Program,Account\nMine,{household}\n"
    hidden = check("enrollments", by_name.format(**HIDDEN), scene.staff).as_dict()
    new = check("enrollments", by_name.format(**NOBODY), scene.staff).as_dict()
    assert _neutral(hidden, HIDDEN) == _neutral(new, NOBODY)
    assert hidden["errors"]
    people = "First Name,Last Name,Account ID\nAda,Lovelace,{id}\n"
    account = check("people", people.format(id=scene.household.pk), scene.staff).as_dict()
    assert account["errors"][0]["column"] == "Account ID"
    scene.untouched()


def test_api_import_dry_run_and_commit_say_nothing_of_the_invisible_person(
        client: Any, scene: Scene) -> None:
    """The door the review used: POST /api/v1/imports/enrollments."""
    token = token_create(actor=None, user=scene.staff)
    template = FILES["enrollments"][1]

    def post(who: dict[str, str], **form: str) -> dict[str, Any]:
        response = client.post("/api/v1/imports/enrollments", {
            "file": SimpleUploadedFile("enrollments.csv", template.format(**who).encode()),
            **form}, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.content
        return response.json()

    dry_hidden, dry_nobody = post(HIDDEN, dry_run="true"), post(NOBODY, dry_run="true")
    assert dry_hidden["summary"]["people_matched"] == 0
    assert dry_hidden["summary"]["people_new"] == 1
    assert _neutral(dry_hidden, HIDDEN) == _neutral(dry_nobody, NOBODY)
    done = post(HIDDEN)
    assert done["committed"] and done["summary"]["people_new"] == 1
    scene.untouched()
    twin = Person.objects.exclude(pk=scene.hidden.pk).get(last_name=HIDDEN["last"])
    # The user reads the person they imported, and still not the other one.
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1/people/{twin.pk}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/people/{scene.hidden.pk}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/people/{scene.hidden.pk}/documents",
                      headers=headers).status_code == 404


def test_import_matching_stays_a_fixed_number_of_queries_for_a_limited_user(
        scene: Scene, django_assert_max_num_queries: Any) -> None:
    """The scope is part of each lookup's one query, not a check per row."""
    rows = "".join(f"Mine,Given{i},{HIDDEN['last']},{HIDDEN['birth']},g{i}@example.org,,"
                   "2026-01-05\n" for i in range(300))
    text = "Program,First Name,Last Name,Birth Date,Email,Phone,Start date\n" + rows
    check("enrollments", text, scene.staff)  # warm the caches (status values, definitions)
    with django_assert_max_num_queries(20):
        result = check("enrollments", text, scene.staff)
    assert result.summary["people_new"] == 300
