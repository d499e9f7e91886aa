"""The paper roster: printed with names, card codes and boxes to tick, downloaded as CSV or
XLSX in the disbursements import's shape — and the ticked sheet imported back marks the
session's rows."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client

from programdesk.core.models import AuditEvent, User
from programdesk.imports import fields
from programdesk.imports.parsers import read_table
from programdesk.imports.services import import_commit
from programdesk.participation import services
from programdesk.participation.models import BenefitDisbursement
from programdesk.people import services as people_services
from programdesk.scheduling.models import BenefitSession
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(charlie: User) -> BenefitSession:
    schedule = f.schedule_with_sessions(sessions=1)
    people = [f.PersonFactory(first_name=first, last_name=last)
              for first, last in (("Ana", "Silva"), ("Ben", "Okafor"), ("Cy", "Adams"))]
    services.schedule_add_participants(actor=charlie, schedule=schedule,
                                       person_ids=[p.pk for p in people])
    people_services.card_issue(actor=charlie, person=people[0])
    found = schedule.sessions.first()
    assert found is not None
    return found


def _statuses(session: BenefitSession) -> dict[str, str]:
    return dict(BenefitDisbursement.objects.filter(session=session)
                .values_list("person__first_name", "status__code"))


def _content(response: Any) -> bytes:
    """A download's bytes: a streamed CSV, or a file response."""
    return b"".join(response.streaming_content)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_printable_roster_lists_names_card_codes_and_boxes(charlie, session) -> None:
    page = _client(charlie).get(f"/sessions/{session.pk}/roster/").content.decode()
    code = BenefitDisbursement.objects.get(session=session, person__first_name="Ana") \
        .person.card_code
    assert page.index("Adams, Cy") < page.index("Okafor, Ben") < page.index("Silva, Ana")
    assert code in page
    assert page.count('class="box"') == 3 + 8  # the people, and lines for walk-ins


def _ticked(text: str) -> bytes:
    """The downloaded roster as someone fills it in: Ana ticked, Ben absent, Cy left as
    printed, and a walk-in written at the bottom."""
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        row["Status"] = {"Ana": "x", "Ben": "absent"}.get(row["First name"], row["Status"])
    walk_in = {**rows[0], "Person ID": "", "First name": "Dee", "Last name": "Novak",
               "Card code": "", "Status": "x"}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows([*rows, walk_in])
    return out.getvalue().encode()


def _import(user: User, data: bytes, filename: str) -> dict[str, int]:
    table = read_table(data, filename)
    mapping = fields.guess_mapping("disbursements", table.headers)
    return import_commit(actor=user, kind="disbursements", table=table, mapping=mapping,
                         filename=filename).summary


def test_the_ticked_roster_imports_back_and_marks_the_session(bob, charlie, session) -> None:
    download = _client(charlie).get(f"/sessions/{session.pk}/roster.csv")
    assert download.status_code == 200
    text = _content(download).decode("utf-8-sig")
    assert text.splitlines()[0] == ("Person ID,Account ID,First name,Last name,Card code,"
                                    "Benefit,Schedule,Session date,Status")
    summary = _import(bob, _ticked(text), "roster.csv")
    assert summary["disbursements_marked"] == 2
    assert summary["disbursements_new"] == 1  # the walk-in
    assert _statuses(session) == {"Ana": "completed", "Ben": "absent", "Cy": "enrolled",
                                  "Dee": "completed"}
    event = AuditEvent.objects.get(action="import.disbursements_marked")
    assert len(event.object_ids) == 2 and event.actor == bob
    # The same file again changes nothing: what was recorded is never overwritten.
    again = _import(bob, _ticked(text), "roster.csv")
    assert again.get("disbursements_marked", 0) == 0 and again["disbursements_new"] == 0
    assert _statuses(session)["Ana"] == "completed"


def test_an_import_never_overwrites_attendance_taken_meanwhile(bob, charlie, session) -> None:
    text = _content(_client(charlie).get(f"/sessions/{session.pk}/roster.csv")).decode(
        "utf-8-sig")
    ben = BenefitDisbursement.objects.get(session=session, person__first_name="Ben")
    services.attendance_record(actor=charlie, session=session, marks=[
        services.AttendanceMark(ben.pk, "excused")])
    summary = _import(bob, _ticked(text), "roster.csv")
    assert summary["disbursements_marked"] == 1
    assert _statuses(session)["Ben"] == "excused"


def test_the_xlsx_roster_round_trips_too(bob, charlie, session) -> None:
    from openpyxl import load_workbook

    download = _client(charlie).get(f"/sessions/{session.pk}/roster.xlsx")
    data = _content(download)
    book = load_workbook(io.BytesIO(data))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    status, first = header.index("Status") + 1, header.index("First name") + 1
    for row in range(2, sheet.max_row + 1):
        if sheet.cell(row, first).value == "Cy":
            sheet.cell(row, status).value = "x"
    out = io.BytesIO()
    book.save(out)
    summary = _import(bob, out.getvalue(), "roster.xlsx")
    assert summary["disbursements_marked"] == 1
    assert _statuses(session)["Cy"] == "completed"
