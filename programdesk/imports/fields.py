"""What each kind of import reads, and how a file's column names are matched to it.

Column names are compared without case, spaces or punctuation ("First Name", "first_name" and
"FIRSTNAME" are the same), against the field's name, its label and common synonyms ("Zip",
"DOB", "E-mail"). Custom fields are ``extra.<key>`` and match their key or label. A mapping the
user chose is remembered per user and kind (``ImportMapping``) and wins over the guesses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import models

from programdesk.core.errors import ValidationError
from programdesk.core.models import FieldDefinition, FieldTarget
from programdesk.core.roles import Cap


class ImportKind(models.TextChoices):
    PEOPLE = "people", "People"
    ACCOUNTS = "accounts", "Accounts"
    ENROLLMENTS = "enrollments", "Enrollments"
    DISBURSEMENTS = "disbursements", "Disbursements and attendance"
    HOUSEHOLDS = "households", "Household members"


# Who may import what (docs/api.md, Roles): disbursements are a manager's, the rest staff's.
KIND_CAP: dict[str, Cap] = {
    ImportKind.PEOPLE: Cap.WRITE_RECORDS,
    ImportKind.ACCOUNTS: Cap.WRITE_RECORDS,
    ImportKind.ENROLLMENTS: Cap.WRITE_RECORDS,
    ImportKind.DISBURSEMENTS: Cap.MANAGE_PROGRAMS,
    ImportKind.HOUSEHOLDS: Cap.WRITE_RECORDS,
}

EXTRA = "extra."


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    synonyms: tuple[str, ...] = ()
    help: str = ""


def _f(name: str, label: str, *synonyms: str, help: str = "") -> Field:
    return Field(name, label, synonyms, help)


PERSON = [
    _f("first_name", "First name", "first", "given name", "forename", "firstname"),
    _f("last_name", "Last name", "last", "surname", "family name", "lastname"),
    _f("birth_date", "Birth date", "date of birth", "dob", "birthday", "birthdate", "born",
       help="YYYY-MM-DD or M/D/YYYY"),
    _f("email", "Email", "email address", "e-mail", "e-mail address", "mail"),
    _f("phone", "Phone", "phone number", "telephone", "tel", "mobile", "mobile phone", "cell",
       "cell phone"),
    _f("postal_code", "Postal code", "zip", "zip code", "zipcode", "postcode", "post code",
       "postal"),
]
PERSON_ONLY = [
    _f("household_size", "Household size", "family size", "household members"),
    _f("annual_income", "Annual income", "income", "household income", "yearly income"),
    _f("card_code", "Card code", "card", "card number", "barcode", "member card"),
    _f("household_start_date", "Household start date", "member since", "household since",
       "moved in", help="When the person joined the household named (default: today)"),
]
ACCOUNT_LINK = [
    _f("account", "Account (name)", "household", "household name", "account name",
       "organization", "organisation", help="An existing account's name; a new household "
       "is made for a name not found"),
    _f("account_id", "Account id", help="The id of an existing account"),
]
ENROLLEE = [
    _f("person_id", "Person id", "contact id", "client id", help="The id of an existing "
       "person; or give their name and birth date, email or phone"),
    *PERSON,
    *ACCOUNT_LINK,
]

FIELDS: dict[str, list[Field]] = {
    ImportKind.PEOPLE: [*PERSON, *PERSON_ONLY, *ACCOUNT_LINK],
    ImportKind.ACCOUNTS: [
        _f("name", "Name", "account name", "household name", "organization name",
           "organisation name", "household", "account"),
        _f("kind", "Kind", "type", "account type", "record type",
           help="household or organization"),
        _f("email", "Email", "email address", "e-mail"),
        _f("phone", "Phone", "phone number", "telephone", "tel"),
        _f("postal_code", "Postal code", "zip", "zip code", "zipcode", "postcode",
           "post code"),
    ],
    ImportKind.ENROLLMENTS: [
        *ENROLLEE,
        _f("program", "Program", "program name", help="A program's name (or id)"),
        _f("status", "Status", "enrollment status", "stage",
           help="A status code or label (default: the default enrollment status)"),
        _f("application_date", "Application date", "applied on", "applied", "date applied"),
        _f("start_date", "Start date", "start", "enrollment date", "enrolled on",
           "date enrolled"),
        _f("end_date", "End date", "end", "exit date", "completed on", "date ended"),
    ],
    ImportKind.DISBURSEMENTS: [
        *ENROLLEE,
        _f("program", "Program", "program name",
           help="Needed when two programs have a benefit of the same name"),
        _f("benefit", "Benefit", "benefit name", "service", "item",
           help="A benefit's name (or id)"),
        _f("schedule", "Schedule", "schedule name", "class", "course",
           help="A schedule's name (or id): the row is attendance at its session that day"),
        _f("session_date", "Session date", "attendance date", "class date",
           "date of session", "session",
           help="The row is attendance at the benefit's session on this date"),
        _f("disbursed_on", "Date", "disbursed on", "disbursement date", "service date",
           "date given", "delivered on", "date"),
        _f("quantity", "Quantity", "qty", "amount", "units", "hours",
           help="Default: the schedule's or the benefit's default quantity"),
        _f("status", "Status", "attendance", "attendance status", "disbursement status",
           help="A status code or label (default: completed)"),
        _f("recipient_count", "Number of recipients", "recipients", "people served",
           "recipient count", "headcount",
           help="For anonymous rows (no person or account): how many people"),
    ],
}

FIELDS[ImportKind.HOUSEHOLDS] = [
    _f("account_id", "Household id", "account id", help="The id of an existing household"),
    _f("account", "Household (name)", "household", "household name", "account",
       "account name", "family", help="An existing household's name; a new household is "
       "made for a name not found"),
    _f("person_id", "Person id", "contact id", "client id", help="The id of an existing "
       "person; or give their name and birth date, email or phone (empty: the row only "
       "gives the household's declared size or income)"),
    *PERSON,
    _f("relationship", "Relationship", "relationship to head", "relation", "role",
       help="head, spouse or partner, child, other relative or other (default: other)"),
    _f("start_date", "Start date", "member since", "moved in", "joined",
       help="The first day in the household (default: today)"),
    _f("end_date", "End date", "moved out", "left", "until",
       help="The last day in the household (empty: a current member)"),
    _f("declared_size", "Declared size", "members not registered", "other members",
       "unregistered members", help="People who live there but are not registered here"),
    _f("annual_income", "Annual income", "income", "household income", "yearly income"),
]

CUSTOM_TARGET: dict[str, str] = {
    ImportKind.PEOPLE: FieldTarget.PERSON,
    ImportKind.ENROLLMENTS: FieldTarget.ENROLLMENT,
    ImportKind.DISBURSEMENTS: FieldTarget.DISBURSEMENT,
}

# A mapping must name these (any one group of alternatives).
REQUIRED: dict[str, list[tuple[str, ...]]] = {
    ImportKind.PEOPLE: [("first_name",), ("last_name",)],
    ImportKind.ACCOUNTS: [("name",)],
    ImportKind.ENROLLMENTS: [("program",), ("person_id", "last_name", "account", "account_id")],
    ImportKind.DISBURSEMENTS: [("benefit", "schedule"), ("session_date", "disbursed_on")],
    ImportKind.HOUSEHOLDS: [("account", "account_id")],
}


def norm(text: str) -> str:
    """"First Name " -> "firstname": how column names are compared."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def field_choices(kind: str, definitions: Sequence[FieldDefinition] = ()
                  ) -> list[tuple[str, str]]:
    """(field name, label) of everything a column of this kind may be mapped to."""
    choices = [(f.name, f.label) for f in FIELDS[kind]]
    choices += [(f"{EXTRA}{d.key}", f"{d.label} (custom field)") for d in definitions]
    return choices


