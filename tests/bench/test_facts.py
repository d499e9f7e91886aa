"""Every benchmark line says which code it measured: ``bench.facts.git_revision``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bench.facts import git_revision

pytestmark = pytest.mark.skipif(not shutil.which("git"), reason="needs git")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org",
                           *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    (tmp_path / "app.py").write_text("x = 1\n")
    git(tmp_path, "add", "app.py")
    git(tmp_path, "commit", "-q", "-m", "first")
    return tmp_path


def test_revision_is_the_short_sha_of_a_clean_tree(repo: Path) -> None:
    assert git_revision(repo) == git(repo, "rev-parse", "--short", "HEAD")


def test_revision_is_dirty_when_a_tracked_file_changed(repo: Path) -> None:
    (repo / "app.py").write_text("x = 2\n")

    assert git_revision(repo) == git(repo, "rev-parse", "--short", "HEAD") + "-dirty"


def test_untracked_files_such_as_a_results_file_do_not_make_it_dirty(repo: Path) -> None:
    (repo / "main.jsonl").write_text("{}\n")

    assert not git_revision(repo).endswith("-dirty")


def test_revision_outside_a_checkout_is_unknown(tmp_path: Path) -> None:
    assert git_revision(tmp_path) == "unknown"
