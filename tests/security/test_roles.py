"""What the matrix's status codes cannot show: a viewer reads people without their eligibility
details (income, household size, documents); a kiosk sees names only as first name and initial."""

from __future__ import annotations

from typing import Any, cast

import pytest
from django.test import Client

from tests.security.world import build_world

pytestmark = pytest.mark.django_db

INCOME_FIELDS = {"annual_income", "household_size"}


def test_viewer_sees_no_eligibility_details(api_as: Any) -> None:
    world = build_world()
    person = world.own.person
    viewer, staff = api_as(world.users["viewer"]), api_as(world.users["staff"])
    assert set(staff.get(f"people/{person.pk}").json()) >= INCOME_FIELDS
    assert not INCOME_FIELDS & set(viewer.get(f"people/{person.pk}").json())
    for item in viewer.get("people").json()["items"]:
        assert not INCOME_FIELDS & set(item)
    assert viewer.get(f"people/{person.pk}/documents").status_code == 403
    assert viewer.get(f"people/{person.pk}/eligibility",
                      program_id=world.own.program.pk).status_code == 403

    page = Client()
    page.force_login(world.users["viewer"])
    html = page.get(f"/people/{person.pk}/").content.decode()
    assert "household income" not in html.lower() and "12,000" not in html
    for url, income, size in [("/exports/people.csv", b"Annual income", b"Household size"),
                              ("/exports/people.csv?headers=machine", b"annual_income",
                               b"household_size")]:
        page.force_login(world.users["viewer"])
        header = b"".join(cast(Any, page.get(url)).streaming_content).splitlines()[0]
        assert income not in header and size not in header
        page.force_login(world.users["staff"])
        header = b"".join(cast(Any, page.get(url)).streaming_content).splitlines()[0]
        assert income in header and size in header


def test_kiosk_search_shows_first_name_and_initial_only(api_as: Any) -> None:
    world = build_world()
    kiosk = api_as(world.users["kiosk"])
    response = kiosk.get(f"sessions/{world.own.session.pk}/check-in/search", q="Pat")
    items = response.json()["items"]
    assert {i["display_name"] for i in items} == {"PatOwn L."}
    assert set(items[0]) <= {"person_id", "display_name", "on_roster"}
