"""Every report as a table (a header and rows) for the CSV and XLSX exports. The numbers come
from the selectors unchanged; the follow-up lists stream from their queries."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from programdesk.core.models import User
from programdesk.reports import demographics, followups, selectors
from programdesk.reports.exports import CHUNK_SIZE
from programdesk.reports.filtering import ReportFilter
from programdesk.reports.selectors import GroupBy

Table = tuple[list[str], Iterator[Sequence[Any]]]


@dataclass(frozen=True)
class ReportOptions:
    group_by: GroupBy = "person"
    min_times: int = 2
    min_absences: int = 3
    days: int = 14
    year: int = 0  # new vs returning: the year of the quarters (0: this year)


def _filter_rows(filters: ReportFilter) -> list[tuple[str, Any]]:
    return [(f"filter: {name}", value) for name, value in filters.as_query().items()]


def summary_table(user: User, filters: ReportFilter, options: ReportOptions) -> Table:
    r = selectors.report_summary(user=user, filters=filters)
    rows: list[tuple[str, Any]] = [
        ("people_served", r["people_served"]),
        ("accounts_served", r["accounts_served"]),
        ("households_served", r["households_served"]),
        ("individuals_in_households_served", r["individuals_in_households_served"]),
        ("new_people", r["new_people"]),
        ("new_households", r["new_households"]),
        ("anonymous_recipients", r["anonymous_recipients"]),
        ("disbursements", r["disbursements"]),
        *((f"units: {u['unit']}", u["quantity"]) for u in r["units"]),
        ("sessions_attended", r["attended"]),
        ("sessions_absent", r["absent"]),
        ("attendance_rate", r["attendance_rate"]),
        ("sessions_held", r["sessions_held"]),
        *_filter_rows(filters),
    ]
    return ["measure", "value"], iter(rows)


def attendance_table(user: User, filters: ReportFilter, options: ReportOptions) -> Table:
    r = selectors.report_attendance(user=user, filters=filters, group_by=options.group_by)
    keys = {"person": ["person_id", "account_id"], "session": ["session_id", "schedule_id",
                                                              "local_date"],
            "schedule": ["schedule_id"], "cohort": ["cohort_id"]}[options.group_by]
    header = [*keys, "name", "attended", "absent", "excused", "rate"]
    rows: list[Sequence[Any]] = [
        [*(row[k] for k in keys), row["name"], row["attended"],  # type: ignore[literal-required]
         row["absent"], row["excused"], row["rate"]] for row in r["rows"]]
    t = r["totals"]
    rows.append([*([None] * len(keys)), "Total", t["attended"], t["absent"], t["excused"],
                 t["rate"]])
    return header, iter(rows)


def completion_table(user: User, filters: ReportFilter, options: ReportOptions) -> Table:
    r = selectors.report_completion(user=user, filters=filters)
    rows: list[Sequence[Any]] = [("bucket", bucket, "", n) for bucket, n in r["by_bucket"].items()]
    rows += [("status", v["code"], v["label"], v["count"]) for v in r["by_status"]]
    rows += [("total", "enrollments", "", r["enrollments"]),
             ("rate", "completion_rate", "completed / (completed + withdrawn)",
              r["completion_rate"])]
    return ["kind", "key", "label", "value"], iter(rows)


def units_by_month_table(user: User, filters: ReportFilter, options: ReportOptions) -> Table:
    rows = [(r["month"], r["program_id"], r["benefit_id"], r["benefit"], r["unit"],
             r["quantity"], r["disbursements"])
            for r in selectors.report_units_by_month(user=user, filters=filters)]
    return (["month", "program_id", "benefit_id", "benefit", "unit", "quantity",
             "disbursements"], iter(rows))


def repeat_table(user: User, filters: ReportFilter, options: ReportOptions) -> Table:
    r = selectors.report_repeat_participation(user=user, filters=filters,
                                              min_times=options.min_times)
    return ["times_served", "people"], iter([(d["times"], d["people"])
                                             for d in r["distribution"]])


def repeat_by_postal_code_table(user: User, filters: ReportFilter,
                                options: ReportOptions) -> Table:
    r = selectors.report_repeat_participation(user=user, filters=filters,
                                              min_times=options.min_times)
    rows: list[Sequence[Any]] = [(p["postal_code"], p["people_served"], p["repeat_people"])
                                 for p in r["by_postal_code"]]
    rows.append(("Total", r["people_served"], r["repeat_people"]))
    return (["postal_code", "people_served", f"served_{options.min_times}_or_more_times"],
            iter(rows))


def absences_table(user: User, filters: ReportFilter, options: ReportOptions) -> Table:
    qs = followups.followups_absences(user=user, filters=filters, min_absences=options.min_absences)
    columns = ["person_id", "person__first_name", "person__last_name", "program_id",
               "program__name", "session__schedule_id", "session__schedule__name", "absences",
               "last_absent_on"]
    return (["person_id", "first_name", "last_name", "program_id", "program", "schedule_id",
             "schedule", "consecutive_absences", "last_absent_on"],
            (tuple(v[c] for c in columns) for v in qs.iterator(chunk_size=CHUNK_SIZE)))


def not_served_table(user: User, filters: ReportFilter, options: ReportOptions) -> Table:
    qs = followups.followups_not_served(user=user, filters=filters, days=options.days)
    columns = ["id", "program_id", "program__name", "person_id", "person__first_name",
               "person__last_name", "account_id", "account__name", "began_on",
               "last_served_on"]
    return (["enrollment_id", "program_id", "program", "person_id", "first_name", "last_name",
             "account_id", "account", "began_on", "last_served_on"],
            (tuple(v[c] for c in columns) for v in qs.iterator(chunk_size=CHUNK_SIZE)))


def unrecorded_sessions_table(user: User, filters: ReportFilter,
                              options: ReportOptions) -> Table:
    qs = followups.followups_unrecorded_sessions(user=user, filters=filters)
    columns = ["id", "local_date", "benefit__program_id", "benefit__program__name",
               "benefit_id", "benefit__name", "schedule_id", "schedule__name", "status",
               "expected"]
    return (["session_id", "local_date", "program_id", "program", "benefit_id", "benefit",
             "schedule_id", "schedule", "status", "on_roster"],
            (tuple(v[c] for c in columns) for v in qs.iterator(chunk_size=CHUNK_SIZE)))


def demographics_table(user: User, filters: ReportFilter, options: ReportOptions) -> Table:
    r = demographics.report_demographics(user=user, filters=filters)
    rows: list[Sequence[Any]] = [("people", "", r["people"]), ("households", "", r["households"])]
    rows += [("age_band", b["band"], b["count"]) for b in r["age_bands"]]
    rows += [("household_size", s["size"], s["count"]) for s in r["household_sizes"]]
    rows += [("income_band", b["band"], b["count"]) for b in r["income_bands"]]
    rows += [("tefap", key, value) for key, value in r["tefap"].items()]
    rows += [(name, value, "") for name, value in _filter_rows(filters)]
    return ["measure", "band", "count"], iter(rows)


TEFAP_COLUMNS = ["month", "households", "households_with_children",
                 "households_without_children", "seniors_60_plus", "adults_18_59",
                 "children_0_17", "persons"]


def tefap_monthly_table(user: User, filters: ReportFilter, options: ReportOptions) -> Table:
    rows = demographics.report_tefap_monthly(user=user, filters=filters)
    return TEFAP_COLUMNS, iter([[r[c] for c in TEFAP_COLUMNS]  # type: ignore[literal-required]
                                for r in rows])


def csbg_table(user: User, filters: ReportFilter, options: ReportOptions) -> Table:
    """CSBG's characteristics: unduplicated individuals by age, households by size and by
    income as a share of the poverty guideline."""
    r = demographics.report_demographics(user=user, filters=filters)
    rows: list[Sequence[Any]] = [("total", "", r["people"], r["households"])]
    rows += [("age", b["band"], b["count"], None) for b in r["age_bands"]]
    rows += [("household_size", s["size"], None, s["count"]) for s in r["household_sizes"]]
    rows += [("income_percent_of_guideline", b["band"], None, b["count"])
             for b in r["income_bands"]]
    rows += [(name, value, None, None) for name, value in _filter_rows(filters)]
    return ["characteristic", "band", "individuals", "households"], iter(rows)


NEW_COLUMNS = ["period", "date_from", "date_to", "people_served", "new_people",
               "returning_people", "households_served", "new_households",
               "returning_households"]


def new_vs_returning_table(user: User, filters: ReportFilter, options: ReportOptions) -> Table:
    today = timezone.localdate()
    rows = demographics.report_new_vs_returning(user=user, filters=filters,
                                                year=options.year or today.year, today=today)
    return NEW_COLUMNS, iter([[r[c] for c in NEW_COLUMNS]  # type: ignore[literal-required]
                              for r in rows])


REPORT_TABLES: dict[str, Callable[[User, ReportFilter, ReportOptions], Table]] = {
    "summary": summary_table,
    "attendance": attendance_table,
    "completion": completion_table,
    "units-by-month": units_by_month_table,
    "repeat-participation": repeat_table,
    "repeat-by-postal-code": repeat_by_postal_code_table,
    "follow-ups-absences": absences_table,
    "follow-ups-not-served": not_served_table,
    "follow-ups-unrecorded-sessions": unrecorded_sessions_table,
    "demographics": demographics_table,
    "tefap-monthly": tefap_monthly_table,
    "csbg": csbg_table,
    "new-vs-returning": new_vs_returning_table,
}
