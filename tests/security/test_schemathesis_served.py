"""Schemathesis's command line, every check (`--checks all`), against a served Program Desk
(gunicorn, a migrated SQLite database with the security tests' world, an admin's token): no
server error, and every answer — status, content type, headers, body — as the OpenAPI document
says; schema-valid requests accepted, schema-violating ones refused.

Deterministic (`--generation-deterministic`) and bounded (SERVED_FUZZ_EXAMPLES per operation,
default 2, 20 in the long hunt PROGRAMDESK_FUZZ=long, and the coverage phase; settings in
schemathesis.toml): about 6,600 requests in two minutes on two cores, one at a time so that
every run sees the same data. The rules the document
cannot say (a benefit of another program, a name already taken) are listed, with their
operations, in tests/security/schemathesis.toml. On failure the test prints schemathesis's
report: each failure with a curl line to reproduce it against `python -m tests.security.served`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.security.served import served

CONFIG = Path(__file__).with_name("schemathesis.toml")
LONG = os.environ.get("PROGRAMDESK_FUZZ") == "long"  # python3 run.py test --long-fuzz
EXAMPLES = os.environ.get("SERVED_FUZZ_EXAMPLES", "20" if LONG else "2")


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")),
                    reason="serves its own SQLite database; runs once, in the SQLite pass")
def test_schemathesis_all_checks_pass_against_a_served_instance(tmp_path: Path) -> None:
    schemathesis = Path(sys.executable).with_name("schemathesis")
    with served() as instance:
        result = subprocess.run(
            [str(schemathesis), "--config-file", str(CONFIG), "--no-color", "run",
             f"{instance.url}/api/v1/openapi.json",
             "--header", f"Authorization: Bearer {instance.token}",
             "--checks", "all", "--generation-deterministic", "--max-examples", EXAMPLES,
             "--workers", "1",  # one at a time: the same order, so the same data, every run
             "--output-truncate", "false",
             "--request-timeout", "60"],
            cwd=tmp_path, capture_output=True, text=True, timeout=7200 if LONG else 900,
            check=False)
        server_log = instance.log.read_text(errors="replace")
    report = result.stdout + result.stderr
    print(report[-3000:])  # the summary (pytest -rP shows it for a passing run too)
    assert result.returncode == 0, (
        f"schemathesis found failures (exit {result.returncode}):\n{report}\n"
        f"--- server log (last 4000 characters) ---\n{server_log[-4000:]}")
