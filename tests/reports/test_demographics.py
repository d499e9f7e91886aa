"""Demographics, TEFAP monthly, CSBG and new vs returning: the counting rules on a small world
with exact numbers, their stability when people move, the rows behind every number, the
downloads and the program scope (docs/reports.md, "Demographics")."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import localdate

from programdesk.core.models import User
from programdesk.participation import services
from programdesk.people import services as people_services
from programdesk.programs.models import IncomeGuideline
from programdesk.reports.demographics import (
    BANDS,
    demographic_rows,
    report_demographics,
    report_new_vs_returning,
    report_tefap_monthly,
)
from programdesk.reports.filtering import report_filter
from programdesk.reports.selectors import report_summary
from tests.factories import AccountFactory, BenefitFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


def month_start(months_back: int) -> dt.date:
    day = localdate().replace(day=1)
    for _ in range(months_back):
        day = (day - dt.timedelta(days=1)).replace(day=1)
    return day


M = month_start(2)  # "March": a whole month in the past
FEB = month_start(3)
M_END = month_start(1) - dt.timedelta(days=1)


def on(day: int) -> dt.date:
    return M.replace(day=day)


def years_before(day: dt.date, years: int) -> dt.date:
    return day.replace(year=day.year - years)


@pytest.fixture
def world(alice: User) -> dict[str, Any]:
    """Guideline: 1 → 15,000, 2 → 20,000, 3 → 25,000 (+5,000 a person beyond).

    Harris (income 12,500; one declared member): Ana (head, 34) and Ben (child, 10 on the 5th).
    Lee (no income): Cy (head; 59 on the 10th, 60 from the 11th). Big (income 30,000; four
    declared): Eve (20). Dee lives alone, no birth date. Ana got a box in February. In March:
    Ana on the 3rd, Ben on the 5th, Cy on the 10th, Dee on the 12th; Ben moves to Lee on the
    15th and gets a box on the 18th; Eve on the 20th; Cy absent on the 25th (not a delivery)."""
    for size, amount in ((1, 15000), (2, 20000), (3, 25000)):
        IncomeGuideline.objects.create(household_size=size, annual_income=Decimal(amount))
    harris = AccountFactory(name="Harris", declared_size=1, annual_income=Decimal(12500))
    lee = AccountFactory(name="Lee")
    big = AccountFactory(name="Big", declared_size=4, annual_income=Decimal(30000))
    ana = PersonFactory(first_name="Ana", last_name="Harris", birth_date=years_before(on(1), 34))
    ben = PersonFactory(first_name="Ben", last_name="Harris", birth_date=years_before(on(5), 10))
    cy = PersonFactory(first_name="Cy", last_name="Lee", birth_date=years_before(on(11), 60))
    dee = PersonFactory(first_name="Dee", last_name="Solo")
    eve = PersonFactory(first_name="Eve", last_name="Big", birth_date=years_before(on(1), 20))
    start = FEB - dt.timedelta(days=40)
    for person, account, relationship in ((ana, harris, "head"), (ben, harris, "child"),
                                          (cy, lee, "head"), (eve, big, "head")):
        people_services.household_member_add(actor=alice, account=account, person=person,
                                             relationship=relationship, start_date=start)
    benefit = BenefitFactory(name="Food box")

    def give(person: Any, day: dt.date, status: str | None = None) -> None:
        services.disbursements_bulk_walk_in(actor=alice, benefit=benefit, quantity=Decimal(1),
                                            disbursed_on=day, person_ids=[person.pk],
                                            status=status)

    give(ana, FEB.replace(day=15))
    give(ana, on(3))
    give(ben, on(5))
    give(cy, on(10))
    give(dee, on(12))
    people_services.household_member_move(actor=alice, person=ben, account=lee, on=on(15))
    give(ben, on(18))
    give(eve, on(20))
    give(cy, on(25), status="absent")
    return {"harris": harris, "lee": lee, "big": big, "ana": ana, "ben": ben, "cy": cy,
            "dee": dee, "eve": eve, "benefit": benefit}


def demographics(user: User, **filters: Any) -> dict[str, Any]:
    report = report_demographics(user=user, filters=report_filter(user=user, **filters))
    return {
        "people": report["people"], "households": report["households"],
        "ages": {b["band"]: b["count"] for b in report["age_bands"] if b["count"]},
        "sizes": {s["size"]: s["count"] for s in report["household_sizes"] if s["count"]},
        "incomes": {b["band"]: b["count"] for b in report["income_bands"] if b["count"]},
        "tefap": dict(report["tefap"]),
    }


MARCH = {
    "people": 5,  # Ana, Ben, Cy, Dee, Eve
    "households": 3,  # Harris, Lee, Big (Dee is in none)
    # Ages on each one's first delivery in March: Ana 34, Ben 10 (his birthday), Cy 59 (the
    # day before his 60th), Eve 20, Dee no birth date.
    "ages": {"25-44": 1, "6-13": 1, "55-59": 1, "18-24": 1, "unknown": 1},
    # On each household's latest March delivery: Harris on the 5th (Ana, Ben + 1 declared),
    # Lee on the 18th (Cy, Ben), Big on the 20th (Eve + 4 declared).
    "sizes": {"3": 1, "2": 1, "5": 1},
    # Harris 12,500 / 25,000 = 50% (the band's upper bound); Lee no income; Big 30,000 of
    # 35,000 (size 5: 25,000 + 2 × 5,000) = 85.7%.
    "incomes": {"0-50": 1, "unknown": 1, "76-100": 1},
    "tefap": {
        "households": 3, "households_with_children": 2, "households_without_children": 1,
        "persons": 10,  # 3 + 2 + 5
        "children_0_17": 2,  # Ben in Harris on the 5th and in Lee on the 18th
        "adults_18_59": 2,  # Ana, Eve
        "seniors_60_plus": 1,  # Cy, 60 on the 18th
        "people_not_in_a_household": 1,  # Dee
    },
}


def test_the_demographics_of_a_month(alice, world) -> None:
    assert demographics(alice, date_from=M, date_to=M_END) == MARCH


def test_the_summary_counts_agree(alice, world) -> None:
    summary = report_summary(user=alice, filters=report_filter(user=alice, date_from=M,
                                                               date_to=M_END))
    assert (summary["people_served"], summary["households_served"],
            summary["individuals_in_households_served"], summary["new_people"],
            summary["new_households"]) == (5, 3, 10, 4, 2)


def test_february_and_the_queries(alice, world) -> None:
    with CaptureQueriesContext(connection) as queries:
        feb = demographics(alice, date_from=FEB, date_to=M - dt.timedelta(days=1))
    assert len(queries) == 3  # the guideline table, the people, the households
    assert feb == {"people": 1, "households": 1, "ages": {"25-44": 1}, "sizes": {"3": 1},
                   "incomes": {"0-50": 1},
                   "tefap": {"households": 1, "households_with_children": 1,
                             "households_without_children": 0, "persons": 3,
                             "children_0_17": 1, "adults_18_59": 1, "seniors_60_plus": 0,
                             "people_not_in_a_household": 0}}


def test_a_membership_change_after_a_visit_leaves_last_months_counts_unchanged(
        alice, world) -> None:
    before = demographics(alice, date_from=M, date_to=M_END)
    monthly = report_tefap_monthly(user=alice, filters=report_filter(user=alice))
    elsewhere = AccountFactory(name="Zed", declared_size=4)
    people_services.household_member_move(actor=alice, person=world["ana"], account=elsewhere,
                                          relationship="head")
    people_services.household_member_end(actor=alice, account=world["lee"], person=world["ben"])
    people_services.household_member_move(actor=alice, person=world["eve"],
                                          account=world["harris"])
    people_services.account_update(actor=alice, account=world["big"], declared_size=1)
    assert demographics(alice, date_from=M, date_to=M_END) == before
    assert report_tefap_monthly(user=alice, filters=report_filter(user=alice)) == monthly


def test_tefap_monthly(alice, world) -> None:
    rows = report_tefap_monthly(user=alice, filters=report_filter(user=alice))
    assert [(r["month"], r["households"], r["households_with_children"],
             r["households_without_children"], r["seniors_60_plus"], r["adults_18_59"],
             r["children_0_17"], r["persons"]) for r in rows] == [
        (FEB.strftime("%Y-%m"), 1, 1, 0, 0, 1, 1, 3),
        (M.strftime("%Y-%m"), 3, 2, 1, 1, 2, 2, 10)]


def test_new_and_returning_per_quarter(alice, world) -> None:
    periods = report_new_vs_returning(user=alice, filters=report_filter(user=alice),
                                      year=M.year, today=localdate())
    quarter = f"Q{(M.month - 1) // 3 + 1}"
    by_name = {p["period"]: p for p in periods}
    march_quarter = by_name[quarter]
    if FEB.month in {M.month - 1} and (FEB.month - 1) // 3 == (M.month - 1) // 3:
        # February and March in one quarter: everyone is new in it
        assert (march_quarter["new_people"], march_quarter["returning_people"]) == (5, 0)
    else:
        assert (march_quarter["new_people"], march_quarter["returning_people"]) == (4, 1)
    served = sum(by_name[f"Q{q}"]["people_served"] for q in range(1, 5))
    assert served >= march_quarter["people_served"] == 5
    assert by_name["Year to date"]["date_from"] == dt.date(M.year, 1, 1)


def _rows(user: User, measure: str, band: str | None = None, **filters: Any) -> list[Any]:
    return list(demographic_rows(user=user, filters=report_filter(user=user, **filters),
                                 measure=measure, band=band)[1])


def test_every_number_drills_down_to_its_rows(alice, world) -> None:
    march: dict[str, Any] = {"date_from": M, "date_to": M_END}
    report = report_demographics(user=alice, filters=report_filter(user=alice, **march))
    for measure, key in (("age_bands", "band"), ("household_sizes", "size"),
                         ("income_bands", "band")):
        for entry in report[measure]:  # type: ignore[literal-required]
            assert len(_rows(alice, measure, entry[key], **march)) == entry["count"], entry
    assert len(_rows(alice, "people", **march)) == report["people"]
    assert len(_rows(alice, "households", **march)) == report["households"]
    for key in ("households_with_children", "households_without_children", "children_0_17",
                "adults_18_59", "seniors_60_plus", "people_not_in_a_household"):
        assert len(_rows(alice, key, **march)) == report["tefap"][key], key  # type: ignore
    persons = _rows(alice, "persons", **march)
    assert sum(r[2] for r in persons) == report["tefap"]["persons"]
    names = {(r[4], r[5]) for r in _rows(alice, "children_0_17", **march)}
    assert names == {("Ben", "Harris")}
    summary = report_summary(user=alice, filters=report_filter(user=alice, **march))
    for key in ("new_people", "new_households", "households_served"):
        assert len(_rows(alice, key, **march)) == summary[key], key  # type: ignore
    assert len(_rows(alice, "returning_people", **march)) == 1  # Ana
    assert set(BANDS) == {"age_bands", "household_sizes", "income_bands"}


def test_another_programs_rows_are_never_counted(alice, world) -> None:
    """A manager limited to the food program sees none of the coats program's deliveries."""
    coats = BenefitFactory(name="Coats")
    services.disbursements_bulk_walk_in(actor=alice, benefit=coats, quantity=Decimal(1),
                                        disbursed_on=on(21), person_ids=[world["dee"].pk,
                                                                         world["cy"].pk])
    limited = UserFactory(username="pantry", role="manager")
    limited.programs.add(world["benefit"].program)
    assert demographics(limited, date_from=M, date_to=M_END) == MARCH
    coats_only = demographics(alice, program_id=coats.program_id, date_from=M, date_to=M_END)
    assert (coats_only["people"], coats_only["households"]) == (2, 1)


