"""Imports of people, accounts, enrollments and disbursements (past attendance included): the
services the doors (page, command line, API) call.

Every import runs in two steps, the same for every door:

1. **Check** (the dry run, and the first half of every commit): each row is read through the
   column mapping (``run``, ``values``) and validated by the same rules as the services that
   create one record (``people.services.person_values_clean`` / ``account_values_clean``,
   ``core.custom_fields.extra_validate``, ``participation.services.check_quantity``, status
   values by code or label). People are matched to existing records by the duplicate rules
   (``people.selectors.people_match_rows``) and to earlier rows of the same file. Every problem
   is collected as (row, column, message) — all of them, not the first — with a summary of
   what would happen. One planning module per kind (``planning/``) decides what to write.
2. **Write**, only when no row has an error (``writer``): one transaction, all or nothing,
   through the owning areas' bulk writers, with one audit event per model and batch of ids
   (``import.people``, ``import.enrollments``, ...).

Set-based throughout: the lookups (programs, benefits, sessions, statuses, custom fields,
existing people, enrollments, disbursements) are a fixed number of queries whatever the number
of rows, and the writes are ``executemany`` of plain tuples (``core.bulk.insert_rows``).

Importing again never duplicates (docs/imports.md): people are matched, an enrollment that
exists is reused, a session has one disbursement per participant (a database constraint), and
an ad hoc disbursement counts as present when the same recipient already has as many of that
benefit on that date as the file lists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from programdesk.core.bulk import gc_paused
from programdesk.core.errors import NotAllowed, ValidationError
from programdesk.core.models import User
from programdesk.imports import fields
from programdesk.imports.fields import ImportKind
from programdesk.imports.parsers import Table
from programdesk.imports.planning import plan
from programdesk.imports.results import SUMMARY_LABELS, ImportErrors, ImportResult, RowError
from programdesk.imports.run import ImportRun, Progress
from programdesk.imports.writer import import_write

__all__ = ["SUMMARY_LABELS", "ImportErrors", "ImportResult", "Progress", "RowError",
           "import_allowed_check", "import_check", "import_commit"]


def import_check(*, actor: User | None, kind: str, table: Table, mapping: Sequence[str],
                 progress: Progress | None = None) -> ImportResult:
    """The dry run: every row checked, every error listed, nothing written."""
    import_allowed_check(actor=actor, kind=kind)
    with gc_paused():  # the rows make no garbage cycles: core/bulk.py
        run = ImportRun.start(actor=actor, kind=kind, table=table, mapping=mapping,
                              progress=progress)
        plan(run)
        result = run.result
        del run  # freed while the collector is off: it would walk every row once more
    return result


def import_commit(*, actor: User | None, kind: str, table: Table, mapping: Sequence[str],
                  progress: Progress | None = None, filename: str = "",
                  before_commit: Callable[[ImportResult], None] | None = None
                  ) -> ImportResult:
    """Check every row again, then write everything in one transaction — or, when any row
    has an error, nothing (``ImportErrors`` lists them all).

    The check runs before the write transaction opens: on SQLite a write transaction holds
    the database's only write lock, and other users' requests should wait for the writes
    only, not for the reading and matching of 100,000 rows. The constraints (one active
    enrollment, one disbursement per session, unique card codes) still guard the writes.
    ``before_commit`` runs inside the transaction after the writes (the page marks its job
    done there, so the job and the records commit together)."""
    import_allowed_check(actor=actor, kind=kind)
    with gc_paused():  # the rows make no garbage cycles: core/bulk.py
        run = ImportRun.start(actor=actor, kind=kind, table=table, mapping=mapping,
                              progress=progress)
        run.result.dry_run = False
        plan(run)
        if run.result.errors:
            raise ImportErrors(run.result)
        run.result.committed = True
        import_write(run, filename=filename, before_commit=before_commit)
        result = run.result
        del run  # freed while the collector is off: it would walk every row once more
    return result


def import_allowed_check(*, actor: User | None, kind: str) -> None:
    """Refuse an unknown kind, or a role that may not create what the kind creates."""
    if kind not in fields.FIELDS:
        raise ValidationError.for_fields(
            {"kind": f"Unknown kind of import '{kind}'. Use one of: "
                     f"{', '.join(ImportKind.values)}."})
    if actor is not None and not actor.can(fields.KIND_CAP[kind]):
        raise NotAllowed(f"Your role ({actor.role}) may not import {kind}.")
