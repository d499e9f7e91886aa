from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "programdesk.scheduling"
    label = "scheduling"
