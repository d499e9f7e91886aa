"""Who was served, by age, household size and income, and the funders' counts built on them
(TEFAP, CSBG, new and returning). The exact rules are in docs/reports.md, "Demographics".

Every count is a ``GROUP BY`` over a *row query*: one row per person served (``people``), per
household served (``households``, optionally per month) or per member of a household served
(``members``). The drill-down lists (``demographic_rows``) read the same row queries with the
band's condition, so a list has exactly as many rows as its number says.

The row queries wrap the reports' own disbursement query (``report_disbursements``: the user's
programs, the filters, the dates), compiled by the ORM, in plain SQL: Django cannot join a
grouped or windowed subquery to other tables, and these are what a hand-written aggregate would
be (bench S9 compares them). Queries: the guideline table, then one per block.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, TypedDict

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    Func,
    IntegerField,
    Max,
    Min,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber

from programdesk.core.models import User
from programdesk.participation.models import BenefitDisbursement
from programdesk.people.models import Account, HouseholdMembership, Person
from programdesk.people.selectors import people_visible
from programdesk.programs.eligibility import guideline_for
from programdesk.programs.models import IncomeGuideline
from programdesk.reports.filtering import DELIVERED, ReportFilter, report_disbursements

# --- bands -----------------------------------------------------------------------------------

UNKNOWN = "unknown"
AGE_BANDS: list[tuple[str, int, int | None]] = [
    ("0-5", 0, 5), ("6-13", 6, 13), ("14-17", 14, 17), ("18-24", 18, 24), ("25-44", 25, 44),
    ("45-54", 45, 54), ("55-59", 55, 59), ("60-64", 60, 64), ("65-74", 65, 74),
    ("75+", 75, None)]
SIZE_BANDS = ["1", "2", "3", "4", "5", "6", "7", "8+"]
# (band, the largest percentage of the guideline in it); upper bounds inclusive.
INCOME_BANDS: list[tuple[str, int | None]] = [
    ("0-50", 50), ("51-75", 75), ("76-100", 100), ("101-125", 125), ("126-150", 150),
    ("151-175", 175), ("176-200", 200), ("201-250", 250), ("251+", None)]
# TEFAP's age groups of a household's members: (name, youngest, oldest).
TEFAP_AGES: list[tuple[str, int, int | None]] = [
    ("children_0_17", 0, 17), ("adults_18_59", 18, 59), ("seniors_60_plus", 60, None)]


def age_band(age: int | None) -> str:
    """The band of a whole-years age; unknown without one (no birth date, or born after)."""
    if age is None or age < 0:
        return UNKNOWN
    for band, low, high in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return band
    return UNKNOWN  # pragma: no cover - the last band is open


def size_band(size: int) -> str:
    return str(size) if size < 8 else "8+"


# --- SQL helpers -----------------------------------------------------------------------------

def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _table(model: Any) -> str:
    return _q(model._meta.db_table)


def _age_sql(on: str, birth: str) -> str:
    """Whole years from ``birth`` to ``on`` (two SQL date expressions), NULL without a birth
    date or when born after ``on``: (yyyymmdd(on) - yyyymmdd(birth)) / 10000 in integers, the
    same answer as counting birthdays (born 29 February: a year older on 1 March)."""
    if connection.vendor == "sqlite":
        def day(x: str) -> str:
            return f"CAST(strftime('%%Y%%m%%d', {x}) AS INTEGER)"
    else:
        def day(x: str) -> str:
            return f"CAST(to_char({x}, 'YYYYMMDD') AS INTEGER)"
    return (f"CASE WHEN {birth} IS NULL OR {birth} > {on} THEN NULL "
            f"ELSE ({day(on)} - {day(birth)}) / 10000 END")


class _YearMonth(Func):
    """A date's "YYYY-MM" (TEFAP's monthly rows), without SQLite's Python date functions."""

    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="substr(%(expressions)s, 1, 7)")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="to_char(%(expressions)s, 'YYYY-MM')")


