from django.contrib import admin

from programdesk.core.admin_base import ReadOnlyAdmin
from programdesk.participation.models import (
    BenefitAssignment,
    BenefitDisbursement,
    CohortMember,
    ProgramEnrollment,
)


@admin.register(ProgramEnrollment)
class EnrollmentAdmin(ReadOnlyAdmin):
    list_display = ["id", "program", "person", "account", "is_anonymous", "status", "is_active"]
    list_filter = ["program", "is_active", "is_anonymous", "status"]
    search_fields = ["person__last_name", "person__first_name", "account__name"]
    raw_id_fields = ["person", "account"]
    readonly_fields = ["is_active"]


@admin.register(BenefitAssignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ["id", "benefit", "enrollment", "person", "account"]
    list_filter = ["benefit__program"]
    raw_id_fields = ["enrollment", "person", "account"]


@admin.register(BenefitDisbursement)
class DisbursementAdmin(ReadOnlyAdmin):
    list_display = ["id", "benefit", "person", "account", "recipient_type", "quantity", "unit",
                    "status", "disbursed_on"]
    list_filter = ["program", "recipient_type", "status"]
    search_fields = ["person__last_name", "account__name"]
    raw_id_fields = ["assignment", "session", "enrollment", "person", "account", "case"]
    date_hierarchy = "disbursed_on"


@admin.register(CohortMember)
class CohortMemberAdmin(ReadOnlyAdmin):
    list_display = ["cohort", "enrollment", "added_on", "removed_on"]
    list_filter = ["cohort"]
    raw_id_fields = ["enrollment"]
