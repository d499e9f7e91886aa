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
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime

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


def _pk(value: object) -> int:
    """An object id from a URL (``<path:object_id>``), or 404."""
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise Http404
    return int(text)


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
                 ("Program Desk", {"fields": ["role", "programs"]}),
                 ("API tokens", {"fields": ["api_tokens"]}))
    filter_horizontal = ["programs", "groups", "user_permissions"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*super().get_readonly_fields(request, obj), "api_tokens"]

    @admin.display(description="Tokens")
    def api_tokens(self, user: User) -> str:
        """The user's API tokens — which, when made, when they expire, last use — with links to
        make or rotate one (the token is then shown once). Revoked under *API tokens*."""
        if not user.pk:
            return ""
        rows = format_html_join(
            "", "<tr><td>{}…</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                "<td><a href=\"{}\">Rotate…</a></td></tr>",
            ((t.prefix, t.name or "—", date_format(localtime(t.created_at), "DATETIME_FORMAT"),
              date_format(localtime(t.expires_at), "DATETIME_FORMAT")
              + (" (expired)" if t.is_expired else ""),
              date_format(localtime(t.last_used_at), "DATETIME_FORMAT")
              if t.last_used_at else "never",
              reverse("admin:core_apitoken_rotate", args=[t.pk]))
             for t in user.api_tokens.order_by("created_at")))
        table = format_html(
            "<table><thead><tr><th>Token</th><th>Name</th><th>Created</th><th>Expires</th>"
            "<th>Last used</th><th></th></tr></thead><tbody>{}</tbody></table>", rows,
        ) if rows else format_html("<p>{}</p>", "No API tokens.")
        new = reverse("admin:core_user_token_new", args=[user.pk])
        return format_html('{}<p><a href="{}">Create an API token…</a></p>', table, new)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            # <path:object_id>, like the admin's own object URLs.
            path("<path:object_id>/tokens/new/", view(self.token_new_view),
                 name="core_user_token_new"),
            *super().get_urls(),
        ]

    def _token_user(self, request: HttpRequest, user_id: object) -> User:
        user = get_object_or_404(User, pk=_pk(user_id))
        if not self.has_change_permission(request, user):
            raise Http404
        return user

    def _token_page(self, request: HttpRequest, user: User, **context: Any) -> HttpResponse:
        return TemplateResponse(request, "admin/core/user/api_token.html", {
            **self.admin_site.each_context(request), "opts": self.opts, "original": user,
            "title": f"API token for {user.username}", **context})

    def token_new_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        user = self._token_user(request, object_id)
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

    def token_rotate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        old = get_object_or_404(ApiToken, pk=_pk(object_id))
        user = self._token_user(request, old.user_id)
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
        return False  # made by token_create or on the user page, which show the token once

    def get_urls(self) -> list[URLPattern]:
        # Rotating is the user page's (UserAdmin.token_rotate_view), under the token's URL.
        rotate = self.admin_site._registry[User].token_rotate_view  # type: ignore[attr-defined]
        return [
            path("<path:object_id>/rotate/", self.admin_site.admin_view(rotate),
                 name="core_apitoken_rotate"),
            *super().get_urls(),
        ]


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
