"""How long a web worker keeps its database connection, by default (settings.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _connection_settings(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items()
             if k not in {"DATABASE_URL", "CONN_MAX_AGE", "PROGRAMDESK_TESTING"}}
    code = ("import django; django.setup(); from django.conf import settings; "
            "d = settings.DATABASES['default']; print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])")
    env = {**clean, **env, "DJANGO_SETTINGS_MODULE": "programdesk.settings"}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, text=True,
                          capture_output=True, env=env).stdout.strip()


@pytest.mark.parametrize(("env", "expected"), [
    ({"DATABASE_URL": "postgres://u:p@db.example/desk"}, "60 True"),
    ({"DATABASE_URL": "postgres://u:p@db.example/desk", "CONN_MAX_AGE": "0"}, "0 False"),
    ({"DATABASE_URL": "postgres://u:p@db.example/desk", "PROGRAMDESK_TESTING": "1"}, "0 False"),
    ({}, "0 False"),
])
def test_postgresql_keeps_connections_for_a_minute_unless_told(env: dict[str, str],
                                                                 expected: str,
                                                                 tmp_path: Path) -> None:
    assert _connection_settings(PROGRAMDESK_VAR_DIR=str(tmp_path), **env) == expected
