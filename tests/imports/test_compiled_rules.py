"""The person rules compiled once per import (``PersonRules``) give exactly what the rules gave
one person at a time before they were compiled — the same normalized values, the same errors
in the same order — on varied rows, bad ones and custom fields included; the import lists the
same errors as the single-person service; the keys computed once per row are the keys the
matching and the columns always had; and PostgreSQL's COPY writes what INSERT writes.

``_reference_clean`` is the pre-compilation validation, kept here verbatim as the oracle (the
per-person path: ``_clean_person`` calling ``extra_validate`` for every row)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction

from programdesk.core import custom_fields
from programdesk.core.bulk import copy_rows, db_datetime, db_json, insert_rows
from programdesk.core.errors import ValidationError
from programdesk.core.models import FieldDefinition, FieldTarget
from programdesk.core.text import name_problem
from programdesk.people import matching
from programdesk.people.models import Person
from programdesk.people.services import (
    EARLIEST_BIRTH_DATE,
    MAX_HOUSEHOLD_SIZE,
    MAX_INCOME,
    PERSON_INSERT_COLUMNS,
    PersonRules,
    person_create,
    person_values_clean,
)
from tests import factories as f
from tests.imports.util import check, commit

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 2)

# --- the oracle: the rules as they were, one person at a time --------------------------------

_PLAIN_EMAIL = re.compile(r"[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@"
                          r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
                          re.IGNORECASE)
_LIMITS = {"first_name": 100, "last_name": 100, "email": 254, "phone": 40, "postal_code": 20,
           "card_code": 32, "first_name_key": 20, "last_name_key": 20, "phone_key": 20}


def _email_error(email: str) -> str | None:
    if not email:
        return None
    if len(email) <= 320 and _PLAIN_EMAIL.fullmatch(email):
        return None
    try:
        validate_email(email)
    except DjangoValidationError:
        return "Enter a valid email address."
    return None


def _reference_extra(values: Any, definitions: list[FieldDefinition], *, partial: bool
                     ) -> dict[str, Any]:
    """extra_validate before ExtraRules (field_prefix "extra", any_scope)."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ValidationError.for_fields({"extra": "Must be an object of field values."})
    by_key = {d.key: d for d in definitions}
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for key in values:
        if key not in by_key:
            known = ", ".join(sorted(by_key)) or "none are defined"
            errors[f"extra.{key}"] = f"Unknown field '{key}' (known: {known})."
    for key, definition in by_key.items():
        try:
            keep, value = custom_fields._clean_one(definition, values, partial=partial,
                                                   any_scope=True)
        except ValueError as exc:
            errors[f"extra.{key}"] = str(exc)
            continue
        if keep:
            cleaned[key] = value
    if errors:
        raise ValidationError.for_fields(errors)
    return cleaned


def _reference_rules(values: dict[str, Any], errors: dict[str, str],  # noqa: C901 (verbatim)
                     today: dt.date) -> None:
    for key in ("first_name", "last_name"):
        if key in values:
            values[key] = " ".join((values[key] or "").split())
            if not values[key]:
                errors[key] = f"A {key.replace('_', ' ')} is required."
            elif problem := name_problem(values[key]):
                errors[key] = f"The {key.replace('_', ' ')} {problem}"
    for key in ("email", "phone", "postal_code"):
        if key in values:
            values[key] = (values[key] or "").strip()
    if "email" in values:
        values["email"] = (values["email"] or "").strip().lower()
        if message := _email_error(values["email"]):
            errors["email"] = message
    if "postal_code" in values:
        values["postal_code"] = values["postal_code"].upper()
    if "card_code" in values:
        values["card_code"] = (values["card_code"] or "").strip() or None
    if values.get("birth_date") is not None:
        birth_date = values["birth_date"]
        if not isinstance(birth_date, dt.date):
            errors["birth_date"] = "Must be a date (YYYY-MM-DD)."
        elif birth_date > today:
            errors["birth_date"] = "The birth date is in the future."
        elif birth_date < EARLIEST_BIRTH_DATE:
            errors["birth_date"] = f"The birth date is before {EARLIEST_BIRTH_DATE}."
    if values.get("household_size") is not None:
        size = values["household_size"]
        if isinstance(size, bool) or not isinstance(size, int) or not (
                1 <= size <= MAX_HOUSEHOLD_SIZE):
            errors["household_size"] = f"A whole number from 1 to {MAX_HOUSEHOLD_SIZE}."
    if values.get("annual_income") is not None:
        try:
            income: Decimal | None = Decimal(str(values["annual_income"]))
        except InvalidOperation:
            income = None
        if income is None or not income.is_finite() or not 0 <= income <= MAX_INCOME:
            errors["annual_income"] = "An amount from 0 to 9,999,999,999.99."
        elif income != income.quantize(Decimal("0.01")):
            errors["annual_income"] = "At most 2 decimals."
        else:
            values["annual_income"] = income


