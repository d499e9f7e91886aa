"""Check-in cards: issuing, replacing and revoking a card; checking in with one (a person's,
a household's, a revoked one, one outside the user's programs); the API; the card pages."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from programdesk.core.errors import Conflict, ValidationError
from programdesk.core.models import AuditEvent, User
from programdesk.participation import services
from programdesk.participation.models import BenefitDisbursement
from programdesk.people import selectors
from programdesk.people import services as people_services
from programdesk.people.models import Account, Person, RevokedCardCode
from programdesk.scheduling.models import BenefitSession
from tests import factories as f
from tests.conftest import ApiClient, assert_problem

pytestmark = pytest.mark.django_db

CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


@pytest.fixture
def session(charlie: User) -> BenefitSession:
    """Today's session of a schedule with two people on its roster."""
    schedule = f.schedule_with_sessions(sessions=1)
    people = [f.PersonFactory(first_name="Ana", last_name="Silva"),
              f.PersonFactory(first_name="Ben", last_name="Okafor")]
    services.schedule_add_participants(actor=charlie, schedule=schedule,
                                       person_ids=[p.pk for p in people])
    found = schedule.sessions.first()
    assert found is not None
    return found


def _person(session: BenefitSession, first_name: str) -> Person:
    return Person.objects.get(first_name=first_name, disbursements__session=session)


def _status(session: BenefitSession, person: Person) -> str:
    return BenefitDisbursement.objects.get(session=session, person=person).status.code


# --- issue, replace, revoke ------------------------------------------------------------------


def test_a_card_code_is_random_readable_and_unique(charlie) -> None:
    people = f.PersonFactory.create_batch(20)
    codes = [people_services.card_issue(actor=charlie, person=p) for p in people]
    assert all(CODE.match(c) for c in codes)
    assert len(set(codes)) == 20
    assert Person.objects.get(pk=people[0].pk).card_code == codes[0]


def test_reissuing_revokes_the_old_code_and_the_audit_says_so(charlie) -> None:
    person = f.PersonFactory()
    old = people_services.card_issue(actor=charlie, person=person)
    new = people_services.card_issue(actor=charlie, person=person)
    assert old != new
    assert RevokedCardCode.objects.get(code=old).person == person
    assert selectors.card_find(user=charlie, code=old).revoked
    found = selectors.card_find(user=charlie, code=new.lower())  # as typed
    assert found.person == person and not found.revoked
    events = list(AuditEvent.objects.filter(action="person.card_issue").order_by("id"))
    assert [(e.before, e.after) for e in events] == [
        ({"card_code": None}, {"card_code": old}), ({"card_code": old}, {"card_code": new})]
    assert events[0].actor == charlie


def test_revoking_takes_the_card_away_and_twice_is_refused(charlie) -> None:
    account = f.AccountFactory()
    code = people_services.card_issue(actor=charlie, account=account)
    assert people_services.card_revoke(actor=charlie, account=account) == code
    assert Account.objects.get(pk=account.pk).card_code is None
    assert RevokedCardCode.objects.get(code=code).account == account
    assert AuditEvent.objects.filter(action="account.card_revoke", object_id=account.pk).exists()
    with pytest.raises(Conflict):
        people_services.card_revoke(actor=charlie, account=account)


def test_a_revoked_code_is_never_issued_again(charlie, monkeypatch) -> None:
    person = f.PersonFactory()
    old = people_services.card_issue(actor=charlie, person=person)
    people_services.card_revoke(actor=charlie, person=person)
    fresh = iter([old, "AAAA-BBBB-CCCC"])
    monkeypatch.setattr(people_services, "card_code_new", lambda: next(fresh))
    assert people_services.card_issue(actor=charlie, person=person) == "AAAA-BBBB-CCCC"


# --- checking in with a card -----------------------------------------------------------------


def test_a_persons_card_checks_them_in(charlie, kim, session) -> None:
    ana = _person(session, "Ana")
    code = people_services.card_issue(actor=charlie, person=ana)
    done = services.check_in_card(actor=kim, session=session, code=f"  {code.lower()} ")
    assert done.disbursement is not None and done.disbursement.person_id == ana.pk
    assert _status(session, ana) == "completed"
    assert _status(session, _person(session, "Ben")) == "enrolled"
    again = services.check_in_card(actor=kim, session=session, code=code)
    assert again.disbursement is not None  # twice is once
    assert AuditEvent.objects.filter(action="session.check_in").count() == 1


