"""Eligibility: does a person meet a program's (or benefit's) rules on a date?

Each active rule gives one result with one readable reason, passed or not:

- age: the person's age on the service date is within ``min``..``max`` (inclusive)
- postal_code: the person's postal code (else their account's) is one of ``codes`` or starts
  with one of ``prefixes`` (compared upper-case without spaces)
- income: the person's yearly household income is at most ``max_percent`` % of the income
  guideline for their household size. For households larger than the table, the guideline
  grows by the step between its two largest sizes (as the federal poverty guideline does).
- document: a proof document of ``document_type`` was verified within ``within_days`` days
  before the service date (and not after it)

Missing data fails the rule with a reason saying what is missing. A rule in ``warn`` mode lets
staff go on with a warning; a failed ``block`` rule blocks (a manager may override it with a
reason — the participation and disbursement areas do that). A benefit's check includes its
program's rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db.models import F, Max, Q

from programdesk.core.bulk import JsonValues
from programdesk.core.scoping import MAX_ID
from programdesk.people import matching
from programdesk.people.models import DocumentType, Person, PersonDocument
from programdesk.programs.models import (
    Benefit,
    Criterion,
    EligibilityRule,
    IncomeGuideline,
    Program,
    RuleMode,
)


@dataclass(frozen=True)
class RuleResult:
    rule_id: int
    criterion: str
    mode: str
    passed: bool
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "criterion": self.criterion, "mode": self.mode,
                "passed": self.passed, "reason": self.reason}


@dataclass(frozen=True)
class EligibilityDecision:
    results: list[RuleResult] = field(default_factory=list)

    @property
    def failures(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed]

    @property
    def blocked(self) -> bool:
        """A block rule failed."""
        return any(r.mode == RuleMode.BLOCK for r in self.failures)

    @property
    def warnings(self) -> list[str]:
        """Reasons of the failed warn rules."""
        return [r.reason for r in self.failures if r.mode == RuleMode.WARN]

    @property
    def block_reasons(self) -> list[str]:
        return [r.reason for r in self.failures if r.mode == RuleMode.BLOCK]

    @property
    def eligible(self) -> bool:
        """Every rule passed (no rules at all: eligible)."""
        return not self.failures

    def as_dict(self) -> dict[str, Any]:
        return {"eligible": self.eligible, "blocked": self.blocked, "warnings": self.warnings,
                "results": [r.as_dict() for r in self.results]}


# --- What a rule needs to know about a person --------------------------------------------------

@dataclass(frozen=True)
class _Facts:
    birth_date: dt.date | None
    postal_code: str
    household_size: int | None
    annual_income: Decimal | None
    latest_document: dict[str, dt.date]  # document type -> latest verified_on up to the date


def _money(amount: Decimal) -> str:
    return f"${amount:,.2f}"


def guideline_for(size: int, table: dict[int, Decimal]) -> Decimal | None:
    """The yearly guideline for a household of ``size`` (``table``: size → amount): beyond the
    table's largest size it grows by the step between its two largest sizes; None for a gap
    inside the table, a size below it, or a table of fewer than two rows that lacks the size.
    Eligibility and the demographics report (reports/demographics.py) both use it."""
    if size in table:
        return table[size]
    if not table or size < max(table) or len(table) < 2:
        return None
    sizes = sorted(table)
    step = table[sizes[-1]] - table[sizes[-2]]
    return table[sizes[-1]] + step * (size - sizes[-1])


def _age(birth_date: dt.date, on: dt.date) -> int:
    return relativedelta(on, birth_date).years


def _evaluate(rule: EligibilityRule, facts: _Facts, on: dt.date,
              guidelines: dict[int, Decimal]) -> RuleResult:
    passed, reason = _decide(rule.criterion, rule.params or {}, facts, on, guidelines)
    return RuleResult(rule_id=rule.pk, criterion=rule.criterion, mode=rule.mode, passed=passed,
                      reason=reason)


def _range_text(low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return f"{low}–{high}"
    return f"at least {low}" if low is not None else f"at most {high}"


def _decide_age(params: dict[str, Any], facts: _Facts, on: dt.date,
                guidelines: dict[int, Decimal]) -> tuple[bool, str]:
    low, high = params.get("min"), params.get("max")
    if facts.birth_date is None:
        return False, f"No birth date recorded; the age rule ({_range_text(low, high)}) " \
                      f"needs one."
    if facts.birth_date > on:
        return False, f"The birth date {facts.birth_date} is after {on}."
    age = _age(facts.birth_date, on)
    if low is not None and age < low:
        return False, f"Age {age} is below the minimum of {low} on {on}."
    if high is not None and age > high:
        return False, f"Age {age} is above the maximum of {high} on {on}."
    return True, f"Age {age} is within {_range_text(low, high)} on {on}."


def _decide_postal_code(params: dict[str, Any], facts: _Facts, on: dt.date,
                        guidelines: dict[int, Decimal]) -> tuple[bool, str]:
    codes, prefixes = params.get("codes") or [], params.get("prefixes") or []
    area = "; ".join(part for part in [
        ", ".join(codes), "starting with " + ", ".join(prefixes) if prefixes else ""] if part)
    if not facts.postal_code:
        return False, f"No postal code recorded; the service area is {area}."
    code = matching.postal_key(facts.postal_code)
    if code in codes or any(code.startswith(p) for p in prefixes):
        return True, f"Postal code {facts.postal_code} is in the service area."
    return False, f"Postal code {facts.postal_code} is not in the service area ({area})."


def _decide_income(params: dict[str, Any], facts: _Facts, on: dt.date,
                   guidelines: dict[int, Decimal]) -> tuple[bool, str]:
    percent = Decimal(str(params.get("max_percent", 0)))
    if facts.annual_income is None:
        return False, "No household income recorded; the income rule needs one."
    if facts.household_size is None:
        return False, "No household size recorded; the income rule needs one."
    guideline = guideline_for(facts.household_size, guidelines)
    if guideline is None:
        return False, (f"No income guideline is configured for a household of "
                       f"{facts.household_size}.")
    limit = guideline * percent / 100
    share = facts.annual_income * 100 / guideline if guideline else Decimal("Infinity")
    shown = f"{share:.0f}%" if share.is_finite() else "above any share"
    text = (f"Household income {_money(facts.annual_income)} is {shown} of the guideline "
            f"for a household of {facts.household_size} ({_money(guideline)}); the maximum "
            f"is {percent:g}%")
    if facts.annual_income <= limit:
        return True, text + "."
    return False, text + f" ({_money(limit)})."


def _decide_document(params: dict[str, Any], facts: _Facts, on: dt.date,
                     guidelines: dict[int, Decimal]) -> tuple[bool, str]:
    doc_type = params.get("document_type", "")
    days = int(params.get("within_days") or 0)
    label = DocumentType(doc_type).label if doc_type in DocumentType.values else doc_type
    latest = facts.latest_document.get(doc_type)
    if latest is not None and (on - latest).days <= days:
        return True, f"{label} verified on {latest} (within {days} days)."
    seen = f"the latest was verified on {latest}" if latest else "none on file"
    return False, f"No {label.lower()} verified within {days} days before {on} ({seen})."


_Decider = Callable[[dict[str, Any], _Facts, dt.date, dict[int, Decimal]], tuple[bool, str]]
_DECIDERS: dict[str, _Decider] = {
    Criterion.AGE: _decide_age,
    Criterion.POSTAL_CODE: _decide_postal_code,
    Criterion.INCOME: _decide_income,
    Criterion.DOCUMENT: _decide_document,
}


def _decide(criterion: str, params: dict[str, Any], facts: _Facts, on: dt.date,
            guidelines: dict[int, Decimal]) -> tuple[bool, str]:
    decider = _DECIDERS.get(criterion)
    if decider is None:  # pragma: no cover - a check constraint
        return False, f"Unknown criterion '{criterion}'."
    return decider(params, facts, on, guidelines)


# --- Which rules apply -------------------------------------------------------------------------

def _rules(program_id: int | None, benefit_id: int | None) -> list[EligibilityRule]:
    if benefit_id is not None:
        scope = Q(benefit_id=benefit_id) | Q(
            program_id__in=Benefit.objects.filter(pk=benefit_id).values("program_id"))
    elif program_id is not None:
        scope = Q(program_id=program_id)
    else:
        raise ValueError("eligibility needs a program or a benefit")
    # The program's rules first, then the benefit's — the same order on every database.
    return list(EligibilityRule.objects.filter(scope, is_active=True).order_by(
        F("benefit_id").asc(nulls_first=True), "id"))


def _guidelines(rules: list[EligibilityRule]) -> dict[int, Decimal]:
    if not any(r.criterion == Criterion.INCOME for r in rules):
        return {}
    return dict(IncomeGuideline.objects.values_list("household_size", "annual_income"))


def _document_types(rules: list[EligibilityRule]) -> set[str]:
    return {str(r.params.get("document_type")) for r in rules
            if r.criterion == Criterion.DOCUMENT and r.params}


# --- The two entry points ----------------------------------------------------------------------

def eligibility_check(*, person: Person, program: Program | None = None,
                      benefit: Benefit | None = None, on: dt.date) -> EligibilityDecision:
    """The decision for one person on the service date ``on``: one result per active rule of
    the program (or of the benefit and its program)."""
    rules = _rules(program.pk if program and not benefit else None,
                   benefit.pk if benefit else None)
    if not rules:
        return EligibilityDecision(results=[])
    types = _document_types(rules)
    latest: dict[str, dt.date] = {}
    if types:
        latest = dict(PersonDocument.objects.filter(
            person_id=person.pk, document_type__in=types, verified_on__lte=on)
            .values("document_type").annotate(latest=Max("verified_on"))
            .values_list("document_type", "latest"))
    postal = person.postal_code
    if not postal and person.account_id:
        postal = person.account.postal_code if person.account else ""
    facts = _Facts(birth_date=person.birth_date, postal_code=postal,
                   household_size=person.household_size, annual_income=person.annual_income,
                   latest_document=latest)
    guidelines = _guidelines(rules)
    return EligibilityDecision(results=[_evaluate(r, facts, on, guidelines) for r in rules])


def eligibility_check_many(*, person_ids: Iterable[int], program_id: int | None = None,
                           benefit_id: int | None = None, on: dt.date
                           ) -> dict[int, EligibilityDecision]:
    """Decisions for many people at once (bulk participation and disbursement), in at most
    four queries whatever their number: the rules, the people, their latest documents and the
    guideline table. Ids of people that do not exist are left out of the answer."""
    ids = sorted({int(pk) for pk in person_ids if 1 <= int(pk) <= MAX_ID})
    rules = _rules(program_id if benefit_id is None else None, benefit_id)
    if not rules or not ids:
        return dict.fromkeys(ids, EligibilityDecision(results=[])) if not rules else {}
    people = Person.objects.filter(pk__in=JsonValues(ids, cast="bigint")).values_list(
        "id", "birth_date", "postal_code", "account__postal_code", "household_size",
        "annual_income")
    latest: dict[int, dict[str, dt.date]] = {}
    types = _document_types(rules)
    if types:
        documents = (PersonDocument.objects
                     .filter(person_id__in=JsonValues(ids, cast="bigint"),
                             document_type__in=types, verified_on__lte=on)
                     .values("person_id", "document_type").annotate(latest=Max("verified_on"))
                     .values_list("person_id", "document_type", "latest"))
        for person_id, doc_type, verified_on in documents:
            latest.setdefault(person_id, {})[doc_type] = verified_on
    guidelines = _guidelines(rules)
    decisions = {}
    for pk, birth_date, postal, account_postal, size, income in people:
        facts = _Facts(birth_date=birth_date, postal_code=postal or account_postal or "",
                       household_size=size, annual_income=income,
                       latest_document=latest.get(pk, {}))
        decisions[pk] = EligibilityDecision(
            results=[_evaluate(r, facts, on, guidelines) for r in rules])
    return decisions


def rule_summary(rule: EligibilityRule) -> str:
    """What a rule asks, for pages: "Age 14–24 on the service date"."""
    params = rule.params or {}
    if rule.criterion == Criterion.AGE:
        return f"Age {_range_text(params.get('min'), params.get('max'))} on the service date"
    if rule.criterion == Criterion.POSTAL_CODE:
        parts = [", ".join(params.get("codes") or [])]
        if params.get("prefixes"):
            parts.append("starting with " + ", ".join(params["prefixes"]))
        return "Postal code " + "; or ".join(p for p in parts if p)
    if rule.criterion == Criterion.INCOME:
        return f"Household income at most {params.get('max_percent')}% of the guideline"
    if rule.criterion == Criterion.DOCUMENT:
        doc_type = params.get("document_type", "")
        label = DocumentType(doc_type).label if doc_type in DocumentType.values else doc_type
        return f"{label} verified within {params.get('within_days')} days"
    return rule.criterion  # pragma: no cover