# --- API, pages and downloads ------------------------------------------------------------


def test_the_api(api, world) -> None:
    body = api.get("reports/demographics", **{"from": M.isoformat(),
                                               "to": M_END.isoformat()}).json()
    assert body["people"] == 5 and body["households"] == 3
    assert body["tefap"]["persons"] == 10
    assert [b["band"] for b in body["age_bands"]][-1] == "unknown"
    assert [s["size"] for s in body["household_sizes"]][-1] == "8+"


@pytest.mark.parametrize("url", ["/reports/demographics/", "/reports/tefap/", "/reports/csbg/",
                                 "/reports/new-vs-returning/"])
def test_the_pages_render_and_link_their_rows(client, dana, world, url) -> None:
    client.force_login(dana)
    response = client.get(url, {"from": M.isoformat(), "to": M_END.isoformat()})
    assert response.status_code == 200
    html = response.content.decode()
    assert "/reports/rows/?" in html and "measure=" in html
    assert ".csv?" in html and ".xlsx?" in html


def test_the_rows_page_and_its_downloads(client, dana, world) -> None:
    client.force_login(dana)
    query = {"measure": "age_bands", "band": "6-13", "from": M.isoformat(),
             "to": M_END.isoformat()}
    html = client.get("/reports/rows/", query).content.decode()
    assert "Ben" in html and "Ana" not in html
    response = client.get("/reports/rows.csv", {**query, "headers": "machine"})
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content)
                                        .decode("utf-8-sig"))))
    assert lines[0][:3] == ["person_id", "first_name", "last_name"]
    assert [line[1] for line in lines[1:]] == ["Ben"]
    xlsx = client.get("/reports/rows.xlsx", query)
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    assert sheet is not None and sheet.max_row == 2
    assert client.get("/reports/rows/", {"measure": "nope"}).status_code == 400
    assert client.get("/reports/rows.csv", {"measure": "age_bands", "band": "x"}
                      ).status_code == 400


