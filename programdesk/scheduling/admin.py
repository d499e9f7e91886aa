from django.contrib import admin

from programdesk.core.admin_base import ReadOnlyAdmin
from programdesk.scheduling.models import BenefitSchedule, BenefitSession


@admin.register(BenefitSchedule)
class BenefitScheduleAdmin(ReadOnlyAdmin):
    list_display = ["name", "benefit", "first_date", "start_time", "timezone", "capacity"]
    list_filter = ["benefit__program", "timezone"]
    search_fields = ["name", "benefit__name"]



@admin.register(BenefitSession)
class BenefitSessionAdmin(ReadOnlyAdmin):
    list_display = ["schedule", "local_date", "start", "status", "location"]
    list_filter = ["status", "benefit__program"]
    search_fields = ["schedule__name", "location"]
    date_hierarchy = "local_date"
