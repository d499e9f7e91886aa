from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    name = "programdesk.programs"
    label = "programs"
