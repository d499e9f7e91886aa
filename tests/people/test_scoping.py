"""Program scoping of people and households at every door but imports (tests/imports/
test_scoping.py): the visibility rule itself, duplicate detection (possible_duplicates, quick
add, merge), kiosk registration, and households — a program-A user neither reads, renames,
lists nor opens cases on a household whose members are all in program B."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from programdesk.participation.models import BenefitDisbursement, ProgramEnrollment
from programdesk.people.models import Account, Case, Person
from programdesk.people.selectors import accounts_visible, people_visible
from tests import factories as f
from tests.conftest import ApiClient, assert_problem

pytestmark = pytest.mark.django_db

BORN = dt.date(1980, 5, 6)


class Scene:
    def __init__(self) -> None:
        self.mine = f.ProgramFactory(name="Mine")
        self.theirs = f.ProgramFactory(name="Theirs")
        self.users = {}
        for role in ("staff", "manager", "kiosk"):
            user = f.UserFactory(role=role)
            user.programs.set([self.mine])
            self.users[role] = user
        # A household whose members are all in the other program, with no enrollment itself.
        self.household = f.AccountFactory(name="Secret household")
        self.hidden = f.PersonFactory(first_name="Hana", last_name="Secret", birth_date=BORN,
                                      email="hana@example.org", phone="617-555-0199",
                                      account=self.household, annual_income=Decimal("9000"))
        f.EnrollmentFactory(program=self.theirs, person=self.hidden)
        self.case = f.CaseFactory(person=None, account=self.household, subject="Their case")
        self.case.programs.set([self.theirs])

    def api(self, role: str = "staff") -> ApiClient:
        return ApiClient(self.users[role])

    def page(self, role: str = "staff") -> Client:
        client = Client()
        client.force_login(self.users[role])
        return client

    def untouched(self) -> None:
        hidden = Person.objects.get(pk=self.hidden.pk)
        assert (hidden.first_name, hidden.account_id) == ("Hana", self.household.pk)
        assert set(ProgramEnrollment.objects.filter(person=hidden)
                   .values_list("program_id", flat=True)) == {self.theirs.pk}
        assert not BenefitDisbursement.objects.filter(person=hidden).exists()
        assert Account.objects.get(pk=self.household.pk).name == "Secret household"
        assert list(Case.objects.filter(account=self.household)) == [self.case]


@pytest.fixture
def scene() -> Scene:
    return Scene()


# --- the rule ----------------------------------------------------------------------------------

def test_people_are_visible_through_enrollments_cases_and_households(scene: Scene) -> None:
    user = scene.users["staff"]
    theirs_only = f.EnrollmentFactory(program=scene.theirs).person
    by_case = f.EnrollmentFactory(program=scene.theirs).person
    f.CaseFactory(person=by_case).programs.set([scene.mine])
    case_elsewhere = f.PersonFactory()  # no enrollment, but a case of the other program
    f.CaseFactory(person=case_elsewhere).programs.set([scene.theirs])
    case_of_no_program = f.PersonFactory()
    f.CaseFactory(person=case_of_no_program)
    family = f.AccountFactory()
    parent = f.EnrollmentFactory(program=scene.theirs, person__account=family).person
    child = f.EnrollmentFactory(program=scene.mine, person__account=family).person
    enrolled_household = f.AccountFactory()
    f.EnrollmentFactory(program=scene.mine, person=None, account=enrolled_household)
    member = f.EnrollmentFactory(program=scene.theirs, person__account=enrolled_household).person
    walk_in = f.PersonFactory(account=f.AccountFactory())
    seen = set(people_visible(user))
    assert {by_case, case_of_no_program, parent, child, member, walk_in} <= seen
    assert not {theirs_only, case_elsewhere, scene.hidden} & seen


def test_households_are_visible_through_their_members_or_own_enrollment(scene: Scene) -> None:
    user = scene.users["staff"]
    new = f.AccountFactory()
    with_walk_in = f.AccountFactory()
    f.PersonFactory(account=with_walk_in)
    f.EnrollmentFactory(program=scene.theirs, person__account=with_walk_in)
    enrolled_here = f.AccountFactory()
    f.EnrollmentFactory(program=scene.mine, person=None, account=enrolled_here)
    f.EnrollmentFactory(program=scene.theirs, person__account=enrolled_here)
    enrolled_there = f.AccountFactory()  # no members, enrolled elsewhere
    f.EnrollmentFactory(program=scene.theirs, person=None, account=enrolled_there)
    member_by_case = f.AccountFactory()
    person = f.EnrollmentFactory(program=scene.theirs, person__account=member_by_case).person
    f.CaseFactory(person=person).programs.set([scene.mine])
    assert set(accounts_visible(user)) == {new, with_walk_in, enrolled_here, member_by_case}
    assert scene.household in set(accounts_visible(f.UserFactory(role="staff")))


# --- duplicates, quick add, merge, kiosk -------------------------------------------------------

HANA = {"first_name": "Hana", "last_name": "Secret", "birth_date": "1980-05-06",
        "email": "hana@example.org", "phone": "617-555-0199"}


def test_possible_duplicates_never_name_an_invisible_person(scene: Scene) -> None:
    api = scene.api()
    found = api.get("people/duplicates", **HANA).json()
    assert found == {"count": 0, "items": []}
    created = api.post("people", HANA)
    assert created.status_code == 201 and created.json()["possible_duplicates"] == []
    scene.untouched()
    # the admin who sees every program is told
    assert ApiClient(f.UserFactory(role="admin")).get("people/duplicates",
                                                      **HANA).json()["count"] == 2


def test_quick_add_does_not_offer_an_invisible_person(scene: Scene) -> None:
    response = scene.page().post("/people/new/", HANA)
    assert response.status_code == 302  # created straight away: no duplicates to show
    twin = Person.objects.exclude(pk=scene.hidden.pk).get(last_name="Secret")
    assert response["Location"] == f"/people/{twin.pk}/"
    scene.untouched()


def test_merge_ignores_invisible_people(scene: Scene) -> None:
    twin = f.PersonFactory(first_name="Hana", last_name="Secret", birth_date=BORN)
    client = scene.page()
    page = client.get(f"/people/{twin.pk}/merge/")
    assert page.status_code == 200 and f"/people/{scene.hidden.pk}/".encode() not in page.content
    assert f"duplicate={scene.hidden.pk}".encode() not in page.content
    response = client.post(f"/people/{twin.pk}/merge/", {"duplicate": scene.hidden.pk})
    assert response.status_code == 302 and response["Location"].endswith("/merge/")
    assert_problem(scene.api().post(f"people/{twin.pk}/merge", {"duplicate_id": scene.hidden.pk}),
                   422, "duplicate_id")
    scene.untouched()


def test_kiosk_registration_never_becomes_an_invisible_person(scene: Scene) -> None:
    benefit = f.BenefitFactory(program=scene.mine)
    session = f.SessionFactory(schedule=f.ScheduleFactory(benefit=benefit),
                               local_date=timezone.localdate())
    kiosk = scene.page("kiosk")
    assert b"Hana" not in kiosk.get(f"/kiosk/{session.pk}/search", {"q": "Hana"}).content
    response = kiosk.post(f"/kiosk/{session.pk}/", {
        "action": "register", "first_name": "Hana", "last_name": "Secret"}, follow=True)
    assert b"Welcome, Hana" in response.content
    row = BenefitDisbursement.objects.get(session=session)
    assert row.person_id != scene.hidden.pk and row.person.last_name == "Secret"
    scene.untouched()


def test_check_in_never_enrolls_an_invisible_person(scene: Scene) -> None:
    """Checking in someone not on the roster enrolls them: never someone the user may not see,
    who is "unknown" like an id nobody has."""
    benefit = f.BenefitFactory(program=scene.mine)
    session = f.SessionFactory(schedule=f.ScheduleFactory(benefit=benefit),
                               local_date=timezone.localdate())
    for role in ("kiosk", "staff"):
        response = scene.api(role).post(f"sessions/{session.pk}/check-in",
                                        {"person_id": scene.hidden.pk})
        assert_problem(response, 422, "person_id")
    scene.untouched()
    nobody = scene.api("kiosk").post(f"sessions/{session.pk}/check-in",
                                      {"person_id": scene.hidden.pk + 1000}).json()
    hidden = scene.api("kiosk").post(f"sessions/{session.pk}/check-in",
                                     {"person_id": scene.hidden.pk}).json()
    assert hidden["errors"][0]["message"].replace(str(scene.hidden.pk), "N") == \
        nobody["errors"][0]["message"].replace(str(scene.hidden.pk + 1000), "N")
    walk_in = f.PersonFactory()
    assert scene.api("kiosk").post(f"sessions/{session.pk}/check-in",
                                   {"person_id": walk_in.pk}).status_code == 200


# --- households --------------------------------------------------------------------------------

def test_api_hides_a_household_of_another_program(scene: Scene) -> None:
    api, pk = scene.api(), scene.household.pk
    assert pk not in {a["id"] for a in api.get("accounts", search="Secret").json()["items"]}
    assert api.get("accounts", search="Secret").json()["count"] == 0
    assert_problem(api.get(f"accounts/{pk}"), 404)
    assert_problem(api.patch(f"accounts/{pk}", {"name": "Renamed"}), 404)
    assert_problem(api.post("cases", {"account_id": pk, "subject": "Rent"}), 422, "account_id")
    assert_problem(api.post("people", {"first_name": "A", "last_name": "B", "account_id": pk}),
                   422, "account_id")
    walk_in = f.PersonFactory()
    assert_problem(api.patch(f"people/{walk_in.pk}", {"account_id": pk}), 422, "account_id")
    assert api.get("people", account_id=pk).json()["count"] == 0
    assert api.get("cases", account_id=pk).json()["count"] == 0
    assert_problem(api.get(f"cases/{scene.case.pk}"), 404)
    scene.untouched()
    # seen by those who see every program
    assert ApiClient(f.UserFactory(role="admin")).get(f"accounts/{pk}").status_code == 200


def test_pages_hide_a_household_of_another_program(scene: Scene) -> None:
    client, pk = scene.page(), scene.household.pk
    assert b"Secret household" not in client.get("/accounts/", {"q": "Secret"}).content
    for url in [f"/accounts/{pk}/", f"/accounts/{pk}/edit/", f"/cases/new/?account={pk}"]:
        assert client.get(url).status_code == 404, url
    assert client.post(f"/accounts/{pk}/edit/", {"name": "Renamed",
                                                 "kind": "household"}).status_code == 404
    assert client.post(f"/cases/new/?account={pk}", {"subject": "Rent", "status": "open"}
                       ).status_code == 404
    walk_in = f.PersonFactory()
    assert client.post(f"/accounts/{pk}/members/", {"person": walk_in.pk}).status_code == 404
    # no picker offers it
    assert b"Secret household" not in client.get("/people/new/").content
    assert b"Secret household" not in client.get(f"/people/{walk_in.pk}/edit/").content
    assert scene.page("manager").get(f"/accounts/{pk}/log-benefits/").status_code == 404
    Person.objects.filter(pk=walk_in.pk).update(account=None)
    scene.untouched()


def test_a_household_list_counts_only_members_the_user_may_see(scene: Scene) -> None:
    shared = f.AccountFactory(name="Shared household")
    f.PersonFactory(account=shared)  # a walk-in: visible, so the household is
    f.EnrollmentFactory(program=scene.theirs, person__account=shared)
    page = scene.page().get("/accounts/", {"q": "Shared"}).content.decode()
    admin = Client()
    admin.force_login(f.UserFactory(role="admin"))
    everything = admin.get("/accounts/", {"q": "Shared"}).content.decode()
    assert "Shared household" in page and page != everything
    assert _members_cell(page) == "1" and _members_cell(everything) == "2"


def _members_cell(html: str) -> str:
    import re

    row = html[html.index("Shared household"):]
    return re.findall(r'class="num">(\d+)<', row[:row.index("</tr>")])[0]
