from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "programdesk.web"
    label = "web"