@dataclass(frozen=True)
class Sql:
    """A statement's text and parameters; ``ctes`` (``WITH`` entries) go before the select."""

    select: str
    params: list[Any]
    ctes: str = ""
    cte_params: tuple[Any, ...] = ()

    def statement(self, outer: str, outer_params: Sequence[Any] = ()) -> tuple[str, list[Any]]:
        """``outer`` selecting from ``r`` (this row query)."""
        with_ = f"WITH {self.ctes}, r AS ({self.select}) " if self.ctes else \
            f"WITH r AS ({self.select}) "
        return with_ + outer, [*self.cte_params, *self.params, *outer_params]


def _date(day: dt.date) -> Any:
    return connection.ops.adapt_datefield_value(day)


def _fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _delivered(user: User, filters: ReportFilter,
               dated: bool = True) -> QuerySet[BenefitDisbursement]:
    return report_disbursements(user=user, filters=filters, dated=dated).filter(
        status__bucket=DELIVERED)


def guideline_table() -> dict[int, Decimal]:
    """The income guideline admins maintain (size → yearly amount). It has no year: the report
    uses it as it is today for every date (docs/reports.md)."""
    return dict(IncomeGuideline.objects.values_list("household_size", "annual_income"))


def _guideline_sql(size: str, table: dict[int, Decimal]) -> tuple[str, list[Any]]:
    """The guideline for a household of ``size`` (an SQL expression) as ``guideline_for`` gives
    it: the table's row, beyond its largest size the step between the two largest, else NULL."""
    if not table:
        return "NULL", []
    whens, params = [], []
    for household_size, amount in sorted(table.items()):
        whens.append(f"WHEN {size} = %s THEN %s")
        params += [household_size, amount]
    largest = max(table)
    beyond = guideline_for(largest + 1, table)
    if beyond is not None:
        step = beyond - table[largest]
        whens.append(f"WHEN {size} > %s THEN %s + %s * ({size} - %s)")
        params += [largest, table[largest], step, largest]
    return f"(CASE {' '.join(whens)} ELSE NULL END)", params


def _income_band_sql(income: str, guideline: str) -> str:
    """The band of ``income`` as a percentage of ``guideline`` (columns): upper bounds
    inclusive (exactly 50% is "0-50", 50.01% is "51-75"); unknown without an income or a
    guideline."""
    whens = [f"WHEN {income} * 100 <= {guideline} * {limit} THEN '{band}'"
             for band, limit in INCOME_BANDS if limit is not None]
    return (f"CASE WHEN {income} IS NULL OR {guideline} IS NULL OR {guideline} <= 0 "
            f"THEN '{UNKNOWN}' {' '.join(whens)} ELSE '{INCOME_BANDS[-1][0]}' END")


# --- the row queries -------------------------------------------------------------------------

def people_rows(*, user: User, filters: ReportFilter) -> Sql:
    """One row per person served (a delivered disbursement in range): ``person_id``,
    ``first_on`` (their first delivery in range), ``age`` on that day, ``no_household`` (1 when
    none of their deliveries in range recorded a household)."""
    inner = (_delivered(user, filters).filter(person_id__isnull=False).values("person_id")
             .annotate(first_on=Min("disbursed_on"), households=Count("household_id"))
             .values("person_id", "first_on", "households").order_by())
    sql, params = inner.query.sql_with_params()
    age = _age_sql("p.first_on", f"pe.{_q('birth_date')}")
    select = (f"SELECT p.person_id, p.first_on, {age} AS age, "  # noqa: S608 - no user text
              f"CASE WHEN p.households = 0 THEN 1 ELSE 0 END AS no_household "
              f"FROM ({sql}) p JOIN {_table(Person)} pe ON pe.id = p.person_id")
    return Sql(select, list(params))


