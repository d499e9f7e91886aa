from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(L)s'


class Command(BaseCommand):
    help = "Migrate, load the demo data, collect static files and serve under gunicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "2")))
        parser.add_argument("--no-demo", action="store_true", help="Do not load the demo data")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database is up to date.")
        credentials = None
        if not options["no_demo"]:
            from programdesk.management.commands.demo import demo_build

            credentials = demo_build(stdout=self.stdout)
        call_command("collectstatic", interactive=False, verbosity=0)
        host = options["bind"]
        url = f"http://{host}/"
        self.stdout.write(self.style.SUCCESS(f"\nProgram Desk is starting at {url}"))
        if credentials:
            users = ", ".join(credentials["users"])
            self.stdout.write(f"Log in as any of: {users} — password: {credentials['password']}")
            self.stdout.write(f"(kept in {settings.VAR_DIR / 'demo-password.txt'})")
        self.stdout.write("Stop with Ctrl-C.\n")
        sys.stdout.flush()
        argv = [sys.executable, "-m", "gunicorn", "programdesk.wsgi:application",
                # Its when_ready hook runs `manage.py purge` now and hourly.
                "--config", "python:programdesk.gunicorn_conf",
                "--bind", host, "--workers", str(options["workers"]),
                "--access-logfile", "-", "--forwarded-allow-ips", "127.0.0.1",
                # Paths without their query strings, which can hold names (?search=, ?q=).
                "--access-logformat", ACCESS_LOG_FORMAT,
                # Large imports and exports answer only when done: minutes, not 30 s.
                "--timeout", "300"]
        os.execv(sys.executable, argv)
