from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "programdesk.api"
    label = "api"
