from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from programdesk.core.lockout import AdminLoginForm
from programdesk.core.roles import Cap


class ProgramDeskAdminSite(admin.AdminSite):
    site_header = "Program Desk administration"
    site_title = "Program Desk admin"
    login_form = AdminLoginForm  # the login lockout (core.lockout)

    def has_permission(self, request: HttpRequest) -> bool:
        """The admin is for configuration: the admin role (or a superuser), not ``is_staff``.
        It shows every program's records, so an admin limited to some programs may not use it."""
        user = request.user
        return bool(user.is_active and getattr(user, "can", None) and user.can(Cap.CONFIGURE)
                    and user.visible_program_ids() is None)
