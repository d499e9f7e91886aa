from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from programdesk.core.errors import DomainError
from programdesk.core.roles import Role
from programdesk.core.services import user_create


class Command(BaseCommand):
    help = "Create a user with a role, optionally limited to some programs (docs/api.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", help="Without one, the user can only use API tokens")
        parser.add_argument("--programs", default="",
                            help="Comma-separated program ids the user is limited to")
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            program_ids = [int(p) for p in options["programs"].split(",") if p.strip()]
        except ValueError:
            raise CommandError("--programs takes comma-separated numeric ids, e.g. 3,5") from None
        try:
            user = user_create(actor=None, username=options["username"], role=options["role"],
                               password=options["password"], program_ids=program_ids,
                               email=options["email"])
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(f"Created {user.username} ({user.role}).")
