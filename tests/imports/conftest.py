"""Imports keep uploads under ``PROGRAMDESK_MEDIA_DIR/imports``: each test gets its own."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _var_dir(settings: Any, tmp_path: Any) -> None:
    settings.VAR_DIR = tmp_path
    settings.PROGRAMDESK_MEDIA_DIR = tmp_path

