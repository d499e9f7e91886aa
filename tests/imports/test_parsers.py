"""Reading files: encodings, delimiters, XLSX values — and hostile files (formulas, entity
expansion, zip bombs, too large, too many rows or columns, binary): a clear error each."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
import pytest

from programdesk.core.errors import ValidationError
from programdesk.imports import parsers
from programdesk.imports.parsers import read_table


def xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def file_error(data: bytes, name: str = "people.csv") -> str:
    with pytest.raises(ValidationError) as raised:
        read_table(data, name)
    assert raised.value.errors[0]["field"] == "file"
    return raised.value.errors[0]["message"]


def test_csv_with_a_byte_order_mark_and_semicolons() -> None:
    table = read_table("\ufeffFirst name;Last name\r\nJosé;Núñez\r\n\r\n;\r\nAna;Diaz\r\n"
                       .encode(), "x.csv")
    assert table.headers == ["First name", "Last name"]
    # blank rows are skipped but keep their numbers
    assert table.rows == [(2, ["José", "Núñez"]), (5, ["Ana", "Diaz"])]
    tabs = read_table(b"a\tb\n1,5\t2\n", "x.txt")
    assert tabs.rows == [(2, ["1,5", "2"])]


def test_windows_1252_is_read_when_the_file_is_not_utf8() -> None:
    table = read_table("Name\nJosé Müller – “quoted”\n".encode("cp1252"), "x.csv")
    assert table.rows == [(2, ["José Müller – “quoted”"])]


def test_a_utf8_file_with_a_stray_byte_is_refused_at_that_cell_not_read_as_windows_1252(
        ) -> None:
    # Mostly UTF-8 ("José", "Núñez") with one cell pasted in Windows-1252 ("Müller" as 4D FC).
    data = ("First,Last\nJosé,Núñez\nAna,".encode() + "Müller".encode("cp1252")
            + b"\nBen,Okafor\n")
    table = read_table(data, "x.csv")
    assert table.rows[0] == (2, ["José", "Núñez"])  # not "JosÃ©"
    assert [(e.row, table.headers[e.column]) for e in table.cell_errors] == [(3, "Last")]
    message = table.cell_errors[0].message
    assert "0xFC" in message and "M\ufffdller" in message and "UTF-8" in message
    assert table.rows[1] == (3, ["Ana", ""])


def test_a_file_with_a_byte_order_mark_is_utf8_even_with_more_stray_bytes() -> None:
    data = b"\xef\xbb\xbfName\n" + "Müller Gómez".encode("cp1252") + b"\n"
    table = read_table(data, "x.csv")
    assert [(e.row, e.column) for e in table.cell_errors] == [(2, 0)]


def test_a_windows_1252_file_with_an_accidental_utf8_pair_is_still_windows_1252() -> None:
    # "Ó’" in Windows-1252 is D3 92, a valid UTF-8 pair; the many other accents are not.
    text = "Name\nÓ’Brien\nJosé Müller\nRenée Françoise\n"
    assert read_table(text.encode("cp1252"), "x.csv").rows[0] == (2, ["Ó’Brien"])


def test_a_stray_byte_in_a_column_name_is_a_file_error_naming_it() -> None:
    data = b"Nom,Pr\xe9nom\n" + "José,Núñez\nRenée,Gómez\n".encode()
    message = file_error(data)
    assert message.startswith("Row 1, column 2 (a column name)") and "0xE9" in message


def test_a_nul_after_the_first_64_kb_is_a_cell_error() -> None:
    data = b"Name,Note\n" + b"Ana,x\n" * 12_000 + b"Ben,a\x00b\n"
    table = read_table(data, "x.csv")
    assert [(e.row, e.column) for e in table.cell_errors] == [(12_002, 1)]
    assert "NUL" in table.cell_errors[0].message


def test_bytes_that_are_no_text_are_refused() -> None:
    assert "neither UTF-8 nor Windows-1252" in file_error(b"Name\nAna \x81\x8d\n")
    assert "binary data" in file_error(b"Name\x00\x01\x02\n")


def test_a_quoted_cell_over_several_lines_is_one_row() -> None:
    table = read_table(b'Name,Note\nAna,"two\nlines"\nBen,x\n', "x.csv")
    assert table.rows == [(2, ["Ana", "two\nlines"]), (3, ["Ben", "x"])]


def test_short_rows_are_padded_and_long_rows_are_an_error() -> None:
    table = read_table(b"a,b,c\n1\n1,2,3,4\n", "x.csv")
    assert table.rows == [(2, ["1", "", ""]), (3, ["1", "2", "3"])]
    assert [(e.row, e.column) for e in table.cell_errors] == [(3, 2)]


def test_formula_text_in_a_csv_stays_text() -> None:
    assert read_table(b"Name\n=1+1\n", "x.csv").rows == [(2, ["=1+1"])]


def test_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "at most 20.0 MB" in file_error(b"Name\n" + b"x" * parsers.MAX_BYTES)
    monkeypatch.setattr(parsers, "MAX_ROWS", 3)
    assert "more than 3 rows" in file_error(b"Name\n1\n2\n3\n4\n")
    assert read_table(b"Name\n1\n2\n3\n", "x.csv").rows[-1] == (4, ["3"])
    monkeypatch.setattr(parsers, "MAX_COLUMNS", 4)
    assert "more than 4 columns" in file_error(b"a,b,c,d,e\n")
    monkeypatch.setattr(parsers, "MAX_CELL_CHARS", 5)
    table = read_table(b"Name\nabcdef\n", "x.csv")
    assert table.rows == [(2, [""])]
    assert table.cell_errors[0].message == "The cell has 6 characters; at most 5."
    assert "empty" in file_error(b"  \n")
    assert "no rows" in file_error(b",,\n,\n")


def test_a_cell_beyond_the_csv_module_limit_is_a_clear_error() -> None:
    assert "cannot be read near line" in file_error(b'Name\n"' + b"x" * 200_000 + b'"\n')


def test_other_spreadsheet_formats_are_refused() -> None:
    assert "Only CSV and XLSX" in file_error(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100,
                                             "old.xls")


def test_xlsx_values_become_text() -> None:
    data = xlsx([["First name", "Born", "Size", "Income", "Member"],
                 ["Ana", dt.datetime(1990, 4, 2), 3, 1234.5, True],
                 [None, None, None, None, None],
                 ["Ben", dt.date(1985, 1, 1), 2.0, None, False]])
    table = read_table(data, "people.xlsx")
    assert table.format == "xlsx"
    assert table.rows == [(2, ["Ana", "1990-04-02", "3", "1234.5", "true"]),
                          (4, ["Ben", "1985-01-01", "2", "", "false"])]


def test_openpyxl_parses_xml_through_defusedxml() -> None:
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML is True


def test_xlsx_formulas_are_never_evaluated() -> None:
    table = read_table(xlsx([["Name", "Size"], ["Ana", "=1+1"], ["Ben", 2]]), "x.xlsx")
    assert table.rows == [(2, ["Ana", ""]), (3, ["Ben", "2"])]
    assert [(e.row, e.column) for e in table.cell_errors] == [(2, 1)]
    assert "Formulas are not imported (=1+1)" in table.cell_errors[0].message
    assert "formula" in file_error(xlsx([["=A2"], ["x"]]), "x.xlsx")


def _rewrite(data: bytes, name: str, change: bytes) -> bytes:
    """The same workbook with one part replaced."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, change if item.filename == name else source.read(item))
    return out.getvalue()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>&lol4;</t></is></c></row></sheetData></worksheet>"""


def test_entity_expansion_is_refused() -> None:
    data = _rewrite(xlsx([["Name"], ["Ana"]]), "xl/worksheets/sheet1.xml", BILLION_LAUGHS)
    assert "not allowed (entity declarations)" in file_error(data, "x.xlsx")
    book = BILLION_LAUGHS.replace(b"<worksheet", b"<workbook").replace(b"</worksheet>",
                                                                        b"</workbook>")
    data = _rewrite(xlsx([["Name"], ["Ana"]]), "xl/workbook.xml", book)
    assert "not allowed (entity declarations)" in file_error(data, "x.xlsx")


def test_zip_bombs_and_damaged_files_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    data = xlsx([["Name"], ["Ana"]])
    monkeypatch.setattr(parsers, "MAX_XLSX_EXPANDED", 1000)
    assert "expands to" in file_error(data, "x.xlsx")
    monkeypatch.undo()
    assert "damaged" in file_error(data[:200], "x.xlsx")
    assert "cannot be read" in file_error(_rewrite(data, "xl/workbook.xml", b"<nope"),
                                          "x.xlsx")


def test_an_xlsx_claiming_a_huge_sheet_reads_only_its_cells() -> None:
    data = xlsx([["Name"], ["Ana"]])
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    huge = sheet.replace(b'<dimension ref="A1:A2" />', b'<dimension ref="A1:XFD1048576" />')
    assert huge != sheet
    table = read_table(_rewrite(data, "xl/worksheets/sheet1.xml", huge), "x.xlsx")
    assert table.rows == [(2, ["Ana"])]
