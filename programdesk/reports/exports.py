"""CSV and XLSX files for every report and list, written as they are read so that a million
rows never sit in memory.

- CSV: a ``StreamingHttpResponse`` over a generator that formats rows in batches as they come
  from a server-side cursor (``QuerySet.iterator``) of ``values_list`` tuples.
- XLSX: an openpyxl *write-only* workbook (each row goes to a temporary XML file as it is
  appended), zipped into an anonymous temporary file, then sent with ``FileResponse`` in chunks.
  A sheet holds at most 1,048,576 rows; longer exports go on to "<title> 2", "<title> 3", ...

Headers: people get human column names ("First name", "Program ID", a custom field's label);
integrations ask for the machine keys ("first_name", "program_id", "extra.<key>") with
``?headers=machine`` on the pages' downloads (the API's downloads always use the keys). Imports
read both (imports/fields.py matches a column by a field's name or label).

Formula injection: a spreadsheet treats a cell starting with ``=``, ``+``, ``-`` or ``@`` (and,
in some programs, a tab or carriage return) as a formula. Every text cell that starts with one of
them is written with a leading single quote, in both formats, so "=HYPERLINK(...)" typed into a
name field stays text when a funder opens the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, Any, Literal

from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from programdesk.core.db_router import each_on_replica, reading_from_replica

Format = Literal["csv", "xlsx"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx")
Headers = Literal["human", "machine"]
HEADERS: tuple[Headers, ...] = ("human", "machine")
EXTRA = "extra."

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_MAX_ROWS = 1_048_576
CSV_BATCH_ROWS = 500
# How many rows each database round trip fetches (server-side cursor on PostgreSQL).
CHUNK_SIZE = 2000


def escape_cell(value: Any) -> Any:
    """A text value that a spreadsheet would run as a formula, made inert with a leading quote.
    Anything else (numbers, dates, None) is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


# Column keys whose human name is not just the key in words ("first_name" → "First name",
# "program_id" → "Program ID"). Names an import reads back: the import fields' labels.
HUMAN_HEADERS = {
    "id": "ID", "disbursed_on": "Date", "local_date": "Date", "created_at": "Created",
    "recipient_count": "Number of recipients",
    "timezone": "Time zone", "on_roster": "On the roster", "rate": "Attendance rate",
}


def human_header(key: str, labels: Mapping[str, str] | None = None) -> str:
    """A column's name for people: "first_name" → "First name", "program_id" → "Program ID",
    "extra.pronouns" → the custom field's label (``labels``: key → label)."""
    if key.startswith(EXTRA):
        custom = key[len(EXTRA):]
        return (labels or {}).get(custom) or custom.replace("_", " ").capitalize()
    if key in HUMAN_HEADERS:
        return HUMAN_HEADERS[key]
    words = key.removesuffix("_id").replace("_", " ")
    return words.capitalize() + (" ID" if key.endswith("_id") else "")


def custom_field_labels(header: Sequence[str]) -> dict[str, str]:
    """The labels of the custom fields among ``header``'s ``extra.<key>`` columns."""
    from programdesk.core.models import FieldDefinition

    keys = [h[len(EXTRA):] for h in header if h.startswith(EXTRA)]
    if not keys:
        return {}
    return dict(FieldDefinition.objects.filter(key__in=keys).order_by("-id")
                .values_list("key", "label"))


def _text(value: Any) -> Any:
    """Values that are neither text, numbers nor dates (custom-field lists, dicts) as JSON."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def csv_cell(value: Any) -> Any:
    value = _text(value)
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(round(value, 6))
    return escape_cell(value)


def xlsx_cell(value: Any) -> Any:
    value = _text(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        # Excel has no time zones: write the wall-clock time the value already carries (a
        # session's own zone); the export's time zone column says which.
        return value.replace(tzinfo=None)
    if isinstance(value, str):
        return escape_cell(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


class _Echo:
    """A file-like object whose write() returns what it was given: csv.writer then formats one
    row at a time for the generator below without buffering the file."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The CSV text in batches of rows. Starts with a byte-order mark so that Excel reads UTF-8
    names correctly (Python readers: ``encoding="utf-8-sig"``)."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([csv_cell(h) for h in header])
    batch: list[str] = []
    for row in rows:
        batch.append(writer.writerow([csv_cell(v) for v in row]))
        if len(batch) >= CSV_BATCH_ROWS:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def xlsx_write(out: IO[bytes], header: Sequence[str], rows: Iterable[Sequence[Any]], *,
               title: str) -> None:
    """Write an XLSX workbook of ``rows`` to ``out`` without holding the rows in memory."""
    workbook = Workbook(write_only=True)
    title = _sheet_title(title)
    bold = Font(bold=True)
    sheet_number = 0
    sheet: Any = None
    rows_in_sheet = XLSX_MAX_ROWS

    for row in rows:
        if rows_in_sheet >= XLSX_MAX_ROWS:
            sheet_number += 1
            sheet = workbook.create_sheet(title if sheet_number == 1
                                          else _sheet_title(f"{title} {sheet_number}"))
            sheet.freeze_panes = "A2"
            sheet.append([_bold(sheet, h, bold) for h in header])
            rows_in_sheet = 1
        sheet.append([xlsx_cell(v) for v in row])
        rows_in_sheet += 1
    if sheet is None:  # no rows: the header alone
        sheet = workbook.create_sheet(title)
        sheet.append([_bold(sheet, h, bold) for h in header])
    workbook.save(out)


def _bold(sheet: Any, value: str, font: Font) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=xlsx_cell(value))
    cell.font = font
    return cell


def _sheet_title(title: str) -> str:
    # Excel: at most 31 characters, none of []:*?/\ .
    cleaned = "".join(" " if c in "[]:*?/\\" else c for c in title).strip()
    return (cleaned or "Export")[:31]


def header_row(header: Sequence[str], headers: Headers) -> list[str]:
    """A file's first row: the machine keys, or (``"human"``) their names for people."""
    if headers == "machine":
        return list(header)
    labels = custom_field_labels(header)
    return [human_header(key, labels) for key in header]


def export_response(fmt: Format, *, filename: str, header: Sequence[str],
                    rows: Iterable[Sequence[Any]], title: str | None = None,
                    headers: Headers = "machine") -> HttpResponseBase:
    """The download of ``rows`` as ``<filename>.csv`` or ``<filename>.xlsx``, its first row
    the machine keys of ``header`` or, with ``headers="human"``, their human names. Asked for
    inside ``replica_reads()``, the rows are read from the replica, also when a CSV's are read
    while it streams, after the view has returned."""
    header = header_row(header, headers)
    if reading_from_replica():
        rows = each_on_replica(rows)
    if fmt == "csv":
        response: HttpResponseBase = StreamingHttpResponse(
            csv_lines(header, rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    else:
        # The workbook is built in an anonymous temporary file (gone when closed) and sent in
        # chunks; FileResponse closes it when the download ends.
        out = tempfile.TemporaryFile()  # noqa: SIM115 - closed by FileResponse
        try:
            xlsx_write(out, header, rows, title=title or filename)
        except BaseException:
            out.close()
            raise
        out.seek(0)
        response = FileResponse(out, as_attachment=True, filename=f"{filename}.xlsx",
                                content_type=XLSX_CONTENT_TYPE)
    response["Cache-Control"] = "no-store"  # personal data: not for shared caches
    return response

