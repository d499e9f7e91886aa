"""Planning a people import, and finding the people other imports' rows name.

A row's person is an id given, an existing person matched by the duplicate rules
(``people.selectors.people_match_keys``), a person of an earlier row, or a new person — checked
by the rules of ``people.services.person_create`` (``PersonRules``, compiled once per import)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from programdesk.core.bulk import JsonValues
from programdesk.core.models import FieldDefinition
from programdesk.imports.planning.accounts import accounts_by_id, accounts_by_name, new_account
from programdesk.imports.run import (
    PROGRESS_EVERY,
    ExistingAccount,
    ExistingPerson,
    ImportRun,
    NewAccount,
    NewPerson,
)
from programdesk.imports.values import (
    UnreadableValue,
    name_key,
    read_date,
    read_decimal,
    read_id,
    read_int,
)
from programdesk.people import matching
from programdesk.people.models import Person
from programdesk.people.selectors import people_match_keys
from programdesk.people.services import PersonRules

Rows = list[tuple[int, dict[str, str]]]  # (row index, {field: text})
Checked = tuple[int, dict[str, Any], matching.PersonKeys]  # (row index, values, their keys)


def plan_people(run: ImportRun) -> None:
    people_resolve(run, run.each_row(), definitions=run.definitions, with_extra=True)
    _household_start_check(run)
    people_summary(run)


def _household_start_check(run: ImportRun) -> None:
    """A new person's ``household_start_date``: when they joined the household named (their
    membership starts then, not today); not in the future, and only with a household."""
    for person in run.new_people:
        start = person.values.get("household_start_date")
        if start is None:
            continue
        if person.account is None:
            run.error(person.first_row, "household_start_date",
                      "Name the household (account) the person joined.")
        elif start > run.today:
            run.error(person.first_row, "household_start_date",
                      "A membership cannot start in the future.")


def people_summary(run: ImportRun) -> None:
    """People counted once each (an attendance file names a person on many rows)."""
    named = [who for i, who in run.recipient_of.items()
             if isinstance(who, (ExistingPerson, NewPerson)) and i not in run.bad]
    distinct = set(named)
    run.result.summary.update({
        "people_new": len(run.new_people),
        "people_matched": sum(1 for who in distinct if isinstance(who, ExistingPerson)),
        "people_repeated": len(named) - len(distinct),
        "accounts_new": len(run.new_accounts)})


def people_resolve(run: ImportRun, rows: Rows, *, definitions: list[FieldDefinition],
                   with_extra: bool) -> None:
    """Fill ``run.recipient_of`` with the person of each row (``with_extra``: a people import,
    whose rows carry every person field; otherwise the rows only name people)."""
    by_id, cleaned = _people_checked(run, rows, definitions=definitions if with_extra else [],
                                     full=with_extra)
    _people_by_id(run, by_id)
    required = [d for d in definitions if d.required and d.program_id is None
                and d.benefit_id is None] if not with_extra else []
    _people_matched_or_new(run, cleaned, required=required)
    _card_codes_check(run)
    _new_people_accounts(run)


def _people_checked(run: ImportRun, rows: Rows, *, definitions: list[FieldDefinition],
                    full: bool) -> tuple[dict[int, list[int]], list[Checked]]:
    """({person id given: row indexes}, [(row index, checked person values, their keys)]).
    The person rules are compiled once (``PersonRules``) and check each row without raising;
    the matching keys are computed once per row, for matching, telling rows apart and
    writing."""
    by_id: dict[int, list[int]] = defaultdict(list)
    cleaned: list[Checked] = []
    check = PersonRules.compile(definitions=definitions, today=run.today).check
    person_values = _PersonColumns(run, full=full).values
    keys_of, bad, total = matching.person_keys, run.bad, len(run.rows)
    by_person_id = "person_id" in run.column_of
    for n, (index, values) in enumerate(rows, 1):
        if n % PROGRESS_EVERY == 0:
            run.progress("checking", n, total)
        if by_person_id and values["person_id"]:
            pk = read_id(values["person_id"])
            if pk is None:
                run.error(index, "person_id", f"'{values['person_id']}' is not an id.")
            else:
                by_id[pk].append(index)
            continue
        person = person_values(index, values)
        errors = check(person)
        if errors:
            for name, message in errors.items():
                run.error(index, name, message)
        elif index not in bad:
            cleaned.append((index, person, keys_of(person["first_name"], person["last_name"],
                                                   person["email"], person["phone"])))
    return by_id, cleaned


class _PersonColumns:
    """The person fields of a row as values, for the columns this file maps (which are
    mapped is settled once, not asked of every row). A field that cannot be read is an
    error on the row and left out, so the other fields are still checked."""

    def __init__(self, run: ImportRun, *, full: bool) -> None:
        self.run = run
        mapped = run.column_of
        # read from text: (field, reader) of the mapped ones
        self.read = [(name, reader) for name, reader in (
            ("birth_date", read_date), ("household_size", read_int),
            ("annual_income", read_decimal), ("household_start_date", read_date))
            if name in mapped and (full or name == "birth_date")]
        self.card_code = full and "card_code" in mapped
        self.extra = full  # a people import: every row carries its custom fields ({})
        self.extra_fields = bool(run.extra_fields)

    def values(self, index: int, values: dict[str, str]) -> dict[str, Any]:
        get = values.get
        person: dict[str, Any] = {"first_name": get("first_name", ""),
                                  "last_name": get("last_name", ""), "email": get("email", ""),
                                  "phone": get("phone", ""),
                                  "postal_code": get("postal_code", "")}
        for name, read in self.read:
            if text := get(name):
                try:
                    person[name] = read(text)
                except UnreadableValue as exc:
                    self.run.error(index, name, str(exc))
        if self.card_code and values["card_code"]:
            person["card_code"] = values["card_code"]
        if self.extra:
            person["extra"] = (self.run.extra_values(values, skip_empty=True)
                               if self.extra_fields else {})
        return person


def _people_by_id(run: ImportRun, by_id: dict[int, list[int]]) -> None:
    """Rows naming a person by id: that person, if the user may see them. One query."""
    if not by_id:
        return
    found = set(run.people_scope().filter(pk__in=JsonValues(list(by_id), cast="bigint"))
                .values_list("pk", flat=True))
    for pk, indexes in by_id.items():
        for index in indexes:
            if pk in found:
                run.recipient_of[index] = ExistingPerson(pk)
            else:
                run.error(index, "person_id", f"No person with id {pk}.")


def _people_matched_or_new(run: ImportRun, cleaned: list[Checked], *,
                           required: list[FieldDefinition]) -> None:
    """Each checked row's person: an existing one matched, an earlier row's, or a new one
    (refused when people need custom fields these rows cannot give)."""
    run.progress("matching people", 0, len(run.rows))
    matches = people_match_keys([(keys, p.get("birth_date")) for _, p, keys in cleaned],
                                among=run.people_scope())
    by_name = _match_by_name_only(run, [p for (_, p, _), m in zip(cleaned, matches, strict=True)
                                        if m is None])
    new_by_identity: dict[tuple[Any, ...], NewPerson] = {}
    recipient_of = run.recipient_of
    for (index, person, keys), match in zip(cleaned, matches, strict=True):
        if match is None and by_name:
            match = by_name.get(id(person))
        if match is not None:
            recipient_of[index] = ExistingPerson(match)
            continue
        identity = _identity(person, keys)
        if identity in new_by_identity:
            recipient_of[index] = new_by_identity[identity]
            continue
        if required:
            labels = ", ".join(d.label for d in required)
            run.error(index, "", f"This person is new and people need {labels}: import "
                                 "them first (people import), then this file.")
            continue
        new = NewPerson(values=person, first_row=index, keys=keys)
        new_by_identity[identity] = recipient_of[index] = new
        run.new_people.append(new)


def _identity(person: dict[str, Any], keys: matching.PersonKeys) -> tuple[Any, ...]:
    """Rows of one file are the same new person when their names fold to the same letters
    and they have the same birth date — or, without one, the same email and phone."""
    if person.get("birth_date"):
        return (keys.first, keys.last, person["birth_date"])
    return (keys.first, keys.last, None, person["email"], keys.phone)


def _match_by_name_only(run: ImportRun, people: list[dict[str, Any]]) -> dict[int, int]:
    """Rows with nothing but a name are the existing person of that exact name with
    nothing else recorded either (no birth date, email or phone) — nothing tells them
    apart, and a re-import must not make them again. The oldest the user may see wins.
    One query. {id() of the row's values: person id}."""
    bare = [p for p in people if not (p.get("birth_date") or p["email"] or p["phone"])]
    if not bare:
        return {}
    keys = sorted({matching.sound_key(p["last_name"]) for p in bare} - {""})
    found: dict[tuple[str, str], int] = {}
    rows = (run.people_scope().filter(last_name_key__in=JsonValues(keys),
                                      birth_date__isnull=True, email="", phone_key="")
            .order_by("-id").values_list("id", "first_name", "last_name"))
    for pk, first, last in rows.iterator(5000):
        found[(matching.fold(first), matching.fold(last))] = pk  # the oldest last
    result = {}
    for p in bare:
        match = found.get((matching.fold(p["first_name"]), matching.fold(p["last_name"])))
        if match is not None:
            result[id(p)] = match
    return result


def _card_codes_check(run: ImportRun) -> None:
    """A new person's card code is on no other row and no existing person. One query."""
    codes: dict[str, int] = {}
    for person in run.new_people:
        code = person.values.get("card_code")
        if not code:
            continue
        if code in codes:
            run.error(person.first_row, "card_code",
                      f"The card code {code} is also on row {run.rows[codes[code]][0]}.")
        codes.setdefault(code, person.first_row)
    if codes:
        taken = set(Person.objects.filter(card_code__in=JsonValues(list(codes)))
                    .values_list("card_code", flat=True))
        for code in sorted(c for c in taken if c):
            run.error(codes[code], "card_code", f"Another person has the card code {code}.")


def _new_people_accounts(run: ImportRun) -> None:
    """The account column of new people: an existing account by id or name (the one with
    the person's postal code when several share the name), else a new household."""
    wanted = [(p, run.rows[p.first_row][1]) for p in run.new_people]
    wanted = [(p, v) for p, v in wanted if v.get("account") or v.get("account_id")]
    if not wanted:
        return
    by_id = accounts_by_id(run, [v.get("account_id", "") for _, v in wanted])
    names = accounts_by_name(run, [v["account"] for _, v in wanted if v.get("account")])
    for person, values in wanted:
        index = person.first_row
        if values.get("account_id"):
            pk = read_id(values["account_id"])
            if pk is None or pk not in by_id:
                run.error(index, "account_id", f"No account with id {values['account_id']}.")
            else:
                person.account = ExistingAccount(pk)
            continue
        name = " ".join(values["account"].split())
        candidates = names.get(name_key(name), [])
        if len(candidates) > 1:
            same = [c for c in candidates if c[2] == person.values.get("postal_code")]
            candidates = same if len(same) == 1 else candidates
        if len(candidates) > 1:
            run.error(index, "account", f"{len(candidates)} accounts are named '{name}': "
                                        "give the account id instead.")
        elif candidates:
            person.account = ExistingAccount(candidates[0][0])
        else:
            person.account = new_account(run, NewAccount(
                name=name, postal_code=person.values.get("postal_code", "")))
