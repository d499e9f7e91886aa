from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "programdesk.reports"
    label = "reports"
