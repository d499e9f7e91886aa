from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CoreConfig(AppConfig):
    default = True
    name = "programdesk.core"
    label = "core"


class ProgramDeskAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "programdesk.core.admin_site.ProgramDeskAdminSite"
