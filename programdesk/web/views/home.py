from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from programdesk.core.lockout import LoginForm
from programdesk.core.roles import Cap
from programdesk.reports import filtering, followups, selectors
from programdesk.reports.filtering import ReportFilter
from programdesk.reports.tables import ReportOptions
from programdesk.web.permissions import page_user, role_required

DASHBOARD_FOLLOWUP_ROWS = 5

# (label, path, capability needed): the dashboard's quick actions. Other areas own the pages.
QUICK_ACTIONS = [
    ("New person", "/people/new/", Cap.WRITE_RECORDS),
    ("Sessions", "/sessions/", Cap.READ_SETUP),
    ("Disbursements", "/disbursements/", Cap.READ_RECORDS),
    ("Reports", "/reports/", Cap.READ_RECORDS),
    ("Import", "/imports/", Cap.WRITE_RECORDS),
]


@role_required(Cap.READ_SETUP)
def dashboard(request: HttpRequest) -> HttpResponse:
    """Today's sessions with expected and checked-in counts; for roles that read records, this
    month's people served and units and the follow-up lists. A constant number of queries."""
    user = page_user(request)
    now = timezone.now()
    today = timezone.localdate(now)
    server_zone = timezone.get_current_timezone_name()
    sessions = [{**x, "zone_differs": str(x["start"].tzinfo) != server_zone}
                for x in selectors.sessions_today(user=user, now=now)]
    context: dict[str, Any] = {
        "today": today,
        "sessions": sessions,
        "actions": [{"label": label, "path": p} for label, p, cap in QUICK_ACTIONS
                    if user.can(cap)],
    }
    if user.can(Cap.READ_RECORDS):
        month = filtering.month_to_date(today)
        options = ReportOptions()
        context.update(month=selectors.report_summary(user=user, filters=month),
                       month_from=month.date_from, options=options,
                       **followups.followups_overview(
                           user=user, filters=ReportFilter(), min_absences=options.min_absences,
                           days=options.days, limit=DASHBOARD_FOLLOWUP_ROWS))
    return render(request, "web/dashboard.html", context)


urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html",
                                                 authentication_form=LoginForm,
                                                 redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
