"""Custom fields: the extra fields an admin adds to people, enrollments and disbursements.

A ``FieldDefinition`` applies everywhere (no program, no benefit) or within one program or one
benefit. Values live in the record's ``extra`` JSON column; every door (page, API, import)
validates them here, so a value in ``extra`` always has the definition's type:

- text: a string (stripped; at most ``max_length`` characters)
- number: a JSON number — an int when whole, else a float (at most 15 digits, 6 of them
  after the point, so what was typed is what is stored; no NaN or infinity). Strings like
  "12.5" are accepted from forms and imports.
- date: an ISO string "2026-03-02" (``datetime.date`` or an ISO string in)
- boolean: true/false ("yes"/"no", "true"/"false", "1"/"0", "on"/"off" accepted)
- choice: one of the definition's choices, exactly as spelled there

A missing value, ``null`` or an empty string means "no value": the key is left out of the
result (or, with ``partial=True``, returned as ``None`` so ``extra_merge`` removes it).

The admin's writes (``field_definition_create`` / ``field_definition_update``) live here too,
next to the rules they must respect: a definition's key and type never change once created,
because stored values depend on them; a definition is retired, not deleted.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.db import transaction
from django.db.models import Q

from programdesk.core.audit import audit_record, changes, snapshot
from programdesk.core.errors import ValidationError
from programdesk.core.models import FieldDefinition, FieldTarget, FieldType, User
from programdesk.core.relations import related_model

TRUE_WORDS = {"true", "yes", "y", "1", "on"}
FALSE_WORDS = {"false", "no", "n", "0", "off"}
MAX_NUMBER_DIGITS = 15
MAX_DECIMALS = 6
MAX_TEXT_LENGTH = 2000  # without a max_length of its own, a text value is at most this long
FORM_PREFIX = "extra."


# --- Which fields apply ------------------------------------------------------------------------

def _benefits() -> Any:
    """programs' benefits, reached through the definitions' foreign key (core/relations.py)."""
    return related_model(FieldDefinition, "benefit").objects


def _programs() -> Any:
    return related_model(FieldDefinition, "program").objects


def scope_filter(program_id: int | None, benefit_id: int | None) -> Q:
    """The definitions that apply to a record of this program or benefit: the global ones, the
    program's, the benefit's (and, for a benefit alone, its program's)."""
    scope = Q(program__isnull=True, benefit__isnull=True)
    if program_id is not None:
        scope |= Q(program_id=program_id)
    if benefit_id is not None:
        scope |= Q(benefit_id=benefit_id)
        if program_id is None:
            # A benefit's fields include its program's; resolved in the same query.
            scope |= Q(program_id__in=_benefits().filter(pk=benefit_id).values("program_id"))
    return scope


def field_definitions_for(*, target: str, program_id: int | None = None,
                          benefit_id: int | None = None,
                          any_scope: bool = False) -> list[FieldDefinition]:
    """The active definitions for ``target``: global ones plus those of the program and of the
    benefit (a benefit's check includes its program's fields), ordered by ``order``.

    ``any_scope=True`` returns every active definition of the target whatever its scope — used
    for people, whose program- or benefit-scoped fields may be filled in on the person's page
    (see ``extra_validate``)."""
    qs = FieldDefinition.objects.filter(target=target, is_active=True)
    if not any_scope:
        qs = qs.filter(scope_filter(program_id, benefit_id))
    return list(qs.select_related("program", "benefit").order_by("order", "id"))


def field_definitions_by_benefit(*, target: str, benefit_ids: Iterable[int]
                                 ) -> dict[int, list[FieldDefinition]]:
    """For bulk paths: the definitions that apply to each benefit, in two queries whatever the
    number of benefits. Pass each list to ``extra_validate(definitions=...)``."""
    program_of = dict(_benefits().filter(pk__in=set(benefit_ids))
                      .values_list("id", "program_id"))
    rows = list(FieldDefinition.objects.filter(target=target, is_active=True).filter(
        Q(program__isnull=True, benefit__isnull=True) | Q(benefit_id__in=program_of)
        | Q(program_id__in=set(program_of.values()))).order_by("order", "id"))
    return {benefit_id: [d for d in rows if (d.program_id is None and d.benefit_id is None)
                         or d.benefit_id == benefit_id or d.program_id == program_id]
            for benefit_id, program_id in program_of.items()}


# --- Validation --------------------------------------------------------------------------------

def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _clean_text(definition: FieldDefinition, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("Must be text.")
    value = value.strip()
    limit = definition.max_length or MAX_TEXT_LENGTH
    if len(value) > limit:
        raise ValueError(f"At most {limit} characters (this has {len(value)}).")
    return value


def _clean_number(definition: FieldDefinition, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ValueError("Must be a number.")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("Must be a number.") from None
    if not number.is_finite():
        raise ValueError("Must be a finite number.")
    exponent = number.normalize().as_tuple().exponent
    if (abs(number) >= Decimal(10) ** MAX_NUMBER_DIGITS
            or len(number.normalize().as_tuple().digits) > MAX_NUMBER_DIGITS
            or (isinstance(exponent, int) and exponent < -MAX_DECIMALS)):
        raise ValueError(f"At most {MAX_NUMBER_DIGITS} digits, {MAX_DECIMALS} of them "
                         f"after the point.")
    if number == number.to_integral_value():
        return int(number)
    result = float(number)
    if not math.isfinite(result):  # pragma: no cover - excluded by the digit limit
        raise ValueError("Must be a finite number.")
    return result


def _clean_date(definition: FieldDefinition, value: Any) -> str:
    if isinstance(value, dt.datetime):
        raise ValueError("Must be a date (YYYY-MM-DD), not a date and time.")
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        raise ValueError("Must be a date (YYYY-MM-DD).")
    try:
        return dt.date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise ValueError("Must be a date (YYYY-MM-DD).") from None


def _clean_boolean(definition: FieldDefinition, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError("Must be yes or no (true or false).")


def _clean_choice(definition: FieldDefinition, value: Any) -> str:
    choices = [str(c) for c in definition.choices or []]
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ValueError(f"Must be one of: {', '.join(choices)}.")
    text = str(value).strip()
    if text not in choices:
        raise ValueError(f"'{text}' is not a choice. Use one of: {', '.join(choices)}.")
    return text


_CLEANERS: dict[str, Callable[[FieldDefinition, Any], Any]] = {
    FieldType.TEXT: _clean_text,
    FieldType.NUMBER: _clean_number,
    FieldType.DATE: _clean_date,
    FieldType.BOOLEAN: _clean_boolean,
    FieldType.CHOICE: _clean_choice,
}


def clean_value(definition: FieldDefinition, value: Any) -> Any:
    """One value cleaned to its JSON form; raises ValueError with a readable message."""
    cleaner = _CLEANERS.get(definition.field_type)
    if cleaner is None:  # pragma: no cover - a check constraint
        raise ValueError(f"Unknown field type '{definition.field_type}'.")
    return cleaner(definition, value)


def _clean_one(definition: FieldDefinition, values: Mapping[str, Any], *, partial: bool,
               any_scope: bool) -> tuple[bool, Any]:
    """One defined field of ``values``: (whether the result holds it, its cleaned value).
    Raises ValueError with the message. Empty in a PATCH (``partial``) is kept as ``None``."""
    is_global = definition.program_id is None and definition.benefit_id is None
    required = definition.required and (is_global or not any_scope)
    if definition.key not in values:
        if required and not partial:
            raise ValueError("This field is required.")
        return False, None
    value = values[definition.key]
    if _is_empty(value):
        if required:
            raise ValueError("This field is required.")
        return partial, None
    return True, clean_value(definition, value)


@dataclass(frozen=True, slots=True)
class ExtraRules:
    """Custom field rules compiled once for many records (an import checks 100,000 rows with
    one): the definitions by key, which are required, the "known" list of the unknown-key
    message. ``check`` is the rule ``extra_validate`` applies; a record with no values and no
    required field costs a dictionary look-up."""

    by_key: dict[str, FieldDefinition]
    required: tuple[str, ...]  # keys required (on create) with these scope rules
    known: str
    field_prefix: str
    any_scope: bool

    @classmethod
    def compile(cls, definitions: Iterable[FieldDefinition], *, field_prefix: str = "extra",
                any_scope: bool = False) -> ExtraRules:
        by_key = {d.key: d for d in definitions}
        required = tuple(key for key, d in by_key.items() if d.required and (
            not any_scope or (d.program_id is None and d.benefit_id is None)))
        return cls(by_key=by_key, required=required,
                   known=", ".join(sorted(by_key)) or "none are defined",
                   field_prefix=field_prefix, any_scope=any_scope)

    def check(self, values: Mapping[str, Any] | None, *, partial: bool = False
              ) -> tuple[dict[str, Any], dict[str, str]]:
        """(the values cleaned, {field path: message}); nothing raised."""
        prefix = self.field_prefix
        # No values: the common case of imports and quick adds (first, before the slower
        # Mapping test).
        if values is None or (type(values) is dict and not values):
            if partial or not self.required:
                return {}, {}
            return {}, {f"{prefix}.{key}": "This field is required." for key in self.required}
        if not isinstance(values, Mapping):
            return {}, {prefix: "Must be an object of field values."}
        if not values:  # an empty mapping of another type: the same
            return self.check(None, partial=partial)
        errors: dict[str, str] = {}
        cleaned: dict[str, Any] = {}
        by_key = self.by_key
        for key in values:
            if key not in by_key:
                errors[f"{prefix}.{key}"] = f"Unknown field '{key}' (known: {self.known})."
        for key, definition in by_key.items():
            try:
                keep, value = _clean_one(definition, values, partial=partial,
                                         any_scope=self.any_scope)
            except ValueError as exc:
                errors[f"{prefix}.{key}"] = str(exc)
                continue
            if keep:
                cleaned[key] = value
        return cleaned, errors


def extra_validate(*, target: str, values: Mapping[str, Any] | None,
                   program_id: int | None = None, benefit_id: int | None = None,
                   field_prefix: str = "extra", partial: bool = False,
                   definitions: list[FieldDefinition] | None = None,
                   any_scope: bool = False) -> dict[str, Any]:
    """Validate custom field values and return them cleaned and JSON-safe (see the module
    docstring for each type). Errors are raised together as one ``ValidationError`` with field
    paths ``f"{field_prefix}.{key}"``; unknown keys are refused.

    ``partial=True`` (PATCH): only the keys given are checked, required fields may be absent,
    and a key given as null/"" comes back as ``None`` (meaning "remove"; see ``extra_merge``).
    ``definitions`` skips the query (bulk callers fetch them once, see
    ``field_definitions_by_benefit``). ``any_scope`` accepts every active definition of the
    target but requires only the global ones (people: a program's person fields are optional
    on the person's own forms). The rules are ``ExtraRules``: bulk callers compile them once."""
    if values is not None and not isinstance(values, Mapping):
        raise ValidationError.for_fields({field_prefix: "Must be an object of field values."})
    if definitions is None:
        definitions = field_definitions_for(target=target, program_id=program_id,
                                            benefit_id=benefit_id, any_scope=any_scope)
    rules = ExtraRules.compile(definitions, field_prefix=field_prefix, any_scope=any_scope)
    cleaned, errors = rules.check(values, partial=partial)
    if errors:
        raise ValidationError.for_fields(errors)
    return cleaned


def extra_merge(current: Mapping[str, Any] | None, cleaned: Mapping[str, Any]) -> dict[str, Any]:
    """Apply a partial update from ``extra_validate(partial=True)``: None removes a key."""
    merged = dict(current or {})
    for key, value in cleaned.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


# --- Forms -------------------------------------------------------------------------------------

def form_field_name(key: str) -> str:
    """Form fields are named ``extra.<key>``: ``web.forms.add_service_errors`` puts a service
    error for ``extra.<key>`` on that field."""
    return f"{FORM_PREFIX}{key}"


def _form_field(definition: FieldDefinition, *, required: bool) -> forms.Field:
    common: dict[str, Any] = {"label": definition.label, "required": required,
                              "help_text": definition.help_text}
    kind = definition.field_type
    if kind == FieldType.NUMBER:
        return forms.DecimalField(**common)
    if kind == FieldType.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == FieldType.BOOLEAN:
        # Three states (unset, yes, no): a checkbox could not say "not answered".
        return forms.TypedChoiceField(choices=[("", "—"), ("true", "Yes"), ("false", "No")],
                                      coerce=lambda v: v == "true", empty_value=None, **common)
    if kind == FieldType.CHOICE:
        choices = [("", "—"), *((str(c), str(c)) for c in definition.choices or [])]
        return forms.ChoiceField(choices=choices, **common)
    limit = definition.max_length or MAX_TEXT_LENGTH
    widget = forms.Textarea(attrs={"rows": 3}) if limit > 200 else None
    return forms.CharField(max_length=limit, widget=widget, **common)


def extra_form_fields_add(form: forms.Form, definitions: list[FieldDefinition],
                          values: Mapping[str, Any] | None = None, *,
                          any_scope: bool = False) -> list[str]:
    """Add one form field per definition (named ``extra.<key>``), with initial values from a
    record's ``extra``. Returns the names added, in order, for the template."""
    names = []
    for definition in definitions:
        name = form_field_name(definition.key)
        is_global = definition.program_id is None and definition.benefit_id is None
        field = _form_field(definition,
                            required=definition.required and (is_global or not any_scope))
        current = (values or {}).get(definition.key)
        if current is not None and definition.field_type == FieldType.BOOLEAN:
            current = "true" if current else "false"
        if current is not None:
            field.initial = current
        form.fields[name] = field
        names.append(name)
    return names


def extra_form_values(form: forms.Form) -> dict[str, Any]:
    """The custom field values of a valid form, keyed by definition key, ready for
    ``extra_validate`` (empty ones left out, so they are "no value")."""
    values: dict[str, Any] = {}
    for name, value in form.cleaned_data.items():
        if not name.startswith(FORM_PREFIX) or value is None or value == "":
            continue
        values[name[len(FORM_PREFIX):]] = str(value) if isinstance(value, Decimal) else value
    return values


def extra_display(definitions: list[FieldDefinition], values: Mapping[str, Any] | None
                  ) -> list[tuple[str, str]]:
    """(label, text) pairs for a record's page, in definition order; values whose definition
    was retired still show, under their key."""
    values = values or {}
    shown: list[tuple[str, str]] = []
    seen = set()
    for definition in definitions:
        seen.add(definition.key)
        if definition.key in values:
            shown.append((definition.label, _display(values[definition.key])))
    shown.extend((key, _display(value)) for key, value in values.items() if key not in seen)
    return shown


def _display(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


# --- Admin writes ------------------------------------------------------------------------------

def _definition_errors(*, target: str, key: str, label: str, field_type: str,
                       max_length: int | None, choices: list[str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if target not in FieldTarget.values:
        errors["target"] = f"Use one of: {', '.join(FieldTarget.values)}."
    if not key or not key.replace("_", "a").replace("-", "a").isalnum() or not key.isascii():
        errors["key"] = "Use letters, digits, _ and - only (e.g. school_grade)."
    elif len(key) > 50:
        errors["key"] = "At most 50 characters."
    if not label.strip():
        errors["label"] = "A label is required."
    elif len(label.strip()) > 100:
        errors["label"] = "At most 100 characters."
    if field_type not in FieldType.values:
        errors["field_type"] = f"Use one of: {', '.join(FieldType.values)}."
    if max_length is not None and (field_type != FieldType.TEXT or max_length < 1
                                   or max_length > MAX_TEXT_LENGTH):
        errors["max_length"] = (f"Only text fields have a maximum length (1 to "
                                f"{MAX_TEXT_LENGTH}).")
    choices_error = _choices_error(field_type, choices)
    if choices_error:
        errors["choices"] = choices_error
    return errors


def _choices_error(field_type: str, choices: list[str]) -> str | None:
    if field_type != FieldType.CHOICE:
        return "Only choice fields have choices." if choices else None
    if not choices:
        return "A choice field needs at least one choice."
    if len(set(choices)) != len(choices):
        return "Each choice may appear only once."
    if any(not c or len(c) > 100 for c in choices):
        return "Choices are 1 to 100 characters each."
    return None


def _clean_choices(choices: Iterable[Any] | None) -> list[str]:
    return [str(c).strip() for c in (choices or []) if str(c).strip()]


@transaction.atomic
def field_definition_create(*, actor: User | None, target: str, key: str, label: str,
                            field_type: str, required: bool = False,
                            max_length: int | None = None, choices: Iterable[Any] | None = None,
                            help_text: str = "", program_id: int | None = None,
                            benefit_id: int | None = None, order: int | None = None
                            ) -> FieldDefinition:
    key = key.strip()
    clean_choices = _clean_choices(choices)
    errors = _definition_errors(target=target, key=key, label=label, field_type=field_type,
                                max_length=max_length, choices=clean_choices)
    if program_id is not None and benefit_id is not None:
        errors["benefit_id"] = "A field belongs to one program or one benefit, not both."
    elif program_id is not None and not _programs().filter(pk=program_id).exists():
        errors["program_id"] = "Unknown program."
    elif benefit_id is not None and not _benefits().filter(pk=benefit_id).exists():
        errors["benefit_id"] = "Unknown benefit."
    if len(help_text) > 200:
        errors["help_text"] = "At most 200 characters."
    if "key" not in errors and FieldDefinition.objects.filter(target=target, key=key).exists():
        errors["key"] = f"A {target} field with key '{key}' exists (perhaps retired)."
    if errors:
        raise ValidationError.for_fields(errors)
    if order is None:
        order = (FieldDefinition.objects.filter(target=target).order_by("-order")
                 .values_list("order", flat=True).first() or 0) + 1
    definition = FieldDefinition.objects.create(
        target=target, key=key, label=label.strip(), field_type=field_type, required=required,
        max_length=max_length, choices=clean_choices, help_text=help_text.strip(),
        program_id=program_id, benefit_id=benefit_id, order=order)
    audit_record(actor=actor, action="field_definition.create", obj=definition,
                 after=snapshot(definition))
    return definition


@transaction.atomic
def field_definition_update(*, actor: User | None, definition: FieldDefinition,
                            label: str | None = None, required: bool | None = None,
                            max_length: int | None = None, clear_max_length: bool = False,
                            choices: Iterable[Any] | None = None, help_text: str | None = None,
                            order: int | None = None, is_active: bool | None = None
                            ) -> FieldDefinition:
    """Change what may change: label, required, max length (``clear_max_length`` removes it),
    choices, help text, order, retired. Key, type, target and scope
    stay: stored values depend on them. Choices may be added freely; a choice removed keeps
    its stored values (shown as they are) but can no longer be picked."""
    obj = FieldDefinition.objects.select_for_update().get(pk=definition.pk)
    before = snapshot(obj)
    if label is not None:
        obj.label = label.strip()
    if required is not None:
        obj.required = required
    if max_length is not None or clear_max_length:
        obj.max_length = None if clear_max_length else max_length
    if choices is not None:
        obj.choices = _clean_choices(choices)
    if help_text is not None:
        obj.help_text = help_text.strip()
    if order is not None:
        obj.order = order
    if is_active is not None:
        obj.is_active = is_active
    errors = _definition_errors(target=obj.target, key=obj.key, label=obj.label,
                                field_type=obj.field_type, max_length=obj.max_length,
                                choices=list(obj.choices or []))
    if len(obj.help_text) > 200:
        errors["help_text"] = "At most 200 characters."
    if errors:
        raise ValidationError.for_fields(errors)
    obj.save()
    before, after = changes(before, snapshot(obj))
    audit_record(actor=actor, action="field_definition.update", obj=obj, before=before,
                 after=after)
    return obj