def custom_definitions(kind: str) -> list[FieldDefinition]:
    """Every active custom field that a column of this kind may fill (any scope; rows are
    checked against the fields of their own program or benefit)."""
    target = CUSTOM_TARGET.get(kind)
    if target is None:
        return []
    return list(FieldDefinition.objects.filter(target=target, is_active=True)
                .order_by("order", "id"))


def guess_mapping(kind: str, headers: Sequence[str], *,
                  remembered: Mapping[str, str] | None = None,
                  definitions: Sequence[FieldDefinition] = ()) -> list[str]:
    """The field for each column ("" to ignore it): the remembered choice for a column of
    that name first, else the field whose name, label or synonym it is. A field goes to
    the first column that claims it."""
    known = {name for name, _ in field_choices(kind, definitions)}
    by_word: dict[str, str] = {}
    for f in FIELDS[kind]:
        for word in (f.name, f.label, *f.synonyms):
            by_word.setdefault(norm(word), f.name)
    for d in definitions:
        for word in (d.key, d.label, f"{EXTRA}{d.key}"):
            by_word.setdefault(norm(word), f"{EXTRA}{d.key}")
    remembered = remembered or {}
    taken: set[str] = set()
    mapping = []
    for header in headers:
        key = norm(header)
        field = remembered[key] if key in remembered else by_word.get(key, "")
        if field not in known or field in taken:
            field = ""
        if field:
            taken.add(field)
        mapping.append(field)
    return mapping


