"""Report pages (/reports/...): filters, numbers, charts and CSV/XLSX downloads of each."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.safestring import SafeString

from programdesk.core.db_router import replica_reads
from programdesk.core.errors import ValidationError
from programdesk.core.models import User
from programdesk.core.roles import Cap
from programdesk.core.scoping import visible
from programdesk.programs.selectors import benefits_visible, cohorts_visible, programs_visible
from programdesk.reports import demographics, filtering, followups, selectors
from programdesk.reports.charts import Series, bar_chart
from programdesk.reports.exports import FORMATS, Format, human_header
from programdesk.reports.filtering import ReportFilter
from programdesk.reports.tables import REPORT_TABLES, ReportOptions
from programdesk.scheduling.models import BenefitSchedule
from programdesk.web.downloads import bad_filter, download, filters_from_query
from programdesk.web.forms import add_service_errors
from programdesk.web.permissions import page_user, role_required

FOLLOWUP_PAGE_ROWS = 200

TABS = [
    ("Summary", "/reports/"),
    ("Attendance", "/reports/attendance/"),
    ("Completion", "/reports/completion/"),
    ("Repeat participation", "/reports/repeat/"),
    ("Follow-ups", "/reports/follow-ups/"),
    ("Demographics", "/reports/demographics/"),
    ("TEFAP monthly", "/reports/tefap/"),
    ("CSBG", "/reports/csbg/"),
    ("New vs returning", "/reports/new-vs-returning/"),
]
ROWS_PAGE_ROWS = 500


# --- filters ---------------------------------------------------------------------------------

def _choices(empty: str, pairs: Any) -> list[tuple[Any, str]]:
    return [("", empty), *pairs]


class ReportFilterForm(forms.Form):
    """The filters every report page shares, limited to what the user may see. Field names are
    the API's query parameters, so a page's query string works for its downloads as is."""

    def __init__(self, data: QueryDict, *, user: User, schedule: bool = False,
                 group_by: bool = False, min_times: bool = False,
                 followups: bool = False, year: bool = False) -> None:
        super().__init__(data)
        programs = programs_visible(user).values_list("id", "name")
        benefits = (benefits_visible(user)
                    .order_by("program__name", "name").values_list("id", "program__name", "name"))
        cohorts = (cohorts_visible(user)
                   .order_by("program__name", "name").values_list("id", "program__name", "name"))
        self.fields["program_id"] = forms.TypedChoiceField(
            label="Program", required=False, coerce=int, empty_value=None,
            choices=_choices("All programs", programs))
        self.fields["benefit_id"] = forms.TypedChoiceField(
            label="Benefit", required=False, coerce=int, empty_value=None,
            choices=_choices("All benefits", ((i, f"{p} · {n}") for i, p, n in benefits)))
        self.fields["cohort_id"] = forms.TypedChoiceField(
            label="Cohort", required=False, coerce=int, empty_value=None,
            choices=_choices("All cohorts", ((i, f"{p} · {n}") for i, p, n in cohorts)))
        if schedule:
            schedules = (visible(BenefitSchedule.objects.all(), user, "benefit__program_id")
                         .order_by("benefit__name", "name")
                         .values_list("id", "benefit__name", "name"))
            self.fields["schedule_id"] = forms.TypedChoiceField(
                label="Schedule", required=False, coerce=int, empty_value=None,
                choices=_choices("All schedules", ((i, f"{b} · {n}") for i, b, n in schedules)))
        if year:  # the quarters of a year instead of a range
            self.fields["year"] = forms.IntegerField(
                label="Year", required=False, min_value=2000, max_value=2200,
                widget=forms.NumberInput(attrs={"placeholder": timezone.localdate().year}))
        else:
            self.fields["from"] = forms.DateField(
                label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
            self.fields["to"] = forms.DateField(
                label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
        if group_by:
            self.fields["group_by"] = forms.ChoiceField(
                label="Rows per", required=False, initial="person",
                choices=[("person", "Person"), ("session", "Session"),
                         ("schedule", "Schedule"), ("cohort", "Cohort")])
        if min_times:
            self.fields["min_times"] = forms.IntegerField(
                label="Served at least (times)", required=False, min_value=1, max_value=1000)
        if followups:
            self.fields["min_absences"] = forms.IntegerField(
                label="Consecutive absences", required=False, min_value=1, max_value=1000)
            self.fields["days"] = forms.IntegerField(
                label="No service in (days)", required=False, min_value=1, max_value=3660)

    def report_filter(self, user: User) -> ReportFilter | None:
        """The checked filter, or None with the form's errors set."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        try:
            return filtering.report_filter(
                user=user, program_id=data.get("program_id"), benefit_id=data.get("benefit_id"),
                cohort_id=data.get("cohort_id"), schedule_id=data.get("schedule_id"),
                date_from=data.get("from"), date_to=data.get("to"))
        except ValidationError as exc:
            add_service_errors(self, exc)
            return None

    def options(self) -> ReportOptions:
        data = getattr(self, "cleaned_data", {})
        return ReportOptions(group_by=data.get("group_by") or "person",
                             min_times=data.get("min_times") or 2,
                             min_absences=data.get("min_absences") or 3,
                             days=data.get("days") or 14,
                             year=data.get("year") or timezone.localdate().year)


