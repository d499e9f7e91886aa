"""S8's front desk (bench/scenarios.py): locust users checking people in at a kiosk, reading a
schedule's roster and saving attendance sheets, all through the API.

What to hit comes from the JSON file named by PROGRAMDESK_BENCH_LOAD (written by the scenario:
tokens, sessions, roster people, disbursements); every request is appended to the CSV file
named by PROGRAMDESK_BENCH_LOAD_LOG as ``start,name,milliseconds,failed`` so the scenario can
take the percentiles of exactly the requests made while its import ran.
"""

from __future__ import annotations

import json
import os
import random
import time
from typing import Any

from locust import HttpUser, between, events, task

CONFIG: dict[str, Any] = json.loads(open(os.environ["PROGRAMDESK_BENCH_LOAD"]).read())  # noqa: SIM115
LOG = open(os.environ["PROGRAMDESK_BENCH_LOAD_LOG"], "a", buffering=1)  # noqa: SIM115


@events.request.add_listener
def _record(name: str, response_time: float, exception: Any = None,
            start_time: float | None = None, **_: Any) -> None:
    started = start_time if start_time is not None else time.time() - response_time / 1000
    LOG.write(f"{started:.3f},{name},{response_time:.1f},{0 if exception is None else 1}\n")


class FrontDesk(HttpUser):
    """One person at the front desk: mostly check-ins, then rosters, then attendance sheets."""

    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.kiosk = {"Authorization": f"Bearer {CONFIG['kiosk_token']}"}
        self.staff = {"Authorization": f"Bearer {CONFIG['staff_token']}"}

    @task(5)
    def check_in(self) -> None:
        session = random.choice(CONFIG["today"])
        self.client.post(f"/api/v1/sessions/{session['id']}/check-in",
                         json={"person_id": random.choice(session["people"])},
                         headers=self.kiosk, name="check-in")

    @task(3)
    def roster(self) -> None:
        schedule = random.choice(CONFIG["schedules"])
        self.client.get(f"/api/v1/schedules/{schedule}/participants?limit=50",
                        headers=self.staff, name="roster")

    @task(2)
    def attendance(self) -> None:
        session = random.choice(CONFIG["sheets"])
        marks = random.sample(session["disbursements"], min(10, len(session["disbursements"])))
        self.client.post(f"/api/v1/sessions/{session['id']}/attendance", json={"records": [
            {"disbursement_id": d, "status": random.choice(["completed", "absent"])}
            for d in marks]}, headers=self.staff, name="attendance")
