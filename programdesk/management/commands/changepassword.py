"""Django's ``changepassword``, with the change recorded in the audit log.

Django's command saves the password itself; this one asks the same way (three tries, Django's
validators) and saves through ``core.services.user_password_set``, which writes the audit
event in the same transaction. The prompts happen outside any transaction.
"""

from __future__ import annotations

import getpass
from typing import Any

from django.contrib.auth.management.commands import changepassword
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.management.base import CommandError

from programdesk.core.models import User
from programdesk.core.services import user_password_set

MAX_TRIES = 3


class Command(changepassword.Command):
    def handle(self, *args: Any, **options: Any) -> str:
        username = options["username"] or getpass.getuser()
        user = User.objects.using(options["database"]).filter(username=username).first()
        if user is None:
            raise CommandError(f"user '{username}' does not exist")
        self.stdout.write(f"Changing password for user '{user}'")
        for _ in range(MAX_TRIES):
            p1 = getpass.getpass()
            p2 = getpass.getpass("Password (again): ")
            if p1 != p2:
                self.stdout.write("Passwords do not match. Please try again.")
                continue
            try:
                validate_password(p2, user)
            except DjangoValidationError as err:
                self.stderr.write("\n".join(err.messages))
                continue
            user_password_set(actor=None, user=user, password=p2,
                              reason="manage.py changepassword")
            return f"Password changed successfully for user '{user}'"
        raise CommandError(
            f"Aborting password change for user '{user}' after {MAX_TRIES} attempts")