def test_a_revoked_card_is_refused_and_changes_nothing(charlie, kim, session) -> None:
    ana = _person(session, "Ana")
    old = people_services.card_issue(actor=charlie, person=ana)
    people_services.card_issue(actor=charlie, person=ana)  # the card was lost: a new one
    with pytest.raises(Conflict) as refused:
        services.check_in_card(actor=kim, session=session, code=old)
    assert refused.value.extra["type"] == "card_revoked"
    assert "replaced" in refused.value.detail
    assert _status(session, ana) == "enrolled"


def test_an_unknown_code_is_a_field_error(kim, session) -> None:
    with pytest.raises(ValidationError) as refused:
        services.check_in_card(actor=kim, session=session, code="ZZZZ-ZZZZ-ZZZZ")
    assert [e["field"] for e in refused.value.errors] == ["code"]


def test_a_card_of_someone_outside_the_users_programs_is_unknown(charlie, session) -> None:
    mine, theirs = f.ProgramFactory(), f.ProgramFactory()
    limited = f.UserFactory(role="staff")
    limited.programs.set([mine, session.benefit.program])
    stranger = f.EnrollmentFactory(program=theirs).person
    code = people_services.card_issue(actor=charlie, person=stranger)
    assert selectors.card_find(user=limited, code=code) is None
    with pytest.raises(ValidationError):
        services.check_in_card(actor=limited, session=session, code=code)
    assert not BenefitDisbursement.objects.filter(person=stranger).exists()
    # A revoked code of theirs says nothing about them either.
    people_services.card_revoke(actor=charlie, person=stranger)
    assert selectors.card_find(user=limited, code=code) is None


def test_a_household_card_asks_who_then_checks_in_the_one_chosen(charlie, kim, session
                                                               ) -> None:
    ana, ben = _person(session, "Ana"), _person(session, "Ben")
    home = f.AccountFactory()
    for person in (ana, ben):
        f.MembershipFactory(person=person, account=home)
    f.MembershipFactory(account=home, person__first_name="Cy")  # not on the list
    code = people_services.card_issue(actor=charlie, account=home)
    asked = services.check_in_card(actor=kim, session=session, code=code)
    assert asked.disbursement is None
    assert asked.choices == ({"person_id": ana.pk, "display_name": "Ana S."},
                             {"person_id": ben.pk, "display_name": "Ben O."})
    assert _status(session, ana) == "enrolled"
    chosen = services.check_in_card(actor=kim, session=session, code=code, person_id=ben.pk)
    assert chosen.disbursement is not None and chosen.disbursement.person_id == ben.pk
    with pytest.raises(ValidationError):  # not one of the household's members on the list
        services.check_in_card(actor=kim, session=session, code=code,
                               person_id=f.PersonFactory().pk)


def test_a_household_card_with_one_member_on_the_list_checks_them_in(charlie, kim, session
                                                                    ) -> None:
    ana = _person(session, "Ana")
    home = f.AccountFactory()
    f.MembershipFactory(person=ana, account=home)
    code = people_services.card_issue(actor=charlie, account=home)
    done = services.check_in_card(actor=kim, session=session, code=code)
    assert done.disbursement is not None and done.disbursement.person_id == ana.pk


def test_a_household_card_with_no_one_on_the_list_is_refused(charlie, kim, session) -> None:
    home = f.AccountFactory()
    f.MembershipFactory(account=home)
    code = people_services.card_issue(actor=charlie, account=home)
    with pytest.raises(Conflict) as refused:
        services.check_in_card(actor=kim, session=session, code=code)
    assert refused.value.extra["type"] == "card_no_member"


# --- the API ---------------------------------------------------------------------------------