def mapping_check(kind: str, headers: Sequence[str], mapping: Sequence[str],
                  definitions: Sequence[FieldDefinition] = ()) -> None:
    """A mapping's own errors, before any row is read: unknown fields, a field taken by two
    columns, required fields missing."""
    known = dict(field_choices(kind, definitions))
    errors: dict[str, str] = {}
    if len(mapping) != len(headers):
        raise ValidationError.for_fields({"mapping": "Map every column (or ignore it)."})
    seen: dict[str, str] = {}
    for header, field in zip(headers, mapping, strict=True):
        if not field:
            continue
        if field not in known:
            errors[f"mapping.{header}"] = f"'{field}' is not a field of {kind} imports."
        elif field in seen:
            errors[f"mapping.{header}"] = (f"'{known[field]}' is already read from column "
                                           f"'{seen[field]}'.")
        else:
            seen[field] = header
    for group in REQUIRED[kind]:
        if not any(name in seen for name in group):
            labels = " or ".join(f"'{known.get(n, n)}'" for n in group)
            errors[f"mapping.{group[0]}"] = f"A column must be mapped to {labels}."
    if ("first_name" in seen and "last_name" not in seen) or (
            "last_name" in seen and "first_name" not in seen):
        errors["mapping.first_name"] = "Map both 'First name' and 'Last name'."
    if errors:
        raise ValidationError.for_fields(errors)


def mapping_parse(kind: str, headers: Sequence[str], pairs: Sequence[str],
                  base: Sequence[str]) -> list[str]:
    """Apply command-line ``--map "Zip=postal_code"`` options (a column name, or its number
    from 1, = a field name, or nothing to ignore the column) over ``base``."""
    errors: dict[str, str] = {}
    choices = []
    for pair in pairs:
        column, sep, field = pair.partition("=")
        if not sep:
            errors[f"map.{pair}"] = "Write COLUMN=FIELD, e.g. --map \"Zip=postal_code\"."
        else:
            choices.append((column, field))
    if errors:
        raise ValidationError.for_fields(errors)
    return mapping_apply(headers, choices, base)


def mapping_apply(headers: Sequence[str], choices: Sequence[tuple[str, str]],
                  base: Sequence[str]) -> list[str]:
    """``base`` with each (column name or number from 1, field) chosen; a field chosen for one
    column leaves any other."""
    mapping = list(base)
    by_name = {norm(h): i for i, h in reversed(list(enumerate(headers)))}
    errors: dict[str, str] = {}
    for column, field in choices:
        index = by_name.get(norm(column))
        if index is None and column.strip().isdigit() and 1 <= int(column) <= len(headers):
            index = int(column) - 1
        if index is None:
            errors[f"map.{column}"] = (f"The file has no column '{column}'. Its columns: "
                                       f"{', '.join(headers)}.")
            continue
        field = field.strip()
        for i, other in enumerate(mapping):  # the field moves to this column
            if field and other == field:
                mapping[i] = ""
        mapping[index] = field
    if errors:
        raise ValidationError.for_fields(errors)
    return mapping
