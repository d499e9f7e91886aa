from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from programdesk.management.purge import purge_everything, purge_report


class Command(BaseCommand):
    help = ("Delete what is kept only for a while: stored idempotent answers, abandoned import "
            "uploads, expired API tokens and expired export files. With --enqueue, queue it "
            "for a task worker instead (`manage.py serve` does so at start and hourly).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--enqueue", action="store_true",
                            help="Queue the purge as a task (a task worker runs it)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["enqueue"]:
            from programdesk.management.tasks import purge_run

            result = purge_run.enqueue()
            self.stdout.write(f"Queued the purge (task {result.id}).")
            return
        self.stdout.write(purge_report(purge_everything()))