def test_api_check_in_by_card(charlie, kim, session) -> None:
    ana = _person(session, "Ana")
    code = people_services.card_issue(actor=charlie, person=ana)
    api = ApiClient(kim)
    url = f"sessions/{session.pk}/check-in/card"
    answer = api.post(url, {"code": code})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["checked_in"] is True and body["choices"] == []
    assert body["disbursement"]["person_id"] == ana.pk
    assert body["disbursement"]["status"] == "completed"
    assert_problem(api.post(url, {"code": "ZZZZ-ZZZZ-ZZZZ"}), 422, "code")
    people_services.card_issue(actor=charlie, person=ana)
    revoked = assert_problem(api.post(url, {"code": code}), 409)
    assert revoked["type"].endswith("card_revoked")


def test_api_household_card_answers_choices(charlie, kim, session) -> None:
    home = f.AccountFactory()
    for name in ("Ana", "Ben"):
        f.MembershipFactory(person=_person(session, name), account=home)
    code = people_services.card_issue(actor=charlie, account=home)
    body = ApiClient(kim).post(f"sessions/{session.pk}/check-in/card", {"code": code}).json()
    assert body["checked_in"] is False and body["disbursement"] is None
    assert [c["display_name"] for c in body["choices"]] == ["Ana S.", "Ben O."]


# --- pages -----------------------------------------------------------------------------------


def test_card_page_issues_then_replaces_only_after_confirming(charlie) -> None:
    person = f.PersonFactory(first_name="Ana", last_name="Silva")
    client = Client()
    client.force_login(charlie)
    url = f"/people/{person.pk}/card/"
    assert b"Make a card" in client.get(url).content
    assert client.post(url, {"action": "issue"}).status_code == 302
    code = Person.objects.get(pk=person.pk).card_code
    page = client.get(url).content.decode()
    assert code in page and "<svg" in page and "Ana Silva" in page
    # A replace without the confirmation only asks.
    asked = client.post(url, {"action": "replace"})
    assert asked["Location"] == f"{url}?confirm=replace"
    assert Person.objects.get(pk=person.pk).card_code == code
    assert "Replace this card?" in client.get(asked["Location"]).content.decode()
    client.post(url, {"action": "replace", "confirm": "1"})
    assert Person.objects.get(pk=person.pk).card_code not in (None, code)
    client.post(url, {"action": "revoke", "confirm": "1"})
    assert Person.objects.get(pk=person.pk).card_code is None
    assert RevokedCardCode.objects.filter(person=person).count() == 2


def test_kiosk_scan_checks_in_and_a_revoked_card_is_refused(charlie, kim, session) -> None:
    ana = _person(session, "Ana")
    code = people_services.card_issue(actor=charlie, person=ana)
    client = Client()
    client.force_login(kim)
    url = f"/kiosk/{session.pk}/"
    done = client.post(url, {"action": "card", "code": code}, follow=True)
    assert "Welcome, Ana!" in done.content.decode()
    assert _status(session, ana) == "completed"
    people_services.card_issue(actor=charlie, person=ana)
    refused = client.post(url, {"action": "card", "code": code}, follow=True)
    assert "This card was replaced" in refused.content.decode()


def test_kiosk_household_scan_asks_who(charlie, kim, session) -> None:
    home = f.AccountFactory(name="Silva-Okafor household")
    for name in ("Ana", "Ben"):
        f.MembershipFactory(person=_person(session, name), account=home)
    code = people_services.card_issue(actor=charlie, account=home)
    client = Client()
    client.force_login(kim)
    page = client.post(f"/kiosk/{session.pk}/", {"action": "card", "code": code})
    text = page.content.decode()
    assert page.status_code == 200 and "Who is checking in?" in text
    assert "I&#x27;m Ana S." in text or "I'm Ana S." in text
    assert "Silva-Okafor" not in text  # a kiosk never shows the household's name


def test_the_qr_code_is_an_inline_svg_the_stylesheet_sizes() -> None:
    from programdesk.web.qr import qr_svg

    svg = qr_svg("7KQ3-XM2D-9RTB", title="Card <7KQ3>")
    assert svg.startswith("<svg viewBox=") and 'class="qr"' in svg
    assert "width=" not in svg.split(">", 1)[0]  # no fixed size: it would be clipped
    assert "<title>Card &lt;7KQ3&gt;</title>" in svg
