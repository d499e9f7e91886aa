"""The attendance sheet and its walk-in panel without a browser: marks are never dropped, the
buttons say what people say, and a walk-in found or new to us goes through the services with
the page's role and program checks. htmx requests carry ``HX-Request: true``."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from programdesk.core.models import User
from programdesk.participation import services
from programdesk.participation.models import BenefitDisbursement
from programdesk.people.models import Person
from programdesk.scheduling import services as scheduling_services
from programdesk.scheduling.models import BenefitSession
from tests import factories as f

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def session(charlie: User) -> BenefitSession:
    schedule = f.schedule_with_sessions(sessions=1, name="Thursday class")
    people = [f.PersonFactory(first_name=name, last_name="Okafor") for name in ("Ana", "Ben")]
    services.schedule_add_participants(actor=charlie, schedule=schedule,
                                       person_ids=[p.pk for p in people])
    return schedule.sessions.get()


def _rows(session) -> dict[str, BenefitDisbursement]:
    return {d.person.first_name: d for d in BenefitDisbursement.objects.filter(session=session)
            .select_related("person", "status")}


def _checked(html: str, disbursement_id: int) -> str:
    """The status code checked on a sheet line."""
    found = re.search(rf'name="status_{disbursement_id}" value="(\w+)"[^>]*checked', html)
    assert found, f"no status checked for {disbursement_id}"
    return found.group(1)


def test_the_sheet_comes_first_and_says_what_people_say(client, bob, session) -> None:
    client.force_login(bob)
    html = client.get(f"/sessions/{session.pk}/").content.decode()
    for word in ["Not recorded", "Present", "Absent", "Excused", "Cancelled"]:
        assert f"<span>{word}</span>" in html
    assert 'value="enrolled"' in html and 'value="completed"' in html  # the codes stay
    assert "Enrolled</span>" not in html
    sheet, edit, cancel = (html.index(text) for text in (
        'id="sheet-title"', 'id="session-edit"', "Cancel this session"))
    assert sheet < edit < cancel
    assert '2</span> not recorded' in html


def test_a_refused_save_keeps_every_mark(client, charlie, session) -> None:
    rows = _rows(session)
    client.force_login(charlie)
    response = client.post(f"/sessions/{session.pk}/", {
        f"status_{rows['Ana'].pk}": "absent", f"quantity_{rows['Ana'].pk}": "1",
        f"status_{rows['Ben'].pk}": "excused", f"quantity_{rows['Ben'].pk}": "lots",
        "action": "save"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Quantity &#x27;lots&#x27; must be a number" in html
    assert "Attendance not saved yet: your marks are kept below." in html
    assert _checked(html, rows["Ana"].pk) == "absent"
    assert _checked(html, rows["Ben"].pk) == "excused"
    assert f'name="quantity_{rows["Ben"].pk}" value="lots"' in html
    assert "2 changes not saved yet" in html
    assert {d.status.code for d in _rows(session).values()} == {"enrolled"}


def test_a_retired_status_is_refused_by_name_and_the_marks_stay(client, charlie, session
                                                                 ) -> None:
    rows = _rows(session)
    client.force_login(charlie)
    response = client.post(f"/sessions/{session.pk}/", {
        f"status_{rows['Ana'].pk}": "completed", f"status_{rows['Ben'].pk}": "vanished"})
    html = response.content.decode()
    assert response.status_code == 200 and "Unknown status &#x27;vanished&#x27;" in html
    assert "records.1" not in html
    assert _checked(html, rows["Ana"].pk) == "completed"
    assert {d.status.code for d in _rows(session).values()} == {"enrolled"}


def test_mark_all_present_without_javascript_keeps_the_exceptions(client, charlie, session
                                                                   ) -> None:
    rows = _rows(session)
    client.force_login(charlie)
    response = client.post(f"/sessions/{session.pk}/", {
        f"status_{rows['Ana'].pk}": "enrolled", f"status_{rows['Ben'].pk}": "absent",
        "action": "mark_all"})
    html = response.content.decode()
    assert _checked(html, rows["Ana"].pk) == "completed"
    assert _checked(html, rows["Ben"].pk) == "absent"
    assert {d.status.code for d in _rows(session).values()} == {"enrolled"}  # not saved


def test_walk_in_search_flags_who_is_already_on_the_sheet(client, charlie, session) -> None:
    f.PersonFactory(first_name="Cleo", last_name="Okafor")
    client.force_login(charlie)
    response = client.get(f"/sessions/{session.pk}/walk-in/", {"q": "okafor"}, **HTMX)
    html = response.content.decode()
    assert "Add Cleo Okafor" in html and "Add Ana Okafor" not in html
    assert html.count("on the sheet</span>") == 2
    assert 'id="walk-in-last_name"' in html and 'value="okafor"' in html  # prefilled
    nobody = client.get(f"/sessions/{session.pk}/walk-in/", {"q": "Haddad, Samir"}, **HTMX)
    assert "Nobody we know matches" in nobody.content.decode()
    assert 'value="Samir"' in nobody.content.decode()
    # Without htmx, the search is the sheet's own page.
    plain = client.get(f"/sessions/{session.pk}/walk-in/", {"q": "okafor"})
    assert plain.status_code == 302 and plain["Location"].endswith("?q=okafor#walk-in")
    assert "Add Cleo Okafor" in client.get(plain["Location"]).content.decode()


def test_a_walk_in_new_to_us_comes_back_as_a_sheet_row_marked_present(client, charlie,
                                                                       session) -> None:
    client.force_login(charlie)
    response = client.post(f"/sessions/{session.pk}/walk-in/", {
        "action": "new", "first_name": "Samir", "last_name": "Haddad",
        "postal_code": "02121"}, **HTMX)
    html = response.content.decode()
    assert "Samir Haddad is on the sheet, marked present." in html
    samir = BenefitDisbursement.objects.get(session=session, person__first_name="Samir")
    assert samir.recipient_type == "walk_in" and samir.status.code == "enrolled"
    assert samir.person.postal_code == "02121"
    # Its row, appended to the sheet out of band, shows Present, not yet saved.
    assert 'hx-swap-oob="beforeend:#sheet-rows"' in html
    assert _checked(html, samir.pk) == "completed"
    assert 'data-saved="enrolled"' in html
    assert samir.person.enrollments.get().is_active


def test_a_walk_in_like_someone_we_know_asks_first(client, charlie, session) -> None:
    known = f.PersonFactory(first_name="Samir", last_name="Hadad")
    client.force_login(charlie)
    form = {"first_name": "Samir", "last_name": "Haddad", "postal_code": ""}
    html = client.post(f"/sessions/{session.pk}/walk-in/", {"action": "new", **form},
                       **HTMX).content.decode()
    assert "Is this someone we know?" in html and "Add Samir Hadad" in html
    assert Person.objects.filter(first_name="Samir").count() == 1
    assert 'value="Haddad"' in html  # what was typed stays
    # "That's them": the existing person is added.
    html = client.post(f"/sessions/{session.pk}/walk-in/", {"person_id": known.pk, **form},
                       **HTMX).content.decode()
    assert "Samir Hadad is on the sheet" in html
    assert BenefitDisbursement.objects.filter(session=session, person=known).count() == 1
    # Adding them again adds nothing and says so.
    html = client.post(f"/sessions/{session.pk}/walk-in/", {"person_id": known.pk},
                       **HTMX).content.decode()
    assert "Samir Hadad is already on this sheet." in html and "sheet-rows" not in html
    # "None of these": someone new after all.
    client.post(f"/sessions/{session.pk}/walk-in/", {"action": "new_anyway", **form}, **HTMX)
    assert Person.objects.filter(first_name="Samir").count() == 2


@pytest.mark.parametrize("form,field_error", [
    ({"first_name": "", "last_name": "Haddad"}, "This field is required."),
    ({"first_name": "x" * 10_000, "last_name": "Haddad"}, "at most 100 characters"),
    ({"first_name": "Samir", "last_name": "Haddad", "postal_code": "9" * 25},
     "at most 20 characters"),
])
def test_bad_walk_in_input_is_a_field_message(client, charlie, session, form, field_error
                                              ) -> None:
    client.force_login(charlie)
    response = client.post(f"/sessions/{session.pk}/walk-in/", {"action": "new", **form}, **HTMX)
    assert response.status_code == 200 and field_error in response.content.decode()
    assert not Person.objects.filter(last_name="Haddad").exists()


def test_a_blocked_walk_in_is_not_created_and_a_manager_may_override(client, charlie, bob,
                                                                      session) -> None:
    f.EligibilityRuleFactory(program=session.benefit.program, mode="block")
    form = {"action": "new_anyway", "first_name": "Samir", "last_name": "Haddad"}
    client.force_login(charlie)
    html = client.post(f"/sessions/{session.pk}/walk-in/", form, **HTMX).content.decode()
    assert "No birth date recorded" in html and "manager override" not in html
    assert not Person.objects.filter(last_name="Haddad").exists()  # one transaction
    client.force_login(bob)
    html = client.post(f"/sessions/{session.pk}/walk-in/", form, **HTMX).content.decode()
    assert "Add anyway (manager override)" in html
    html = client.post(f"/sessions/{session.pk}/walk-in/", {
        **form, "override_eligibility": "1", "override_reason": "Walked in with a referral"},
        **HTMX).content.decode()
    assert "Samir Haddad is on the sheet" in html
    assert BenefitDisbursement.objects.filter(session=session, person__last_name="Haddad"
                                              ).exists()


def test_a_cancelled_session_takes_no_walk_in_and_no_marks(client, bob, session) -> None:
    scheduling_services.session_update(actor=bob, session=session, status="cancelled")
    client.force_login(bob)
    html = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "This session is cancelled" in html and "Save attendance" not in html
    assert "Add a walk-in" not in html
    html = client.post(f"/sessions/{session.pk}/walk-in/", {
        "action": "new_anyway", "first_name": "Samir", "last_name": "Haddad"},
        **HTMX).content.decode()
    assert "This session is cancelled" in html
    assert not Person.objects.filter(last_name="Haddad").exists()


def test_without_javascript_an_add_goes_back_to_the_sheet(client, charlie, session) -> None:
    client.force_login(charlie)
    response = client.post(f"/sessions/{session.pk}/walk-in/", {
        "action": "new_anyway", "first_name": "Samir", "last_name": "Haddad"}, follow=True)
    assert response.redirect_chain == [(f"/sessions/{session.pk}/", 302)]
    assert "Samir Haddad is on this session&#x27;s sheet." in response.content.decode()
    refused = client.post(f"/sessions/{session.pk}/walk-in/", {"action": "new"})
    assert refused.status_code == 200 and "This field is required." in refused.content.decode()


def test_walk_ins_need_staff_and_the_session_program(client, dana, charlie, session) -> None:
    client.force_login(dana)
    assert client.get(f"/sessions/{session.pk}/walk-in/", {"q": "ok"}, **HTMX).status_code == 403
    assert client.post(f"/sessions/{session.pk}/walk-in/", {"action": "new_anyway",
                       "first_name": "A", "last_name": "B"}).status_code == 403
    other = f.ProgramFactory()
    limited = f.UserFactory(username="lee", role="staff")
    limited.programs.set([other])
    client.force_login(limited)
    assert client.post(f"/sessions/{session.pk}/walk-in/", {"action": "new_anyway",
                       "first_name": "A", "last_name": "B"}, **HTMX).status_code == 404
    assert not Person.objects.filter(first_name="A").exists()


def test_the_sheet_page_reads_in_a_constant_number_of_queries(client, charlie,
                                                              django_assert_max_num_queries
                                                              ) -> None:
    """The sheet is read in one query whatever its size: 10 people or 60, the same count."""
    schedule = f.schedule_with_sessions(sessions=1)
    session = schedule.sessions.get()
    client.force_login(charlie)
    counts = []
    for size in (10, 50):
        services.schedule_add_participants(
            actor=charlie, schedule=schedule,
            person_ids=[p.pk for p in f.PersonFactory.create_batch(size)])
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/sessions/{session.pk}/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    with django_assert_max_num_queries(counts[0] + 1):  # a walk-in search: one more
        client.get(f"/sessions/{session.pk}/", {"q": "ok"})