def _reference_clean(values: dict[str, Any], definitions: list[FieldDefinition], *,
                     partial: bool = False) -> tuple[dict[str, Any], dict[str, str]]:
    """(values normalized, {field: message}) exactly as _clean_person did before."""
    values = dict(values)
    errors: dict[str, str] = {}
    _reference_rules(values, errors, TODAY)
    if "extra" in values or not partial:
        try:
            values["extra"] = _reference_extra(values.get("extra", {}), definitions,
                                               partial=partial)
        except ValidationError as exc:
            errors.update({e["field"]: e["message"] for e in exc.errors})
    length = {name: f"At most {_LIMITS[name]} characters." for name, value in values.items()
              if isinstance(value, str) and name in _LIMITS and len(value) > _LIMITS[name]}
    return values, {**length, **errors}


# --- varied rows -----------------------------------------------------------------------------

BASE = {"first_name": "Ana", "last_name": "Diaz", "email": "", "phone": "", "postal_code": ""}
ROWS: list[dict[str, Any]] = [
    {},
    {"first_name": "  José   María ", "last_name": "O'Brien-Núñez", "email": " Ana@Example.ORG ",
     "phone": " +1 (617) 555-0100 ", "postal_code": " sw1a 1aa ", "card_code": "  C-1 ",
     "birth_date": dt.date(1990, 4, 2), "household_size": 3, "annual_income": "12000.50"},
    {"first_name": "", "last_name": "   "},
    {"first_name": "\u200b\u200b", "last_name": "Ab\u202eC"},
    {"first_name": "Ann\x07", "last_name": "\u3164"},
    {"first_name": "x" * 101, "last_name": "y" * 100, "email": "a" * 250 + "@b.org"},
    {"email": "not an email"}, {"email": "dörte@exämple.de"}, {"email": "a@b"},
    {"phone": "٦١٧٥٥٥٠١٠٠"}, {"phone": "617 ext. 12"}, {"phone": "1" * 41},
    {"postal_code": "x" * 21}, {"card_code": "   "}, {"card_code": "c" * 33},
    {"birth_date": dt.date(2030, 1, 1)}, {"birth_date": dt.date(1899, 12, 31)},
    {"birth_date": "1990-01-01"}, {"birth_date": 19900101},
    {"household_size": True}, {"household_size": 0}, {"household_size": 51},
    {"household_size": "3"}, {"household_size": 50},
    {"annual_income": "abc"}, {"annual_income": "1.005"}, {"annual_income": -1},
    {"annual_income": Decimal("NaN")}, {"annual_income": "9999999999.99"},
    {"annual_income": "1e3"},
    {"extra": {"intake": "walk-in", "score": "12.5", "size": "M", "member": "yes",
               "since": "2020-02-03", "school": "Lincoln"}},
    {"extra": {"intake": "   "}},
    {"extra": {"intake": "x", "nope": 1, "score": "many", "size": "XXL", "member": "maybe",
               "since": "03/02/2020"}},
    {"extra": {"intake": "x" * 11}},
    {"extra": ["not", "a", "mapping"]},
    {"extra": None},
    {"extra": {"intake": "x", "score": 1e20}},
    {"first_name": "", "email": "bad", "household_size": 0, "annual_income": "x",
     "birth_date": dt.date(2999, 1, 1), "extra": {"nope": ""}, "card_code": "c" * 40},
]


@pytest.fixture
def definitions() -> list[FieldDefinition]:
    program = f.ProgramFactory()
    make = custom_fields.field_definition_create
    make(actor=None, target=FieldTarget.PERSON, key="intake", label="Intake", field_type="text",
         required=True, max_length=10)
    make(actor=None, target=FieldTarget.PERSON, key="score", label="Score",
         field_type="number")
    make(actor=None, target=FieldTarget.PERSON, key="size", label="Size", field_type="choice",
         choices=["S", "M", "L"])
    make(actor=None, target=FieldTarget.PERSON, key="member", label="Member",
         field_type="boolean")
    make(actor=None, target=FieldTarget.PERSON, key="since", label="Since", field_type="date")
    # required in its program only: optional on the person (any_scope)
    make(actor=None, target=FieldTarget.PERSON, key="school", label="School",
         field_type="text", required=True, program_id=program.pk)
    return custom_fields.field_definitions_for(target=FieldTarget.PERSON, any_scope=True)


def _rows() -> list[dict[str, Any]]:
    return [{**BASE, **row} for row in ROWS]


