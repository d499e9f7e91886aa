from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from programdesk.core import services
from programdesk.core.admin_base import AuditedAdmin, ReadOnlyAdmin
from programdesk.core.audit import audit_record
from programdesk.core.errors import DomainError
from programdesk.core.models import (
    ApiToken,
    AuditEvent,
    FieldDefinition,
    LoginAttempt,
    StatusValue,
    User,
)


class ApiTokenInline(admin.TabularInline):
    """The user's API tokens on the user page: which, when made, when they expire, last use.
    Made and rotated through the links (the token is shown once); revoked under API tokens."""

    model = ApiToken
    extra = 0
    can_delete = False
    fields = ["prefix", "name", "created_at", "expires_at", "last_used_at", "rotate"]
    readonly_fields = ["prefix", "name", "created_at", "expires_at", "last_used_at", "rotate"]
    verbose_name_plural = "API tokens (expired ones are purged hourly)"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="")
    def rotate(self, token: ApiToken) -> str:
        url = reverse("admin:core_user_token_rotate", args=[token.user_id, token.pk])
        return format_html('<a href="{}">Rotate…</a>', url)


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, required=False,
                           help_text="A note to tell tokens apart, e.g. the script using it.")
    days = forms.IntegerField(min_value=1, max_value=services.TOKEN_DAYS_MAX,
                              help_text="Days until it expires.")


@admin.register(User)
class UserAdmin(AuditedAdmin, BaseUserAdmin):
    list_display = ["username", "email", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active", "programs"]
    search_fields = ["username", "email", "first_name", "last_name"]
    fieldsets = (*(BaseUserAdmin.fieldsets or ()),
                 ("Program Desk", {"fields": ["role", "programs", "api_token_new"]}))
    filter_horizontal = ["programs", "groups", "user_permissions"]
    inlines = [ApiTokenInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*super().get_readonly_fields(request, obj), "api_token_new"]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.inlines if obj is not None else []

    @admin.display(description="API tokens")
    def api_token_new(self, user: User) -> str:
        if not user.pk:
            return ""
        url = reverse("admin:core_user_token_new", args=[user.pk])
        return format_html('<a href="{}">Create an API token…</a>', url)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<int:user_id>/tokens/new/", view(self.token_new_view),
                 name="core_user_token_new"),
            path("<int:user_id>/tokens/<int:token_id>/rotate/", view(self.token_rotate_view),
                 name="core_user_token_rotate"),
            *super().get_urls(),
        ]

    def _token_user(self, request: HttpRequest, user_id: int) -> User:
        user = get_object_or_404(User, pk=user_id)
        if not self.has_change_permission(request, user):
            raise Http404
        return user

    def _token_page(self, request: HttpRequest, user: User, **context: Any) -> HttpResponse:
        return TemplateResponse(request, "admin/core/user/api_token.html", {
            **self.admin_site.each_context(request), "opts": self.opts, "original": user,
            "title": f"API token for {user.username}", **context})

    def token_new_view(self, request: HttpRequest, user_id: int) -> HttpResponse:
        user = self._token_user(request, user_id)
        form = TokenForm(request.POST or None, initial={"days": settings.API_TOKEN_DAYS})
        if request.method == "POST" and form.is_valid():
            try:
                raw = services.token_create(actor=request.user,  # type: ignore[arg-type]
                                            user=user, name=form.cleaned_data["name"],
                                            days=form.cleaned_data["days"])
            except DomainError as exc:
                form.add_error(None, exc.detail)
            else:
                return self._token_page(request, user, token=raw)
        return self._token_page(request, user, form=form, action="Create the token")

    def token_rotate_view(self, request: HttpRequest, user_id: int,
                          token_id: int) -> HttpResponse:
        user = self._token_user(request, user_id)
        old = get_object_or_404(ApiToken, pk=token_id, user=user)
        form = TokenForm(request.POST or None,
                         initial={"days": settings.API_TOKEN_DAYS, "name": old.name})
        form.fields["name"].disabled = True
        if request.method == "POST" and form.is_valid():
            try:
                raw = services.token_rotate(actor=request.user,  # type: ignore[arg-type]
                                            token=old, days=form.cleaned_data["days"])
            except DomainError as exc:
                messages.error(request, exc.detail)
                return redirect("admin:core_user_change", user.pk)
            return self._token_page(request, user, token=raw, rotated=old)
        return self._token_page(request, user, form=form, rotating=old,
                                action="Replace the token")

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
    list_display = ["prefix", "user", "name", "created_at", "expires_at", "last_used_at"]
    search_fields = ["prefix", "user__username", "name"]
    readonly_fields = ["prefix", "digest", "created_at", "expires_at", "last_used_at"]

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
