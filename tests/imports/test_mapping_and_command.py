"""Column mapping (guessed, remembered, given on the command line) and ``manage.py import``."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from programdesk.core.errors import ValidationError
from programdesk.imports import fields as f
from programdesk.imports.jobs import import_mapping_remember, import_mapping_remembered
from programdesk.imports.models import ImportMapping
from programdesk.people.models import Person
from tests import factories as fac

pytestmark = pytest.mark.django_db


def test_columns_are_matched_by_name_label_or_synonym() -> None:
    headers = ["First Name", "SURNAME", "D.O.B.", "Zip", "E-mail", "Notes", "first_name"]
    assert f.guess_mapping("people", headers) == [
        "first_name", "last_name", "birth_date", "postal_code", "email", "", ""]


def test_custom_fields_match_their_key_or_label() -> None:
    grade = fac.FieldDefinitionFactory(target="person", key="school_grade",
                                       label="Grade in school", field_type="number")
    mapping = f.guess_mapping("people", ["First", "Last", "grade in school"],
                              definitions=[grade])
    assert mapping == ["first_name", "last_name", "extra.school_grade"]


def test_a_remembered_mapping_wins(charlie) -> None:
    headers = ["Given", "Family", "Zip", "Code"]
    assert f.guess_mapping("people", headers)[3] == ""
    import_mapping_remember(actor=charlie, kind="people", headers=headers,
                            mapping=["first_name", "last_name", "", "postal_code"])
    remembered = import_mapping_remembered(user=charlie, kind="people")
    assert f.guess_mapping("people", headers, remembered=remembered) == [
        "first_name", "last_name", "", "postal_code"]
    # other users and the command line have their own
    assert import_mapping_remembered(user=None, kind="people") == {}
    import_mapping_remember(actor=charlie, kind="people", headers=headers,
                            mapping=["first_name", "last_name", "", "postal_code"])
    assert ImportMapping.objects.count() == 1


def test_mapping_errors() -> None:
    with pytest.raises(ValidationError) as raised:
        f.mapping_check("people", ["A", "B", "C"], ["first_name", "first_name", "nope"])
    fields = {e["field"] for e in raised.value.errors}
    assert fields == {"mapping.B", "mapping.C", "mapping.last_name", "mapping.first_name"}
    with pytest.raises(ValidationError, match="Benefit"):
        f.mapping_check("disbursements", ["Date"], ["disbursed_on"])


def test_map_options() -> None:
    headers = ["Zip", "Notes", "Given"]
    mapping = f.mapping_parse("people", headers, ["zip=postal_code", "3=first_name", "Notes="],
                              ["", "last_name", ""])
    assert mapping == ["postal_code", "", "first_name"]
    with pytest.raises(ValidationError, match="no column 'Nope'"):
        f.mapping_parse("people", headers, ["Nope=email"], mapping)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("import", *args, stdout=out)
    return out.getvalue()


def test_command_dry_run_then_import(tmp_path, capsys) -> None:
    path = tmp_path / "people.csv"
    path.write_text("Given,Surname,Code\nAna,Diaz,02139\nBen,Okafor,02140\n")
    out = run("people", str(path), "--dry-run", "--map", "Given=first_name",
              "--map", "Code=postal_code")
    assert "'Code' -> postal_code" in out and "Would import 2 rows" in out
    assert "2 new people" in out and "Dry run: nothing was written." in out
    assert not Person.objects.exists()
    # the mapping is remembered: no --map this time
    out = run("people", str(path))
    assert "Imported 2 rows of people" in out
    assert set(Person.objects.values_list("postal_code", flat=True)) == {"02139", "02140"}
    assert "2 existing people" in run("people", str(path))
    assert Person.objects.count() == 2


def test_command_lists_every_error_and_fails(tmp_path, capsys) -> None:
    path = tmp_path / "people.csv"
    path.write_text("First,Last,Birth date\nAna,,1990-01-01\nBen,Okafor,yesterday\n")
    out = io.StringIO()
    with pytest.raises(CommandError, match="2 errors in the file; nothing was imported"):
        call_command("import", "people", str(path), stdout=out)
    assert "row 2, Last: A last name is required." in out.getvalue()
    assert "row 3, Birth date: 'yesterday' is not a date" in out.getvalue()
    assert not Person.objects.exists()


def test_command_refuses_bad_input(tmp_path) -> None:
    with pytest.raises(CommandError, match="Cannot read"):
        run("people", str(tmp_path / "missing.csv"))
    path = tmp_path / "x.csv"
    path.write_text("Notes\nx\n")
    with pytest.raises(CommandError, match="A column must be mapped to 'First name'"):
        run("people", str(path))
    with pytest.raises(CommandError, match="No active user"):
        run("people", str(path), "--user", "nobody")


def test_command_as_a_user_follows_their_role(tmp_path, charlie) -> None:
    path = tmp_path / "d.csv"
    path.write_text("Benefit,Date\nMeals,2026-01-01\n")
    with pytest.raises(CommandError, match="may not import disbursements"):
        run("disbursements", str(path), "--user", "charlie")


def test_command_shows_progress(tmp_path, capsys) -> None:
    path = tmp_path / "many.csv"
    path.write_text("First,Last\n" + "".join(f"A{i},B{i}\n" for i in range(10_001)))
    run("people", str(path), "--dry-run")
    assert "checking 10,000 of 10,001" in capsys.readouterr().err
