"""Reads of programs, benefits, cohorts and their configuration (eligibility rules, the income
guideline, units, benefit types), scoped to the programs the user may see.

The pages and the API fetch one object with ``core.scoping.visible_or_404(<x>_visible(user), pk)``
and name one in a request body with ``<x>_for_field`` (a field error, 422, when unknown).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, F, Q, QuerySet

from programdesk.core import custom_fields
from programdesk.core.errors import ValidationError
from programdesk.core.models import FieldDefinition, StatusValue, User
from programdesk.core.scoping import MAX_ID, visible, visible_config
from programdesk.core.selectors import filter_given
from programdesk.programs.eligibility import rule_summary
from programdesk.programs.models import (
    Benefit,
    BenefitType,
    EligibilityRule,
    IncomeGuideline,
    Program,
    ProgramCohort,
    UnitOfMeasure,
)

# A cohort's current members (not removed), as the pages and the API show them.
MEMBER_COUNT = Count("members", filter=Q(members__removed_on__isnull=True))


# --- Programs, benefits, cohorts ---------------------------------------------------------------

def programs_visible(user: User) -> QuerySet[Program]:
    return visible(Program.objects.all(), user, "id")


def benefits_visible(user: User) -> QuerySet[Benefit]:
    return visible(Benefit.objects.all(), user)


def cohorts_visible(user: User) -> QuerySet[ProgramCohort]:
    return visible(ProgramCohort.objects.all(), user)


def cohorts_with_counts(user: User) -> QuerySet[ProgramCohort]:
    """Visible cohorts with ``member_count``."""
    return cohorts_visible(user).annotate(member_count=MEMBER_COUNT)


def programs_list(*, user: User, status: str | None = None, search: str = ""
                  ) -> QuerySet[Program]:
    qs = filter_given(programs_visible(user), status=status or None)
    if search:
        qs = qs.filter(name__icontains=search)
    return qs.order_by("name", "id")


def programs_with_benefit_counts(*, user: User, status: str = "") -> QuerySet[Program]:
    """The programs page: visible programs with ``benefit_count``, by name."""
    qs = programs_visible(user).annotate(benefit_count=Count("benefits", distinct=True))
    return filter_given(qs, status=status or None).order_by("name")


def benefits_list(*, user: User, program_id: int | None = None, is_active: bool | None = None
                  ) -> QuerySet[Benefit]:
    qs = benefits_visible(user).select_related("unit")
    return filter_given(qs, program_id=program_id, is_active=is_active).order_by(
        "program__name", "name", "id")


def cohorts_list(*, user: User, program_id: int | None = None) -> QuerySet[ProgramCohort]:
    return filter_given(cohorts_with_counts(user), program_id=program_id).order_by(
        "program__name", "name", "id")


def program_page(*, program: Program) -> dict[str, Any]:
    """What a program's page lists: its benefits, cohorts, eligibility rules and fields."""
    return {
        "benefits": program.benefits.select_related("unit", "benefit_type").order_by("name"),
        "cohorts": program.cohorts.annotate(member_count=MEMBER_COUNT).order_by("name"),
        "rules": program.eligibility_rules.order_by("id"),
        "fields": FieldDefinition.objects.filter(program=program).order_by("target", "order"),
    }


def benefit_page(*, benefit: Benefit) -> dict[str, Any]:
    """What a benefit's page lists: the rules and fields of the benefit and of its program."""
    mine = Q(benefit=benefit) | Q(program_id=benefit.program_id)
    return {
        "rules": EligibilityRule.objects.filter(mine).order_by(
            F("benefit_id").asc(nulls_first=True), "id"),
        "fields": FieldDefinition.objects.filter(mine).order_by("target", "order"),
    }


def _for_field(qs: QuerySet[Any], pk: int | None, field: str, message: str) -> Any:
    obj = qs.filter(pk=pk).first() if pk is not None and 1 <= pk <= MAX_ID else None
    if obj is None:
        raise ValidationError.for_fields({field: message})
    return obj


