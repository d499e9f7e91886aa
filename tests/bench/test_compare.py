"""``python -m bench --compare``: two runs' ratios side by side, and a regression is a failure.
Pure functions over JSON lines: no database, no benchmark run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import compare
from bench.__main__ import parse_args, print_comparison


def line(scenario: str, ratio: float | None, *, backend: str = "sqlite", rows: int = 1000,
         **facts: Any) -> dict[str, Any]:
    return {"scenario": scenario, "backend": backend, "rows": rows, "seconds": 1.0,
            "baseline_seconds": 1.0, "ratio": ratio, **facts}


def failure(scenario: str, *, backend: str = "sqlite") -> dict[str, Any]:
    return {"scenario": scenario, "backend": backend, "error": ["Traceback ..."]}


def verdicts(rows: list[compare.Row]) -> dict[str, str]:
    return {row.scenario: row.verdict for row in rows}


def test_ratio_worse_by_more_than_the_threshold_is_a_regression() -> None:
    rows = compare.compare([line("S1", 1.00), line("S4", 2.00)],
                           [line("S1", 1.05), line("S4", 2.50)], threshold=0.10)

    assert verdicts(rows) == {"S1": compare.SAME, "S4": compare.WORSE}
    s4 = rows[1]
    assert (s4.old, s4.new) == (2.00, 2.50)
    assert s4.change == pytest.approx(0.25)
    assert [r.scenario for r in compare.regressions(rows)] == ["S4"]


def test_change_exactly_at_the_threshold_is_not_a_regression() -> None:
    rows = compare.compare([line("S1", 1.0)], [line("S1", 1.1)], threshold=0.10)

    assert verdicts(rows) == {"S1": compare.SAME}
    assert compare.regressions(rows) == []


def test_threshold_is_settable() -> None:
    old, new = [line("S2", 1.0)], [line("S2", 1.2)]

    assert verdicts(compare.compare(old, new, threshold=0.10)) == {"S2": compare.WORSE}
    assert verdicts(compare.compare(old, new, threshold=0.25)) == {"S2": compare.SAME}


def test_lower_ratio_is_better_and_never_a_regression() -> None:
    rows = compare.compare([line("S6", 4.0)], [line("S6", 2.0)], threshold=0.10)

    assert verdicts(rows) == {"S6": compare.BETTER}
    assert rows[0].change == pytest.approx(-0.5)
    assert compare.regressions(rows) == []


def test_scenario_failing_in_the_new_run_is_a_regression() -> None:
    rows = compare.compare([line("S7", 9.5)], [failure("S7")], threshold=0.10)

    assert verdicts(rows) == {"S7": compare.FAILED}
    assert rows[0].new is None
    assert compare.regressions(rows) == rows


def test_scenarios_in_only_one_run_are_reported_not_judged() -> None:
    """``--only`` runs a subset: a scenario missing from one side is no regression."""
    rows = compare.compare([line("S1", 1.0), line("S5", 1.1)], [line("S1", 1.0), line("S7", 9)],
                           threshold=0.10)

    assert verdicts(rows) == {"S1": compare.SAME, "S5": compare.ONLY_OLD, "S7": compare.ONLY_NEW}
    assert compare.regressions(rows) == []


def test_runs_are_matched_by_backend_too() -> None:
    old = [line("S1", 1.0, backend="sqlite"), line("S1", 1.2, backend="postgresql")]
    new = [line("S1", 1.0, backend="postgresql"), line("S1", 1.5, backend="sqlite")]

    rows = compare.compare(old, new, threshold=0.10)

    assert {(r.scenario, r.backend): r.verdict for r in rows} == {
        ("S1", "sqlite"): compare.WORSE, ("S1", "postgresql"): compare.BETTER}


def test_several_runs_in_one_file_compare_by_their_median() -> None:
    """Three runs concatenated into one file: one noisy run does not decide."""
    old = [line("S2", 1.3), line("S2", 1.4), line("S2", 1.35)]
    new = [line("S2", 1.32), line("S2", 2.9), line("S2", 1.36)]

    rows = compare.compare(old, new, threshold=0.10)

    assert (rows[0].old, rows[0].new, rows[0].verdict) == (1.35, 1.36, compare.SAME)
    assert "median of 3 runs" in rows[0].note


def test_missing_ratio_is_not_comparable_rather_than_a_crash() -> None:
    rows = compare.compare([line("S3", None)], [line("S3", 20.0)], threshold=0.10)

    assert verdicts(rows) == {"S3": compare.NOT_COMPARABLE}
    assert rows[0].change is None


def test_different_sizes_are_noted() -> None:
    rows = compare.compare([line("S1", 1.0, rows=52_000)], [line("S1", 1.0, rows=520_000)],
                           threshold=0.10)

    assert "rows differ: 52,000 → 520,000" in rows[0].note


def test_report_is_a_table_with_the_change_as_a_number_and_names_the_regressions() -> None:
    old = [line("S1", 1.0, revision="abc1234", date="2026-12-01T10:00:00+00:00", cores=2,
                cpu="AMD EPYC", python="3.11.7", database_version="3.40.1", scale=1.0)]
    new = [line("S1", 1.25, revision="def5678-dirty", date="2026-12-02T10:00:00+00:00",
                cores=2, cpu="AMD EPYC", python="3.11.7", database_version="3.40.1", scale=1.0)]
    rows = compare.compare(old, new, threshold=0.10)

    report = compare.format_report(old, new, rows, threshold=0.10, old_name="main.jsonl",
                                   new_name="branch.jsonl")

    assert "old: main.jsonl: revision abc1234, 2026-12-01T10:00:00+00:00, sqlite 3.40.1" in report
    assert "new: branch.jsonl: revision def5678-dirty" in report
    assert "| S1 | sqlite | 1.000 | 1.250 | +25.0% | worse |  |" in report
    assert "1 regression(s) (ratio up by more than 10%, or the scenario failed): " \
           "S1 on sqlite +25.0%" in report


def test_report_without_regressions_says_so() -> None:
    rows = compare.compare([line("S1", 1.0)], [line("S1", 0.99)], threshold=0.10)

    report = compare.format_report([line("S1", 1.0)], [line("S1", 0.99)], rows, threshold=0.10)

    assert "No ratio got worse by more than 10%." in report
    assert "Nothing to compare" not in report


def test_report_says_when_the_runs_share_no_backend() -> None:
    old, new = [line("S1", 1.0, backend="sqlite")], [line("S1", 1.0, backend="postgresql")]
    rows = compare.compare(old, new, threshold=0.10)

    assert "Nothing to compare" in compare.format_report(old, new, rows, threshold=0.10)


def test_lines_are_read_from_a_json_lines_file(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text(json.dumps(line("S1", 1.0)) + "\n\n" + json.dumps(failure("S2")) + "\n")

    assert [x["scenario"] for x in compare.read_lines(path)] == ["S1", "S2"]


@pytest.mark.parametrize("text", ["==> not json", "[1, 2]", '{"ratio": 1.0}'])
def test_a_file_that_is_not_benchmark_lines_is_refused_with_its_line_number(text: str) -> None:
    with pytest.raises(ValueError, match=r"run\.jsonl, line 2"):
        compare.parse_lines(json.dumps(line("S1", 1.0)) + "\n" + text, source="run.jsonl")


def test_compare_takes_one_or_two_files_and_two_files_run_nothing() -> None:
    assert parse_args(["--compare", "old.jsonl", "new.jsonl"]).threshold == 10.0
    assert parse_args(["--compare", "old.jsonl", "--threshold", "25"]).threshold == 25.0
    with pytest.raises(SystemExit):
        parse_args(["--compare", "a.jsonl", "b.jsonl", "c.jsonl"])
    with pytest.raises(SystemExit):
        parse_args(["--compare", "a.jsonl", "b.jsonl", "--only", "S1"])
    with pytest.raises(SystemExit):
        parse_args(["--pg-option", "fsync=off"])


@pytest.mark.parametrize(("new", "status"), [
    ([line("S1", 1.05)], 0),                      # within the threshold
    ([line("S1", 1.5)], 1),                       # worse by 50%
    ([failure("S1")], 1),                         # the scenario failed
    ([line("S1", 1.0, backend="postgresql")], 2),  # nothing in common: not a pass
])
def test_compare_exit_status(new: list[dict[str, Any]], status: int,
                             capsys: pytest.CaptureFixture[str]) -> None:
    assert print_comparison([line("S1", 1.0)], new, threshold=10, old_name="old",
                            new_name="new") == status
    assert "| S1 |" in capsys.readouterr().out


def test_compare_with_a_run_on_another_backend_is_refused_before_running(tmp_path: Path) -> None:
    """A PostgreSQL file compared with a SQLite run would run every scenario for nothing."""
    import os
    import subprocess
    import sys

    path = tmp_path / "pg.jsonl"
    path.write_text(json.dumps(line("S1", 1.0, backend="postgresql")) + "\n")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}

    result = subprocess.run([sys.executable, "-m", "bench", "--compare", str(path)],
                            capture_output=True, text=True, env=env, timeout=60,
                            cwd=Path(__file__).resolve().parents[2])

    assert result.returncode == 1
    assert "has no sqlite run (add --postgres?)" in result.stderr
    assert result.stdout == ""