def _errors_of(call: Any) -> dict[str, str]:
    try:
        call()
    except ValidationError as exc:
        return {e["field"]: e["message"] for e in exc.errors}
    return {}


@pytest.mark.parametrize("partial", [False, True])
@pytest.mark.parametrize("with_definitions", [True, False])
def test_the_compiled_rules_give_the_reference_values_and_errors(
        definitions: list[FieldDefinition], partial: bool, with_definitions: bool) -> None:
    chosen = definitions if with_definitions else []
    rules = PersonRules.compile(definitions=chosen, today=TODAY)  # once for every row
    bad = 0
    for row in _rows() + ROWS:
        expected_values, expected_errors = _reference_clean(row, chosen, partial=partial)
        values = dict(row)
        errors = rules.check(values, partial=partial)
        assert list(errors.items()) == list(expected_errors.items()), row  # order too
        if not errors:
            assert values == expected_values, row
            assert [type(v) for v in values.values()] == [
                type(v) for v in expected_values.values()]
        bad += bool(errors)
    assert bad > 30  # the rows exercise the error paths


def test_the_single_person_services_give_the_same_errors(
        definitions: list[FieldDefinition]) -> None:
    rules = PersonRules.compile(definitions=definitions, today=TODAY)
    for row in _rows():
        expected = rules.check(dict(row))
        assert _errors_of(lambda row=row: person_values_clean(
            row, definitions=definitions, today=TODAY)) == expected, row
        # person_create fetches the definitions itself and reads today's date
        if not expected and (row.get("birth_date") or TODAY) <= dt.date.today():
            person = person_create(actor=None, **row)
            values = dict(row)
            rules.check(values)
            assert {k: getattr(person, k) for k in values} == values


def test_person_create_refuses_what_the_rules_refuse(definitions: list[FieldDefinition]
                                                       ) -> None:
    for row in _rows():
        expected = PersonRules.compile(definitions=definitions).check(dict(row))
        if expected:
            with transaction.atomic():
                assert _errors_of(lambda row=row: person_create(actor=None, **row)) == expected
    assert not Person.objects.filter(first_name="").exists()


CSV_HEAD = "First Name,Last Name,Birth Date,Email,Phone,Zip,Household size,Income,Card code," \
           "intake,score,size,member,since\n"
CSV_ROWS = [
    ["Ana", "Diaz", "1990-04-02", "Ana@Example.org", "617-555-0100", "02139", "3", "1200",
     "", "walk-in", "2", "M", "yes", "2020-01-02"],
    ["", "Okafor", "2999-01-01", "not an email", "", "", "0", "1.005", "", "", "x", "XL",
     "maybe", "soon"],
    ["Chen", "Wei", "not a date", "", "", "", "two", "", "", "x" * 11, "", "", "", ""],
    ["Dee\u202e", "Lee", "", "", "", "", "", "", "c" * 33, "ok", "", "", "", ""],
    ["Eve", "Ng", "", "eve@example.org", "", "", "", "", "", "ok", "", "", "", ""],
]


def test_the_import_lists_the_errors_the_single_person_path_gives(
        definitions: list[FieldDefinition]) -> None:
    text = CSV_HEAD + "".join(",".join(cells) + "\n" for cells in CSV_ROWS)
    result = check("people", text)
    found = {(e.row, e.message) for e in result.errors}
    # what the service says of each row, where the cells can be read
    read = {"1990-04-02": dt.date(1990, 4, 2), "2999-01-01": dt.date(2999, 1, 1)}
    for number, cells in enumerate(CSV_ROWS, 2):
        row: dict[str, Any] = {"first_name": cells[0], "last_name": cells[1],
                               "email": cells[3], "phone": cells[4], "postal_code": cells[5],
                               "extra": {k: v for k, v in zip(
                                   ["intake", "score", "size", "member", "since"], cells[9:],
                                   strict=True) if v}}
        if cells[2] in read:
            row["birth_date"] = read[cells[2]]
        if cells[6].isdigit():
            row["household_size"] = int(cells[6])
        if cells[7]:
            row["annual_income"] = Decimal(cells[7])
        if cells[8]:
            row["card_code"] = cells[8]
        expected = _errors_of(lambda row=row: person_values_clean(
            row, definitions=definitions))
        assert {(number, message) for message in expected.values()} <= found, number
        assert bool(expected) or number not in {e.row for e in result.errors}
    assert {e.row for e in result.errors} == {3, 4, 5}
    assert result.summary["people_new"] == 2


