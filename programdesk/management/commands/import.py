"""``manage.py import KIND FILE [--dry-run] [--user NAME] [--map "Column=field" ...]``"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from programdesk.core.errors import DomainError, ValidationError
from programdesk.core.models import User
from programdesk.imports import fields
from programdesk.imports.jobs import import_mapping_remember, import_mapping_remembered
from programdesk.imports.parsers import MAX_BYTES, read_table
from programdesk.imports.results import SUMMARY_LABELS, ImportErrors, ImportResult
from programdesk.imports.services import import_check, import_commit


class Command(BaseCommand):
    help = ("Import people, accounts, enrollments or disbursements (past attendance too) from "
            "a CSV or XLSX file. Every row is checked first; with any error nothing is "
            "written and every error is listed (row, column, message). See docs/imports.md.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=fields.ImportKind.values)
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true",
                            help="Check every row and say what would happen; write nothing")
        parser.add_argument("--user", default="",
                            help="Import as this user (their role and programs apply, and "
                                 "their remembered mapping); default: the system, which may "
                                 "import everything")
        parser.add_argument("--map", action="append", default=[], metavar="COLUMN=FIELD",
                            help='Read a column into a field, e.g. --map "Zip=postal_code"; '
                                 '"Notes=" ignores a column. Repeat for several. Remembered '
                                 "for the next import of this kind.")

    def handle(self, *args: Any, **options: Any) -> None:
        kind, path = options["kind"], options["file"]
        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"No active user '{options['user']}'.")
        try:
            size = os.path.getsize(path)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        if size > MAX_BYTES:
            raise CommandError(f"{path} is {size / 2**20:.1f} MB; at most "
                               f"{MAX_BYTES / 2**20:.0f} MB can be imported. Split it.")
        with open(path, "rb") as fh:
            data = fh.read()
        started = time.monotonic()
        try:
            table = read_table(data, path)
            definitions = fields.custom_definitions(kind)
            mapping = fields.guess_mapping(kind, table.headers, definitions=definitions,
                                           remembered=import_mapping_remembered(user=user,
                                                                                kind=kind))
            mapping = fields.mapping_parse(kind, table.headers, options["map"], mapping)
            self._show_mapping(table.headers, mapping)
            fields.mapping_check(kind, table.headers, mapping, definitions)
            import_mapping_remember(actor=user, kind=kind, headers=table.headers,
                                    mapping=mapping)
            if options["dry_run"]:
                result = import_check(actor=user, kind=kind, table=table, mapping=mapping,
                                      progress=self._progress)
            else:
                result = import_commit(actor=user, kind=kind, table=table, mapping=mapping,
                                       progress=self._progress,
                                       filename=os.path.basename(path))
        except ImportErrors as exc:
            self._show_errors(exc.result)
            raise CommandError(exc.detail) from None
        except ValidationError as exc:
            lines = [f"{e['field']}: {e['message']}" if e["field"] else e["message"]
                     for e in exc.errors] or [exc.detail]
            raise CommandError("\n".join(lines)) from None
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        self._show_errors(result)
        self._show_summary(result, time.monotonic() - started)
        if result.errors:
            raise CommandError(f"{len(result.errors)} error(s); nothing would be imported.")

    def _progress(self, phase: str, done: int, total: int) -> None:
        if done and total and phase in {"checking", "writing"}:
            sys.stderr.write(f"{phase} {done:,} of {total:,}\n")
            sys.stderr.flush()

    def _show_mapping(self, headers: list[str], mapping: list[str]) -> None:
        for header, field in zip(headers, mapping, strict=True):
            self.stdout.write(f"  {header!r} -> {field or '(ignored)'}")

    def _show_errors(self, result: ImportResult) -> None:
        for e in result.errors:
            where = f"row {e.row}, {e.column}" if e.column else f"row {e.row}"
            self.stdout.write(f"{where}: {e.message}")

    def _show_summary(self, result: ImportResult, seconds: float) -> None:
        verb = "Would import" if not result.committed else "Imported"
        self.stdout.write(f"{verb} {result.rows:,} rows of {result.kind} "
                          f"({seconds:.1f} s, {result.rows / max(seconds, 1e-9):,.0f} rows/s):")
        for key, label in SUMMARY_LABELS.items():
            if key in result.summary:
                self.stdout.write(f"  {result.summary[key]:,} {label}")
        if not result.committed and not result.errors:
            self.stdout.write("Dry run: nothing was written.")
