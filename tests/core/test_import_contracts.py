"""The layering is checked by import-linter ([tool.importlinter] in pyproject.toml, run by
``python3 run.py test``). These tests pin that the contracts hold on the code and that they
fail when an area writes another area's tables: each copies the package's Python files to a
temporary folder, adds one offending import, and runs ``lint-imports`` on the copy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(package_parent: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(ROOT / "pyproject.toml")],
        cwd=package_parent, env=env, capture_output=True, text=True, timeout=300)


def _copy_with(tmp_path: Path, module: str, line: str) -> Path:
    """A copy of the package's Python files with ``line`` added to ``module`` (made if new)."""
    shutil.copytree(ROOT / "programdesk", tmp_path / "programdesk",
                    ignore=shutil.ignore_patterns("static", "templates", "__pycache__"))
    path = tmp_path / "programdesk" / module
    path.write_text((path.read_text() if path.exists() else "") + f"\n{line}\n")
    return tmp_path


def test_the_code_keeps_every_contract() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    # scheduling writing the disbursements of its sessions itself, as it once did
    ("scheduling/services.py",
     "from programdesk.participation.models import BenefitDisbursement  # noqa",
     "Layers: each area imports only the areas below it BROKEN"),
    # core asking participation whether a status value is in use, in a function body
    ("core/services.py",
     "def in_use():\n    from programdesk.participation.models import ProgramEnrollment",
     "Layers: each area imports only the areas below it BROKEN"),
    # participation writing a scheduling table from a new module of its services
    ("participation/services/sessions.py",
     "from programdesk.scheduling.models import BenefitSession  # noqa",
     "Participation's services write only participation's tables (reads listed) BROKEN"),
    # a page inserting rows itself
    ("web/views/kiosk.py", "from programdesk.core.bulk import insert_rows  # noqa",
     "Doors write through services, not bulk writers BROKEN"),
    # a page that starts using another area's model directly
    ("web/views/reports.py",
     "from programdesk.participation.models import BenefitDisbursement  # noqa",
     "Doors don't import the areas' models (reads listed) BROKEN"),
])
def test_a_contract_breaks_when_an_area_writes_another_areas_tables(
        tmp_path: Path, module: str, line: str, contract: str) -> None:
    result = _lint(_copy_with(tmp_path, module, line))
    assert result.returncode == 1, result.stdout + result.stderr
    assert contract in result.stdout
