from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from programdesk.core.errors import DomainError
from programdesk.core.models import ApiToken, User
from programdesk.core.services import token_create, token_rotate


class Command(BaseCommand):
    help = ("Create an API token for a user (or replace one with --rotate) and print it on "
            "stdout (and nothing else).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="A note to tell tokens apart")
        parser.add_argument("--days", type=int, default=None,
                            help="Days until it expires (default API_TOKEN_DAYS: 365)")
        parser.add_argument("--rotate", metavar="PREFIX", default=None,
                            help="Replace the user's token starting with PREFIX (its first "
                                 "characters, as the user page shows) and revoke it")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user named '{options['username']}'.")
        if not user.is_active:
            raise CommandError(f"The user '{user.username}' is disabled.")
        try:
            if options["rotate"]:
                old = _token_by_prefix(user, options["rotate"])
                raw = token_rotate(actor=None, token=old, days=options["days"])
            else:
                raw = token_create(actor=None, user=user, name=options["name"],
                                   days=options["days"])
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(raw)


def _token_by_prefix(user: User, prefix: str) -> ApiToken:
    tokens = list(ApiToken.objects.filter(user=user, prefix__startswith=prefix.strip()[:12])[:2])
    if len(prefix.strip()) < 4 or not tokens:
        raise CommandError(f"No token of '{user.username}' starts with '{prefix}'.")
    if len(tokens) > 1:
        raise CommandError(f"More than one token of '{user.username}' starts with '{prefix}': "
                           "give more characters.")
    return tokens[0]
