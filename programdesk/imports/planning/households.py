"""Planning a households import: who lived in which household, when, as what — and each
household's declared size (members not registered here) and yearly income.

A row names a household (id, or name: a new household for a name nobody has) and, usually, a
person (id, or name with birth date, email or phone: matched like every import, new when
nobody matches) with their relationship to the head and their dates. A row naming no person
gives only the household's facts. Rows add memberships; they never change or end one that
exists: a membership recorded already (same person, household and start date) is counted as
matched, one whose dates overlap another of the person's is an error, as is a second current
head. Memberships already recorded and the disbursements' household snapshots stay as they
are."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from programdesk.core.bulk import JsonValues
from programdesk.core.errors import ValidationError
from programdesk.imports import fields
from programdesk.imports.fields import ImportKind
from programdesk.imports.planning.accounts import accounts_by_name, new_account
from programdesk.imports.planning.people import Rows, people_resolve
from programdesk.imports.run import (
    ExistingAccount,
    ExistingPerson,
    ImportRun,
    NewAccount,
    NewPerson,
)
from programdesk.imports.values import UnreadableValue, name_key, read_date, read_id, read_int
from programdesk.people.models import AccountKind, HouseholdMembership, Relationship
from programdesk.people.services import account_values_clean

Household = ExistingAccount | NewAccount
Interval = tuple[dt.date, dt.date | None]

_PERSON_FIELDS = ("person_id", "first_name", "last_name", "birth_date", "email", "phone")
RELATIONSHIP_WORDS = {
    **{r.value: r.value for r in Relationship},
    **{r.label.lower(): r.value for r in Relationship},
    "head": Relationship.HEAD, "householder": Relationship.HEAD, "self": Relationship.HEAD,
    "spouse": Relationship.SPOUSE_PARTNER, "partner": Relationship.SPOUSE_PARTNER,
    "spouse/partner": Relationship.SPOUSE_PARTNER, "wife": Relationship.SPOUSE_PARTNER,
    "husband": Relationship.SPOUSE_PARTNER, "son": Relationship.CHILD,
    "daughter": Relationship.CHILD, "children": Relationship.CHILD,
    "relative": Relationship.OTHER_RELATIVE, "other relative": Relationship.OTHER_RELATIVE,
}


def plan_households(run: ImportRun) -> None:
    household_of = _households_resolve(run)
    person_rows: Rows = [(i, v) for i, v in run.each_row()
                         if i in household_of and any(v.get(k) for k in _PERSON_FIELDS)]
    if person_rows:
        people_resolve(run, person_rows,
                       definitions=fields.custom_definitions(ImportKind.PEOPLE),
                       with_extra=False)
        for person in run.new_people:
            person.account = None  # their memberships are the rows', not from today
    _facts_read(run, household_of)
    for index, values in run.each_row():
        if not any(values.get(k) for k in (*_PERSON_FIELDS, "declared_size", "annual_income")):
            run.error(index, "", "Name a person (first and last name, or person id), or give "
                                 "the household's declared size or income.")
    matched, repeated = _memberships_plan(run, household_of, [i for i, _ in person_rows])
    named = {who for i, who in run.recipient_of.items() if i not in run.bad}
    run.result.summary = {
        "memberships_new": len(run.memberships), "memberships_matched": matched,
        "memberships_repeated": repeated,
        "households_new": len(run.new_accounts),
        "households_facts": len(run.household_facts),
        "people_new": len(run.new_people),
        "people_matched": sum(1 for who in named if isinstance(who, ExistingPerson))}


# --- the household of each row ----------------------------------------------------------------


def _households_resolve(run: ImportRun) -> dict[int, Household]:
    """{row index: household}: an existing household by id or by name (the one the user may
    see), else a new household of that name. Two queries."""
    rows = run.each_row()
    ids = {pk for _, v in rows if (pk := read_id(v.get("account_id", ""))) is not None}
    kinds = dict(run.accounts_scope().filter(pk__in=JsonValues(sorted(ids), cast="bigint"))
                 .values_list("pk", "kind")) if ids else {}
    names = accounts_by_name(run, [v["account"] for _, v in rows
                                   if v.get("account") and not v.get("account_id")])
    household_of: dict[int, Household] = {}
    for index, values in rows:
        found = (_household_by_id(run, index, values["account_id"], kinds)
                 if values.get("account_id") else
                 _household_by_name(run, index, values.get("account", ""), names))
        if found is not None:
            household_of[index] = found
    return household_of


def _household_by_id(run: ImportRun, index: int, text: str, kinds: dict[int, str]
                     ) -> Household | None:
    pk = read_id(text)
    if pk is None or pk not in kinds:
        run.error(index, "account_id", f"No household with id {text}.")
        return None
    if kinds[pk] != AccountKind.HOUSEHOLD:
        run.error(index, "account_id", f"Account {pk} is an organization, not a household.")
        return None
    return ExistingAccount(pk)


def _household_by_name(run: ImportRun, index: int, text: str,
                       names: dict[str, list[tuple[int, str, str, str]]]) -> Household | None:
    name = " ".join(text.split())
    if not name:
        run.error(index, "account", "Name the household (or give its id).")
        return None
    candidates = [c for c in names.get(name_key(name), []) if c[3] == AccountKind.HOUSEHOLD]
    if len(candidates) > 1:
        run.error(index, "account", f"{len(candidates)} households are named '{name}': give "
                                    "the household id instead.")
        return None
    if candidates:
        return ExistingAccount(candidates[0][0])
    try:
        account_values_clean({"name": name, "kind": AccountKind.HOUSEHOLD})
    except ValidationError as exc:
        for e in exc.errors:
            run.error(index, "account", e["message"])
        return None
    return new_account(run, NewAccount(name=name))


# --- declared size and income -----------------------------------------------------------------


def _facts_read(run: ImportRun, household_of: dict[int, Household]) -> None:
    """Each household's declared size and income, checked by ``account_values_clean``; two
    rows giving one household different values → an error on the later one."""
    first_row: dict[tuple[Household, str], tuple[int, Any]] = {}
    for index, values in run.each_row():
        facts = _facts_of_row(run, index, values)
        household = household_of.get(index)
        if not facts or household is None:
            continue
        for name, value in facts.items():
            earlier = first_row.setdefault((household, name), (index, value))
            if earlier[1] != value:
                run.error(index, name, f"Row {run.rows[earlier[0]][0]} gives this household "
                                       f"{earlier[1]}.")
        if index not in run.bad:
            run.household_facts.setdefault(household, {}).update(facts)


def _facts_of_row(run: ImportRun, index: int, values: dict[str, str]) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    if values.get("declared_size"):
        try:
            facts["declared_size"] = read_int(values["declared_size"])
        except UnreadableValue as exc:
            run.error(index, "declared_size", str(exc))
    if values.get("annual_income"):
        facts["annual_income"] = values["annual_income"].replace(",", "").lstrip("$")
    if not facts:
        return {}
    try:
        return {k: v for k, v in account_values_clean(dict(facts)).items() if k in facts}
    except ValidationError as exc:
        run.errors_from(index, exc)
        return {}


# --- memberships ------------------------------------------------------------------------------


def _membership_values(run: ImportRun, index: int, values: dict[str, str]
                       ) -> tuple[str, dt.date, dt.date | None] | None:
    """(relationship, start date, end date) of a row, checked; None after an error."""
    bad = len(run.result.errors)
    word = " ".join(values.get("relationship", "").lower().split())
    relationship = RELATIONSHIP_WORDS.get(word) if word else Relationship.OTHER
    if relationship is None:
        run.error(index, "relationship", f"'{values['relationship']}' is not a relationship: "
                                         "use head, spouse or partner, child, other relative "
                                         "or other.")
    dates: dict[str, dt.date | None] = {"start_date": run.today, "end_date": None}
    for name in dates:
        if values.get(name):
            try:
                dates[name] = read_date(values[name])
            except UnreadableValue as exc:
                run.error(index, name, str(exc))
    start, end = dates["start_date"] or run.today, dates["end_date"]
    if start > run.today:
        run.error(index, "start_date", "A membership cannot start in the future.")
    if end is not None and end > run.today:
        run.error(index, "end_date", "The end date is in the future: leave it empty for a "
                                     "current member.")
    if end is not None and end < start:
        run.error(index, "end_date", "The end date is before the start date.")
    if relationship is None or len(run.result.errors) > bad:
        return None
    return relationship, start, end


def _overlaps(a: Interval, b: Interval) -> bool:
    return (b[1] is None or a[0] <= b[1]) and (a[1] is None or b[0] <= a[1])


def _memberships_plan(run: ImportRun, household_of: dict[int, Household],
                      person_rows: list[int]) -> tuple[int, int]:
    """Every person row's membership, checked against the person's memberships recorded and
    those of earlier rows, and against the household's current head. Two queries.
    Returns (matched, repeated)."""
    existing = _existing_memberships(run, person_rows)
    heads = _current_heads(run, household_of)
    planned: dict[Any, list[tuple[int, Any, Interval]]] = defaultdict(list)
    matched = repeated = 0
    for index in person_rows:
        checked = _membership_values(run, index, run.rows[index][1])
        who = run.recipient_of.get(index)
        if checked is None or not isinstance(who, (ExistingPerson, NewPerson)) \
                or index in run.bad:
            continue
        relationship, start, end = checked
        household = household_of[index]
        key = household.account_id if isinstance(household, ExistingAccount) else household
        span: Interval = (start, end)
        person_key = who.person_id if isinstance(who, ExistingPerson) else who
        recorded = existing.get(who.person_id, []) if isinstance(who, ExistingPerson) else []
        if any(a == key and s == start for a, s, _, _ in recorded):
            matched += 1
            continue
        if any(a == key and s == span for _, a, s in planned[person_key]):
            repeated += 1
            continue
        if not _overlap_checked(run, index, who, span, recorded, planned[person_key]):
            continue
        if relationship == Relationship.HEAD and end is None \
                and not _head_checked(run, index, key, heads):
            continue
        planned[person_key].append((index, key, span))
        run.memberships.append({"recipient": who, "household": household,
                                "relationship": relationship, "start_date": start,
                                "end_date": end})
    return matched, repeated


def _person_label(who: ExistingPerson | NewPerson, index: int, run: ImportRun) -> str:
    values = run.rows[index][1]
    name = f"{values.get('first_name', '')} {values.get('last_name', '')}".strip()
    return name or run.person_names.get(who.person_id or 0, f"Person {who.person_id}")


def _overlap_checked(run: ImportRun, index: int, who: ExistingPerson | NewPerson,
                     span: Interval, recorded: list[tuple[Any, dt.date, dt.date | None, str]],
                     planned: list[tuple[int, Any, Interval]]) -> bool:
    name = _person_label(who, index, run)
    for account, start, end, account_name in recorded:
        if _overlaps(span, (start, end)):
            until = f"until {end}" if end else "and still is (end that membership first)"
            run.error(index, "start_date", f"{name} is recorded in {account_name} (#{account})"
                                           f" from {start} {until}: the dates overlap.")
            return False
    for other, _, other_span in planned:
        if _overlaps(span, other_span):
            run.error(index, "start_date", f"{name}'s dates overlap those on row "
                                           f"{run.rows[other][0]}.")
            return False
    return True


def _head_checked(run: ImportRun, index: int, key: Any, heads: dict[Any, str]) -> bool:
    """One current head per household: recorded, or on an earlier row."""
    if key in heads:
        where = "" if heads[key] == "recorded" else f" on {heads[key]}"
        run.error(index, "relationship", f"The household already has a current head{where}.")
        return False
    heads[key] = f"row {run.rows[index][0]}"
    return True


def _existing_memberships(run: ImportRun, person_rows: list[int]
                          ) -> dict[int, list[tuple[int, dt.date, dt.date | None, str]]]:
    """The memberships recorded of the existing people the rows name. One query."""
    people = sorted({who.person_id for i in person_rows
                     if isinstance(who := run.recipient_of.get(i), ExistingPerson)})
    found: dict[int, list[tuple[int, dt.date, dt.date | None, str]]] = defaultdict(list)
    if not people:
        return found
    for person, account, start, end, name, first, last in (
            HouseholdMembership.objects.filter(person_id__in=JsonValues(people, cast="bigint"))
            .values_list("person_id", "account_id", "start_date", "end_date", "account__name",
                         "person__first_name", "person__last_name")):
        found[person].append((account, start, end, name))
        run.person_names[person] = f"{first} {last}"
    return found


def _current_heads(run: ImportRun, household_of: dict[int, Household]) -> dict[Any, str]:
    """{household id: its current head's name} of the existing households named. One query."""
    ids = sorted({h.account_id for h in household_of.values() if isinstance(h, ExistingAccount)})
    if not ids:
        return {}
    # Not the head's name: the user may not see them (a household is visible through any
    # member the user may see).
    return {account: "recorded" for account in
            HouseholdMembership.objects.filter(account_id__in=JsonValues(ids, cast="bigint"),
                                               end_date__isnull=True,
                                               relationship=Relationship.HEAD)
            .values_list("account_id", flat=True)}