def _page(request: HttpRequest, template: str, form: ReportFilterForm,
          context: dict[str, Any], exports: list[tuple[str, str]]) -> HttpResponse:
    query = request.GET.urlencode()
    context.update({
        "form": form,
        "tabs": [{"label": label, "path": p, "current": request.path == p} for label, p in TABS],
        "exports": [{"label": label, "csv": f"/reports/{name}.csv?{query}",
                     "xlsx": f"/reports/{name}.xlsx?{query}"} for label, name in exports],
        "query": query,
    })
    return render(request, template, context)


# --- summary ---------------------------------------------------------------------------------

def units_by_month_charts(rows: list[selectors.UnitsMonthRow]) -> list[dict[str, Any]]:
    """One stacked bar chart per unit (meals and hours don't add up): months across, one
    colour per benefit."""
    months = sorted({r["month"] for r in rows})
    by_unit: dict[str, dict[str, dict[str, Decimal]]] = defaultdict(lambda: defaultdict(dict))
    for r in rows:
        by_unit[r["unit"]][r["benefit"]][r["month"]] = r["quantity"]
    charts = []
    for number, (unit, benefits) in enumerate(sorted(by_unit.items()), start=1):
        series = [Series(label=benefit, values=[per_month.get(m, Decimal(0)) for m in months])
                  for benefit, per_month in sorted(benefits.items())]
        charts.append({"unit": unit, "svg": bar_chart(
            title=f"Units delivered by month ({unit})", categories=months, series=series,
            value_label=unit, chart_id=f"units-{number}")})
    return charts


