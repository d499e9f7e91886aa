from django.contrib import admin

from programdesk.core.admin_base import AuditedAdmin
from programdesk.people.models import Account, Case, Person, PersonDocument


@admin.register(Account)
class AccountAdmin(AuditedAdmin):
    list_display = ["name", "kind", "postal_code", "phone"]
    list_filter = ["kind"]
    search_fields = ["name", "postal_code", "email", "phone"]


class DocumentInline(admin.TabularInline):
    model = PersonDocument
    extra = 0


@admin.register(Person)
class PersonAdmin(AuditedAdmin):
    list_display = ["last_name", "first_name", "birth_date", "postal_code", "account"]
    search_fields = ["first_name", "last_name", "email", "phone", "postal_code"]
    list_filter = ["account__kind"]
    raw_id_fields = ["account"]
    inlines = [DocumentInline]


@admin.register(Case)
class CaseAdmin(AuditedAdmin):
    list_display = ["subject", "person", "account", "status", "worker", "opened_on"]
    list_filter = ["status", "programs"]
    search_fields = ["subject", "person__last_name", "account__name"]
    raw_id_fields = ["person", "account"]
