"""Program Desk's benchmark suite.

    .venv/bin/python -m bench [--scale 1] [--only S1,S4] [--repeat 3]

Each scenario runs in its own process (so its peak memory is its own) on a fresh database:
a new SQLite file under a temporary directory, or — when DATABASE_URL points at PostgreSQL —
a fresh database created on that server. It prints one JSON line per scenario:
{"scenario", "backend", "rows", "seconds", "baseline_seconds", "ratio", "peak_rss_mb"}
where the baseline is the same rows written (or the same aggregate read) with plain
executemany/SQL on the same database settings, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply every scenario's size (default 1)")
    parser.add_argument("--only", default="", help="comma-separated scenarios, e.g. S1,S4")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each measurement; the fastest counts (default 3)")
    args = parser.parse_args()
    wanted = [s.strip().upper() for s in args.only.split(",") if s.strip()] or list(SCENARIOS)
    unknown = [s for s in wanted if s not in SCENARIOS]
    if unknown:
        sys.exit(f"unknown scenarios: {', '.join(unknown)} (have {', '.join(SCENARIOS)})")
    failed = False
    with tempfile.TemporaryDirectory(prefix="programdesk-bench-") as tmp:
        for name in wanted:
            env = dict(os.environ, PROGRAMDESK_VAR_DIR=str(Path(tmp) / name),
                       DJANGO_SETTINGS_MODULE="programdesk.settings", PYTHONPATH=str(ROOT))
            result = subprocess.run(
                [sys.executable, "-m", "bench.run", name, "--scale", str(args.scale),
                 "--repeat", str(args.repeat)],
                cwd=ROOT, env=env, capture_output=True, text=True)
            line = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
            if result.returncode != 0 or not line.startswith("{"):
                failed = True
                print(json.dumps({"scenario": name, "error": (result.stderr or result.stdout)
                                  .strip().splitlines()[-1:]}), flush=True)
                sys.stderr.write(result.stderr)
                continue
            print(line, flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
