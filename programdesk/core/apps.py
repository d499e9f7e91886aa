from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CoreConfig(AppConfig):
    default = True
    name = "programdesk.core"
    label = "core"

    def ready(self) -> None:
        # Signal receivers: login failures and lockout; a disabled user's sessions and tokens.
        from programdesk.core import lockout, signals  # noqa: F401


class ProgramDeskAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "programdesk.core.admin_site.ProgramDeskAdminSite"
