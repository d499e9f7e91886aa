"""Run one scenario in this process on a fresh database and print its JSON line."""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import uuid


def fresh_database() -> str:
    """Point DATABASE_URL at a new, empty database; returns the backend's name."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        os.environ.pop("DATABASE_URL", None)  # a new SQLite file under PROGRAMDESK_VAR_DIR
        return "sqlite"
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(url)
    name = f"programdesk_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
    return "postgresql"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    backend = fresh_database()

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from bench.facts import database_settings, database_version
    from bench.scenarios import SCENARIOS

    result = SCENARIOS[args.scenario](scale=args.scale, repeat=args.repeat)
    seconds, baseline = result["seconds"], result["baseline_seconds"]
    line = {
        "scenario": args.scenario,
        "backend": backend,
        "rows": result["rows"],
        "seconds": round(seconds, 4),
        "baseline_seconds": round(baseline, 4),
        "ratio": round(seconds / baseline, 3) if baseline else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **{k: v for k, v in result.items() if k not in {"rows", "seconds", "baseline_seconds"}},
        "database_version": database_version(),
        "database_settings": database_settings(),
    }
    sys.stdout.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
