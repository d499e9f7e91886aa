"""Property tests for eligibility rules: cleaning any JSON a client may send as a rule's params,
and deciding a cleaned rule for any person.

Cleaning (``services.eligibility_params_clean``) is total: a clean dict or our
``ValidationError`` with field messages, never another exception; and idempotent, down to the
stored JSON text. Deciding (``eligibility._decide``, the pure core both entry points call) never
raises and agrees with an independent statement of each rule. One small database test checks the
two entry points against each other on rules stored through the service."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from programdesk.core.errors import ValidationError
from programdesk.people.matching import postal_key
from programdesk.people.models import DocumentType
from programdesk.people.services import MAX_HOUSEHOLD_SIZE, MAX_INCOME
from programdesk.programs import services
from programdesk.programs.eligibility import (
    _decide,
    _Facts,
    eligibility_check,
    eligibility_check_many,
)
from programdesk.programs.models import Criterion, IncomeGuideline
from tests import factories as f

SETTINGS = settings(derandomize=True, database=None, deadline=None, max_examples=200,
                    suppress_health_check=[HealthCheck.too_slow])
CRITERIA = list(Criterion.values)
KEYS = ["min", "max", "codes", "prefixes", "max_percent", "document_type", "within_days"]

# --- strategies --------------------------------------------------------------------------------

json_scalars = (st.none() | st.booleans() | st.integers() | st.floats()
                | st.text(max_size=12)
                # text a form would send: numbers, codes, document types
                | st.integers(-5, 1200).map(str) | st.sampled_from(DocumentType.values)
                | st.decimals(allow_nan=True, places=3).map(str))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                           max_leaves=12)
# Mostly the keys a rule knows, so the interesting branches are reached; some unknown ones.
params_dicts = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), json_values,
                               max_size=4)
anything = params_dicts | json_values
numbers = (st.integers(-5, 1200) | st.integers(-5, 1200).map(str) | st.floats(-5, 1200)
           | st.decimals(-5, 1200, places=4).map(str))
codes = st.text(max_size=8) | st.integers(0, 99999)
# Per criterion, values near what a form or a client sends.
PLAUSIBLE: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "age": {"min": numbers, "max": numbers},
    "postal_code": {"codes": st.lists(codes, max_size=4) | st.text(max_size=20),
                    "prefixes": st.lists(codes, max_size=4) | st.text(max_size=20)},
    "income": {"max_percent": numbers},
    "document": {"document_type": st.sampled_from(DocumentType.values) | st.text(max_size=8),
                 "within_days": numbers},
}


@st.composite
def rule_params(draw: Any) -> tuple[str, Any]:
    """A criterion and params: mostly its own keys with plausible values (some valid), else
    anything at all."""
    criterion = draw(st.sampled_from([*CRITERIA, ""]))
    if not criterion:
        criterion = draw(st.text(max_size=8))
    if criterion in PLAUSIBLE and draw(st.integers(0, 3)):
        known = {k: st.one_of(v, v, v, json_values) for k, v in PLAUSIBLE[criterion].items()}
        return criterion, draw(st.fixed_dictionaries({}, optional=known))
    return criterion, draw(anything)


def clean(criterion: str, params: Any) -> dict[str, Any] | None:
    try:
        return services.eligibility_params_clean(criterion, params)
    except ValidationError as exc:
        assert exc.errors and all(e["message"] for e in exc.errors)
        assert all(e["field"] == "criterion" or e["field"] == "params"
                   or e["field"].startswith("params.") for e in exc.errors)
        return None


def cleaned(criterion: str, params: Any) -> dict[str, Any]:
    return services.eligibility_params_clean(criterion, params)


# --- cleaning ----------------------------------------------------------------------------------


@SETTINGS
@given(rule_params())
@example(("income", {"max_percent": "1e-400"}))  # was stored as 0.0: a rule nobody passes
@example(("income", {"max_percent": 10 ** 5000}))  # was a ValueError (int to text limit)
@example(("income", {"max_percent": "999.99999999999999999"}))  # stored 1000.0, then 1000
@example(("postal_code", {"codes": "sw1a 1aa, ec1", "prefixes": [True, 10]}))
def test_cleaning_is_total_and_idempotent(rule: tuple[str, Any]) -> None:
    criterion, params = rule
    result = clean(criterion, params)
    event(f"{criterion if criterion in CRITERIA else 'unknown'}: "
          f"{'refused' if result is None else 'clean'}")
    if result is None:
        return
    assert isinstance(result, dict)
    # What is stored (JSON) cleans to itself: the same values and the same JSON text.
    stored = json.loads(json.dumps(result))
    again = cleaned(criterion, stored)
    assert json.dumps(again, sort_keys=True) == json.dumps(result, sort_keys=True)


@SETTINGS
@given(st.one_of(st.none(), st.integers(-3, 140), st.integers(-3, 140).map(str)),
       st.one_of(st.none(), st.integers(-3, 140), st.integers(-3, 140).map(str)))
def test_age_params_are_whole_numbers_in_order(low: Any, high: Any) -> None:
    params = {k: v for k, v in {"min": low, "max": high}.items() if v is not None}
    result = clean("age", params)
    numbers = [int(v) for v in params.values()]
    valid = (bool(numbers) and all(0 <= n <= services.MAX_AGE for n in numbers)
             and (len(numbers) < 2 or int(params["min"]) <= int(params["max"])))
    assert (result is not None) == valid
    if result is not None:
        assert result == {k: int(v) for k, v in params.items()}


@SETTINGS
@given(st.lists(st.text(max_size=8), max_size=4), st.lists(st.text(max_size=8), max_size=4))
def test_postal_params_are_sorted_distinct_keys(codes: list[str], prefixes: list[str]) -> None:
    result = clean("postal_code", {"codes": codes, "prefixes": prefixes})
    expected_codes = sorted({postal_key(c) for c in codes} - {""})
    expected_prefixes = sorted({postal_key(p) for p in prefixes} - {""})
    if not expected_codes and not expected_prefixes:
        assert result is None
    else:
        assert result == {"codes": expected_codes, "prefixes": expected_prefixes}


# --- deciding ----------------------------------------------------------------------------------

ON = st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31))
birth_dates = st.none() | st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31))
sizes = st.none() | st.integers(1, MAX_HOUSEHOLD_SIZE)
incomes = st.none() | st.decimals(0, MAX_INCOME, places=2)
# A guideline table as income_guidelines_replace allows it (sizes 1..50, amounts >= 0).
guideline_tables = st.dictionaries(st.integers(1, 8), st.decimals(0, 100_000, places=2),
                                   max_size=8)


@st.composite
def facts(draw: Any, on: dt.date) -> _Facts:
    # The entry points only ever look up documents verified on or before the service date.
    documents = draw(st.dictionaries(
        st.sampled_from(DocumentType.values),
        st.integers(0, 5000).map(lambda days: on - dt.timedelta(days=days)), max_size=3))
    return _Facts(birth_date=draw(birth_dates), postal_code=draw(st.text(max_size=10)),
                  household_size=draw(sizes), annual_income=draw(incomes),
                  latest_document=documents)


def age_on(birth: dt.date, on: dt.date) -> int:
    """Whole years, written differently from the code. A 29 February birthday is reached on
    28 February in common years (as dateutil's relativedelta counts, which the code uses)."""
    try:
        birthday = birth.replace(year=on.year)
    except ValueError:
        birthday = birth.replace(year=on.year, day=28)
    return on.year - birth.year - (on < birthday)


def guideline(size: int, table: dict[int, Decimal]) -> Decimal | None:
    if size in table:
        return table[size]
    if len(table) < 2 or size < max(table):
        return None
    top, below = sorted(table)[-1], sorted(table)[-2]
    return table[top] + (table[top] - table[below]) * (size - top)


@SETTINGS
@given(rule_params(), st.data())
def test_deciding_a_cleaned_rule_never_raises(given_rule: tuple[str, Any], data: Any) -> None:
    criterion, params = given_rule
    rule = clean(criterion, params)
    event("decided" if rule is not None else "refused")
    if rule is None:
        return
    on = data.draw(ON)
    passed, reason = _decide(criterion, json.loads(json.dumps(rule)), data.draw(facts(on)), on,
                             data.draw(guideline_tables))
    assert isinstance(passed, bool) and reason


@SETTINGS
@given(st.none() | st.integers(0, 130), st.none() | st.integers(0, 130), ON, birth_dates)
@example(None, 26, dt.date(2027, 2, 28), dt.date(2000, 2, 29))  # 27 that day
@example(27, None, dt.date(2027, 2, 27), dt.date(2000, 2, 29))  # still 26
def test_age_rule_passes_exactly_inside_the_range(low: int | None, high: int | None,
                                                  on: dt.date, birth: dt.date | None) -> None:
    rule = clean("age", {k: v for k, v in {"min": low, "max": high}.items() if v is not None})
    if rule is None:
        return
    passed, _ = _decide("age", rule, _Facts(birth, "", None, None, {}), on, {})
    expected = birth is not None and birth <= on and (
        low is None or age_on(birth, on) >= low) and (high is None or age_on(birth, on) <= high)
    assert passed == expected


@SETTINGS
@given(st.integers(0, 130), st.integers(0, 130), ON, st.integers(0, 364))
def test_everyone_whose_age_is_in_the_range_passes(a: int, b: int, on: dt.date,
                                                   days: int) -> None:
    low, high = sorted((a, b))
    rule = cleaned("age", {"min": low, "max": high})
    for age in {low, high, (low + high) // 2}:
        # Born ``age`` years and up to a year less a day before the service date.
        birth = on - relativedelta(years=age) - dt.timedelta(days=days)
        if age_on(birth, on) != age:
            continue  # reached back past the birthday before
        assert _decide("age", rule, _Facts(birth, "", None, None, {}), on, {})[0]
    older = on - relativedelta(years=high + 1)  # high + 1 years old that day
    assert not _decide("age", rule, _Facts(older, "", None, None, {}), on, {})[0]
    if low > 0:
        younger = on - relativedelta(years=low) + dt.timedelta(days=1)  # low - 1 years old
        assert not _decide("age", rule, _Facts(younger, "", None, None, {}), on, {})[0]


@SETTINGS
@given(st.decimals(Decimal("0.01"), 1000, places=2), sizes, incomes, guideline_tables, ON)
def test_income_rule_is_the_guideline_share(percent: Decimal, size: int | None,
                                            income: Decimal | None,
                                            table: dict[int, Decimal], on: dt.date) -> None:
    rule = cleaned("income", {"max_percent": str(percent)})
    person = _Facts(None, "", size, income, {})
    passed, reason = _decide("income", rule, person, on, table)
    line = guideline(size, table) if size is not None else None
    assert passed == (income is not None and line is not None
                      and income <= line * percent / 100)
    if not passed and (income is None or size is None):
        assert "No household" in reason
    if passed:
        # Monotonic: a lower income, a higher percentage, a guideline table raised by a
        # constant all pass too.
        assert _decide("income", rule, _Facts(None, "", size, income / 2, {}), on, table)[0]
        higher = cleaned("income", {"max_percent": str(min(percent * 2, Decimal(1000)))})
        assert _decide("income", higher, person, on, table)[0]
        raised = {k: v + 1 for k, v in table.items()}
        assert _decide("income", rule, person, on, raised)[0]


@SETTINGS
@given(st.lists(st.decimals(0, 10_000, places=2), min_size=2, max_size=6), st.integers(1, 12),
       st.decimals(0, 100_000, places=2), st.integers(1, 1000))
def test_a_larger_household_never_fails_where_a_smaller_passes(
        steps: list[Decimal], size: int, income: Decimal, percent: int) -> None:
    # A guideline that grows with the household (as the federal poverty guideline does).
    table = {n: sum(steps[:n], Decimal(0)) for n in range(1, len(steps) + 1)}
    rule = cleaned("income", {"max_percent": percent})
    on = dt.date(2026, 3, 2)
    if _decide("income", rule, _Facts(None, "", size, income, {}), on, table)[0]:
        assert _decide("income", rule, _Facts(None, "", size + 1, income, {}), on, table)[0]


@SETTINGS
@given(st.lists(st.text(max_size=6), max_size=3), st.lists(st.text(max_size=4), max_size=3),
       st.text(max_size=10), st.lists(st.text(max_size=4), max_size=2))
@example(["sw1a 1aa"], [], " Sw1A1aa ", [])
def test_postal_rule_is_membership_or_prefix(codes: list[str], prefixes: list[str],
                                             postal: str, more: list[str]) -> None:
    rule = clean("postal_code", {"codes": codes, "prefixes": prefixes})
    if rule is None:
        return
    person = _Facts(None, postal, None, None, {})
    on = dt.date(2026, 3, 2)
    passed, _ = _decide("postal_code", rule, person, on, {})
    key = postal_key(postal)
    assert passed == (bool(postal) and (key in rule["codes"]
                                        or any(key.startswith(p) for p in rule["prefixes"])))
    if passed:  # a larger service area still holds the person
        wider = cleaned("postal_code", {"codes": codes + more, "prefixes": prefixes + more})
        assert _decide("postal_code", wider, person, on, {})[0]


@SETTINGS
@given(st.sampled_from(DocumentType.values), st.integers(1, 3660), ON, st.data())
def test_document_rule_is_a_recent_enough_verification(doc_type: str, within: int,
                                                       on: dt.date, data: Any) -> None:
    rule = cleaned("document", {"document_type": doc_type, "within_days": str(within)})
    person = data.draw(facts(on))
    passed, _ = _decide("document", rule, person, on, {})
    latest = person.latest_document.get(doc_type)
    assert passed == (latest is not None and (on - latest).days <= within)
    if passed:
        longer = cleaned("document", {"document_type": doc_type, "within_days": 3660})
        assert _decide("document", longer, person, on, {})[0]


# --- the database entry points agree with each other ------------------------------------------

TABLE = {1: Decimal("15650"), 2: Decimal("21150")}  # household size 3 and up: + 5500 each


@pytest.mark.django_db
@settings(derandomize=True, database=None, deadline=None, max_examples=30,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.integers(0, 40), st.integers(0, 90), st.integers(10, 300),
       st.lists(st.tuples(birth_dates, sizes, incomes, st.sampled_from(["", "10001", "1000"])),
                min_size=1, max_size=4))
def test_one_and_many_decide_alike_from_stored_rules(
        db: None, low: int, span: int, percent: int, people: list[Any]) -> None:
    if not IncomeGuideline.objects.exists():
        services.income_guidelines_replace(actor=None, rows=list(TABLE.items()))
    program = f.ProgramFactory()
    rules: list[tuple[str, dict[str, Any]]] = [("age", {"min": str(low), "max": low + span}),
                                               ("income", {"max_percent": percent}),
                                               ("postal_code", {"codes": "10001",
                                                                "prefixes": ["100"]})]
    for criterion, params in rules:
        services.eligibility_rule_create(actor=None, criterion=criterion, params=params,
                                         program=program)
    on = dt.date(2026, 3, 2)
    persons = [f.PersonFactory(birth_date=b if b is None or b <= on else None,
                               household_size=s, annual_income=i, postal_code=p)
               for b, s, i, p in people]
    many = eligibility_check_many(person_ids=[p.pk for p in persons], program_id=program.pk,
                                  on=on)
    for person in persons:
        one = eligibility_check(person=person, program=program, on=on)
        assert one.as_dict() == many[person.pk].as_dict()
        age, income, postal = (r.passed for r in one.results)
        birth = person.birth_date
        assert age == (birth is not None and low <= age_on(birth, on) <= low + span)
        line = guideline(person.household_size, TABLE) if person.household_size else None
        assert income == (person.annual_income is not None and line is not None
                          and person.annual_income <= line * percent / 100)
        assert postal == bool(person.postal_code)  # "10001" is listed, "1000" starts "100"
