"""Names must show something and must not reorder the text around them (core/text.py): the
rule lives in the services, so pages, the API and imports all obey it."""

from __future__ import annotations

import pytest

from programdesk.core.errors import ValidationError
from programdesk.core.text import name_problem
from programdesk.people import services
from programdesk.people.models import Account, Person
from programdesk.programs.models import Program
from programdesk.programs.services import program_create
from tests import factories as f
from tests.conftest import assert_problem
from tests.imports.util import check

pytestmark = pytest.mark.django_db

INVISIBLE = ["\u200b", "\u200b\u200c\u200d", "\u2060\ufeff", "\u3164", "\u2800", "\u0301",
             "\u00ad", "\u200e\u200f"]
BIDI = ["Ana\u202eziaD", "\u202aAna", "Ana\u202b", "Ana\u202c", "\u202dAna", "\u2066Ana\u2069",
        "Ana\u2067", "Ana\u2068x"]
FINE = ["Ana", "José", "Zoë", "O'Brien-Smith", "李", "علی\u200cرضا", "Ngũgĩ", "Søren", "Đặng"]


@pytest.mark.parametrize("name", INVISIBLE + BIDI + ["Ana\x01", "A\x1bna"])
def test_person_names_that_show_nothing_or_reorder_text_are_refused(name) -> None:
    for field in ("first_name", "last_name"):
        values = {"first_name": "Ana", "last_name": "Diaz", field: name}
        with pytest.raises(ValidationError) as info:
            services.person_create(actor=None, **values)
        message = info.value.message_for(field)
        assert message and message.startswith(f"The {field.replace('_', ' ')} "), message
    assert not Person.objects.exists()


@pytest.mark.parametrize("name", FINE)
def test_real_names_in_any_script_are_kept(name) -> None:
    person = services.person_create(actor=None, first_name=name, last_name=name)
    assert person.first_name == name and name_problem(name) is None


def test_person_update_refuses_an_invisible_name() -> None:
    person = f.PersonFactory(first_name="Ana")
    with pytest.raises(ValidationError) as info:
        services.person_update(actor=None, person=person, first_name="\u200b")
    assert info.value.message_for("first_name") == "The first name has no visible characters."
    person.refresh_from_db()
    assert person.first_name == "Ana"


def test_account_and_program_names_follow_the_same_rule() -> None:
    with pytest.raises(ValidationError) as info:
        services.account_create(actor=None, name="\u200b\u200b")
    assert info.value.message_for("name") == "The name has no visible characters."
    with pytest.raises(ValidationError) as info:
        program_create(actor=None, name="Pantry\u202e")
    assert "text-direction" in (info.value.message_for("name") or "")
    assert not Account.objects.exists() and not Program.objects.exists()


@pytest.mark.parametrize("name", ["\u200b", "Ana\u202e"])
def test_the_api_refuses_such_names_naming_the_field(api, name) -> None:
    response = api.post("people", {"first_name": name, "last_name": "Diaz"})
    assert_problem(response, 422, "first_name")
    person = f.PersonFactory(last_name="Diaz")
    assert_problem(api.patch(f"people/{person.pk}", {"last_name": name}), 422, "last_name")
    assert_problem(api.post("accounts", {"name": name}), 422, "name")
    person.refresh_from_db()
    assert person.last_name == "Diaz"


def test_an_import_row_with_such_a_name_is_an_error_with_its_row_and_column(bob) -> None:
    result = check("people", "First,Last\nAna,Diaz\n\u200b,Okafor\nBen,Ok\u202eafor\n", bob)
    assert [(e.row, e.column) for e in result.errors] == [(3, "First"), (4, "Last")]
    assert "no visible characters" in result.errors[0].message