@role_required(Cap.READ_RECORDS)
@replica_reads()
def summary_page(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    form = ReportFilterForm(request.GET, user=user)
    filters = form.report_filter(user)
    context: dict[str, Any] = {}
    if filters is not None:
        context["summary"] = selectors.report_summary(user=user, filters=filters)
        context["rows_link"] = _rows_link(filters)
        rows = selectors.report_units_by_month(user=user, filters=filters)
        context["units_rows"] = rows
        context["charts"] = units_by_month_charts(rows)
    return _page(request, "web/reports/summary.html", form, context,
                 [("Summary", "summary"), ("Units by month", "units-by-month")])


# --- attendance ------------------------------------------------------------------------------

def attendance_chart(report: selectors.Attendance, limit: int = 40) -> SafeString:
    rows = report["rows"][:limit]
    return bar_chart(
        title=f"Attendance per {report['group_by']}"
              + (f" (first {limit})" if len(report["rows"]) > limit else ""),
        categories=[str(r["local_date"]) if r["local_date"] else r["name"] for r in rows],
        series=[Series("Attended", [r["attended"] for r in rows], "#009E73"),
                Series("Absent", [r["absent"] for r in rows], "#D55E00"),
                Series("Excused", [r["excused"] for r in rows], "#E69F00")],
        value_label="sessions", chart_id="attendance")


@role_required(Cap.READ_RECORDS)
@replica_reads()
def attendance_page(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    form = ReportFilterForm(request.GET, user=user, schedule=True, group_by=True)
    filters = form.report_filter(user)
    context: dict[str, Any] = {}
    if filters is not None:
        report = selectors.report_attendance(user=user, filters=filters,
                                             group_by=form.options().group_by)
        context.update(report=report, chart=attendance_chart(report))
    return _page(request, "web/reports/attendance.html", form, context,
                 [("Attendance", "attendance")])


# --- completion ------------------------------------------------------------------------------

@role_required(Cap.READ_RECORDS)
@replica_reads()
def completion_page(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    form = ReportFilterForm(request.GET, user=user)
    filters = form.report_filter(user)
    context: dict[str, Any] = {}
    if filters is not None:
        report = selectors.report_completion(user=user, filters=filters)
        buckets = list(report["by_bucket"].items())
        context.update(report=report, chart=bar_chart(
            title="Enrollments by status bucket", categories=[b for b, _ in buckets],
            series=[Series("Enrollments", [n for _, n in buckets])], value_label="enrollments",
            chart_id="completion"))
    return _page(request, "web/reports/completion.html", form, context,
                 [("Completion", "completion")])


# --- repeat participation --------------------------------------------------------------------

@role_required(Cap.READ_RECORDS)
@replica_reads()
def repeat_page(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    form = ReportFilterForm(request.GET, user=user, min_times=True)
    filters = form.report_filter(user)
    context: dict[str, Any] = {}
    if filters is not None:
        report = selectors.report_repeat_participation(user=user, filters=filters,
                                                       min_times=form.options().min_times)
        dist = report["distribution"]
        context.update(report=report, chart=bar_chart(
            title="People by number of days served", categories=[str(d["times"]) for d in dist],
            series=[Series("People", [d["people"] for d in dist])], value_label="people",
            chart_id="repeat"))
    return _page(request, "web/reports/repeat.html", form, context,
                 [("Times served", "repeat-participation"),
                  ("By postal code", "repeat-by-postal-code")])


# --- follow-ups ------------------------------------------------------------------------------

@role_required(Cap.READ_RECORDS)
@replica_reads()
def followups_page(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    form = ReportFilterForm(request.GET, user=user, followups=True)
    filters = form.report_filter(user)
    context: dict[str, Any] = {"limit": FOLLOWUP_PAGE_ROWS}
    if filters is not None:
        options = form.options()
        context.update(options=options, **followups.followups_overview(
            user=user, filters=filters, min_absences=options.min_absences, days=options.days,
            limit=FOLLOWUP_PAGE_ROWS))
    return _page(request, "web/reports/followups.html", form, context,
                 [("Consecutive absences", "follow-ups-absences"),
                  ("Not served lately", "follow-ups-not-served"),
                  ("Sessions without attendance", "follow-ups-unrecorded-sessions")])


# --- demographics, TEFAP, CSBG, new vs returning ----------------------------------------------

def _rows_link(filters: ReportFilter) -> str:
    """The start of a drill-down link: the rows page with the report's filters (the template
    adds ``&measure=…&band=…``)."""
    return "/reports/rows/?" + urlencode(filters.as_query())


def _demographics_context(user: User, filters: ReportFilter) -> dict[str, Any]:
    report = demographics.report_demographics(user=user, filters=filters)
    ages = report["age_bands"]
    sizes = [{"band": s["size"], "count": s["count"]} for s in report["household_sizes"]]
    return {"report": report, "sizes": sizes, "rows_link": _rows_link(filters),
            "chart": bar_chart(
        title="People served by age", categories=[b["band"] for b in ages],
        series=[Series("People", [b["count"] for b in ages])], value_label="people",
        chart_id="ages")}


@role_required(Cap.READ_RECORDS)
@replica_reads()
def demographics_page(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    form = ReportFilterForm(request.GET, user=user)
    filters = form.report_filter(user)
    context = _demographics_context(user, filters) if filters is not None else {}
    return _page(request, "web/reports/demographics.html", form, context,
                 [("Demographics", "demographics")])


@role_required(Cap.READ_RECORDS)
@replica_reads()
def csbg_page(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    form = ReportFilterForm(request.GET, user=user)
    filters = form.report_filter(user)
    context = _demographics_context(user, filters) if filters is not None else {}
    return _page(request, "web/reports/csbg.html", form, context, [("CSBG", "csbg")])


@role_required(Cap.READ_RECORDS)
@replica_reads()
def tefap_page(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    form = ReportFilterForm(request.GET, user=user)
    filters = form.report_filter(user)
    context: dict[str, Any] = {}
    if filters is not None:
        months = []
        for row in demographics.report_tefap_monthly(user=user, filters=filters):
            first = dt.date.fromisoformat(f"{row['month']}-01")
            last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
            # A month's numbers are the range's numbers narrowed to that month.
            month_filter = dataclasses.replace(
                filters, date_from=max(first, filters.date_from or first),
                date_to=min(last, filters.date_to or last))
            months.append({**row, "rows_link": _rows_link(month_filter)})
        context["months"] = months
    return _page(request, "web/reports/tefap.html", form, context,
                 [("TEFAP monthly", "tefap-monthly")])


@role_required(Cap.READ_RECORDS)
@replica_reads()
def new_vs_returning_page(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    form = ReportFilterForm(request.GET, user=user, year=True)
    filters = form.report_filter(user)
    context: dict[str, Any] = {}
    if filters is not None:
        today, year = timezone.localdate(), form.options().year
        periods = demographics.report_new_vs_returning(user=user, filters=filters, year=year,
                                                       today=today)
        context.update(year=year, periods=[
            {**p, "rows_link": _rows_link(dataclasses.replace(
                filters, date_from=p["date_from"], date_to=p["date_to"]))} for p in periods])
    return _page(request, "web/reports/new_vs_returning.html", form, context,
                 [("New vs returning", "new-vs-returning")])


MEASURE_LABELS = {
    "people": "People served", "people_served": "People served",
    "age_bands": "People served aged", "people_not_in_a_household":
    "People served in no household", "households": "Households served",
    "households_served": "Households served",
    "individuals_in_households_served": "Households served, with their sizes",
    "persons": "Households served, with their sizes", "household_sizes": "Households of size",
    "income_bands": "Households with income (% of the guideline)",
    "households_with_children": "Households with children",
    "households_without_children": "Households without children",
    "children_0_17": "Members aged 0-17", "adults_18_59": "Members aged 18-59",
    "seniors_60_plus": "Members aged 60+", "new_people": "New people",
    "returning_people": "Returning people", "new_households": "New households",
    "returning_households": "Returning households",
}


def _rows_request(user: User, query: QueryDict) -> tuple[ReportFilter, str, str | None]:
    """A drill-down's filters, measure and band, checked (ValidationError: 400)."""
    filters, _ = filters_from_query(query, user)
    measure, band = query.get("measure") or "", query.get("band") or None
    problem = demographics.measure_problem(measure, band)
    if problem:
        raise ValidationError.for_fields({"measure": problem})
    return filters, measure, band


@role_required(Cap.READ_RECORDS)
@replica_reads()
def rows_page(request: HttpRequest) -> HttpResponse:
    """The rows behind one number of the reports (``measure``, ``band`` and the filters)."""
    user = page_user(request)
    try:
        filters, measure, band = _rows_request(user, request.GET)
    except ValidationError as exc:
        return bad_filter(exc.detail)
    header, rows = demographics.demographic_rows(user=user, filters=filters, measure=measure,
                                                 band=band)
    shown = list(itertools.islice(rows, ROWS_PAGE_ROWS + 1))
    query = request.GET.urlencode()
    return render(request, "web/reports/rows.html", {
        "title": f"{MEASURE_LABELS[measure]}{f' {band}' if band else ''}",
        "header": [human_header(h) for h in header], "rows": shown[:ROWS_PAGE_ROWS],
        "more": len(shown) > ROWS_PAGE_ROWS, "limit": ROWS_PAGE_ROWS,
        "count": len(shown), "filters": filters.as_query(), "query": query,
        "csv": f"/reports/rows.csv?{query}", "xlsx": f"/reports/rows.xlsx?{query}",
    })


def _rows_download(fmt: Format) -> Callable[..., HttpResponseBase]:
    @role_required(Cap.READ_RECORDS)
    def view(request: HttpRequest) -> HttpResponse:
        def build(user: User, query: QueryDict) -> tuple[str, list[str], Any]:
            filters, measure, band = _rows_request(user, query)
            header, rows = demographics.demographic_rows(user=user, filters=filters,
                                                         measure=measure, band=band)
            return f"report-rows-{measure}-{timezone.localdate().isoformat()}", header, rows

        return cast(HttpResponse, download(request, fmt, build))

    return view


def _report_download(name: str, fmt: Format) -> Callable[..., HttpResponseBase]:
    # role_required is typed for HttpResponse; downloads stream (StreamingHttpResponse and
    # FileResponse are HttpResponseBase), which it passes through unchanged.
    @role_required(Cap.READ_RECORDS)
    def view(request: HttpRequest) -> HttpResponse:
        def build(user: User, query: QueryDict) -> tuple[str, list[str], Any]:
            filters, raw = filters_from_query(query, user, extra={
                "group_by": "person", "min_times": 2, "min_absences": 3, "days": 14,
                "year": timezone.localdate().year})
            if raw["group_by"] not in {"person", "session", "schedule", "cohort"}:
                raise ValidationError.for_fields(
                    {"group_by": "One of person, session, schedule, cohort."})
            header, rows = REPORT_TABLES[name](user, filters, ReportOptions(**raw))
            stamp = timezone.localdate().isoformat()
            return f"report-{name}-{stamp}", header, rows

        return cast(HttpResponse, download(request, fmt, build))

    return view


urlpatterns = [
    path("reports/", summary_page, name="reports"),
    path("reports/attendance/", attendance_page, name="reports-attendance"),
    path("reports/completion/", completion_page, name="reports-completion"),
    path("reports/repeat/", repeat_page, name="reports-repeat"),
    path("reports/follow-ups/", followups_page, name="reports-followups"),
    path("reports/demographics/", demographics_page, name="reports-demographics"),
    path("reports/tefap/", tefap_page, name="reports-tefap"),
    path("reports/csbg/", csbg_page, name="reports-csbg"),
    path("reports/new-vs-returning/", new_vs_returning_page, name="reports-new-vs-returning"),
    path("reports/rows/", rows_page, name="reports-rows"),
    *(path(f"reports/rows.{fmt}", _rows_download(fmt), name=f"reports-rows-{fmt}")
      for fmt in FORMATS),
    *(path(f"reports/{name}.{fmt}", _report_download(name, fmt),
           name=f"reports-{name}-{fmt}") for name in REPORT_TABLES for fmt in FORMATS),
]