def test_downloads_escape_formulas(client, dana, world) -> None:
    world["harris"].name = "=HYPERLINK(1)"
    world["harris"].save(update_fields=["name"])
    client.force_login(dana)
    response = client.get("/reports/rows.csv", {"measure": "households", "from": M.isoformat(),
                                                "to": M_END.isoformat()})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text


@pytest.mark.parametrize("name", ["demographics", "tefap-monthly", "csbg", "new-vs-returning"])
def test_the_report_downloads(client, dana, world, name) -> None:
    client.force_login(dana)
    query = {"from": M.isoformat(), "to": M_END.isoformat(), "headers": "machine"}
    response = client.get(f"/reports/{name}.csv", query)
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content)
                                       .decode("utf-8-sig"))))
    assert len(rows) >= 2  # the header and at least one row
    xlsx = client.get(f"/reports/{name}.xlsx", query)
    assert xlsx.status_code == 200


def test_members_enrolled_elsewhere_count_but_are_listed_without_a_name(alice, world) -> None:
    """Zoe (4) lived with the Harrises in March, got coats from another program only and has
    moved away since: the pantry's manager counts her among the Harrises' children on the 5th
    but does not see who she is (she is no longer in a household of the pantry's people)."""
    zoe = PersonFactory(first_name="Zoe", last_name="Hidden", birth_date=years_before(on(1), 4))
    people_services.household_member_add(actor=alice, account=world["harris"], person=zoe,
                                         relationship="child",
                                         start_date=FEB - dt.timedelta(days=40))
    coats = BenefitFactory(name="Coats")
    services.disbursements_bulk_walk_in(actor=alice, benefit=coats, quantity=Decimal(1),
                                        disbursed_on=on(27), person_ids=[zoe.pk])
    people_services.household_member_move(actor=alice, person=zoe, on=on(28),
                                          account=AccountFactory(name="Away"))
    limited = UserFactory(username="pantry", role="manager")
    limited.programs.add(world["benefit"].program)
    march = {"date_from": M, "date_to": M_END, "program_id": world["benefit"].program_id}
    report = report_demographics(user=limited, filters=report_filter(user=limited, **march))
    assert report["tefap"]["children_0_17"] == 3  # Ben twice, Zoe in Harris on the 5th
    assert report["people"] == 5  # Zoe was not served by the pantry
    rows = _rows(limited, "children_0_17", **march)
    assert sorted((r[1], r[4] or "") for r in rows) == [("Harris", ""), ("Harris", "Ben"),
                                                        ("Lee", "Ben")]
    assert all(r[3] is None for r in rows if not r[4])  # no id either