def household_rows(*, user: User, filters: ReportFilter, table: dict[int, Decimal],
                   per_month: bool = False) -> Sql:
    """One row per household served (per month with ``per_month``), from its latest delivered
    disbursement in range (the latest date; on one date the last recorded): ``household_id``,
    ``month`` ("" unless per month), ``disbursement_id``, ``disbursed_on``, ``household_size``
    (recorded on that disbursement), ``income`` (the household's annual income), ``guideline``,
    ``income_band``, and its registered members on that day by age: ``children``, ``adults``,
    ``seniors`` (members without a birth date, and declared members, in none)."""
    partition: list[Any] = [F("household_id")]
    qs = _delivered(user, filters).filter(household_id__isnull=False)
    if per_month:
        qs = qs.annotate(month=_YearMonth("disbursed_on"))
        partition.append(F("month"))
    else:
        qs = qs.annotate(month=Value("", output_field=CharField()))
    latest = Window(RowNumber(), partition_by=partition,
                    order_by=[F("disbursed_on").desc(), F("id").desc()])
    inner = (qs.annotate(latest=latest)
             .values("id", "household_id", "household_size", "disbursed_on", "month", "latest")
             .order_by())
    sql, params = inner.query.sql_with_params()
    m, pe = _table(HouseholdMembership), _table(Person)
    age = _age_sql("h.disbursed_on", f"pe.{_q('birth_date')}")
    groups = ", ".join(
        f"SUM(CASE WHEN a.age >= {low}{'' if high is None else f' AND a.age <= {high}'} "
        f"THEN 1 ELSE 0 END) AS {name.split('_')[0]}" for name, low, high in TEFAP_AGES)
    ctes = (
        f"h AS (SELECT x.id AS disbursement_id, x.household_id, x.household_size, "  # noqa: S608
        f"x.disbursed_on, x.month FROM ({sql}) x WHERE x.latest = 1), "
        f"a AS (SELECT h.disbursement_id, {age} AS age FROM h "
        f"JOIN {m} m ON m.account_id = h.household_id AND m.start_date <= h.disbursed_on "
        f"AND (m.end_date IS NULL OR m.end_date >= h.disbursed_on) "
        f"JOIN {pe} pe ON pe.id = m.person_id), "
        f"ages AS (SELECT a.disbursement_id, {groups} FROM a GROUP BY a.disbursement_id)")
    guideline, guideline_params = _guideline_sql("h.household_size", table)
    band = _income_band_sql("hg.income", "hg.guideline")
    select = (
        f"SELECT hg.*, {band} AS income_band FROM ("  # noqa: S608
        f"SELECT h.household_id, h.month, h.disbursement_id, h.disbursed_on, h.household_size, "
        f"acc.annual_income AS income, {guideline} AS guideline, "
        f"COALESCE(g.children, 0) AS children, COALESCE(g.adults, 0) AS adults, "
        f"COALESCE(g.seniors, 0) AS seniors "
        f"FROM h JOIN {_table(Account)} acc ON acc.id = h.household_id "
        f"LEFT JOIN ages g ON g.disbursement_id = h.disbursement_id) hg")
    return Sql(select, guideline_params, ctes=ctes, cte_params=tuple(params))


# --- the report ------------------------------------------------------------------------------

class BandCount(TypedDict):
    band: str
    count: int


class SizeCount(TypedDict):
    size: str
    count: int


class Tefap(TypedDict):
    households: int
    households_with_children: int
    households_without_children: int
    persons: int
    children_0_17: int
    adults_18_59: int
    seniors_60_plus: int
    people_not_in_a_household: int


class Demographics(TypedDict):
    people: int
    households: int
    age_bands: list[BandCount]
    household_sizes: list[SizeCount]
    income_bands: list[BandCount]
    tefap: Tefap


def _people_block(user: User, filters: ReportFilter) -> tuple[dict[str, int], int]:
    """(people per age band, people in no household): one query."""
    rows = people_rows(user=user, filters=filters)
    grouped = _fetch(*rows.statement(
        "SELECT r.age, r.no_household, COUNT(*) FROM r GROUP BY r.age, r.no_household"))
    bands = dict.fromkeys([b for b, _, _ in AGE_BANDS] + [UNKNOWN], 0)
    alone = 0
    for age, no_household, n in grouped:
        bands[age_band(age)] += n
        alone += n if no_household else 0
    return bands, alone


class _HouseholdTotals(TypedDict):
    sizes: dict[str, int]
    incomes: dict[str, int]
    households: int
    with_children: int
    persons: int
    children_0_17: int
    adults_18_59: int
    seniors_60_plus: int


