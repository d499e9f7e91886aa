"""Property tests for reading uploads (imports.parsers) and the cell values in them
(imports.values.read_date / read_decimal / read_int).

- Any bytes, under any name: a Table or our ValidationError (at ``file``), never another
  exception; a Table always has non-empty headers, rows as wide as the headers, stripped cells.
- A CSV written by Python's csv module reads back exactly: the headers with their whitespace
  runs collapsed to one space, the cells stripped, all-blank rows left out (keeping the numbers
  of the others), as long as the header row names no delimiter character or line break (the
  delimiter is read from the header line).
- An XLSX written by openpyxl reads back as ``cell_text`` of each value (numbers as openpyxl
  writes them: 16 significant digits); a text cell starting with "=" is a formula to openpyxl
  and comes back empty with a cell error.
- Dates as ISO, as M/D/YYYY and either with a time of day read back; numbers formatted with
  thousands separators read back; any text is a value or ``UnreadableValue``, never another
  exception.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from programdesk.core.errors import ValidationError
from programdesk.imports import parsers
from programdesk.imports.parsers import Table, cell_text, decode, read_table
from programdesk.imports.values import UnreadableValue, read_date, read_decimal, read_int
from programdesk.participation.services.disbursements import check_quantity
from tests.imports.test_parsers import xlsx

SETTINGS = settings(derandomize=True, database=None, deadline=None, max_examples=150,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])

NAMES = st.sampled_from(["people.csv", "people.CSV", "people.xlsx", "upload", "x.txt"])


SAMPLE_XLSX = xlsx([["First name", "Born", "Size"], ["Ana", dt.date(1990, 4, 2), 3],
                    ["Ben", "=1+1", 2.5]])


def needs_zip_version(data: bytes, version: int) -> bytes:
    """The workbook with its first central directory entry asking for a later zip version
    (zipfile raised NotImplementedError for it)."""
    at = data.index(b"PK\x01\x02") + 6
    return data[:at] + bytes([version]) + data[at + 1:]


def read(data: bytes, name: str) -> Table | None:
    """The table, or None for our error at ``file`` — any other exception fails the test."""
    try:
        table = read_table(data, name)
    except ValidationError as exc:
        assert [e["field"] for e in exc.errors] == ["file"] and exc.errors[0]["message"]
        return None
    assert table.headers and all(isinstance(h, str) and h for h in table.headers)
    numbers = [n for n, _ in table.rows]
    assert numbers == sorted(set(numbers))
    with_errors = {e.row for e in table.cell_errors}
    for number, cells in table.rows:
        assert len(cells) == len(table.headers)
        assert all(isinstance(c, str) and c == c.strip() for c in cells)
        assert any(cells) or number in with_errors  # a row of formulas stays, for its errors
        assert all(len(c) <= parsers.MAX_CELL_CHARS for c in cells)
    for error in table.cell_errors:
        assert error.row in numbers and 0 <= error.column < len(table.headers)
    return table


# --- any bytes ---------------------------------------------------------------------------------

csv_alphabet = st.sampled_from(list(',;\t|"\'\r\n =ab1\x00\xa0\ufeff\u2028é'))


@st.composite
def mutated_xlsx(draw: Any) -> bytes:
    """A real workbook with a few bytes changed, or cut short: damaged zips, damaged XML."""
    data = bytearray(SAMPLE_XLSX)
    for _ in range(draw(st.integers(1, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[:draw(st.integers(4, len(data)))]
    return bytes(data)


any_bytes = st.one_of(
    st.binary(max_size=200),
    st.text(csv_alphabet, max_size=60).map(lambda t: t.encode("utf-8")),
    st.text(max_size=60).flatmap(lambda t: st.sampled_from(["utf-8", "utf-16", "utf-8-sig"])
                                 .map(lambda codec: t.encode(codec))),
    st.binary(max_size=100).map(lambda b: parsers.XLSX_MAGIC + b),
    mutated_xlsx(),
)


@settings(SETTINGS, max_examples=300)
@given(any_bytes, NAMES)
@example(b'a\n"\n', "x.csv")
@example(b"\xd0\xcf\x11\xe0", "x.csv")
@example(SAMPLE_XLSX[:-30], "x.xlsx")
@example(needs_zip_version(SAMPLE_XLSX, 64), "x.xlsx")  # was NotImplementedError
def test_any_bytes_are_a_table_or_a_file_error(data: bytes, name: str) -> None:
    table = read(data, name)
    event(f"{'xlsx' if data.startswith(parsers.XLSX_MAGIC) else 'csv'}: "
          f"{'refused' if table is None else 'table'}")


# A valid UTF-8 character of two to four bytes (RFC 3629's table).
UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}")


@SETTINGS
@given(st.text(max_size=40).filter(lambda t: "\x00" not in t))
def test_decode_reads_utf8_and_windows_1252(text: str) -> None:
    assert decode(text.encode("utf-8")) == text.removeprefix("\ufeff")
    assert decode(b"\xef\xbb\xbf" + text.encode("utf-8")) == text
    try:
        windows = text.encode("cp1252")
    except UnicodeEncodeError:
        return
    try:
        windows.decode("utf-8")
    except UnicodeDecodeError:
        read = decode(windows)
        if not UTF8_MULTIBYTE.search(windows):
            assert read == text  # nothing in it is UTF-8: read as Windows-1252
        else:
            # Read as Windows-1252, or as UTF-8 keeping the stray bytes for the row errors:
            # never anything that is not these bytes.
            assert read == text or read.encode("utf-8", "surrogateescape") == windows


@SETTINGS
@given(st.text(st.characters(min_codepoint=0x80, blacklist_categories=("Cs", "Cc", "Zl", "Zp",
                                                                      "Zs")),
               min_size=1, max_size=20),
       st.integers(min_value=0x80, max_value=0xFF))
def test_utf8_text_with_a_stray_byte_keeps_its_text_and_names_the_cell(
        name: str, stray: int) -> None:
    data = b"Name\n" + name.encode() + b"\nAna " + bytes([stray]) + b"\n"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return  # the byte completed a character: nothing stray
    table = read_table(data, "x.csv")
    assert table.rows[0] == (2, [name.strip()])
    assert [(e.row, e.column) for e in table.cell_errors] == [(3, 0)]


# --- CSV round trip ----------------------------------------------------------------------------

# Header names: no delimiter, no line break, no control character (the delimiter is told by
# the header line, and a header is one line).
header_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"),
                  blacklist_characters=parsers.DELIMITERS + "\ufeff"),
    min_size=1, max_size=10).filter(lambda h: h.split())
# Cells: anything but NUL (a NUL is refused as binary data).
cell_strategy = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
                        max_size=12)


# In a one-column file the header line shows no delimiter and csv.Sniffer guesses from the
# cells: such a file reads back when its cells hold none of the delimiter characters.
one_column_cell = st.text(st.characters(blacklist_categories=["Cs"],
                                        blacklist_characters="\x00" + parsers.DELIMITERS),
                          max_size=12)


@st.composite
def csv_files(draw: Any) -> tuple[list[str], list[list[str]], str]:
    headers = draw(st.lists(header_text, min_size=1, max_size=5,
                            unique_by=lambda h: " ".join(h.split())))
    cell = cell_strategy if len(headers) > 1 else one_column_cell
    rows = draw(st.lists(st.lists(cell, min_size=len(headers), max_size=len(headers)),
                         max_size=6))
    return headers, rows, draw(st.sampled_from(parsers.DELIMITERS))


def expected_rows(rows: list[list[str]], text: Any) -> list[tuple[int, list[str]]]:
    out = []
    for number, row in enumerate(rows, start=2):
        cells = [text(c) for c in row]
        if any(cells):
            out.append((number, cells))
    return out


def encoded(text: str, codec: str) -> bytes:
    """The file's bytes in ``codec``; in UTF-8 when the text has no Windows-1252 form, or when
    its Windows-1252 bytes are valid UTF-8 too (decode tries UTF-8 first, by design: the bytes
    of "Â¡" in Windows-1252 are "¡" in UTF-8), or hold any UTF-8 character (then the file may
    be UTF-8 with stray bytes: docs/imports.md)."""
    try:
        data = text.encode(codec)
    except UnicodeEncodeError:
        return text.encode("utf-8")
    if codec == "cp1252":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            if not UTF8_MULTIBYTE.search(data):
                return data
        return text.encode("utf-8")
    return data


@SETTINGS
@given(csv_files(), st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]), NAMES)
@example((["Name", "Note"], [["a;b", "'x'"], [" ", ""], ["", "two\nlines"]], ","), "utf-8",
         "people.csv")
@example((["Name"], [['"quoted"'], ["'single'"], ["  "], ["x"]], ";"), "cp1252", "people.csv")
def test_a_csv_written_by_the_csv_module_reads_back(
        written: tuple[list[str], list[list[str]], str], codec: str, name: str) -> None:
    headers, rows, delimiter = written
    buffer = io.StringIO(newline="")
    out = csv.writer(buffer, delimiter=delimiter)
    out.writerow(headers)
    out.writerows(rows)
    table = read(encoded(buffer.getvalue(), codec), name)
    assert table is not None
    assert table.headers == [" ".join(h.split()) for h in headers]
    assert table.rows == expected_rows(rows, str.strip)
    assert table.cell_errors == [] and table.format == "csv"


# --- XLSX round trip ---------------------------------------------------------------------------

xlsx_text = st.text(st.characters(blacklist_categories=("Cs", "Cc"),
                                  whitelist_characters="\t\n\r"), max_size=10)
xlsx_values = st.one_of(
    st.none(), xlsx_text, st.integers(-(10 ** 15), 10 ** 15),
    st.floats(allow_nan=False, allow_infinity=False, width=64), st.booleans(),
    st.dates(dt.date(1900, 1, 1), dt.date(9999, 12, 31)),
    st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(9999, 12, 31)).map(
        lambda d: d.replace(microsecond=0)),
)


def is_formula(value: Any) -> bool:
    return isinstance(value, str) and len(value) > 1 and value.startswith("=")


def as_written(value: Any) -> Any:
    """What openpyxl writes and reads back: a number as "%.16g" text, read as a float when
    that has a point or an exponent, else as an int (1e15 comes back as 1000000000000000);
    text with its line ends as XML reads them (a CR, alone or before LF, becomes LF)."""
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = f"{value:.16g}"
        return float(text) if any(c in text for c in ".eE") else int(text)
    return value


@settings(SETTINGS, max_examples=40)
@given(st.lists(xlsx_text.filter(lambda h: h.split() and not is_formula(h)), min_size=1,
                max_size=4, unique_by=lambda h: " ".join(h.split())), st.data())
@example(["Born"], [[dt.date(1900, 1, 1)], [dt.date(1900, 2, 28)], [dt.date(1900, 3, 1)]])
def test_an_xlsx_written_by_openpyxl_reads_back(headers: list[str], data: Any) -> None:
    rows: Any = data if isinstance(data, list) else data.draw(st.lists(
        st.lists(xlsx_values, min_size=len(headers), max_size=len(headers)), max_size=4))
    table = read(xlsx([list(headers), *rows]), "upload")
    assert table is not None and table.format == "xlsx"
    assert table.headers == [" ".join(h.split()) for h in headers]
    expected = expected_rows(rows, lambda v: v.strip() if is_formula(v) else cell_text(
        as_written(v)))
    assert [n for n, _ in table.rows] == [n for n, _ in expected]
    formulas = []
    for (number, got), (_, want) in zip(table.rows, expected, strict=True):
        for column, (value, cell) in enumerate(zip(rows[number - 2], got, strict=True)):
            if is_formula(value):
                assert cell == ""
                formulas.append((number, column))
            else:
                assert cell == want[column]
    assert [(e.row, e.column) for e in table.cell_errors] == formulas


@SETTINGS
@given(st.one_of(st.none(), st.text(max_size=8), st.booleans(), st.integers(),
                 st.floats(allow_nan=False), st.dates(), st.datetimes(), st.times(),
                 st.decimals(allow_nan=False, allow_infinity=False)))
def test_cell_text_is_stripped_text_that_keeps_the_value(value: Any) -> None:
    text = cell_text(value)
    assert isinstance(text, str) and text == text.strip()
    if isinstance(value, float) and math.isfinite(value):
        assert float(text) == value and (not value.is_integer() or abs(value) >= 1e15
                                         or "." not in text)
    elif isinstance(value, int) and not isinstance(value, bool):
        assert int(text) == value
    elif isinstance(value, dt.datetime) and value.time() == dt.time(0):
        assert text == value.date().isoformat()


# --- values ------------------------------------------------------------------------------------


def value_or_bad(reader: Any, text: str) -> Any:
    try:
        return reader(text)
    except UnreadableValue as exc:
        assert str(exc)
        return None


@SETTINGS
@given(st.dates(), st.sampled_from(["", " 00:00", "T00:00:00", " 0:00", " 13:45:10.5"]))
@example(dt.date(2026, 3, 2), " 0:00")
def test_iso_dates_read_back(date: dt.date, time: str) -> None:
    assert read_date(date.isoformat() + time) == date
    assert read_date(f"  {date.isoformat()} ") == date


@SETTINGS
@given(st.dates(dt.date(1000, 1, 1)), st.booleans(),
       st.sampled_from(["", " 00:00", " 0:00", " 12:00:00"]))
@example(dt.date(2026, 3, 2), False, " 0:00")  # as Excel writes a date and time to CSV
def test_us_dates_read_back(date: dt.date, padded: bool, time: str) -> None:
    text = (f"{date.month:02}/{date.day:02}/{date.year}" if padded
            else f"{date.month}/{date.day}/{date.year}")
    assert read_date(text + time) == date


@SETTINGS
@given(st.text(st.sampled_from(list("0123456789-/:. T")), max_size=24) | st.text(max_size=24))
@example("2026-02-30")
@example("13/1/2026")
@example("2026-03-02 99:99")
def test_any_text_is_a_date_or_bad(text: str) -> None:
    value = value_or_bad(read_date, text)
    assert value is None or isinstance(value, dt.date)


numeric_text = st.text(st.sampled_from(list("0123456789,.-+eE_ ")), max_size=24)


@SETTINGS
@given(numeric_text | st.text(max_size=24))
@example("1e999999999")
@example("1e30")
@example("NaN")
@example("-Infinity")
def test_any_text_is_a_finite_number_or_bad(text: str) -> None:
    number = value_or_bad(read_decimal, text)
    assert number is None or (isinstance(number, Decimal) and number.is_finite())
    whole = value_or_bad(read_int, text)
    assert whole is None or (isinstance(whole, int) and whole == number)
    # A quantity column reads through read_decimal, then check_quantity: our errors only.
    if number is not None:
        try:
            check_quantity(number)
        except ValidationError as exc:
            assert exc.errors[0]["field"] == "quantity"


@SETTINGS
@given(st.integers(-(10 ** 17), 10 ** 17))
def test_whole_numbers_read_back(n: int) -> None:
    assert read_int(str(n)) == n
    assert read_int(f"{n:,}") == n
    assert read_int(f"{n}.00") == n
    assert read_decimal(f"{n:,}") == n


@SETTINGS
@given(st.decimals(-(10 ** 12), 10 ** 12, places=2) | st.decimals(-(10 ** 6), 10 ** 6, places=5))
def test_formatted_numbers_read_back(number: Decimal) -> None:
    assert read_decimal(f"{number:,}") == number
    assert read_decimal(f"{number:f}") == number


@pytest.mark.parametrize("text", ["1e5000", "-1e19", "10000000000000000000"])
def test_huge_whole_numbers_are_bad(text: str) -> None:
    with pytest.raises(UnreadableValue):
        read_int(text)
