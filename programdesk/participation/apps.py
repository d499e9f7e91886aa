from django.apps import AppConfig


class ParticipationConfig(AppConfig):
    name = "programdesk.participation"
    label = "participation"
