from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "programdesk.imports"
    label = "imports"
