from django.contrib import admin

from programdesk.core.admin_base import AuditedAdmin
from programdesk.programs.models import (
    Benefit,
    BenefitType,
    EligibilityRule,
    IncomeGuideline,
    Program,
    ProgramCohort,
    UnitOfMeasure,
)


@admin.register(UnitOfMeasure)
class UnitAdmin(AuditedAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(BenefitType)
class BenefitTypeAdmin(AuditedAdmin):
    list_display = ["name", "kind", "unit"]
    list_filter = ["kind", "unit"]
    search_fields = ["name"]


class BenefitInline(admin.TabularInline):
    model = Benefit
    extra = 0
    fields = ["name", "benefit_type", "unit", "default_quantity", "is_active"]


@admin.register(Program)
class ProgramAdmin(AuditedAdmin):
    list_display = ["name", "status", "start_date", "end_date"]
    list_filter = ["status"]
    search_fields = ["name", "summary"]
    inlines = [BenefitInline]


@admin.register(Benefit)
class BenefitAdmin(AuditedAdmin):
    list_display = ["name", "program", "benefit_type", "unit", "default_quantity", "is_active"]
    list_filter = ["is_active", "program", "benefit_type", "unit"]
    search_fields = ["name", "program__name"]


@admin.register(ProgramCohort)
class CohortAdmin(AuditedAdmin):
    list_display = ["name", "program", "start_date", "end_date", "max_members"]
    list_filter = ["program"]
    search_fields = ["name"]


@admin.register(EligibilityRule)
class EligibilityRuleAdmin(AuditedAdmin):
    list_display = ["criterion", "mode", "program", "benefit", "is_active"]
    list_filter = ["criterion", "mode", "is_active", "program"]
    search_fields = ["program__name", "benefit__name"]


@admin.register(IncomeGuideline)
class IncomeGuidelineAdmin(AuditedAdmin):
    list_display = ["household_size", "annual_income"]
