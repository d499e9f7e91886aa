"""An uploaded XLSX cannot stall the site: a small file that unpacks to a huge shared-strings
part, or to too much in all, or whose sheet holds too many cells, is refused before (or
while) it is read — quickly, with a message saying what to do. The files are crafted here with
zipfile; nothing big is committed."""

from __future__ import annotations

import io
import time
import zipfile

import pytest

from programdesk.imports import parsers
from programdesk.imports.jobs import import_job_create
from programdesk.imports.models import JobStatus
from tests.factories import UserFactory
from tests.imports.test_parsers import file_error, xlsx

MB = 1024 * 1024


def _with_parts(data: bytes, parts: dict[str, bytes]) -> bytes:
    """The workbook with some parts replaced or added, deflated (so they stay small)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename not in parts:
                target.writestr(item, source.read(item))
        for name, content in parts.items():
            target.writestr(name, content, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _shared_strings(size: int) -> bytes:
    """A sharedStrings part of about ``size`` bytes: one long, very compressible string."""
    head = (b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org'
            b'/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>')
    return head + b"A" * size + b"</t></si></sst>"


def test_a_small_xlsx_whose_shared_strings_unpack_huge_is_refused_quickly() -> None:
    data = _with_parts(xlsx([["Name"], ["Ana"]]),
                       {"xl/sharedStrings.xml": _shared_strings(60 * MB)})
    assert len(data) < 1 * MB  # what is uploaded is small
    started = time.monotonic()
    message = file_error(data, "people.xlsx")
    assert time.monotonic() - started < 5  # not 48 s, and the strings were never parsed
    assert "'xl/sharedStrings.xml' expands to 60.0 MB" in message
    assert "at most 50.0 MB per part" in message and "Save it as CSV" in message


def test_a_small_xlsx_unpacking_to_too_much_in_all_is_refused() -> None:
    parts = {f"xl/media/padding{i}.bin": b"\0" * (40 * MB) for i in range(3)}
    data = _with_parts(xlsx([["Name"], ["Ana"]]), parts)
    assert len(data) < 1 * MB
    message = file_error(data, "people.xlsx")
    assert "expands to 120.0 MB of data; at most 100.0 MB" in message


def test_a_sheet_with_too_many_cells_is_refused_while_reading(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsers, "MAX_XLSX_CELLS", 1_000)
    rows: list[list[object]] = [["Name", "Town"]]
    assert parsers.read_table(xlsx(rows + [["Ana", "Lyon"]] * 499), "x.xlsx")
    message = file_error(xlsx(rows + [["Ana", "Lyon"]] * 500), "x.xlsx")
    assert message == ("The XLSX sheet has 1,002 cells; at most 1,000 can be read. Save it as "
                       "CSV (or split it) and import that.")


@pytest.mark.django_db
def test_the_import_job_of_such_a_file_fails_with_a_clear_error() -> None:
    user = UserFactory(role="admin")
    data = _with_parts(xlsx([["Name"], ["Ana"]]),
                       {"xl/sharedStrings.xml": _shared_strings(60 * MB)})
    # read by the task (inline in the tests): the job ends failed, saying why
    job = import_job_create(actor=user, kind="people", filename="people.xlsx", data=data)
    assert job.status == JobStatus.FAILED and not job.headers
    assert "per part can be read" in job.message
