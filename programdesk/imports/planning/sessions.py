"""Attendance rows of a disbursements import: the session each row's date names."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from programdesk.imports.run import ImportRun
from programdesk.scheduling.models import BenefitSession, SessionStatus

# (session id, schedule id, status) of a benefit's sessions on one day
SessionRow = tuple[int, int | None, str]


def sessions_find(run: ImportRun, planned: list[dict[str, Any]]) -> None:
    """The session of each attendance row: the benefit's (or schedule's) session on the
    row's date. One query for every row."""
    wanted = [r for r in planned if r.get("session_date")]
    if not wanted:
        return
    days = [r["session_date"] for r in wanted]
    sessions: dict[tuple[int, dt.date], list[SessionRow]] = defaultdict(list)
    qs = (BenefitSession.objects.filter(benefit_id__in={r["benefit"] for r in wanted},
                                        local_date__gte=min(days), local_date__lte=max(days))
          .order_by("start").values_list("id", "schedule_id", "benefit_id", "local_date",
                                         "status"))
    for pk, schedule, benefit, day, status in qs.iterator(5000):
        sessions[(benefit, day)].append((pk, schedule, status))
    column = "session_date" if "session_date" in run.column_of else "disbursed_on"
    for row in wanted:
        found = sessions.get((row["benefit"], row["session_date"]), [])
        if row["schedule"] is not None:
            found = [s for s in found if s[1] == row["schedule"]]
        _session_take(run, row, found, column)


def _session_take(run: ImportRun, row: dict[str, Any], found: list[SessionRow], column: str
                  ) -> None:
    """The row's session when exactly one, not cancelled, is on its day; else an error."""
    day = row["session_date"]
    if not found:
        run.error(row["index"], column, f"There is no session on {day:%Y-%m-%d}"
                  + (" of this schedule." if row["schedule"] else " of this benefit."))
    elif len(found) > 1:
        run.error(row["index"], column, f"{len(found)} sessions of this benefit are on "
                                        f"{day:%Y-%m-%d}: add a schedule column to say which.")
    elif found[0][2] == SessionStatus.CANCELLED:
        run.error(row["index"], column, f"The session on {day:%Y-%m-%d} was cancelled.")
    else:
        row["session"], row["schedule"] = found[0][0], found[0][1]
        row["disbursed_on"] = day
