"""Eligibility rules and decisions (programs.eligibility)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from programdesk.core.errors import ValidationError
from programdesk.people.models import Person, PersonDocument
from programdesk.programs import services
from programdesk.programs.eligibility import (
    EligibilityDecision,
    eligibility_check,
    eligibility_check_many,
    rule_summary,
)
from programdesk.programs.models import EligibilityRule
from tests import factories as f

pytestmark = pytest.mark.django_db

ON = dt.date(2026, 3, 2)


def rule(criterion: str, params: dict, mode: str = "warn", **scope) -> EligibilityRule:
    if not scope:
        scope = {"program": PROGRAM[0]}
    return services.eligibility_rule_create(actor=None, criterion=criterion, params=params,
                                            mode=mode, **scope)


PROGRAM: list = []


@pytest.fixture(autouse=True)
def program(db) -> None:
    PROGRAM[:] = [f.ProgramFactory()]


def check(person: Person, **kwargs: Any) -> EligibilityDecision:
    kwargs.setdefault("program", PROGRAM[0])
    return eligibility_check(person=person, on=ON, **kwargs)


def reasons(person: Person, **kwargs) -> list[tuple[bool, str]]:
    return [(r.passed, r.reason) for r in check(person, **kwargs).results]


def test_no_rules_means_eligible() -> None:
    decision = check(f.PersonFactory())
    assert decision.eligible and not decision.blocked and decision.results == []


def test_age_rule() -> None:
    rule("age", {"min": 14, "max": 24}, mode="block")
    assert reasons(f.PersonFactory(birth_date=dt.date(2000, 3, 1))) == [
        (False, "Age 26 is above the maximum of 24 on 2026-03-02.")]
    assert reasons(f.PersonFactory(birth_date=dt.date(2012, 3, 3))) == [
        (False, "Age 13 is below the minimum of 14 on 2026-03-02.")]
    assert reasons(f.PersonFactory(birth_date=dt.date(2012, 3, 2))) == [
        (True, "Age 14 is within 14–24 on 2026-03-02.")]
    assert reasons(f.PersonFactory()) == [
        (False, "No birth date recorded; the age rule (14–24) needs one.")]


def test_age_on_the_service_date_not_today() -> None:
    rule("age", {"max": 24})
    person = f.PersonFactory(birth_date=dt.date(2001, 6, 1))
    assert check(person).eligible  # 24 on 2026-03-02
    assert not eligibility_check(person=person, program=PROGRAM[0],
                                 on=dt.date(2026, 6, 1)).eligible  # 25 that day


def test_postal_code_rule_by_list_or_prefix() -> None:
    rule("postal_code", {"codes": ["02139"], "prefixes": ["021 2"]})
    assert reasons(f.PersonFactory(postal_code="02139"))[0][0]
    assert reasons(f.PersonFactory(postal_code="02125"))[0] == (
        True, "Postal code 02125 is in the service area.")
    assert reasons(f.PersonFactory(postal_code="10001"))[0] == (
        False, "Postal code 10001 is not in the service area (02139; starting with 0212).")
    assert not reasons(f.PersonFactory())[0][0]


def test_postal_code_falls_back_to_the_account() -> None:
    rule("postal_code", {"codes": ["02139"]})
    person = f.PersonFactory(account=f.AccountFactory(postal_code="02139"))
    assert check(person).eligible
    assert eligibility_check_many(person_ids=[person.pk], program_id=PROGRAM[0].pk,
                                  on=ON)[person.pk].eligible


def test_income_rule_against_the_guideline() -> None:
    services.income_guidelines_replace(actor=None, rows=[(1, Decimal("15650")),
                                                         (2, Decimal("21150")),
                                                         (3, Decimal("26650"))])
    rule("income", {"max_percent": 200}, mode="block")
    poor = f.PersonFactory(household_size=3, annual_income=Decimal("40000"))
    rich = f.PersonFactory(household_size=3, annual_income=Decimal("60000"))
    assert reasons(poor) == [(True, "Household income $40,000.00 is 150% of the guideline for "
                                    "a household of 3 ($26,650.00); the maximum is 200%.")]
    assert reasons(rich) == [(False, "Household income $60,000.00 is 225% of the guideline for "
                                     "a household of 3 ($26,650.00); the maximum is 200% "
                                     "($53,300.00).")]
    assert check(rich).blocked
    # larger than the table: each extra person adds the last step (5,500)
    big = f.PersonFactory(household_size=5, annual_income=Decimal("75000"))
    assert "of 5 ($37,650.00)" in reasons(big)[0][1] and reasons(big)[0][0]
    assert reasons(f.PersonFactory(household_size=2)) == [
        (False, "No household income recorded; the income rule needs one.")]
    assert reasons(f.PersonFactory(annual_income=1)) == [
        (False, "No household size recorded; the income rule needs one.")]


def test_income_rule_without_a_guideline() -> None:
    rule("income", {"max_percent": 150})
    assert reasons(f.PersonFactory(household_size=2, annual_income=1)) == [
        (False, "No income guideline is configured for a household of 2.")]


def test_document_rule_within_days_before_the_service_date() -> None:
    rule("document", {"document_type": "income", "within_days": 365})
    person = f.PersonFactory()
    assert reasons(person) == [
        (False, "No proof of income verified within 365 days before 2026-03-02 (none on file).")]
    PersonDocument.objects.create(person=person, document_type="income",
                                  verified_on=dt.date(2024, 1, 10))
    assert reasons(person) == [
        (False, "No proof of income verified within 365 days before 2026-03-02 (the latest "
                "was verified on 2024-01-10).")]
    PersonDocument.objects.create(person=person, document_type="address",
                                  verified_on=dt.date(2026, 1, 10))
    PersonDocument.objects.create(person=person, document_type="income",
                                  verified_on=dt.date(2025, 3, 2))
    assert reasons(person) == [(True, "Proof of income verified on 2025-03-02 (within 365 "
                                      "days).")]


def test_warn_and_block_modes() -> None:
    rule("age", {"min": 18}, mode="warn")
    rule("postal_code", {"codes": ["02139"]}, mode="block")
    person = f.PersonFactory(birth_date=dt.date(2015, 1, 1), postal_code="02139")
    decision = check(person)
    assert not decision.eligible and not decision.blocked
    assert decision.warnings == ["Age 11 is below the minimum of 18 on 2026-03-02."]
    person.postal_code = "99999"
    decision = check(person)
    assert decision.blocked and len(decision.failures) == 2
    assert decision.block_reasons == [
        "Postal code 99999 is not in the service area (02139)."]


def test_a_benefit_check_includes_its_programs_rules_and_skips_inactive_ones() -> None:
    benefit = f.BenefitFactory(program=PROGRAM[0])
    other = f.BenefitFactory(program=PROGRAM[0])
    rule("age", {"min": 18})
    on_benefit = rule("postal_code", {"codes": ["02139"]}, benefit=benefit)
    rule("document", {"document_type": "age", "within_days": 30}, benefit=other)
    retired = rule("income", {"max_percent": 100})
    services.eligibility_rule_update(actor=None, rule=retired, is_active=False)
    person = f.PersonFactory()
    assert [r.criterion for r in check(person).results] == ["age"]
    assert [r.criterion for r in check(person, benefit=benefit).results] == ["age",
                                                                              "postal_code"]
    assert check(person, benefit=benefit).results[1].rule_id == on_benefit.pk


def test_check_many_agrees_with_check_in_constant_queries(django_assert_max_num_queries) -> None:
    services.income_guidelines_replace(actor=None, rows=[(1, Decimal(20000)),
                                                         (2, Decimal(30000))])
    benefit = f.BenefitFactory(program=PROGRAM[0])
    rule("age", {"min": 14, "max": 24}, mode="block")
    rule("income", {"max_percent": 200}, benefit=benefit)
    rule("document", {"document_type": "income", "within_days": 90})
    rule("postal_code", {"prefixes": ["021"]})
    people = []
    for i in range(40):
        person = f.PersonFactory(birth_date=dt.date(1995 + i % 20, 1, 1),
                                 household_size=1 + i % 3, annual_income=Decimal(i * 2000),
                                 postal_code=["02139", "10001", ""][i % 3])
        if i % 2:
            PersonDocument.objects.create(person=person, document_type="income",
                                          verified_on=ON - dt.timedelta(days=i * 5))
        people.append(person)
    ids = [p.pk for p in people] + [10**12]
    with django_assert_max_num_queries(4):
        decisions = eligibility_check_many(person_ids=ids, benefit_id=benefit.pk, on=ON)
    assert set(decisions) == {p.pk for p in people}
    for person in people:
        assert decisions[person.pk] == check(person, benefit=benefit)


def test_check_many_for_ten_thousand_ids_is_still_a_few_queries(
        django_assert_max_num_queries) -> None:
    rule("age", {"min": 1})
    person = f.PersonFactory(birth_date=dt.date(2000, 1, 1))
    ids = [person.pk, *range(10**9, 10**9 + 10_000)]
    with django_assert_max_num_queries(2):
        decisions = eligibility_check_many(person_ids=ids, program_id=PROGRAM[0].pk, on=ON)
    assert list(decisions) == [person.pk] and decisions[person.pk].eligible


def test_check_many_without_rules_asks_only_for_rules(django_assert_num_queries) -> None:
    with django_assert_num_queries(1):
        decisions = eligibility_check_many(person_ids=[1, 2], program_id=PROGRAM[0].pk, on=ON)
    assert all(d.eligible for d in decisions.values())


@pytest.mark.parametrize(("criterion", "params", "field"), [
    ("age", {}, "params.min"),
    ("age", {"min": 30, "max": 20}, "params.max"),
    ("age", {"min": "old"}, "params.min"),
    ("age", {"min": 1, "colour": "red"}, "params.colour"),
    ("postal_code", {"codes": [], "prefixes": []}, "params.codes"),
    ("postal_code", {"codes": {"a": 1}}, "params.codes"),
    ("income", {"max_percent": 0}, "params.max_percent"),
    ("income", {"max_percent": "lots"}, "params.max_percent"),
    ("document", {"document_type": "passport", "within_days": 30}, "params.document_type"),
    ("document", {"document_type": "age"}, "params.within_days"),
    ("height", {}, "criterion"),
])
def test_bad_rule_params_are_field_errors(criterion, params, field) -> None:
    with pytest.raises(ValidationError) as info:
        rule(criterion, params)
    assert info.value.message_for(field), info.value.errors
    assert not EligibilityRule.objects.exists()


def test_rule_needs_exactly_one_scope_and_a_known_mode() -> None:
    benefit = f.BenefitFactory()
    with pytest.raises(ValidationError):
        services.eligibility_rule_create(actor=None, criterion="age", params={"min": 1},
                                         program=benefit.program, benefit=benefit)
    with pytest.raises(ValidationError):
        rule("age", {"min": 1}, mode="shout")


def test_params_are_normalized_and_summarized() -> None:
    postal = rule("postal_code", {"codes": "02139, 02140", "prefixes": ["sw1a "]})
    assert postal.params == {"codes": ["02139", "02140"], "prefixes": ["SW1A"]}
    assert rule_summary(postal) == "Postal code 02139, 02140; or starting with SW1A"
    assert rule_summary(rule("age", {"min": "14"})) == "Age at least 14 on the service date"
    assert rule_summary(rule("document", {"document_type": "address", "within_days": 90})) == \
        "Proof of address verified within 90 days"


def test_factories_for_other_areas() -> None:
    rule = f.EligibilityRuleFactory(program=PROGRAM[0], mode="block")
    person = f.PersonFactory(birth_date=dt.date(2000, 1, 1))
    f.DocumentFactory(person=person)
    definition = f.FieldDefinitionFactory()
    assert check(person).blocked and rule.criterion == "age"
    assert definition.key.startswith("field_")
