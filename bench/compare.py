"""Compare two benchmark runs' ratios, scenario by scenario, so a regression is a number.

A run is a list of JSON lines as ``python -m bench`` prints them. The ratio compared is every
line's ``ratio`` (``seconds / baseline_seconds``): lower is better for every scenario, and it
is what the targets in docs/performance.md are written against. A file may hold several runs
(for instance three ``--out`` files concatenated): a scenario's ratio is then the median of its
runs, which damps the noise of a shared machine.

Everything here is a pure function of the lines; ``bench.__main__`` reads the files and runs.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Line = dict[str, Any]

# What a row's verdict says; WORSE and FAILED make the comparison fail.
WORSE, BETTER, SAME, FAILED = "worse", "better", "same", "FAILED"
ONLY_OLD, ONLY_NEW, NOT_COMPARABLE = "not in new run", "not in old run", "no ratio"


def parse_lines(text: str, *, source: str = "input") -> list[Line]:
    """The JSON objects of a JSON-lines text; blank lines are skipped, anything else that is
    not a JSON object is an error naming its line."""
    lines: list[Line] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{source}, line {number}: not JSON ({exc.msg})") from None
        if not isinstance(value, dict) or "scenario" not in value:
            raise ValueError(f"{source}, line {number}: not a benchmark line")
        lines.append(value)
    return lines


def read_lines(path: str | Path) -> list[Line]:
    return parse_lines(Path(path).read_text(encoding="utf-8"), source=str(path))


Key = tuple[str, str]  # (scenario, backend)


def _key(line: Line) -> Key:
    return str(line["scenario"]), str(line.get("backend") or "unknown")


@dataclass(frozen=True)
class Measured:
    """One scenario on one backend in one file: the median ratio of its successful runs."""

    ratio: float | None
    runs: int
    failures: int
    rows: frozenset[int]


def summarise(lines: Iterable[Line]) -> dict[Key, Measured]:
    """Each (scenario, backend)'s median ratio, in the order scenarios first appear."""
    ratios: dict[Key, list[float]] = {}
    failures: dict[Key, int] = {}
    rows: dict[Key, set[int]] = {}
    for line in lines:
        key = _key(line)
        ratios.setdefault(key, [])
        failures.setdefault(key, 0)
        rows.setdefault(key, set())
        if "error" in line:
            failures[key] += 1
        elif isinstance(line.get("ratio"), int | float):
            ratios[key].append(float(line["ratio"]))
            if isinstance(line.get("rows"), int):
                rows[key].add(line["rows"])
    return {key: Measured(ratio=statistics.median(values) if values else None,
                          runs=len(values), failures=failures[key], rows=frozenset(rows[key]))
            for key, values in ratios.items()}


@dataclass(frozen=True)
class Row:
    scenario: str
    backend: str
    old: float | None
    new: float | None
    change: float | None  # new / old - 1: +0.25 is a ratio 25% higher (worse)
    verdict: str
    note: str = ""


def _note(old: Measured | None, new: Measured | None) -> str:
    notes = []
    for label, measured in [("old", old), ("new", new)]:
        if measured and measured.runs > 1:
            notes.append(f"{label}: median of {measured.runs} runs")
        if measured and measured.failures:
            notes.append(f"{label}: {measured.failures} failed")
    if old and new and old.rows and new.rows and old.rows != new.rows:
        # Different sizes (another --scale): the ratios are not measuring the same work.
        notes.append("rows differ: " + "/".join(f"{r:,}" for r in sorted(old.rows))
                     + " → " + "/".join(f"{r:,}" for r in sorted(new.rows)))
    return "; ".join(notes)


