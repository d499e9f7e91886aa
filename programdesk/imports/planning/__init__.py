"""Planning: every row of a file checked, and what the writer is to write decided — one module
per kind of import (``people``, ``accounts``, ``enrollments``, ``disbursements``,
``households``), with the
parts they share (``recipients``: who a row is about; ``named``: programs and benefits by name;
``sessions``: the session an attendance row names)."""

from __future__ import annotations

from programdesk.imports.fields import ImportKind
from programdesk.imports.planning.accounts import plan_accounts
from programdesk.imports.planning.disbursements import plan_disbursements
from programdesk.imports.planning.enrollments import plan_enrollments
from programdesk.imports.planning.households import plan_households
from programdesk.imports.planning.people import plan_people
from programdesk.imports.run import ImportRun

PLANNERS = {
    ImportKind.PEOPLE: plan_people,
    ImportKind.ACCOUNTS: plan_accounts,
    ImportKind.ENROLLMENTS: plan_enrollments,
    ImportKind.DISBURSEMENTS: plan_disbursements,
    ImportKind.HOUSEHOLDS: plan_households,
}


def plan(run: ImportRun) -> None:
    """Check every row of ``run`` and plan its writes; the errors land in ``run.result``."""
    run.progress("checking", 0, len(run.rows))
    PLANNERS[ImportKind(run.kind)](run)
    run.result.errors.sort(key=lambda e: e.row)
    run.progress("checked", len(run.rows), len(run.rows))