def _household_block(user: User, filters: ReportFilter,
                     table: dict[int, Decimal]) -> _HouseholdTotals:
    """Households by size and income band, and the TEFAP sums: one query."""
    rows = household_rows(user=user, filters=filters, table=table)
    grouped = _fetch(*rows.statement(
        "SELECT r.household_size, r.income_band, COUNT(*), "
        "SUM(CASE WHEN r.children > 0 THEN 1 ELSE 0 END), SUM(r.children), SUM(r.adults), "
        "SUM(r.seniors) FROM r GROUP BY r.household_size, r.income_band"))
    totals = _HouseholdTotals(
        sizes=dict.fromkeys(SIZE_BANDS, 0),
        incomes=dict.fromkeys([b for b, _ in INCOME_BANDS] + [UNKNOWN], 0),
        households=0, with_children=0, persons=0, children_0_17=0, adults_18_59=0,
        seniors_60_plus=0)
    for size, band, n, with_children, children, adults, seniors in grouped:
        if size:  # always, for a household: it is recorded with it
            totals["sizes"][size_band(size)] += n
        totals["incomes"][band] += n
        totals["households"] += n
        totals["persons"] += (size or 0) * n
        totals["with_children"] += int(with_children or 0)
        totals["children_0_17"] += int(children or 0)
        totals["adults_18_59"] += int(adults or 0)
        totals["seniors_60_plus"] += int(seniors or 0)
    return totals


def report_demographics(*, user: User, filters: ReportFilter) -> Demographics:
    """People by age, households by size and income, the TEFAP block (docs/reports.md,
    "Demographics"). Three queries whatever the number of rows: the guideline table, the
    people, the households."""
    table = guideline_table()
    ages, alone = _people_block(user, filters)
    h = _household_block(user, filters, table)
    return Demographics(
        people=sum(ages.values()),
        households=h["households"],
        age_bands=[BandCount(band=b, count=n) for b, n in ages.items()],
        household_sizes=[SizeCount(size=s, count=n) for s, n in h["sizes"].items()],
        income_bands=[BandCount(band=b, count=n) for b, n in h["incomes"].items()],
        tefap=Tefap(households=h["households"], households_with_children=h["with_children"],
                    households_without_children=h["households"] - h["with_children"],
                    persons=h["persons"], children_0_17=h["children_0_17"],
                    adults_18_59=h["adults_18_59"], seniors_60_plus=h["seniors_60_plus"],
                    people_not_in_a_household=alone),
    )


# --- TEFAP monthly ---------------------------------------------------------------------------

class TefapMonth(TypedDict):
    month: str
    households: int
    households_with_children: int
    households_without_children: int
    seniors_60_plus: int
    adults_18_59: int
    children_0_17: int
    persons: int


def report_tefap_monthly(*, user: User, filters: ReportFilter) -> list[TefapMonth]:
    """The TEFAP block per calendar month of the range: each month counted as if the range were
    that month (a household served in two months is in both). Two queries."""
    rows = household_rows(user=user, filters=filters, table=guideline_table(), per_month=True)
    grouped = _fetch(*rows.statement(
        "SELECT r.month, COUNT(*), SUM(CASE WHEN r.children > 0 THEN 1 ELSE 0 END), "
        "SUM(r.seniors), SUM(r.adults), SUM(r.children), SUM(r.household_size) "
        "FROM r GROUP BY r.month ORDER BY r.month"))
    return [TefapMonth(month=month, households=n, households_with_children=int(kids or 0),
                       households_without_children=n - int(kids or 0),
                       seniors_60_plus=int(seniors or 0), adults_18_59=int(adults or 0),
                       children_0_17=int(children or 0), persons=int(persons or 0))
            for month, n, kids, seniors, adults, children, persons in grouped]


# --- new and returning -----------------------------------------------------------------------

class Period(TypedDict):
    period: str
    date_from: dt.date
    date_to: dt.date
    people_served: int
    new_people: int
    returning_people: int
    households_served: int
    new_households: int
    returning_households: int


