from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "programdesk.people"
    label = "people"
