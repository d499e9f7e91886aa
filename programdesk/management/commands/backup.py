from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from programdesk.core import backup


class Command(BaseCommand):
    help = ("Back up the whole database while it serves: SQLite's online backup API, or "
            "pg_dump for PostgreSQL. Prints the backup's path. The file holds personal data "
            "and is created readable by its owner only.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", type=Path,
                            help="Where to write it (default var/backups/programdesk-<time>)")
        parser.add_argument("--database-url", default=None,
                            help="Back up this database instead of the configured one")

    def handle(self, *args: Any, **options: Any) -> None:
        db = backup.database_settings(options["database_url"])
        try:
            path = backup.backup(options["path"] or backup.default_path(db), db=db)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(str(path))
