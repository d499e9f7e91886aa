from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import F, Q

from programdesk.core.models import TimeStampedModel
from programdesk.programs.limits import PERIODS as LIMIT_PERIODS
from programdesk.programs.limits import SCOPES as LIMIT_SCOPES


def quantity_field(**kwargs: Any) -> models.DecimalField:
    """Quantities: up to 10 digits before the point and 2 after (docs/api.md)."""
    return models.DecimalField(max_digits=12, decimal_places=2, **kwargs)


class UnitOfMeasure(models.Model):
    code = models.SlugField(max_length=20, unique=True)
    name = models.CharField(max_length=60)

    class Meta:
        ordering = ["name"]
        verbose_name = "unit of measure"

    def __str__(self) -> str:
        return self.name


class BenefitKind(models.TextChoices):
    GOODS = "goods", "Goods"
    MONETARY = "monetary", "Monetary"
    SERVICE = "service", "Service"


class BenefitType(models.Model):
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=BenefitKind.choices)
    unit = models.ForeignKey(UnitOfMeasure, on_delete=models.PROTECT, related_name="+",
                             help_text="Default unit for benefits of this type")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=[k.value for k in BenefitKind]),
                                   name="programs_benefittype_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class ProgramStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class Program(TimeStampedModel):
    name = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=16, choices=ProgramStatus.choices,
                              default=ProgramStatus.ACTIVE)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    summary = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=[s.value for s in ProgramStatus]),
                                   name="programs_program_status_valid"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(start_date__isnull=True)
                | Q(end_date__gte=F("start_date")),
                name="programs_program_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Benefit(TimeStampedModel):
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="benefits")
    name = models.CharField(max_length=200)
    benefit_type = models.ForeignKey(BenefitType, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="benefits")
    unit = models.ForeignKey(UnitOfMeasure, on_delete=models.PROTECT, related_name="+")
    is_active = models.BooleanField(default=True)
    default_quantity = quantity_field(default=1)
    description = models.TextField(blank=True)
    # The service limit (programs/limits.py): at most ``limit_max`` delivered disbursements per
    # person or household (``limit_scope``) in the window ``limit_per`` (calendar day, week,
    # month, year, or the rolling ``limit_days``). All four null: no limit — null, not "", so
    # the check constraint reads "all or none".
    limit_max = models.PositiveIntegerField(null=True, blank=True)
    limit_per = models.CharField(max_length=8, null=True, blank=True,  # noqa: DJ001
                                 choices=[(p, p) for p in LIMIT_PERIODS])
    limit_days = models.PositiveSmallIntegerField(null=True, blank=True)
    limit_scope = models.CharField(max_length=16, null=True, blank=True,  # noqa: DJ001
                                   choices=[(s, s) for s in LIMIT_SCOPES])

    class Meta:
        ordering = ["program__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["program", "name"],
                                    name="programs_benefit_unique_name"),
            models.CheckConstraint(condition=Q(default_quantity__gte=0),
                                   name="programs_benefit_quantity_not_negative"),
            models.CheckConstraint(
                condition=Q(limit_max__isnull=True, limit_per__isnull=True,
                            limit_days__isnull=True, limit_scope__isnull=True)
                # isnull=False spelled out: a CHECK whose test is NULL passes.
                | (Q(limit_max__isnull=False, limit_max__gte=1, limit_scope__isnull=False,
                     limit_scope__in=list(LIMIT_SCOPES), limit_per__isnull=False)
                   & (Q(limit_per="days", limit_days__isnull=False, limit_days__gte=1)
                      | Q(limit_per__in=[p for p in LIMIT_PERIODS if p != "days"],
                          limit_days__isnull=True))),
                name="programs_benefit_limit_consistent",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ProgramCohort(TimeStampedModel):
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="cohorts")
    name = models.CharField(max_length=200)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    max_members = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["program__name", "name"]
        verbose_name = "cohort"
        constraints = [
            models.UniqueConstraint(fields=["program", "name"], name="programs_cohort_unique_name"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(start_date__isnull=True)
                | Q(end_date__gte=F("start_date")),
                name="programs_cohort_end_after_start",
            ),
            models.CheckConstraint(condition=Q(max_members__isnull=True) | Q(max_members__gte=1),
                                   name="programs_cohort_max_members_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Criterion(models.TextChoices):
    AGE = "age", "Age on the service date"
    POSTAL_CODE = "postal_code", "Postal code"
    INCOME = "income", "Household income against the guideline"
    DOCUMENT = "document", "Verified proof document"


class RuleMode(models.TextChoices):
    WARN = "warn", "Warn (staff may go on)"
    BLOCK = "block", "Block (a manager may override with a reason)"


class EligibilityRule(TimeStampedModel):
    """One eligibility criterion for a program or a benefit.

    ``params`` by criterion: age ``{"min": 14, "max": 24}``; postal_code
    ``{"codes": ["02139"], "prefixes": ["021"]}``; income ``{"max_percent": 200}``;
    document ``{"document_type": "income", "within_days": 365}``.
    """

    program = models.ForeignKey(Program, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="eligibility_rules")
    benefit = models.ForeignKey(Benefit, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="eligibility_rules")
    criterion = models.CharField(max_length=16, choices=Criterion.choices)
    params = models.JSONField(default=dict)
    mode = models.CharField(max_length=8, choices=RuleMode.choices, default=RuleMode.WARN)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(program__isnull=False, benefit__isnull=True)
                           | Q(program__isnull=True, benefit__isnull=False)),
                name="programs_eligibilityrule_one_scope",
            ),
            models.CheckConstraint(condition=Q(mode__in=["warn", "block"]),
                                   name="programs_eligibilityrule_mode_valid"),
            models.CheckConstraint(condition=Q(criterion__in=[c.value for c in Criterion]),
                                   name="programs_eligibilityrule_criterion_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_criterion_display()} ({self.mode})"


class IncomeGuideline(models.Model):
    """Yearly income guideline by household size (e.g. the federal poverty guideline)."""

    household_size = models.PositiveSmallIntegerField(unique=True)
    annual_income = quantity_field()

    class Meta:
        ordering = ["household_size"]
        constraints = [
            models.CheckConstraint(condition=Q(household_size__gte=1),
                                   name="programs_incomeguideline_size_positive"),
            models.CheckConstraint(condition=Q(annual_income__gte=0),
                                   name="programs_incomeguideline_income_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.household_size}: {self.annual_income}"