def compare(old_lines: Iterable[Line], new_lines: Iterable[Line], *,
            threshold: float) -> list[Row]:
    """One row per (scenario, backend) in either run. ``threshold`` is a fraction (0.10): a
    ratio more than that much higher than before is WORSE, more than that much lower BETTER.
    A scenario whose new run failed is FAILED; one missing from either run is reported, not
    judged (``--only`` runs a subset)."""
    old, new = summarise(old_lines), summarise(new_lines)
    result: list[Row] = []
    for key in [*old, *(k for k in new if k not in old)]:
        before, after = old.get(key), new.get(key)
        note = _note(before, after)
        old_ratio = before.ratio if before else None
        new_ratio = after.ratio if after else None
        # Rounded so that 1.0 → 1.1 is exactly +10%, not 10.000000000000009%.
        change = (round(new_ratio / old_ratio - 1, 6) if old_ratio and new_ratio is not None
                  else None)
        if after is None:
            verdict = ONLY_OLD
        elif after.failures:
            verdict = FAILED
        elif before is None:
            verdict = ONLY_NEW
        elif change is None:
            verdict = NOT_COMPARABLE
        elif change > threshold:
            verdict = WORSE
        elif change < -threshold:
            verdict = BETTER
        else:
            verdict = SAME
        result.append(Row(scenario=key[0], backend=key[1], old=old_ratio, new=new_ratio,
                          change=change, verdict=verdict, note=note))
    return result


def comparable(rows: Iterable[Row]) -> bool:
    """Whether any scenario has a ratio in both runs (else the runs share nothing: another
    backend, other scenarios), which a check must not take for a pass."""
    return any(row.old is not None and row.new is not None for row in rows)


def regressions(rows: Iterable[Row]) -> list[Row]:
    """The rows that should fail a pull request: ratios worse by more than the threshold, and
    scenarios that failed in the new run."""
    return [row for row in rows if row.verdict in {WORSE, FAILED}]


def describe(lines: list[Line]) -> str:
    """One line about where a run was measured: revision, date, database, machine."""

    def values(*names: str) -> str:
        seen: list[str] = []
        for line in lines:
            parts = [str(line[n]) for n in names if line.get(n) not in (None, "")]
            text = " ".join(parts)
            if text and text not in seen:
                seen.append(text)
        return ", ".join(seen) or "?"

    loads = [line["load_1m"] for line in lines if isinstance(line.get("load_1m"), int | float)]
    load = f", load {min(loads)}–{max(loads)}" if loads else ""
    return (f"revision {values('revision')}, {values('date')}, "
            f"{values('backend', 'database_version', 'database_settings')}, "
            f"{values('cores')} cores ({values('cpu')}){load}, Python {values('python')}, "
            f"scale {values('scale')}")


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _change(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.1f}%"


def format_report(old_lines: list[Line], new_lines: list[Line], rows: list[Row], *,
                  threshold: float, old_name: str = "old", new_name: str = "new") -> str:
    """A Markdown table (readable in a terminal, pastes into a pull request) and a verdict."""
    out = [f"old: {old_name}: {describe(old_lines)}",
           f"new: {new_name}: {describe(new_lines)}",
           "",
           "| scenario | backend | old ratio | new ratio | change | verdict | note |",
           "|---|---|---:|---:|---:|---|---|"]
    out += [f"| {r.scenario} | {r.backend} | {_ratio(r.old)} | {_ratio(r.new)} | "
            f"{_change(r.change)} | {r.verdict} | {r.note} |" for r in rows]
    bad = regressions(rows)
    out.append("")
    if bad:
        out.append(f"{len(bad)} regression(s) (ratio up by more than {threshold:.0%}, or the "
                   "scenario failed): " + ", ".join(
                       f"{r.scenario} on {r.backend} {_change(r.change)}"
                       if r.verdict == WORSE else f"{r.scenario} on {r.backend} failed"
                       for r in bad))
    else:
        out.append(f"No ratio got worse by more than {threshold:.0%}.")
    if not comparable(rows):
        out.append("Nothing to compare: no scenario on the same backend in both runs "
                   "(a PostgreSQL run is compared with a PostgreSQL run: --postgres).")
    return "\n".join(out)
