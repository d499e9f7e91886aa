"""Program Desk's benchmark suite.

    .venv/bin/python -m bench [--scale 1] [--only S1,S4] [--repeat 3] [--postgres] [--out FILE]
    .venv/bin/python -m bench --compare OLD.jsonl [NEW.jsonl] [--threshold 10]

Each scenario runs in its own process (so its peak memory is its own) on a fresh database:
a new SQLite file under a temporary directory, or — with --postgres, or when DATABASE_URL
points at PostgreSQL — a fresh database created on that server (--postgres starts a throwaway
cluster with pg_virtualenv for the run). It prints one JSON line per scenario:
{"scenario", "backend", "rows", "seconds", "baseline_seconds", "ratio", "peak_rss_mb", ...}
where the baseline is the same rows written (or the same aggregate read) with plain
executemany/SQL on the same database settings, measured in the same run; then where it was
measured: "revision", "date", "scale", "repeat", "cores", "cpu", "memory_gib", "python",
"database_version", "database_settings", "load_1m".

--compare OLD NEW runs nothing: it prints a table of each scenario's ratio in both files and
exits 1 if a ratio got worse by more than --threshold percent (or a scenario failed), 2 if the
files have no scenario on the same backend in common, else 0.
--compare OLD alone runs the benchmark first (OLD's scenarios at OLD's scale unless --only or
--scale say otherwise) and compares OLD with this run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from bench import compare, facts
from bench.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parent.parent

# Set inside the pg_virtualenv cluster --postgres starts, so the run there does not start another.
IN_CLUSTER = "PROGRAMDESK_BENCH_IN_CLUSTER"
# The file descriptor the run inside pg_virtualenv writes its JSON lines to (our stdout):
# pg_virtualenv prints its own messages on stdout, and they must not mix with the JSON lines.
STDOUT_FD = "PROGRAMDESK_BENCH_STDOUT_FD"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=None,
                        help="multiply every scenario's size (default 1; with --compare OLD, "
                             "OLD's scale)")
    parser.add_argument("--only", default="", help="comma-separated scenarios, e.g. S1,S4")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each measurement; the fastest counts (default 3)")
    parser.add_argument("--postgres", action="store_true",
                        help="run on a throwaway PostgreSQL cluster started with pg_virtualenv "
                             "(fsync on, synchronous_commit off)")
    parser.add_argument("--pg-option", action="append", default=[], metavar="SETTING=VALUE",
                        help="with --postgres: a server setting for the cluster, e.g. "
                             "fsync=off (repeatable)")
    parser.add_argument("--out", metavar="FILE", type=Path,
                        help="also write the JSON lines to FILE (replaced)")
    parser.add_argument("--compare", nargs="+", metavar="FILE", type=Path,
                        help="OLD NEW: compare two runs' files; OLD: run, then compare OLD "
                             "with this run")
    parser.add_argument("--threshold", type=float, default=10.0, metavar="PERCENT",
                        help="with --compare: a ratio higher by more than this fails "
                             "(default 10)")
    args = parser.parse_args(argv)
    if args.compare and len(args.compare) > 2:
        parser.error("--compare takes one file (compare it with this run) or two (OLD NEW)")
    if args.compare and len(args.compare) == 2 and (args.out or args.postgres or args.only
                                                    or args.scale is not None):
        parser.error("--compare OLD NEW only compares two files; it runs nothing")
    if args.pg_option and not args.postgres:
        parser.error("--pg-option needs --postgres")
    if args.threshold < 0:
        parser.error("--threshold is a percentage ≥ 0")
    return args


def run_in_cluster(argv: list[str], *, options: list[str]) -> int:
    """Run this same command again inside a throwaway PostgreSQL cluster; its exit status.

    The cluster keeps fsync on, as production has it, and turns synchronous_commit off: the same
    trade the SQLite settings make (WAL with synchronous=NORMAL: a commit does not wait for the
    disk flush, nothing can be corrupted). Waiting for the flush would add the disk's latency —
    the same on both sides, so it pulls every ratio towards 1 and hides the code's own cost,
    which is what the ratios track — and the disk's noise (docs/performance.md).
    ``options`` (``--pg-option``) come last and win: ``--pg-option synchronous_commit=on``
    measures with production's flush.
    """
    if not shutil.which("pg_virtualenv"):
        sys.exit("--postgres needs pg_virtualenv (Debian/Ubuntu: apt install postgresql "
                 "postgresql-common), or set DATABASE_URL to a PostgreSQL server instead")
    inner = (f"{IN_CLUSTER}=1 "
             "DATABASE_URL=postgres://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/postgres "
             'exec "$0" -m bench "$@"')
    stdout = os.dup(sys.stdout.fileno())
    sys.stdout.flush()
    env = dict(os.environ, PYTHONPATH=str(ROOT), **{STDOUT_FD: str(stdout)})
    # pg_virtualenv turns fsync off unless told otherwise.
    defaults = ["fsync=on", "synchronous_commit=off"]
    settings = [arg for option in [*defaults, *options] for arg in ("-o", option)]
    result = subprocess.run(
        ["pg_virtualenv", "-t", *settings, "sh", "-c", inner, sys.executable, *argv],
        env=env, stdout=sys.stderr, pass_fds=(stdout,))
    os.close(stdout)
    return result.returncode


def run_scenarios(names: list[str], *, scale: float, repeat: int, out: TextIO | None,
                  postgres: bool) -> tuple[list[dict[str, Any]], bool]:
    """Run each scenario in its own process; its lines (printed, and written to ``out``) and
    whether all of them succeeded."""
    shared = facts.run_facts(root=ROOT, scale=scale, repeat=repeat)
    lines: list[dict[str, Any]] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="programdesk-bench-") as tmp:
        for name in names:
            env = dict(os.environ, PROGRAMDESK_VAR_DIR=str(Path(tmp) / name),
                       DJANGO_SETTINGS_MODULE="programdesk.settings", PYTHONPATH=str(ROOT))
            load = facts.load_average()
            result = subprocess.run(
                [sys.executable, "-m", "bench.run", name, "--scale", str(scale),
                 "--repeat", str(repeat)],
                cwd=ROOT, env=env, capture_output=True, text=True)
            last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
            if result.returncode != 0 or not last.startswith("{"):
                failed = True
                line: dict[str, Any] = {
                    "scenario": name, "backend": "postgresql" if postgres else "sqlite",
                    "error": (result.stderr or result.stdout).strip().splitlines()[-1:]}
                sys.stderr.write(result.stderr)
            else:
                line = json.loads(last)
            line.update(shared, load_1m=load)
            lines.append(line)
            text = json.dumps(line)
            print(text, flush=True)
            if out:
                out.write(text + "\n")
                out.flush()
    return lines, failed


def print_comparison(old: list[dict[str, Any]], new: list[dict[str, Any]], *, threshold: float,
                     old_name: str, new_name: str) -> int:
    """Print the comparison table; the exit status it calls for: 0 no regression, 1 a ratio
    worse by more than ``threshold`` percent or a failed scenario, 2 nothing to compare."""
    rows = compare.compare(old, new, threshold=threshold / 100)
    print(compare.format_report(old, new, rows, threshold=threshold / 100, old_name=old_name,
                                new_name=new_name), flush=True)
    if compare.regressions(rows):
        return 1
    return 0 if compare.comparable(rows) else 2


def read_or_exit(path: Path) -> list[dict[str, Any]]:
    try:
        return compare.read_lines(path)
    except (OSError, ValueError) as exc:
        sys.exit(f"--compare: {exc}")


def main() -> None:
    if STDOUT_FD in os.environ:  # inside pg_virtualenv: print to the caller's stdout
        os.dup2(int(os.environ.pop(STDOUT_FD)), sys.stdout.fileno())
    argv = sys.argv[1:]
    args = parse_args(argv)
    if args.compare and len(args.compare) == 2:
        old_path, new_path = args.compare
        sys.exit(print_comparison(read_or_exit(old_path), read_or_exit(new_path),
                                  threshold=args.threshold, old_name=str(old_path),
                                  new_name=str(new_path)))
    old = read_or_exit(args.compare[0]) if args.compare else None
    postgres = args.postgres or os.environ.get("DATABASE_URL", "").startswith("postgres")
    backend = "postgresql" if postgres else "sqlite"
    if old is not None and backend not in {line.get("backend") for line in old}:
        # Refuse before a long run whose every scenario would have nothing to compare with.
        sys.exit(f"--compare: {args.compare[0]} has no {backend} run"
                 + ("" if postgres else " (add --postgres?)"))
    if args.postgres and not os.environ.get(IN_CLUSTER):
        sys.exit(run_in_cluster(argv, options=args.pg_option))

    names = [s.strip().upper() for s in args.only.split(",") if s.strip()]
    if not names and old is not None:  # compare like with like: the old run's scenarios
        names = list(dict.fromkeys(str(line["scenario"]) for line in old))
    names = names or list(SCENARIOS)
    unknown = [s for s in names if s not in SCENARIOS]
    if unknown:
        sys.exit(f"unknown scenarios: {', '.join(unknown)} (have {', '.join(SCENARIOS)})")
    scale = args.scale
    if scale is None:
        scales = {float(line.get("scale", 1.0)) for line in old or []}
        scale = scales.pop() if len(scales) == 1 else 1.0

    if args.out:
        with args.out.open("w", encoding="utf-8") as out:
            new, failed = run_scenarios(names, scale=scale, repeat=args.repeat, out=out,
                                        postgres=postgres)
    else:
        new, failed = run_scenarios(names, scale=scale, repeat=args.repeat, out=None,
                                    postgres=postgres)
    status = 1 if failed else 0
    if old is not None and args.compare:
        print(flush=True)
        status = max(status, print_comparison(old, new, threshold=args.threshold,
                                              old_name=str(args.compare[0]),
                                              new_name="this run"))
    sys.exit(status)


if __name__ == "__main__":
    main()
