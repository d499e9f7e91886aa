from django.apps import AppConfig


class ParticipationConfig(AppConfig):
    name = "programdesk.participation"
    label = "participation"

    def ready(self) -> None:
        # Scheduling tells participation about changed sessions through signals (it sits
        # below participation and does not import it): participation/receivers.py.
        from programdesk.participation import receivers

        receivers.connect()
