from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from programdesk.core import backup


class Command(BaseCommand):
    help = ("Restore a backup made by `manage.py backup` into the configured database (or "
            "--database-url). A database that holds data is replaced only with --replace. "
            "Stop the server first: the restore replaces every table.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--database-url", default=None,
                            help="Restore into this database instead of the configured one")
        parser.add_argument("--replace", action="store_true",
                            help="Replace a database that already holds data")

    def handle(self, *args: Any, **options: Any) -> None:
        db = backup.database_settings(options["database_url"])
        try:
            if not options["replace"] and not backup.is_empty(db):
                raise CommandError("The database already holds data; pass --replace to "
                                   "replace all of it with the backup.")
            connections.close_all()  # nothing of ours holds the database while it is replaced
            backup.restore(options["path"], db=db)
            tables = backup.fingerprint(db, counts_only=True)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        rows = sum(count for count, _ in tables.values())
        self.stdout.write(f"Restored {options['path']}: {len(tables)} tables, {rows} rows.")
