from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from programdesk.core.models import User
from programdesk.core.services import token_create


class Command(BaseCommand):
    help = "Create an API token for a user and print it on stdout (and nothing else)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="A note to tell tokens apart")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user named '{options['username']}'.")
        if not user.is_active:
            raise CommandError(f"The user '{user.username}' is disabled.")
        self.stdout.write(token_create(actor=None, user=user, name=options["name"]))
