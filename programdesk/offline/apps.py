from django.apps import AppConfig


class OfflineConfig(AppConfig):
    name = "programdesk.offline"
    label = "offline"
