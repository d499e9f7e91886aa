"""Eligibility checks (the people/programs branch owns the full implementation)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RuleResult:
    rule_id: int
    criterion: str
    mode: str
    passed: bool
    reason: str


@dataclass(frozen=True)
class EligibilityDecision:
    results: list[RuleResult] = field(default_factory=list)

    @property
    def failures(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed]

    @property
    def blocked(self) -> bool:
        return any(r.mode == "block" for r in self.failures)

    @property
    def warnings(self) -> list[str]:
        return [r.reason for r in self.failures if r.mode == "warn"]


def eligibility_check_many(*, person_ids: Iterable[int], program_id: int | None = None,
                           benefit_id: int | None = None, on: dt.date
                           ) -> dict[int, EligibilityDecision]:
    return {pid: EligibilityDecision() for pid in person_ids}
