from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from programdesk.core.services import idempotency_records_purge, tokens_purge_expired
from programdesk.imports.jobs import import_uploads_purge


class Command(BaseCommand):
    help = ("Delete what is kept only for a while: stored idempotent answers, abandoned import "
            "uploads and expired API tokens. `manage.py serve` runs it at start and hourly.")

    def handle(self, *args: Any, **options: Any) -> None:
        records = idempotency_records_purge()
        uploads = import_uploads_purge()
        tokens = tokens_purge_expired()
        self.stdout.write(f"Purged {records} idempotency records, {uploads} import files, "
                          f"{tokens} expired API tokens.")