def program_for_field(*, user: User, pk: int, field: str = "program_id") -> Program:
    """The visible program a request body names, else a field error (422)."""
    program: Program = _for_field(programs_visible(user), pk, field, "Unknown program.")
    return program


def benefit_for_field(*, user: User, pk: int, field: str = "benefit_id") -> Benefit:
    """The visible benefit a request body names, else a field error (422)."""
    benefit: Benefit = _for_field(benefits_visible(user), pk, field, "Unknown benefit.")
    return benefit


# --- Configuration -----------------------------------------------------------------------------

def rules_visible(user: User) -> QuerySet[EligibilityRule]:
    """The global rules and those of the user's programs and their benefits."""
    return visible_config(EligibilityRule.objects.all(), user)


def rules_list(*, user: User, program_id: int | None = None, benefit_id: int | None = None
               ) -> QuerySet[EligibilityRule]:
    return filter_given(rules_visible(user), program_id=program_id,
                        benefit_id=benefit_id).order_by("id")


def rules_with_summaries(rules: Iterable[EligibilityRule]) -> list[dict[str, Any]]:
    """Each rule with its one-line summary, as the pages list them."""
    return [{"rule": rule, "summary": rule_summary(rule)} for rule in rules]


def rules_for_settings(*, user: User) -> QuerySet[EligibilityRule]:
    """The settings page's table: by program, then by benefit."""
    return rules_visible(user).select_related("program", "benefit__program").order_by(
        "program__name", "benefit__program__name", "benefit__name", "id")


def field_definitions_visible(user: User) -> QuerySet[FieldDefinition]:
    """The global custom fields and those of the user's programs and their benefits."""
    return visible_config(FieldDefinition.objects.all(), user)


def field_definitions_list(*, user: User, target: str | None = None,
                           include_retired: bool = False, program_id: int | None = None,
                           benefit_id: int | None = None) -> QuerySet[FieldDefinition]:
    """The API's list: with ``program_id``/``benefit_id``, the fields a record there takes."""
    qs = filter_given(field_definitions_visible(user), target=target or None,
                      is_active=None if include_retired else True)
    if program_id is not None or benefit_id is not None:
        qs = qs.filter(custom_fields.scope_filter(program_id, benefit_id))
    return qs.order_by("target", "order", "id")


def units() -> QuerySet[UnitOfMeasure]:
    return UnitOfMeasure.objects.order_by("name")


def unit_for_field(code: str | None, *, field: str = "unit") -> UnitOfMeasure | None:
    """The unit with this code, None when no code was given, else a field error listing the
    codes there are."""
    if code is None:
        return None
    unit = UnitOfMeasure.objects.filter(code=code).first()
    if unit is None:
        known = ", ".join(UnitOfMeasure.objects.values_list("code", flat=True))
        raise ValidationError.for_fields({field: f"Unknown unit '{code}'. Use one of: {known}."})
    return unit


def benefit_types() -> QuerySet[BenefitType]:
    return BenefitType.objects.select_related("unit").order_by("name")


def benefit_type_for_field(pk: int | None, *, field: str = "benefit_type_id"
                           ) -> BenefitType | None:
    """The benefit type with this id, None when no id was given, else a field error."""
    if pk is None:
        return None
    benefit_type: BenefitType = _for_field(BenefitType.objects.select_related("unit"), pk, field,
                                           "Unknown benefit type.")
    return benefit_type


def income_guidelines() -> QuerySet[IncomeGuideline]:
    return IncomeGuideline.objects.order_by("household_size")


def settings_counts() -> dict[str, int]:
    """The settings index's counts."""
    return {
        "status_values": StatusValue.objects.count(),
        "custom_fields": FieldDefinition.objects.filter(is_active=True).count(),
        "rules": EligibilityRule.objects.filter(is_active=True).count(),
        "guidelines": IncomeGuideline.objects.count(),
        "units": UnitOfMeasure.objects.count(),
        "benefit_types": BenefitType.objects.count(),
    }
