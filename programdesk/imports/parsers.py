"""Reading uploaded spreadsheets (CSV, XLSX) into a plain table of text cells.

Files come from outside, so every read is bounded: file size, rows, columns and cell length
have limits with clear messages, an XLSX is checked as a zip before openpyxl opens it (no zip
bombs), openpyxl parses its XML through defusedxml (no entity expansion, no external
entities), and formulas are never evaluated: a formula cell is refused with its text, and a
CSV cell such as ``=1+1`` is only ever text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from programdesk.core.bulk import gc_paused
from programdesk.core.errors import ValidationError

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
MAX_COLUMNS = 100
MAX_CELL_CHARS = 2_000
# An XLSX is a zip of XML: what it may expand to, in total and per part, before we refuse to
# read it. openpyxl loads the shared strings whole before the first row: a 2 MB file whose
# strings part expanded to 177 MB took 48 s and 736 MB of memory. Larger data: use CSV.
MAX_XLSX_EXPANDED = 100 * 1024 * 1024
MAX_XLSX_PART = 50 * 1024 * 1024
# Cells a sheet may hold, counted while reading (a sheet's <dimension> may lie, so it is
# ignored); a CSV has no such limit (its size is the limit).
MAX_XLSX_CELLS = 5_000_000
MAX_HEADER_CHARS = 200

XLSX_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class CellError:
    """A problem with one cell found while reading (a formula, a cell too long)."""

    row: int
    column: int  # index into the headers
    message: str


@dataclass
class Table:
    """The header row and the data rows of a file, every cell as stripped text.

    ``rows`` holds (row number as a spreadsheet shows it, cells); blank rows are left out but
    keep their numbers, so errors name the row the user sees."""

    headers: list[str]
    rows: list[tuple[int, list[str]]]
    cell_errors: list[CellError] = field(default_factory=list)
    format: str = "csv"


def file_error(message: str) -> ValidationError:
    return ValidationError.for_fields({"file": message})


def upload_check(data: bytes, filename: str = "") -> str:
    """The checks that need no reading: the size, an empty file, a spreadsheet format other
    than CSV and XLSX. Cheap, so the upload request makes them (the rest is the task's);
    returns the format, "csv" or "xlsx"."""
    if len(data) > MAX_BYTES:
        raise file_error(f"The file is {_megabytes(len(data))}; at most "
                         f"{_megabytes(MAX_BYTES)} can be imported. Split it into smaller "
                         "files.")
    if not data.strip():
        raise file_error("The file is empty.")
    if data.startswith(XLSX_MAGIC):
        return "xlsx"
    lowered = filename.lower()
    if lowered.endswith((".xls", ".xlsm", ".ods", ".numbers")) or data.startswith(
            b"\xd0\xcf\x11\xe0"):
        raise file_error("Only CSV and XLSX files can be imported: save the spreadsheet as "
                         "CSV or as an Excel workbook (.xlsx).")
    return "csv"


def read_table(data: bytes, filename: str = "") -> Table:
    """Read a CSV or XLSX file (told apart by content, not by name) into a Table."""
    if upload_check(data, filename) == "xlsx":
        return _read_xlsx(data)
    with gc_paused():  # 100,000 rows of cells, no garbage cycles: core/bulk.py
        return _read_csv(data)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


# --- CSV ---------------------------------------------------------------------------------------


# Bytes that are not UTF-8 in a file read as UTF-8 (Python's "surrogateescape" keeps each one
# as a lone surrogate, U+DC80–U+DCFF, which no real text contains).
STRAY = re.compile("[\udc80-\udcff]")
BOM = b"\xef\xbb\xbf"


def decode(data: bytes) -> str:
    """The file as text (``_decode``)."""
    return _decode(data)[0]


def _decode(data: bytes) -> tuple[str, bool]:
    """The file as text, and whether it holds stray bytes (``STRAY``): UTF-8 (with or
    without a byte order mark), else Windows-1252 (what Excel on Windows writes as "CSV");
    bytes that are neither are a clear error.

    A file that is not valid UTF-8 is read as Windows-1252 only when it does not look like
    UTF-8: when it has fewer UTF-8 multi-byte characters ("é" as C3 A9) than bytes that are no
    UTF-8 (a Windows-1252 "é" is E9), and no byte order mark. Otherwise it is UTF-8 with a few
    stray bytes — a cell pasted from elsewhere — and reading it all as Windows-1252 would turn
    every "José" into "JosÃ©": the stray bytes are kept as lone surrogates (``STRAY``), and
    ``_table`` reports each such cell by row and column."""
    if b"\x00" in data[:65536]:
        raise file_error("This does not look like a CSV file (it contains binary data). "
                         "Save the spreadsheet as CSV (UTF-8) or XLSX.")
    body = data.removeprefix(BOM)
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError as exc:
        utf8_error = exc
    text = body.decode("utf-8", "surrogateescape")
    stray = len(STRAY.findall(text))
    multibyte = len(text) - len(text.encode("ascii", "ignore")) - stray
    if data.startswith(BOM) or multibyte >= stray:
        return text, True
    try:
        return data.decode("cp1252"), False
    except UnicodeDecodeError:
        line = data[:utf8_error.start].count(b"\n") + 1
        raise file_error(f"The file is neither UTF-8 nor Windows-1252 text (unreadable bytes "
                         f"on line {line}). Save it as CSV UTF-8.") from None


def _cell_problem(cell: str) -> str | None:
    """What is wrong with a cell of a file that has stray bytes or NULs (rare: checked only
    then)."""
    if "\x00" in cell:
        return "The cell contains a NUL character (\\u0000); remove it."
    if found := STRAY.search(cell):
        byte = ord(found.group()) - 0xDC00
        shown = cell.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return (f"The cell has a byte that is not UTF-8 (0x{byte:02X}: \"{shown[:40]}\") in a "
                "file that is otherwise UTF-8. Fix the cell, or save the file again as CSV "
                "UTF-8.")
    return None


DELIMITERS = ",;\t|"


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    """Comma, semicolon (Excel where the decimal mark is a comma), tab or bar: the one the
    column names are separated by, else whatever ``csv.Sniffer`` makes of the start."""
    header = next((line for line in sample.splitlines() if line.strip()), "")
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts.values())
    if best and list(counts.values()).count(best) == 1:
        delimiter = max(counts, key=lambda d: counts[d])

        class Dialect(csv.excel):
            pass

        Dialect.delimiter = delimiter
        return Dialect
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS)
    except csv.Error:
        return csv.excel


def _read_csv(data: bytes) -> Table:
    text, stray = _decode(data)
    suspect = stray or "\x00" in text
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text[:20_000]))
    try:
        return _table(_numbered(reader), "csv", suspect=suspect)
    except csv.Error as exc:
        raise file_error(f"The CSV file cannot be read near line {reader.line_num}: {exc}. "
                         "Check its quotes, or save it again from the spreadsheet.") from None


def _numbered(records: Iterable[list[str]]) -> Iterator[tuple[int, list[Any]]]:
    # A spreadsheet shows one CSV record per row, even when a quoted cell spans lines.
    return enumerate(records, start=1)


# --- XLSX --------------------------------------------------------------------------------------


def _read_xlsx(data: bytes) -> Table:
    import openpyxl  # uses defusedxml when installed (it is: pyproject.toml)

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        parts = archive.infolist()
    except Exception:  # zipfile raises many kinds: BadZipFile, NotImplementedError (version)...
        raise file_error("The XLSX file is damaged (not a readable zip archive).") from None
    # Declared sizes can be trusted: zipfile never reads more than a part declares.
    expanded = sum(info.file_size for info in parts)
    if expanded > MAX_XLSX_EXPANDED:
        raise file_error(f"The XLSX file expands to {_megabytes(expanded)} of data; at most "
                         f"{_megabytes(MAX_XLSX_EXPANDED)} can be read. Save it as CSV "
                         "(or split it) and import that.")
    largest = max(parts, key=lambda info: info.file_size, default=None)
    if largest is not None and largest.file_size > MAX_XLSX_PART:
        raise file_error(f"The XLSX file's part {largest.filename[:100]!r} expands to "
                         f"{_megabytes(largest.file_size)}; at most "
                         f"{_megabytes(MAX_XLSX_PART)} per part can be read. Save it as CSV "
                         "(or split it) and import that.")
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False,
                                          keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds for bad files (KeyError, XML, ...)
        raise _xlsx_error(exc) from None
    try:
        sheet = workbook.worksheets[0]
        # Ignore the size the file claims (a hostile one claims a million columns); read the
        # cells that are there, counting them (_xlsx_rows).
        sheet.reset_dimensions()
        return _table(_xlsx_rows(sheet), "xlsx")
    except ValidationError:
        raise
    except Exception as exc:
        raise _xlsx_error(exc) from None
    finally:
        workbook.close()


def _xlsx_error(exc: BaseException) -> ValidationError:
    from defusedxml import DefusedXmlException

    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, DefusedXmlException):
            # Entity declarations (billion laughs), external entities, DTDs: refused.
            return file_error("The XLSX file cannot be read: it uses XML features that are "
                              "not allowed (entity declarations). Save it again as .xlsx or "
                              "as CSV.")
        cause = cause.__cause__ or cause.__context__
    return file_error("The XLSX file cannot be read. Open it in the spreadsheet and save it "
                      "again as an Excel workbook (.xlsx), or as CSV.")


def _too_many_cells(count: int) -> ValidationError:
    return file_error(f"The XLSX sheet has {count:,} cells; at most {MAX_XLSX_CELLS:,} can be "
                      "read. Save it as CSV (or split it) and import that.")


def _xlsx_rows(sheet: Any) -> Iterator[tuple[int, list[Any]]]:
    seen = 0
    for number, row in enumerate(sheet.iter_rows(min_row=1), start=1):
        seen += len(row)
        if seen > MAX_XLSX_CELLS:
            raise _too_many_cells(seen)
        cells: list[Any] = []
        for cell in row[:MAX_COLUMNS + 1]:
            if getattr(cell, "data_type", None) == "f":
                cells.append(_Formula(str(cell.value)))
            else:
                cells.append(cell.value)
        if len(row) > MAX_COLUMNS + 1 and any(c.value not in (None, "") for c in row):
            cells.append("overflow")  # non-empty beyond the limit: _table refuses it
        yield number, cells


class _Formula(str):
    """A formula cell's text, kept so it can be named in the error — never evaluated."""


def cell_text(value: Any) -> str:
    """A cell as text: dates as ISO dates, whole numbers without ".0"."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return (value.date().isoformat() if value.time() == dt.time(0)
                else value.isoformat(sep=" "))
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value).strip()


# --- both --------------------------------------------------------------------------------------


def _table(rows: Iterator[tuple[int, list[Any]]], fmt: str, *, suspect: bool = False) -> Table:
    """``suspect``: the text has NULs or bytes that are not UTF-8 somewhere (see ``decode``),
    so every cell is checked for them."""
    headers: list[str] | None = None
    data: list[tuple[int, list[str]]] = []
    errors: list[CellError] = []
    for number, raw in rows:
        if number > MAX_ROWS + 1:
            raise file_error(f"The file has more than {MAX_ROWS:,} rows; split it into smaller "
                             "files.")
        if len(raw) > MAX_COLUMNS and any(cell_text(c) for c in raw[MAX_COLUMNS:]):
            raise file_error(f"Row {number} has more than {MAX_COLUMNS} columns; at most "
                             f"{MAX_COLUMNS} can be imported.")
        cells = (list(map(str.strip, raw[:MAX_COLUMNS])) if fmt == "csv"
                 else [cell_text(c) for c in raw[:MAX_COLUMNS]])
        if not any(cells):
            continue
        if headers is None:
            headers = _headers(number, raw, cells, suspect=suspect)
            continue
        width = len(headers)
        if len(cells) != width:
            if len(cells) > width and any(cells[width:]):
                errors.append(CellError(number, width - 1, (
                    f"This row has {len(cells)} cells but the file has {width} column names.")))
            cells = cells[:width] + [""] * (width - len(cells))
        # The per-cell checks only when a cell may fail them (most rows: none).
        if (fmt != "csv" and any(isinstance(c, _Formula) for c in raw)) or max(
                map(len, cells)) > MAX_CELL_CHARS or (
                suspect and any(_cell_problem(c) for c in cells)):
            _cells_check(number, raw, cells, errors, suspect=suspect)
        data.append((number, cells))
    if headers is None:
        raise file_error("The file has no rows.")
    return Table(headers=headers, rows=data, cell_errors=errors, format=fmt)


def _cells_check(number: int, raw: list[Any], cells: list[str], errors: list[CellError], *,
                 suspect: bool) -> None:
    """Empty each cell that is a formula, too long, or (``suspect``) not text, with an error."""
    for index, cell in enumerate(cells):
        if index < len(raw) and isinstance(raw[index], _Formula):
            errors.append(CellError(number, index, (
                f"Formulas are not imported ({cell[:40]}): copy the cells and paste "
                "them as values, then save the file again.")))
            cells[index] = ""
        elif len(cell) > MAX_CELL_CHARS:
            errors.append(CellError(number, index, (
                f"The cell has {len(cell):,} characters; at most {MAX_CELL_CHARS:,}.")))
            cells[index] = ""
        elif suspect and (problem := _cell_problem(cell)):
            errors.append(CellError(number, index, problem))
            cells[index] = ""


def _headers(number: int, raw: list[Any], cells: list[str], *, suspect: bool = False
             ) -> list[str]:
    if any(isinstance(c, _Formula) for c in raw):
        raise file_error(f"The column names (row {number}) contain a formula; use plain text.")
    for index, cell in enumerate(cells):
        if suspect and (problem := _cell_problem(cell)):
            raise file_error(f"Row {number}, column {index + 1} (a column name): {problem}")
    while cells and not cells[-1]:
        cells.pop()
    headers = []
    for index, cell in enumerate(cells):
        if len(cell) > MAX_HEADER_CHARS:
            raise file_error(f"Column {index + 1}'s name is longer than {MAX_HEADER_CHARS} "
                             f"characters; is row {number} really the column names?")
        headers.append(" ".join(cell.split()) or f"Column {index + 1}")
    return headers
