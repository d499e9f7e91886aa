from django.apps import AppConfig


class ProgramDeskConfig(AppConfig):
    """The project package itself: holds the management commands (demo, serve, import, ...)."""

    name = "programdesk"
    label = "programdesk"
