from __future__ import annotations

import os
import re
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from programdesk.participation import services
from programdesk.participation.models import BenefitDisbursement
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)


def test_add_three_people_take_attendance_and_see_the_rate(page, login, charlie) -> None:
    schedule = f.schedule_with_sessions(sessions=3, name="Thursday class")
    for first in ["Ana", "Ben", "Cleo"]:
        f.PersonFactory(first_name=first, last_name="Mbeki")
    login(charlie, f"/schedules/{schedule.pk}/participants/")
    page.get_by_label("Find people or accounts").fill("mbeki")
    for first in ["Ana", "Ben", "Cleo"]:
        page.get_by_label(f"Mbeki, {first}").check()
    page.get_by_role("button", name="Add selected to the schedule").click()
    expect(page.get_by_text("3 new enrollments, 3 new assignments, 9 new disbursements")) \
        .to_be_visible()
    expect(page.get_by_role("heading", name="On the roster (3)")).to_be_visible()

    session = schedule.sessions.get(local_date=timezone.localdate())
    page.goto(f"/sessions/{session.pk}/")
    page.get_by_role("button", name="Mark all present").click()
    page.get_by_role("group", name="Status for Mbeki, Ben").get_by_text("Absent").click()
    page.get_by_role("button", name="Save and complete session").click()
    expect(page.get_by_text("Session completed.")).to_be_visible()
    expect(page.locator("#attendance-rate")).to_have_text("67%")
    assert BenefitDisbursement.objects.filter(session=session, status__code="completed") \
        .count() == 2


# The kiosk's words, in each language it speaks: the same flow passes in both (issue 19, 5).
KIOSK = {
    "en": {"switch": None, "lang": "en", "type": "Type your name", "me": "I'm Rosa D.",
           "checked_in": "Welcome, Rosa! You are checked in.",
           "first_time": "First time here? Register", "first": "First name",
           "last": "Last name", "postal": "Postal code", "register": "Register and check in",
           "registered": "Welcome, Samir! You are registered and checked in."},
    "es": {"switch": "Español", "lang": "es",
           "type": "Escriba su nombre", "me": "Soy Rosa D.",
           "checked_in": "¡Hola, Rosa! Registramos su llegada.",
           "first_time": "¿Primera vez aquí? Inscríbase", "first": "Nombre",
           "last": "Apellido", "postal": "Código postal",
           "register": "Inscribirme y registrar mi llegada",
           "registered": "¡Hola, Samir! Su inscripción está lista y registramos su llegada."},
}
SHOTS = os.environ.get("PROGRAMDESK_SHOTS", "")  # a directory to keep screenshots in


def _no_sideways_scroll(page: Any, name: str) -> None:
    """At a phone's, a tablet's and a desktop's width (longer Spanish words included)."""
    for width, height in ((390, 844), (768, 1024), (1366, 900)):
        page.set_viewport_size({"width": width, "height": height})
        if SHOTS:
            os.makedirs(SHOTS, exist_ok=True)
            page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, width
    page.set_viewport_size({"width": 768, "height": 1024})


@pytest.mark.parametrize("language", ["en", "es"])
def test_kiosk_check_in_and_register_a_walk_in(page, login, kim, charlie, language) -> None:
    words = KIOSK[language]
    schedule = f.schedule_with_sessions(sessions=1, name="Drop-in tutoring")
    rosa = f.PersonFactory(first_name="Rosa", last_name="Delgado")
    services.schedule_add_participants(actor=charlie, schedule=schedule, person_ids=[rosa.pk])
    login(kim)
    expect(page).to_have_url(re.compile("/kiosk/$"))
    if words["switch"]:
        page.get_by_role("button", name=words["switch"]).click()  # one tap
    expect(page.locator("html")).to_have_attribute("lang", words["lang"])
    page.get_by_role("link", name="Drop-in tutoring").click()
    expect(page.locator("html")).to_have_attribute("lang", words["lang"])  # it stays chosen
    _no_sideways_scroll(page, f"kiosk-{language}")
    page.get_by_label(words["type"]).fill("rosa d")
    page.get_by_role("button", name=words["me"]).click()
    expect(page.get_by_text(words["checked_in"])).to_be_visible()
    expect(page.get_by_text("Delgado")).to_have_count(0)

    page.get_by_text(words["first_time"]).click()
    page.get_by_label(re.compile(f"^{words['first']}")).fill("Samir")
    page.get_by_label(re.compile(f"^{words['last']}")).fill("Haddad")
    page.get_by_label(re.compile(f"^{words['postal']}")).fill("02121")
    _no_sideways_scroll(page, f"kiosk-register-{language}")
    page.get_by_role("button", name=words["register"]).click()
    expect(page.get_by_text(words["registered"])).to_be_visible()
    rows = dict(BenefitDisbursement.objects.values_list("person__first_name", "recipient_type"))
    assert rows == {"Rosa": "enrollment", "Samir": "walk_in"}


def test_the_attendance_sheet_and_walk_ins_in_spanish(page, login, charlie) -> None:
    """The sheet's own script speaks the page's language (its words come from the page), and
    the longer Spanish words scroll nothing sideways."""
    schedule = f.schedule_with_sessions(sessions=1, name="Martes de despensa")
    people = [f.PersonFactory(first_name=first, last_name="Mbeki") for first in ["Ana", "Ben"]]
    services.schedule_add_participants(actor=charlie, schedule=schedule,
                                       person_ids=[p.pk for p in people])
    session = schedule.sessions.get()
    login(charlie, "/kiosk/")
    page.get_by_role("button", name="Español").click()
    page.goto(f"/sessions/{session.pk}/")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    page.get_by_role("group", name="Estado de Mbeki, Ben").get_by_text("Ausente").click()
    expect(page.locator("[data-sheet-unsaved]")).to_have_text("1 cambio sin guardar")
    page.get_by_role("button", name="Marcar a todos presentes").click()
    expect(page.locator("[data-sheet-unsaved]")).to_have_text("2 cambios sin guardar")
    page.get_by_label("Buscar a una persona").fill("Haddad")
    expect(page.get_by_text("No conocemos a nadie que coincida")).to_be_visible()
    _no_sideways_scroll(page, "sheet-es")
    for width in (390, 768, 1366):
        page.set_viewport_size({"width": width, "height": 1024})
        clipped = page.evaluate("""[...document.querySelectorAll(
            '.sheet-choice span, fieldset.sheet-status')]
            .filter(s => s.scrollWidth > s.clientWidth + 1).map(s => s.textContent.trim())""")
        assert clipped == [], (width, clipped)  # every status word is whole
    page.set_viewport_size({"width": 768, "height": 1024})
    page.get_by_role("button", name="Guardar y completar la sesión").click()
    expect(page.get_by_text("Sesión completada.")).to_be_visible()
    expect(page.locator("#attendance-rate")).to_have_text("50%")
