"""Custom fields (core.custom_fields): definitions, validation, form helpers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django import forms

from programdesk.core import custom_fields as cf
from programdesk.core.errors import ValidationError
from programdesk.core.models import AuditEvent, FieldDefinition
from tests import factories as f

pytestmark = pytest.mark.django_db


def define(key: str, field_type: str, target: str = "disbursement", **kwargs) -> FieldDefinition:
    return cf.field_definition_create(actor=None, target=target, key=key, label=key.title(),
                                      field_type=field_type, **kwargs)


def errors_of(**kwargs) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        cf.extra_validate(**kwargs)
    return {e["field"]: e["message"] for e in info.value.errors}


@pytest.fixture
def fields() -> None:
    define("note", "text", max_length=5)
    define("hours", "number")
    define("visit_date", "date")
    define("first_visit", "boolean")
    define("size", "choice", choices=["S", "M", "L"], required=True)


def test_values_are_cleaned_to_json(fields) -> None:
    cleaned = cf.extra_validate(target="disbursement", values={
        "note": " hi ", "hours": "2.50", "visit_date": dt.date(2026, 3, 2),
        "first_visit": "yes", "size": "M"})
    assert cleaned == {"note": "hi", "hours": 2.5, "visit_date": "2026-03-02",
                       "first_visit": True, "size": "M"}
    assert cf.extra_validate(target="disbursement", values={"hours": 3, "size": "S",
                                                            "visit_date": "2026-03-02"}) == {
        "hours": 3, "size": "S", "visit_date": "2026-03-02"}


def test_bad_values_are_field_errors_all_at_once(fields) -> None:
    assert errors_of(target="disbursement", values={
        "note": "too long", "hours": "many", "visit_date": "03/02/2026", "first_visit": "maybe",
        "size": "XL", "colour": "red"}) == {
        "extra.note": "At most 5 characters (this has 8).",
        "extra.hours": "Must be a number.",
        "extra.visit_date": "Must be a date (YYYY-MM-DD).",
        "extra.first_visit": "Must be yes or no (true or false).",
        "extra.size": "'XL' is not a choice. Use one of: S, M, L.",
        "extra.colour": "Unknown field 'colour' (known: first_visit, hours, note, size, "
                        "visit_date).",
    }


@pytest.mark.parametrize("value", [True, [1], {"a": 1}, "NaN", "Infinity", "1e400",
                                   "12345678901234567"])
def test_numbers_refuse_what_is_not_a_finite_number(fields, value) -> None:
    assert "extra.hours" in errors_of(target="disbursement", values={"hours": value,
                                                                       "size": "S"})


def test_wrong_json_types_are_refused(fields) -> None:
    errors = errors_of(target="disbursement", values={"note": 5, "size": True,
                                                      "visit_date": 20260302})
    assert set(errors) == {"extra.note", "extra.size", "extra.visit_date"}
    assert errors_of(target="disbursement", values=["size"]) == {
        "extra": "Must be an object of field values."}


def test_required_fields_and_the_field_prefix(fields) -> None:
    assert errors_of(target="disbursement", values={}, field_prefix="items.2.extra") == {
        "items.2.extra.size": "This field is required."}
    assert errors_of(target="disbursement", values={"size": " "}) == {
        "extra.size": "This field is required."}


def test_partial_updates_check_only_what_is_given(fields) -> None:
    assert cf.extra_validate(target="disbursement", values={"note": "", "hours": 1},
                             partial=True) == {"note": None, "hours": 1}
    assert cf.extra_merge({"note": "old", "size": "S"}, {"note": None, "hours": 1}) == {
        "size": "S", "hours": 1}
    assert "extra.size" in errors_of(target="disbursement", values={"size": None},
                                     partial=True)


def test_scopes_global_program_and_benefit() -> None:
    benefit = f.BenefitFactory()
    other = f.BenefitFactory()
    define("everywhere", "text")
    define("in_program", "text", program_id=benefit.program_id)
    define("on_benefit", "text", benefit_id=benefit.pk)
    define("elsewhere", "text", benefit_id=other.pk)
    define("person_field", "text", target="person")
    keys = lambda **kw: [d.key for d in cf.field_definitions_for(target="disbursement", **kw)]  # noqa: E731
    assert keys() == ["everywhere"]
    assert keys(program_id=benefit.program_id) == ["everywhere", "in_program"]
    assert keys(benefit_id=benefit.pk) == ["everywhere", "in_program", "on_benefit"]
    assert keys(program_id=benefit.program_id, benefit_id=benefit.pk) == [
        "everywhere", "in_program", "on_benefit"]
    assert "extra.elsewhere" in errors_of(target="disbursement", values={"elsewhere": "x"},
                                          benefit_id=benefit.pk)
    by_benefit = cf.field_definitions_by_benefit(target="disbursement",
                                                 benefit_ids=[benefit.pk, other.pk])
    assert [d.key for d in by_benefit[benefit.pk]] == ["everywhere", "in_program", "on_benefit"]
    assert [d.key for d in by_benefit[other.pk]] == ["everywhere", "elsewhere"]


def test_retired_fields_no_longer_apply() -> None:
    definition = define("old", "text")
    cf.field_definition_update(actor=None, definition=definition, is_active=False)
    assert cf.field_definitions_for(target="disbursement") == []
    assert "extra.old" in errors_of(target="disbursement", values={"old": "x"})


def test_any_scope_requires_only_global_fields() -> None:
    program = f.ProgramFactory()
    define("school", "text", target="person", program_id=program.pk, required=True)
    assert cf.extra_validate(target="person", values={}, any_scope=True) == {}
    assert cf.extra_validate(target="person", values={"school": "Lincoln"}, any_scope=True) == {
        "school": "Lincoln"}
    assert "extra.school" in errors_of(target="person", values={}, program_id=program.pk)


def test_bulk_callers_pass_definitions_and_skip_the_query(django_assert_num_queries,
                                                          fields) -> None:
    definitions = cf.field_definitions_for(target="disbursement")
    with django_assert_num_queries(0):
        for i in range(50):
            cf.extra_validate(target="disbursement", values={"size": "S", "hours": i},
                              definitions=definitions, field_prefix=f"items.{i}.extra")


# --- Definitions -------------------------------------------------------------------------------

def test_definition_rules() -> None:
    with pytest.raises(ValidationError) as info:
        cf.field_definition_create(actor=None, target="vehicle", key="bad key!", label="",
                                   field_type="colour")
    assert {e["field"] for e in info.value.errors} == {"target", "key", "label", "field_type"}
    with pytest.raises(ValidationError) as info:
        define("c", "choice")
    assert info.value.message_for("choices") == "A choice field needs at least one choice."
    with pytest.raises(ValidationError) as info:
        define("t", "number", max_length=4, choices=["a"])
    assert {e["field"] for e in info.value.errors} == {"max_length", "choices"}
    benefit = f.BenefitFactory()
    with pytest.raises(ValidationError) as info:
        define("both", "text", program_id=benefit.program_id, benefit_id=benefit.pk)
    assert info.value.message_for("benefit_id")
    define("dup", "text")
    with pytest.raises(ValidationError) as info:
        define("dup", "number")
    assert "exists" in (info.value.message_for("key") or "")
    assert FieldDefinition.objects.count() == 1


def test_definition_update_keeps_key_and_type_and_is_audited() -> None:
    definition = define("size", "choice", choices=["S", "M"])
    updated = cf.field_definition_update(actor=None, definition=definition, label="T-shirt",
                                         choices=["S", "M", "L"], required=True)
    assert (updated.key, updated.field_type, updated.label) == ("size", "choice", "T-shirt")
    assert updated.choices == ["S", "M", "L"]
    with pytest.raises(ValidationError):
        cf.field_definition_update(actor=None, definition=definition, choices=[])
    assert AuditEvent.objects.filter(action="field_definition.update").count() == 1


# --- Forms -------------------------------------------------------------------------------------

def test_form_helpers_round_trip(fields) -> None:
    definitions = cf.field_definitions_for(target="disbursement")

    class Form(forms.Form):
        pass

    form = Form(data={"extra.note": "ok", "extra.hours": "1.25", "extra.visit_date": "2026-03-02",
                      "extra.first_visit": "false", "extra.size": "L"})
    names = cf.extra_form_fields_add(form, definitions, {"size": "M"})
    assert names == ["extra.note", "extra.hours", "extra.visit_date", "extra.first_visit",
                     "extra.size"]
    assert form.is_valid(), form.errors
    values = cf.extra_form_values(form)
    assert values["hours"] == "1.25" and values["first_visit"] is False
    assert cf.extra_validate(target="disbursement", values=values, definitions=definitions) == {
        "note": "ok", "hours": 1.25, "visit_date": "2026-03-02", "first_visit": False,
        "size": "L"}
    assert Decimal("1.25") == Decimal(values["hours"])


def test_form_marks_required_and_refuses_unknown_choices(fields) -> None:
    class Form(forms.Form):
        pass

    form = Form(data={"extra.size": "XL"})
    cf.extra_form_fields_add(form, cf.field_definitions_for(target="disbursement"))
    assert not form.is_valid()
    assert "extra.size" in form.errors
    assert form.fields["extra.size"].required and not form.fields["extra.note"].required


def test_display_in_definition_order_and_keeps_retired_values(fields) -> None:
    shown = cf.extra_display(cf.field_definitions_for(target="disbursement"),
                             {"first_visit": True, "size": "M", "gone": "x"})
    assert shown == [("First_Visit", "Yes"), ("Size", "M"), ("gone", "x")]