def test_keys_computed_once_are_the_matching_keys_and_the_columns() -> None:
    names = ["Ana", "José-María", "O'Brien", "Łukasz", "Zoë", "", "  Smith ", "李小龍", "A1b2",
             "Straße", "ǅemal", "x" * 30]
    phones = ["", "+1 (617) 555-0100", "617.555.0100", "٦١٧٥٥٥٠١٠٠", "617 ext 12", "12",
              "+44 20 7946 0958", "(617)555/0100", "617\u2011555\u20110100"]
    for name in names:
        # fold: the regular expression / NFKD rules it always had
        if name.isascii():
            assert matching.fold(name) == re.sub(r"[^a-z0-9]+", "", name.lower())
        else:
            plain = "".join(ch for ch in unicodedata.normalize("NFKD", name)
                            if not unicodedata.combining(ch))
            assert matching.fold(name) == "".join(ch for ch in plain.casefold()
                                                  if ch.isalnum())
    for phone in phones:
        assert matching.phone_key(phone) == re.sub(r"\D", "", phone)[-10:]
    keys = matching.person_keys("José", "Smyth", " A@B.org ", "617-555-0100")
    assert keys == ("jose", "smyth", "j200", "s530", "a@b.org", "6175550100")
    assert hash(keys) == hash(matching.person_keys("José", "Smyth", "a@b.org", "6175550100"))

    result = commit("people", "First Name,Last Name,Phone\nJosé,Smyth,617-555-0100\n")
    assert result.committed
    person = Person.objects.get()
    assert (person.first_name_key, person.last_name_key, person.phone_key) == (
        matching.sound_key("José"), matching.sound_key("Smyth"), "6175550100")


# --- COPY on PostgreSQL ----------------------------------------------------------------------

ODD = ["tab\there", "new\nline", "cr\r\nlf", "back\\slash", "\\N", "\\.", "quote\"'s",
       "comma, semicolon;", "emoji 🎉", "ümlaut", "", " lead and trail ", "a|b", "NULL"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_copy_writes_the_rows_insert_writes() -> None:
    now = db_datetime(dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC))

    def rows(tag: str) -> list[tuple[Any, ...]]:
        made = []
        for i, odd in enumerate(ODD):
            made.append((f"{tag}{odd}", f"L{odd}", dt.date(1990, 1, 1 + i) if i % 2 else None,
                         odd, odd, odd[:20], None, i % 3 or None,
                         Decimal("12.50") if i % 2 else None, f"{tag}{i}{odd}"[:32] if i % 3
                         else None, db_json({"k": odd, "n": None} if i % 2 else {}), "k", "k",
                         "", now, now))
        return made

    inserted = insert_rows(Person, PERSON_INSERT_COLUMNS, rows("i"))
    copied = copy_rows(Person, PERSON_INSERT_COLUMNS, rows("c"))
    assert inserted == copied == len(ODD)
    fields = ["last_name", "birth_date", "email", "phone", "postal_code", "household_size",
              "annual_income", "extra", "created_at"]

    def read(tag: str) -> list[tuple[Any, ...]]:
        return list(Person.objects.filter(first_name__startswith=tag).order_by("id")
                    .values_list(*fields))

    assert read("c") == read("i")
    assert read("c")[0][7] == {} and read("c")[1][7] == {"k": "new\nline", "n": None}
    assert [row[2] for row in read("c")] == ODD  # the emails: every odd value as it was
    codes = list(Person.objects.filter(first_name__startswith="c").order_by("id")
                 .values_list("card_code", flat=True))
    assert codes[0] is None and codes[1] == "c1new\nline"
    # a constraint broken in a COPY is Django's IntegrityError, as with INSERT
    with pytest.raises(IntegrityError), transaction.atomic():
        copy_rows(Person, PERSON_INSERT_COLUMNS, rows("c"))


def test_an_import_writes_odd_characters_as_given() -> None:
    # backslashes, COPY's NULL marker and quotes in CSV cells (tabs would make the CSV
    # sniffer read a tab-separated file; test_copy_writes_the_rows_insert_writes has them)
    text = ('First Name,Last Name,Email,Phone,Zip,Card code\n'
            '"Ann \\.","Back\\\\slash \\N","",617-555-0100,"a\\b","C\\\\1"\n'
            '"Quote ""Q""",Müller-Ünal 🎉,q@example.org,,,\n')
    result = commit("people", text)
    assert result.committed and result.summary["people_new"] == 2
    people = list(Person.objects.order_by("id").values_list(
        "first_name", "last_name", "email", "phone", "postal_code", "card_code", "extra",
        "birth_date", "household_size"))
    assert people == [
        ("Ann \\.", "Back\\\\slash \\N", "", "617-555-0100", "A\\B", "C\\\\1", {}, None,
         None),
        ('Quote "Q"', "Müller-Ünal 🎉", "q@example.org", "", "", None, {}, None, None)]
