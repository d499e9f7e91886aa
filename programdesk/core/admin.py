from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from programdesk.core.admin_base import AuditedAdmin, ReadOnlyAdmin
from programdesk.core.audit import audit_record
from programdesk.core.models import (
    ApiToken,
    AuditEvent,
    FieldDefinition,
    LoginAttempt,
    StatusValue,
    User,
)


@admin.register(User)
class UserAdmin(AuditedAdmin, BaseUserAdmin):
    list_display = ["username", "email", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active", "programs"]
    search_fields = ["username", "email", "first_name", "last_name"]
    fieldsets = (*(BaseUserAdmin.fieldsets or ()),
                 ("Program Desk", {"fields": ["role", "programs"]}))
    filter_horizontal = ["programs", "groups", "user_permissions"]

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = ""
                             ) -> HttpResponse:
        # Django's password form saves by itself (outside any transaction); the save and the
        # event (never the hash) commit together.
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:
                user = User.objects.get(pk=id)
                audit_record(actor=request.user,  # type: ignore[arg-type]
                             action="admin.password_change", obj=user,
                             after={"password": "[secret]"})
        return response


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdmin):
    list_display = ["prefix", "user", "name", "created_at", "last_used_at"]
    search_fields = ["prefix", "user__username", "name"]
    readonly_fields = ["prefix", "digest", "created_at", "last_used_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens are made by token_create, which shows the token once


@admin.register(StatusValue)
class StatusValueAdmin(AuditedAdmin):
    list_display = ["kind", "code", "label", "bucket", "is_default", "is_active", "order"]
    list_filter = ["kind", "bucket", "is_active"]
    search_fields = ["code", "label"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A value's code and bucket are its meaning: fixed once created.
        return ["kind", "code", "bucket", "is_default"] if obj else ["is_default"]


@admin.register(FieldDefinition)
class FieldDefinitionAdmin(AuditedAdmin):
    list_display = ["label", "key", "target", "field_type", "required", "program", "benefit",
                    "is_active"]
    list_filter = ["target", "field_type", "required", "is_active", "program"]
    search_fields = ["label", "key"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["action", "object_type", "reason"]
    date_hierarchy = "at"


@admin.register(LoginAttempt)
class LoginAttemptAdmin(AuditedAdmin):
    """Failed logins (core.lockout). Deleting a username's rows unlocks it before its time."""

    list_display = ["at", "username", "ip"]
    search_fields = ["username", "ip"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
