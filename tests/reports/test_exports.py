"""CSV and XLSX downloads: read back with ``csv`` and openpyxl; formula injection escaped in
both; streaming with a constant number of queries; roles, scoping, eligibility columns."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, cast

import openpyxl
import pytest
from django.db import connection
from django.http import FileResponse, StreamingHttpResponse
from django.test.utils import CaptureQueriesContext

from programdesk.core.models import FieldDefinition
from programdesk.people.models import Person
from programdesk.programs.models import Program
from programdesk.reports import exports
from programdesk.reports.exports import csv_lines, escape_cell, xlsx_write
from tests.factories import (
    AssignmentFactory,
    BenefitFactory,
    DisbursementFactory,
    EnrollmentFactory,
    PersonFactory,
    ProgramFactory,
    SessionFactory,
    UserFactory,
    status,
)

pytestmark = pytest.mark.django_db

NASTY = ["=HYPERLINK(\"http://evil\",\"x\")", "+1 555 0100", "-2+3", "@SUM(A1)", "\tTabbed",
         "\rReturn"]


@pytest.fixture
def client(client: Any) -> Any:
    """These tests read the columns by their machine keys, as an integration does: every
    download they ask for carries ``headers=machine`` (the human headers have tests of their
    own below)."""
    get = client.get

    def get_machine(path: str, data: Any = None, **extra: Any) -> Any:
        if path.startswith(("/exports/", "/reports/")) and path.split("?")[0].endswith(
                (".csv", ".xlsx")):
            if "?" in path:
                path += "&headers=machine"
            else:
                data = {**(data or {}), "headers": "machine"}
        return get(path, data, **extra)

    client.get = get_machine
    return client


def read_csv(response) -> list[dict[str, str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(cast("Iterator[bytes]", response.streaming_content)).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def read_xlsx(response) -> list[dict[str, object]]:
    assert isinstance(response, FileResponse)
    content = b"".join(cast("Iterator[bytes]", response.streaming_content))
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    rows: list[dict[str, object]] = []
    for sheet in workbook.worksheets:
        values = list(sheet.iter_rows(values_only=True))
        rows += [dict(zip(values[0], row, strict=True)) for row in values[1:]]
    return rows


@pytest.mark.parametrize("value", NASTY)
def test_escape_cell_quotes_formula_starts(value) -> None:
    assert escape_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Ana", "", "1+1", "O'Brien", " =not first", 5, None,
                                   Decimal("-1.5"), dt.date(2026, 3, 1)])
def test_escape_cell_leaves_everything_else(value) -> None:
    assert escape_cell(value) == value


def test_writers_escape_every_text_cell_and_keep_numbers() -> None:
    header = ["=name", "amount", "when"]
    rows = [(v, Decimal("-2.50"), dt.date(2026, 3, 1)) for v in NASTY]
    text = "".join(csv_lines(header, iter(rows)))
    read = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    assert read[0] == ["'=name", "amount", "when"]
    assert [r[0] for r in read[1:]] == ["'" + v for v in NASTY]
    assert {r[1] for r in read[1:]} == {"-2.50"}  # a number, not text: left alone

    out = io.BytesIO()
    xlsx_write(out, header, iter(rows), title="t")
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active
    assert sheet["A1"].value == "'=name"
    for i, value in enumerate(NASTY, start=2):
        cell = sheet.cell(row=i, column=1)
        # Text, never a formula. (XML reads a carriage return back as a line feed.)
        assert cell.data_type == "s" and cell.value.startswith("'")
        assert cell.value[1:] == value.replace("\r", "\n")
        assert sheet.cell(row=i, column=2).value == -2.5
    assert sheet["C2"].value == dt.datetime(2026, 3, 1)


def test_xlsx_goes_on_to_a_second_sheet_when_one_is_full(monkeypatch) -> None:
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 3)  # header + 2 rows per sheet
    out = io.BytesIO()
    xlsx_write(out, ["n"], iter([(i,) for i in range(5)]), title="numbers")
    workbook = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    assert workbook.sheetnames == ["numbers", "numbers 2", "numbers 3"]
    assert [[c.value for c in row] for row in workbook["numbers 2"].iter_rows()] == [
        ["n"], [2], [3]]


def test_xlsx_drops_characters_excel_cannot_hold() -> None:
    out = io.BytesIO()
    xlsx_write(out, ["name"], iter([("Bell\x07 Ringer",)]), title="x")
    assert openpyxl.load_workbook(io.BytesIO(out.getvalue())).active["A2"].value == "Bell Ringer"


@pytest.fixture
def nasty_people(db: None) -> tuple[Program, list[Person]]:
    program = ProgramFactory()
    FieldDefinition.objects.create(target="person", key="nickname", label="Goes by",
                                   field_type="text")
    people = []
    for value in NASTY:
        person = PersonFactory(first_name=value, last_name="Doe", phone="+1 555 0100",
                               annual_income=Decimal("12000"), household_size=3,
                               extra={"nickname": "=1+1"})
        EnrollmentFactory(program=program, person=person)
        people.append(person)
    return program, people


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_people_export_escapes_formulas(client, charlie, nasty_people, fmt) -> None:
    client.force_login(charlie)
    response = client.get(f"/exports/people.{fmt}")
    assert response.status_code == 200
    rows = read_csv(response) if fmt == "csv" else read_xlsx(response)
    # (XML reads a carriage return back as a line feed.)
    assert (sorted(str(r["first_name"]).replace("\n", "\r") for r in rows)
            == sorted("'" + v for v in NASTY))
    assert {r["phone"] for r in rows} == {"'+1 555 0100"}
    assert {r["extra.nickname"] for r in rows} == {"'=1+1"}
    # Staff see eligibility details.
    assert {str(r["annual_income"]) for r in rows} <= {"12000.00", "12000", "12000.0"}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_viewers_get_no_eligibility_details(client, dana, nasty_people, fmt) -> None:
    client.force_login(dana)
    rows = (read_csv if fmt == "csv" else read_xlsx)(client.get(f"/exports/people.{fmt}"))
    assert rows and "annual_income" not in rows[0] and "household_size" not in rows[0]
    assert "first_name" in rows[0]


def test_kiosk_and_strangers_get_nothing(client, kim, nasty_people) -> None:
    assert client.get("/exports/people.csv").status_code == 302  # to the login page
    assert client.get("/reports/summary.csv").status_code == 302
    client.force_login(kim)
    for url in ["/exports/people.csv", "/exports/disbursements.xlsx", "/reports/summary.csv",
                "/reports/"]:
        response = client.get(url)
        assert response.status_code in {302, 403}
        assert not getattr(response, "streaming", False)


def test_a_user_limited_to_programs_exports_only_theirs(client, nasty_people) -> None:
    program, _ = nasty_people
    other = PersonFactory(first_name="Elsewhere")
    elsewhere = ProgramFactory()
    EnrollmentFactory(program=elsewhere, person=other)
    DisbursementFactory(assignment__enrollment__program=elsewhere)
    DisbursementFactory(assignment__enrollment__program=program)
    limited = UserFactory(username="erin", role="staff")
    limited.programs.add(program)
    client.force_login(limited)
    names = {r["first_name"] for r in read_csv(client.get("/exports/people.csv"))}
    assert "Elsewhere" not in names and len(names) == len(NASTY) + 1
    assert {r["program_id"] for r in read_csv(client.get("/exports/disbursements.csv"))} == {
        str(program.pk)}
    assert client.get(f"/exports/disbursements.csv?program_id={elsewhere.pk}").status_code == 404


def test_delivered_disbursements_export_is_the_summarys_hand_count(client, api, alice) -> None:
    program = ProgramFactory()
    benefit = BenefitFactory(program=program)
    for i, code in enumerate(["completed", "completed", "absent", "enrolled", "completed"]):
        DisbursementFactory(assignment=AssignmentFactory(benefit=benefit,
                                                         enrollment__program=program),
                            status=status("disbursement", code),
                            disbursed_on=dt.date(2026, 3, 1) + dt.timedelta(days=i * 10))
    query = {"program_id": program.pk, "from": "2026-03-01", "to": "2026-03-31"}
    summary = api.get("reports/summary", **query).json()
    client.force_login(alice)
    rows = read_csv(client.get("/exports/disbursements.csv", {**query, "bucket": "delivered"}))
    assert len(rows) == summary["disbursements"] == 2
    assert len({r["person_id"] for r in rows}) == summary["people_served"]
    everything = read_csv(client.get("/exports/disbursements.csv", query))
    # As the disbursements list shows them: newest first.
    assert [r["status"] for r in everything] == ["enrolled", "absent", "completed", "completed"]


@pytest.mark.parametrize("name", ["people", "enrollments", "disbursements", "sessions"])
def test_list_exports_stream_with_constant_queries(client, alice, name) -> None:
    client.force_login(alice)
    program = ProgramFactory()

    def add(n: int) -> None:
        for _ in range(n):
            d = DisbursementFactory(assignment__enrollment__program=program)
            SessionFactory(schedule__benefit=d.benefit)

    def run() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"/exports/{name}.csv", {"program_id": program.pk})
            assert isinstance(response, StreamingHttpResponse)
            rows = read_csv(response)
        return len(rows), len(ctx.captured_queries)

    add(2)
    small_rows, small_queries = run()
    add(25)
    big_rows, big_queries = run()
    assert big_rows > small_rows and big_queries == small_queries


def test_export_chunks_rows_through_a_cursor(monkeypatch, client, alice) -> None:
    """values_list tuples via .iterator(chunk_size): never model instances, never all at once."""
    seen = []
    original = type(PersonFactory._meta.model.objects.all()).iterator

    def spy(self: Any, chunk_size: int | None = None) -> Any:
        seen.append((self._iterable_class.__name__, chunk_size))
        return original(self, chunk_size=chunk_size)

    monkeypatch.setattr(type(PersonFactory._meta.model.objects.all()), "iterator", spy)
    DisbursementFactory()
    client.force_login(alice)
    for name in ["people", "enrollments", "disbursements", "sessions"]:
        read_csv(client.get(f"/exports/{name}.csv"))
    assert seen == [("ValuesListIterable", exports.CHUNK_SIZE)] * 4


def test_list_filters(client, alice) -> None:
    program = ProgramFactory()
    ana = PersonFactory(first_name="Ana", last_name="Garcia", postal_code="02119")
    ben = PersonFactory(first_name="Ben", last_name="Okafor")
    EnrollmentFactory(program=program, person=ana)
    EnrollmentFactory(program=program, person=ben, status=status("enrollment", "withdrawn"))
    client.force_login(alice)

    def names(url: str, **query) -> set[str]:
        return {r["first_name"] for r in read_csv(client.get(url, query))}

    assert names("/exports/people.csv", search="ana garc") == {"Ana"}
    assert names("/exports/people.csv", search="0211") == {"Ana"}
    assert names("/exports/people.csv", program_id=program.pk, bucket="withdrawn") == {"Ben"}
    assert names("/exports/enrollments.csv", program_id=program.pk, status="enrolled") == {"Ana"}
    assert names("/exports/enrollments.csv", search="okafor") == {"Ben"}
    for bad in [{"bucket": "gone"}, {"program_id": "x"}, {"from": "March"},
                {"from": "2026-03-02", "to": "2026-03-01"}]:
        response = client.get("/exports/people.csv", bad)
        assert response.status_code == 400, bad
        assert b"Bad filter" in response.content
    assert client.get("/exports/sessions.csv", {"status": "gone"}).status_code == 400
    assert client.get("/exports/people.csv", {"program_id": 999999}).status_code == 404


def test_sessions_export_uses_each_sessions_time_zone(client, alice) -> None:
    session = SessionFactory(schedule__timezone="America/Los_Angeles",
                             local_date=dt.date(2026, 7, 6), status="completed")
    DisbursementFactory(assignment__benefit=session.benefit,
                        assignment__enrollment__program=session.benefit.program,
                        session=session, disbursed_on=session.local_date)
    client.force_login(alice)
    [row] = read_csv(client.get("/exports/sessions.csv"))
    assert row["start"] == "2026-07-06T18:00:00-07:00"
    assert row["timezone"] == "America/Los_Angeles"
    assert (row["on_roster"], row["attended"], row["absent"]) == ("1", "1", "0")
    [xrow] = read_xlsx(client.get("/exports/sessions.xlsx"))
    assert xrow["start"] == dt.datetime(2026, 7, 6, 18, 0)  # wall-clock, as staff read it


def test_report_download_in_both_formats(client, dana) -> None:
    program = ProgramFactory(name="=cmd|' /C calc'!A0")
    d = DisbursementFactory(assignment__enrollment__program=program, quantity=Decimal("2.5"),
                            disbursed_on=dt.date(2026, 3, 3))
    client.force_login(dana)
    rows = read_csv(client.get("/reports/summary.csv", {"program_id": program.pk}))
    values = {r["measure"]: r["value"] for r in rows}
    assert values["people_served"] == "1" and values["disbursements"] == "1"
    assert values[f"units: {d.unit.code}"] in {"2.5", "2.50"}
    xrows = read_xlsx(client.get("/reports/units-by-month.xlsx", {"program_id": program.pk}))
    assert [(r["month"], r["quantity"]) for r in xrows] == [("2026-03", 2.5)]
    absences = read_csv(client.get("/reports/follow-ups-absences.csv"))
    assert absences == []
    assert client.get("/reports/attendance.csv", {"group_by": "room"}).status_code == 400
    assert client.get("/reports/nothing.csv").status_code == 404


def test_list_pages_own_query_strings_work(client, alice) -> None:
    program = ProgramFactory()
    ana = PersonFactory(first_name="Ana", last_name="Garcia")
    a = AssignmentFactory(enrollment__program=program, enrollment__person=ana)
    DisbursementFactory(assignment=a, recipient_type="walk_in")
    DisbursementFactory(assignment=a)
    DisbursementFactory()  # another program
    client.force_login(alice)

    def rows(url: str, **query) -> list[dict[str, str]]:
        return read_csv(client.get(url, query))

    assert len(rows("/exports/disbursements.csv", program=program.pk)) == 2
    assert len(rows("/exports/disbursements.csv", person=ana.pk, recipient_type="walk_in")) == 1
    assert len(rows("/exports/disbursements.csv", q="garcia")) == 2
    assert [r["first_name"] for r in rows("/exports/enrollments.csv", program=program.pk)] == [
        "Ana"]
    assert [r["first_name"] for r in rows("/exports/people.csv", q="garcia")] == ["Ana"]
    assert client.get("/exports/disbursements.csv", {"recipient_type": "x"}).status_code == 400
    assert client.get("/exports/disbursements.csv", {"person": "abc"}).status_code == 400


def test_the_disbursement_list_pages_export_link_downloads_what_it_shows(client, alice) -> None:
    program = ProgramFactory()
    for _ in range(3):
        DisbursementFactory(assignment__enrollment__program=program)
    DisbursementFactory()
    client.force_login(alice)
    page = client.get("/disbursements/", {"program": program.pk})
    html = page.content.decode()
    link = f"/exports/disbursements.csv?program={program.pk}"
    assert link in html
    assert len(read_csv(client.get(link))) == page.context["count"] == 3


def test_downloads_have_human_headers_unless_asked_for_the_machine_keys(alice, nasty_people
                                                                       ) -> None:
    from django.test import Client

    people = Client()
    people.force_login(alice)
    human = read_csv(people.get("/exports/people.csv"))[0]
    assert list(human)[:4] == ["ID", "First name", "Last name", "Birth date"]
    assert {"Postal code", "Account ID", "Annual income", "Goes by"} <= set(human)
    machine = read_csv(people.get("/exports/people.csv", {"headers": "machine"}))[0]
    assert list(machine)[:4] == ["id", "first_name", "last_name", "birth_date"]
    assert "extra.nickname" in machine
    xlsx = read_xlsx(people.get("/exports/disbursements.xlsx"))
    assert xlsx == [] or "Number of recipients" in xlsx[0]
    summary = read_csv(people.get("/reports/summary.csv"))
    assert list(summary[0]) == ["Measure", "Value"]
    bad = people.get("/exports/people.csv", {"headers": "pretty"})
    assert bad.status_code == 400 and b"human or machine" in bad.content


def test_an_import_reads_back_an_export_with_either_headers(alice, nasty_people) -> None:
    from django.test import Client

    from programdesk.imports.fields import custom_definitions, guess_mapping

    people = Client()
    people.force_login(alice)
    for query in [{}, {"headers": "machine"}]:
        text = b"".join(cast(Any, people.get("/exports/people.csv", query)).streaming_content)
        header = next(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
        mapping = dict(zip(header, guess_mapping("people", header,
                                                 definitions=custom_definitions("people")),
                           strict=True))
        fields = set(mapping.values())
        assert {"first_name", "last_name", "birth_date", "email", "phone", "postal_code",
                "card_code", "account_id", "household_size", "annual_income",
                "extra.nickname"} <= fields, mapping