def periods_of(year: int, today: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """The quarters of ``year`` and the year to date (to ``today`` in the current year, the
    whole year before it)."""
    quarters = [(f"Q{q}", dt.date(year, 3 * q - 2, 1),
                 (dt.date(year, 3 * q + 1, 1) if q < 4 else dt.date(year + 1, 1, 1))
                 - dt.timedelta(days=1)) for q in range(1, 5)]
    end = min(dt.date(year, 12, 31), today) if year == today.year else dt.date(year, 12, 31)
    return [*quarters, ("Year to date", dt.date(year, 1, 1), end)]


def _served_and_new(user: User, filters: ReportFilter, column: str,
                    periods: list[tuple[str, dt.date, dt.date]]) -> list[tuple[int, int]]:
    """Per period, (served, new) distinct ``column`` values: served = a delivered disbursement
    in the period; new = the first delivered disbursement ever (the other filters, any date)
    in it. One query."""
    served = {f"s{i}": Max(Case(When(disbursed_on__gte=a, disbursed_on__lte=b, then=Value(1)),
                                default=Value(0), output_field=IntegerField()))
              for i, (_, a, b) in enumerate(periods)}
    inner = (_delivered(user, filters, dated=False).filter(**{f"{column}__isnull": False})
             .values(column).annotate(first_ever=Min("disbursed_on"), **served)
             .values("first_ever", *served).order_by())
    sql, params = inner.query.sql_with_params()
    parts, outer_params = [], []
    for i, (_, a, b) in enumerate(periods):
        parts += [f"SUM(x.s{i})", "SUM(CASE WHEN x.first_ever >= %s AND x.first_ever <= %s "
                                  "THEN 1 ELSE 0 END)"]
        outer_params += [_date(a), _date(b)]
    row = _fetch(f"SELECT {', '.join(parts)} FROM ({sql}) x",  # noqa: S608 - no user text
                 [*outer_params, *params])[0]  # the sums' come first in the text
    return [(int(row[2 * i] or 0), int(row[2 * i + 1] or 0)) for i in range(len(periods))]


def report_new_vs_returning(*, user: User, filters: ReportFilter, year: int,
                            today: dt.date) -> list[Period]:
    """New and returning people and households per quarter of ``year`` and the year to date;
    the filter's own dates are not used. Two queries."""
    periods = periods_of(year, today)
    people = _served_and_new(user, filters, "person_id", periods)
    households = _served_and_new(user, filters, "household_id", periods)
    return [Period(period=name, date_from=a, date_to=b, people_served=p[0], new_people=p[1],
                   returning_people=p[0] - p[1], households_served=h[0], new_households=h[1],
                   returning_households=h[0] - h[1])
            for (name, a, b), p, h in zip(periods, people, households, strict=True)]


# --- drill-down ------------------------------------------------------------------------------

PEOPLE_MEASURES = {"people", "people_served", "age_bands", "people_not_in_a_household"}
HOUSEHOLD_MEASURES = {"households", "households_served", "individuals_in_households_served",
                      "persons", "household_sizes", "income_bands", "households_with_children",
                      "households_without_children"}
MEMBER_MEASURES = {"children_0_17", "adults_18_59", "seniors_60_plus"}
NEW_MEASURES = {"new_people", "returning_people", "new_households", "returning_households"}
MEASURES = PEOPLE_MEASURES | HOUSEHOLD_MEASURES | MEMBER_MEASURES | NEW_MEASURES
BANDS: dict[str, list[str]] = {
    "age_bands": [b for b, _, _ in AGE_BANDS] + [UNKNOWN],
    "household_sizes": SIZE_BANDS,
    "income_bands": [b for b, _ in INCOME_BANDS] + [UNKNOWN],
}
RowKind = Literal["people", "households", "members"]


def measure_problem(measure: str, band: str | None) -> str | None:
    """What is wrong with a drill-down's ``measure`` and ``band``, or None."""
    if measure not in MEASURES:
        return f"measure is one of {', '.join(sorted(MEASURES))}."
    if measure in BANDS and band not in BANDS[measure]:
        return f"band of {measure} is one of {', '.join(BANDS[measure])}."
    if measure not in BANDS and band:
        return f"{measure} has no bands."
    return None


def _band_where(measure: str, band: str | None) -> tuple[str, list[Any]]:
    """The condition on a row query's ``r`` that selects a measure's (and band's) rows."""
    if measure == "age_bands":
        if band == UNKNOWN:
            return "r.age IS NULL OR r.age < 0", []
        low, high = next((lo, hi) for b, lo, hi in AGE_BANDS if b == band)
        return ("r.age >= %s", [low]) if high is None else ("r.age >= %s AND r.age <= %s",
                                                             [low, high])
    if measure == "people_not_in_a_household":
        return "r.no_household = 1", []
    if measure == "household_sizes":
        return ("r.household_size >= 8", []) if band == "8+" else ("r.household_size = %s",
                                                                   [int(band or 0)])
    if measure == "income_bands":
        return "r.income_band = %s", [band]
    if measure == "households_with_children":
        return "r.children > 0", []
    if measure == "households_without_children":
        return "r.children = 0", []
    return "1 = 1", []


PEOPLE_HEADER = ["person_id", "first_name", "last_name", "birth_date", "first_served_on", "age",
                 "in_a_household"]
HOUSEHOLD_HEADER = ["household_id", "household", "household_size", "disbursement_id",
                    "disbursed_on", "annual_income", "guideline", "income_band",
                    "children_0_17", "adults_18_59", "seniors_60_plus"]
MEMBER_HEADER = ["household_id", "household", "disbursed_on", "person_id", "first_name",
                 "last_name", "age"]


def _people_statement(user: User, filters: ReportFilter, measure: str,
                      band: str | None) -> tuple[str, list[Any]]:
    where, where_params = _band_where(measure, band)
    return people_rows(user=user, filters=filters).statement(
        f"SELECT r.person_id, pe.first_name, pe.last_name, pe.birth_date, r.first_on, r.age, "  # noqa: S608
        f"CASE WHEN r.no_household = 1 THEN 0 ELSE 1 END FROM r "
        f"JOIN {_table(Person)} pe ON pe.id = r.person_id WHERE {where} "
        f"ORDER BY pe.last_name, pe.first_name, r.person_id", where_params)


def _household_statement(user: User, filters: ReportFilter, measure: str,
                         band: str | None) -> tuple[str, list[Any]]:
    where, where_params = _band_where(measure, band)
    rows = household_rows(user=user, filters=filters, table=guideline_table())
    return rows.statement(
        f"SELECT r.household_id, acc.name, r.household_size, r.disbursement_id, "  # noqa: S608
        f"r.disbursed_on, r.income, r.guideline, r.income_band, r.children, r.adults, "
        f"r.seniors FROM r JOIN {_table(Account)} acc ON acc.id = r.household_id "
        f"WHERE {where} ORDER BY acc.name, r.household_id", where_params)


def _member_statement(user: User, filters: ReportFilter,
                      measure: str) -> tuple[str, list[Any]]:
    """The registered members of the households served, on the day of each one's latest
    delivery, in the measure's age group. A member the user may not see (enrolled only in other
    programs) is listed without a name."""
    _, low, high = next(t for t in TEFAP_AGES if t[0] == measure)
    rows = household_rows(user=user, filters=filters, table=guideline_table())
    age = _age_sql("r.disbursed_on", "pe.birth_date")
    limit = "" if high is None else f" AND {age} <= {high}"
    if user.visible_program_ids() is None:
        seen, join, visible_params = "1 = 1", "", []
    else:
        visible_sql, params = (people_visible(user).annotate(seen_id=F("pk"))
                               .values("seen_id").query.sql_with_params())
        seen, visible_params = "v.seen_id IS NOT NULL", list(params)
        join = (f"LEFT JOIN (SELECT DISTINCT vis.seen_id FROM ({visible_sql}) vis) v "  # noqa: S608
                f"ON v.seen_id = pe.id ")
    return rows.statement(
        f"SELECT r.household_id, acc.name, r.disbursed_on, "  # noqa: S608
        f"CASE WHEN {seen} THEN pe.id END, CASE WHEN {seen} THEN pe.first_name END, "
        f"CASE WHEN {seen} THEN pe.last_name END, {age} "
        f"FROM r JOIN {_table(Account)} acc ON acc.id = r.household_id "
        f"JOIN {_table(HouseholdMembership)} m ON m.account_id = r.household_id "
        f"AND m.start_date <= r.disbursed_on "
        f"AND (m.end_date IS NULL OR m.end_date >= r.disbursed_on) "
        f"JOIN {_table(Person)} pe ON pe.id = m.person_id {join}"
        f"WHERE {age} >= {low}{limit} ORDER BY acc.name, r.household_id, pe.birth_date, pe.id",
        visible_params)


def _new_statement(user: User, filters: ReportFilter, measure: str) -> tuple[str, list[Any]]:
    """New (first delivery ever in range) or returning (served in range, first delivery ever
    before it) people or households."""
    column = "person_id" if measure.endswith("people") else "household_id"
    firsts = (_delivered(user, filters, dated=False).filter(**{f"{column}__isnull": False})
              .values(column).annotate(first_ever=Min("disbursed_on"))
              .values(column, "first_ever").order_by())
    served = (_delivered(user, filters).filter(**{f"{column}__isnull": False})
              .values(column).distinct().order_by())
    f_sql, f_params = firsts.query.sql_with_params()
    s_sql, s_params = served.query.sql_with_params()
    if measure.startswith("new"):
        where = "x.first_ever >= %s AND x.first_ever <= %s"
        bounds = [_date(filters.date_from or dt.date.min), _date(filters.date_to or dt.date.max)]
    else:
        where, bounds = "x.first_ever < %s", [_date(filters.date_from or dt.date.min)]
    if column == "person_id":
        outer = (f"SELECT pe.id, pe.first_name, pe.last_name, pe.birth_date, x.first_ever "  # noqa: S608
                 f"FROM ({f_sql}) x JOIN {_table(Person)} pe ON pe.id = x.person_id ")
        order = "ORDER BY pe.last_name, pe.first_name, pe.id"
    else:
        outer = (f"SELECT acc.id, acc.name, x.first_ever "  # noqa: S608
                 f"FROM ({f_sql}) x JOIN {_table(Account)} acc ON acc.id = x.household_id ")
        order = "ORDER BY acc.name, acc.id"
    sql = f"{outer}WHERE x.{column} IN ({s_sql}) AND {where} {order}"
    return sql, [*f_params, *s_params, *bounds]


NEW_PEOPLE_HEADER = ["person_id", "first_name", "last_name", "birth_date", "first_served_ever"]
NEW_HOUSEHOLDS_HEADER = ["household_id", "household", "first_served_ever"]


def row_kind(measure: str) -> RowKind:
    if measure in HOUSEHOLD_MEASURES or measure in {"new_households", "returning_households"}:
        return "households"
    return "members" if measure in MEMBER_MEASURES else "people"


def demographic_rows(*, user: User, filters: ReportFilter, measure: str,
                     band: str | None = None) -> tuple[list[str], Iterator[Sequence[Any]]]:
    """The rows behind one number: (header, rows). ``measure`` is a key of the summary, the
    demographics (``age_bands``, ``household_sizes``, ``income_bands`` take a ``band``) or the
    new-vs-returning report; check it first with ``measure_problem``."""
    if measure in NEW_MEASURES:
        header = NEW_PEOPLE_HEADER if measure.endswith("people") else NEW_HOUSEHOLDS_HEADER
        sql, params = _new_statement(user, filters, measure)
    elif measure in MEMBER_MEASURES:
        header, (sql, params) = MEMBER_HEADER, _member_statement(user, filters, measure)
    elif measure in HOUSEHOLD_MEASURES:
        header, (sql, params) = HOUSEHOLD_HEADER, _household_statement(user, filters, measure,
                                                                       band)
    else:
        header, (sql, params) = PEOPLE_HEADER, _people_statement(user, filters, measure, band)
    return header, iter(_fetch(sql, params))
