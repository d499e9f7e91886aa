"""What an import answers: the summary, every row error, and the error raised when a commit
finds any (nothing is written then)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from programdesk.core.errors import ValidationError


@dataclass(frozen=True)
class RowError:
    """One problem: the row number a spreadsheet shows (the column names are row 1), the
    column as named in the file ("" when the problem is not one column's), the message."""

    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class ImportResult:
    kind: str
    rows: int
    dry_run: bool
    committed: bool = False
    summary: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "rows": self.rows, "dry_run": self.dry_run,
                "committed": self.committed, "summary": self.summary,
                "errors": [e.as_dict() for e in self.errors], "warnings": self.warnings}

    def count(self, name: str, n: int = 1) -> None:
        self.summary[name] = self.summary.get(name, 0) + n


class ImportErrors(ValidationError):
    """The rows have errors, so nothing was written. ``result`` lists every one; ``errors``
    carries them as fields ``rows.<row>.<column>`` for the API."""

    def __init__(self, result: ImportResult) -> None:
        count = len(result.errors)
        super().__init__(
            f"{count} error{'' if count == 1 else 's'} in the file; nothing was imported.",
            errors=[{"field": f"rows.{e.row}.{e.column}" if e.column else f"rows.{e.row}",
                     "message": e.message} for e in result.errors],
            row_errors=[e.as_dict() for e in result.errors], summary=result.summary)
        self.result = result


SUMMARY_LABELS = {
    "people_new": "new people",
    "people_matched": "existing people (matched by the duplicate rules, or by id)",
    "people_repeated": "rows naming a person of an earlier row again",
    "accounts_new": "new accounts",
    "accounts_matched": "accounts matched to existing records",
    "enrollments_new": "new enrollments",
    "enrollments_matched": "enrollments that exist already (reused)",
    "disbursements_new": "new disbursements",
    "disbursements_duplicate": "disbursements that exist already (skipped)",
    "disbursements_marked": "session disbursements still expected, now recorded",
    "memberships_new": "new household memberships",
    "memberships_matched": "household memberships that exist already (skipped)",
    "memberships_repeated": "rows repeating an earlier row's membership",
    "households_new": "new households",
    "households_facts": "households given a declared size or income",
}
