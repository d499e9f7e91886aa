"""Every admin edit goes through core.services.admin_save/admin_delete (audited)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from programdesk.core import services


class AuditedAdmin(admin.ModelAdmin):
    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        services.admin_save(actor=request.user, obj=obj, change=change,  # type: ignore[arg-type]
                            save=lambda: super(AuditedAdmin, self).save_model(
                                request, obj, form, change))

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        services.admin_delete(actor=request.user, obj=obj,  # type: ignore[arg-type]
                              delete=lambda: super(AuditedAdmin, self).delete_model(request, obj))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records whose writes carry rules (enrollments, disbursements, sessions): the admin
    shows them; the pages and the API, through the services, change them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
