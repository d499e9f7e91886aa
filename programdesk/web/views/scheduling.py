"""Pages: the new-schedule wizard, the schedule page, the session page and the week view."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone as djtz
from django.views.decorators.http import require_POST

from programdesk.core.errors import Conflict, NotAllowed, ValidationError
from programdesk.core.models import User
from programdesk.core.params import query_id
from programdesk.core.roles import Cap
from programdesk.core.scoping import visible_or_404
from programdesk.programs.selectors import benefits_visible, programs_visible
from programdesk.scheduling import ics, recurrence, selectors, services
from programdesk.scheduling.models import BenefitSchedule, BenefitSession
from programdesk.web import wording
from programdesk.web.forms import add_service_errors
from programdesk.web.permissions import page_user, role_required

WEEKDAY_CHOICES = list(zip(recurrence.WEEKDAYS, recurrence.WEEKDAY_NAMES, strict=True))
ORDINAL_CHOICES = [(str(n), recurrence.ORDINAL_NAMES[n].capitalize())
                   for n in recurrence.ORDINALS]


# --- the rule form (wizard and "change recurrence") --------------------------------------------

class RuleForm(forms.Form):
    """First session and recurrence, as staff think of them."""

    first_date = forms.DateField(label="First date", widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text="Sessions are on the days the rule gives, from this "
                                           "date on.")
    start_time = forms.TimeField(label="Starts at", widget=forms.TimeInput(attrs={"type": "time"}))
    end_time = forms.TimeField(label="Ends at", widget=forms.TimeInput(attrs={"type": "time"}),
                               help_text="Every session lasts as long as the first.")
    frequency = forms.ChoiceField(label="Repeats", initial="weekly", choices=[
        ("once", "Once"), ("daily", "Daily"), ("weekly", "Weekly"), ("monthly", "Monthly"),
        ("yearly", "Yearly")])
    interval = forms.IntegerField(label="Every", initial=1, min_value=1,
                                  max_value=recurrence.MAX_INTERVAL,
                                  help_text="1 = every day/week/month/year, 2 = every other …")
    weekdays = forms.MultipleChoiceField(
        label="On", required=False, choices=WEEKDAY_CHOICES, widget=forms.CheckboxSelectMultiple,
        help_text="Weekly: tick at least one day. Daily: tick none for every day, or only "
                  "the days to keep.")
    monthly_mode = forms.ChoiceField(
        label="Day of the month", required=False, initial="day", widget=forms.RadioSelect,
        choices=[("day", "On day"), ("nth", "On the"), ("last_day", "On the last day")])
    monthly_day = forms.IntegerField(
        label="Day", required=False, min_value=1, max_value=31,
        help_text="29, 30 or 31: the last day of shorter months.")
    monthly_ordinal = forms.ChoiceField(label="Which", required=False, choices=ORDINAL_CHOICES)
    monthly_weekday = forms.ChoiceField(label="Weekday", required=False, choices=WEEKDAY_CHOICES)
    ends = forms.ChoiceField(label="Ends", initial="count", widget=forms.RadioSelect,
                             choices=[("count", "After N sessions"),
                                      ("until", "On a date")], required=False)
    count = forms.IntegerField(label="Number of sessions", required=False, min_value=1,
                               initial=10)
    until = forms.DateField(label="Last date", required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))

    # Service field → form field, so every error shows next to what the user typed.
    ERROR_FIELDS: Mapping[str, str] = {
        "first_session_start": "first_date", "first_session_end": "end_time",
        "recurrence.frequency": "frequency", "recurrence.interval": "interval",
        "recurrence.weekdays": "weekdays", "recurrence.count": "count",
        "recurrence.until": "until", "recurrence.monthly": "monthly_mode",
        "recurrence.monthly.day": "monthly_day", "recurrence.monthly.ordinal": "monthly_ordinal",
        "recurrence.monthly.weekday": "monthly_weekday",
    }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # The form asks for ticked days (its help text says so); the API's rule would read
        # none as the first date's weekday, which the wizard should not decide silently.
        if data.get("frequency") == "weekly" and not data.get("weekdays"):
            self.add_error("weekdays", "Choose at least one weekday.")
        return data

    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.cleaned_data["first_date"],
                                   self.cleaned_data["start_time"])

    def end(self) -> dt.datetime:
        return dt.datetime.combine(self.cleaned_data["first_date"], self.cleaned_data["end_time"])

    def rule(self) -> dict[str, Any]:
        data = self.cleaned_data
        frequency = data["frequency"]
        rule: dict[str, Any] = {"frequency": frequency, "interval": data.get("interval") or 1}
        if frequency == "weekly":
            rule["weekdays"] = list(data.get("weekdays") or [])
        elif frequency == "daily" and data.get("weekdays"):
            rule["weekdays"] = list(data["weekdays"])
        if frequency == "monthly":
            mode = data.get("monthly_mode") or "day"
            if mode == "last_day":
                rule["monthly"] = {"last_day": True}
            elif mode == "nth":
                rule["monthly"] = {"weekday": data.get("monthly_weekday") or "MO",
                                   "ordinal": int(data.get("monthly_ordinal") or 1)}
            else:
                rule["monthly"] = {"day": data.get("monthly_day") or data["first_date"].day}
        if frequency != "once":
            if (data.get("ends") or "count") == "until":
                rule["until"] = data.get("until")
            else:
                rule["count"] = data.get("count")
        return rule

    def show_errors(self, exc: ValidationError) -> None:
        exc = ValidationError(exc.detail, errors=[
            {"field": self.ERROR_FIELDS.get(e["field"], e["field"]), "message": e["message"]}
            for e in exc.errors])
        add_service_errors(self, exc)

    @classmethod
    def initial_from(cls, schedule: BenefitSchedule) -> dict[str, Any]:
        rule = schedule.recurrence
        start = schedule.first_wall_start
        end = start + schedule.duration
        monthly = rule.get("monthly") or {}
        return {
            "first_date": schedule.first_date, "start_time": schedule.start_time,
            "end_time": end.time(), "frequency": rule.get("frequency"),
            "interval": rule.get("interval") or 1, "weekdays": rule.get("weekdays") or [],
            "monthly_mode": ("last_day" if monthly.get("last_day") else
                             "nth" if monthly.get("weekday") else "day"),
            "monthly_day": monthly.get("day"), "monthly_weekday": monthly.get("weekday"),
            "monthly_ordinal": str(monthly.get("ordinal") or 1),
            "ends": "until" if rule.get("until") else "count",
            "count": rule.get("count"), "until": rule.get("until"),
        }


class ScheduleForm(RuleForm):
    name = forms.CharField(label="Name", max_length=200,
                           help_text="E.g. “Spring cohort” or “Tuesday evenings”.")
    timezone = forms.CharField(label="Time zone", max_length=64,
                               widget=forms.TextInput(attrs={"list": "zones",
                                                             "autocomplete": "off"}),
                               help_text="Where the sessions happen, such as America/New_York.")
    location = forms.CharField(label="Location", max_length=200, required=False)
    capacity = forms.IntegerField(label="Capacity", required=False, min_value=1,
                                  help_text="Leave empty for no limit.")
    default_quantity = forms.DecimalField(
        label="Quantity per session", required=False, min_value=Decimal(0), max_digits=12,
        decimal_places=2, help_text="Leave empty to use the benefit's default.")

    field_order = ["name", "timezone", "location", "capacity", "default_quantity", "first_date",
                   "start_time", "end_time"]

    def clean_timezone(self) -> str:
        value = str(self.cleaned_data["timezone"]).strip()
        if not recurrence.is_zone(value):
            raise forms.ValidationError(
                f"Unknown time zone '{value}'. Use an IANA name such as America/New_York.")
        return value


def _signature(form: RuleForm, extra: str = "") -> str:
    """What the preview was made from: saving checks it so a changed rule is previewed again."""
    payload = json.dumps([form.start().isoformat(), form.end().isoformat(), form.rule(), extra],
                         default=str, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def _dropped(request: HttpRequest) -> set[dt.date]:
    """Dates shown in the preview whose "keep" box was unticked."""
    shown = set(request.POST.getlist("shown"))
    keep = set(request.POST.getlist("keep"))
    out = set()
    for value in shown - keep:
        try:
            out.add(dt.date.fromisoformat(value))
        except ValueError:
            continue
    return out


def _rows(sessions: list[BenefitSession], dropped: set[dt.date]) -> list[dict[str, Any]]:
    """Preview rows: every session the rule gives, ticked unless its date was dropped."""
    return [{"session": s, "keep": s.local_date not in dropped} for s in sessions]


# --- the wizard --------------------------------------------------------------------------------

@role_required(Cap.MANAGE_PROGRAMS)
def schedule_new(request: HttpRequest, benefit_id: int) -> HttpResponse:
    """New schedule: 1 details, 2 recurrence, 3 preview (untick dates to drop), 4 save."""
    user = page_user(request)
    benefit = visible_or_404(benefits_visible(user).select_related("program", "unit"),
                             benefit_id)
    context: dict[str, Any] = {"benefit": benefit, "zones": recurrence.zone_choices()}
    if not benefit.is_active:
        context["inactive"] = True
        return render(request, "web/scheduling/schedule_new.html", context,
                      status=409 if request.method == "POST" else 200)
    if request.method != "POST":
        today = djtz.localdate()
        form = ScheduleForm(initial={
            "timezone": settings.TIME_ZONE, "first_date": today,
            "start_time": dt.time(18), "end_time": dt.time(20),
            "weekdays": [recurrence.WEEKDAYS[today.weekday()]],
            "location": "", "monthly_day": today.day, "count": 10})
        return render(request, "web/scheduling/schedule_new.html", {**context, "form": form})

    form = ScheduleForm(request.POST)
    if form.is_valid():
        dropped = _dropped(request)
        signature = _signature(form, form.cleaned_data["timezone"])
        kwargs: dict[str, Any] = {
            "actor": user, "benefit": benefit, "name": form.cleaned_data["name"],
            "timezone": form.cleaned_data["timezone"], "first_session_start": form.start(),
            "first_session_end": form.end(), "recurrence": form.rule(),
            "capacity": form.cleaned_data.get("capacity"),
            "default_quantity": form.cleaned_data.get("default_quantity"),
            "location": form.cleaned_data.get("location") or ""}
        saving = request.POST.get("action") == "save"
        try:
            preview = services.schedule_create(**kwargs, dry_run=True)
            dates = {s.local_date for s in preview.sessions}
            if saving and request.POST.get("signature") == signature:
                result = services.schedule_create(**kwargs, skip_dates=sorted(dropped & dates))
                assert result.schedule is not None
                messages.success(request, f"Created “{result.schedule.name}” with "
                                          f"{wording.count(len(result.sessions), 'session')}.")
                return redirect("schedule_detail", pk=result.schedule.pk)
            context.update({
                # Saving a rule that changed since its preview shows the new preview first.
                "stale": saving, "signature": signature, "description": preview.description,
                "preview": _rows(preview.sessions, dropped),
                "kept_count": len(dates - dropped)})
        except ValidationError as exc:
            form.show_errors(exc)
        except Conflict as exc:
            context["inactive"] = True
            messages.error(request, exc.detail)
    # Invalid forms answer 200 like any Django form page (htmx swaps only 2xx answers).
    return render(request, "web/scheduling/schedule_new.html", {**context, "form": form})


# --- schedules ---------------------------------------------------------------------------------

@role_required(Cap.READ_SETUP)
def schedule_list(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    programs = programs_visible(user).order_by("name")
    program_id = query_id(request.GET, "program")
    schedules = selectors.schedules_visible(user=user, program_id=program_id)
    return render(request, "web/scheduling/schedule_list.html", {
        "schedules": schedules, "programs": programs, "program_id": program_id})


def _schedule_context(request: HttpRequest, schedule: BenefitSchedule) -> dict[str, Any]:
    start = recurrence.localize(schedule.first_wall_start, schedule.zone)
    end = (start.astimezone(dt.UTC) + schedule.duration).astimezone(schedule.zone)
    feed = request.build_absolute_uri(ics.schedule_feed_path(schedule.pk))
    return {
        "schedule": schedule, "benefit": schedule.benefit, "program": schedule.benefit.program,
        "description": selectors.schedule_description(schedule),
        "first_start": start, "first_end": end,
        "sessions": selectors.schedule_sessions_with_counts(schedule=schedule),
        "summary": selectors.schedule_summary(schedule=schedule),
        "feed_url": feed, "webcal_url": "webcal://" + feed.split("://", 1)[1],
        "today": djtz.localdate(),
    }


@role_required(Cap.READ_SETUP)
def schedule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = page_user(request)
    schedule = selectors.schedule_get(user=user, pk=pk)
    return render(request, "web/scheduling/schedule_detail.html",
                  _schedule_context(request, schedule))


@require_POST
@role_required(Cap.MANAGE_PROGRAMS)
def schedule_sessions_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = page_user(request)
    schedule = selectors.schedule_get(user=user, pk=pk)
    count = query_id(request.POST, "count")
    try:
        result = services.schedule_sessions_add(actor=user, schedule=schedule, count=count or 0)
    except ValidationError as exc:
        messages.error(request, exc.errors[0]["message"] if exc.errors else exc.detail)
    except Conflict as exc:
        messages.error(request, exc.detail)
    else:
        text = f"Added {wording.count(len(result.sessions), 'session')}."
        if result.disbursements_created:
            text += (f" The people on the roster are expected at them "
                     f"({result.disbursements_created} places).")
        messages.success(request, text)
    return redirect("schedule_detail", pk=schedule.pk)


@role_required(Cap.MANAGE_PROGRAMS)
def schedule_sessions_delete_future(request: HttpRequest, pk: int) -> HttpResponse:
    """Two steps, without JavaScript: GET says what deleting the sessions after a date would
    remove and asks to confirm; the confirmation POSTs (``confirm``) and deletes. A POST without
    ``confirm`` only shows the confirmation."""
    user = page_user(request)
    schedule = selectors.schedule_get(user=user, pk=pk)
    params = request.POST if request.method == "POST" else request.GET
    try:
        after = dt.date.fromisoformat(params.get("after", ""))
    except ValueError:
        messages.error(request, "Give the date after which sessions are deleted.")
        return redirect("schedule_detail", pk=schedule.pk)
    if request.method != "POST" or not request.POST.get("confirm"):
        if request.method == "POST":
            return redirect(f"{request.path}?after={after.isoformat()}")
        going, kept = selectors.sessions_after(schedule=schedule, after=after)
        return render(request, "web/scheduling/delete_future_confirm.html", {
            "schedule": schedule, "benefit": schedule.benefit,
            "program": schedule.benefit.program, "after": after,
            "going": going, "kept": kept,
            "going_text": wording.count(len(going), "session"),
            "kept_text": wording.count(len(kept), "session"),
            "going_span": wording.day_span([s.local_date for s in going]),
            "expected_text": wording.count(sum(s.expected for s in going),  # type: ignore[attr-defined]
                                           "expected place"),
        })
    try:
        result = services.schedule_sessions_delete_future(actor=user, schedule=schedule,
                                                          after=after)
    except Conflict as exc:
        messages.error(request, exc.detail)
        return redirect("schedule_detail", pk=schedule.pk)
    if result.deleted:
        messages.success(request, f"Deleted {wording.count(result.deleted, 'session')} "
                                  f"({wording.day_range(result.deleted_dates)}).")
    else:
        messages.info(request, f"No session after {wording.day(after)} was deleted.")
    if result.kept:
        days = ", ".join(wording.day(s.local_date) for s in result.kept)
        messages.warning(request, f"Kept {wording.count(len(result.kept), 'session')} with "
                                  f"recorded attendance: {days}.")
    return redirect("schedule_detail", pk=schedule.pk)


@role_required(Cap.MANAGE_PROGRAMS)
def schedule_recurrence(request: HttpRequest, pk: int) -> HttpResponse:
    """Change the rule: preview what is created, deleted and kept, then save."""
    user = page_user(request)
    schedule = selectors.schedule_get(user=user, pk=pk)
    context = _schedule_context(request, schedule)
    if request.method != "POST":
        form = RuleForm(initial=RuleForm.initial_from(schedule))
        return render(request, "web/scheduling/schedule_recurrence.html", {**context, "form": form})
    form = RuleForm(request.POST)
    if form.is_valid():
        # Dates dropped before stay dropped until the preview says otherwise.
        dropped = (_dropped(request) if "shown" in request.POST
                   else {dt.date.fromisoformat(d) for d in schedule.skip_dates})
        signature = _signature(form)
        kwargs: dict[str, Any] = {"actor": user, "schedule": schedule, "recurrence": form.rule(),
                                  "first_session_start": form.start(),
                                  "first_session_end": form.end()}
        saving = request.POST.get("action") == "save"
        try:
            everything = services.schedule_change_recurrence(**kwargs, skip_dates=[],
                                                             dry_run=True)
            skip = sorted(dropped & {s.local_date for s in everything.created})
            if saving and request.POST.get("signature") == signature:
                result = services.schedule_change_recurrence(**kwargs, skip_dates=skip)
                messages.success(request, (
                    f"Changed the rule: {wording.count(len(result.created), 'session')} created, "
                    f"{result.deleted} deleted, {result.unchanged} unchanged. Past sessions "
                    "were not changed."))
                if result.kept:
                    days = ", ".join(wording.day(s.local_date) for s in result.kept)
                    kept = wording.count(len(result.kept), "future session")
                    messages.warning(request, f"Kept {kept} with "
                                              f"recorded attendance: {days}.")
                return redirect("schedule_detail", pk=schedule.pk)
            dry = services.schedule_change_recurrence(**kwargs, skip_dates=skip, dry_run=True)
            context.update({"stale": saving, "signature": signature, "result": dry,
                            "preview": _rows(everything.created, set(skip))})
        except ValidationError as exc:
            form.show_errors(exc)
        except Conflict as exc:
            messages.error(request, exc.detail)
    return render(request, "web/scheduling/schedule_recurrence.html", {**context, "form": form})


@role_required(Cap.READ_SETUP)
def schedule_calendar(request: HttpRequest, pk: int) -> HttpResponse:
    """The schedule's feed: redirect to its signed API URL."""
    schedule = selectors.schedule_get(user=page_user(request), pk=pk)
    return HttpResponseRedirect(ics.schedule_feed_path(schedule.pk))


@role_required(Cap.READ_SETUP)
def program_calendar(request: HttpRequest, pk: int) -> HttpResponse:
    """The program's feed: redirect to its signed API URL."""
    program = visible_or_404(programs_visible(page_user(request)), pk)
    return HttpResponseRedirect(ics.program_feed_path(program.pk))


# --- sessions ----------------------------------------------------------------------------------

def session_page_context(*, user: User, session: BenefitSession) -> dict[str, Any]:
    """What ``web/scheduling/session_detail.html``'s header needs: ``session`` and ``counts``.
    Pages that extend the template (the attendance sheet) call this too."""
    return {"session": session, "schedule": session.schedule, "benefit": session.benefit,
            "program": session.benefit.program,
            "counts": selectors.session_counts(session=session)}


@require_POST
@role_required(Cap.WRITE_RECORDS)
def session_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Status and location (staff and up); date and time (manager)."""
    user = page_user(request)
    session = selectors.session_get(user=user, pk=pk)
    kwargs: dict[str, Any] = {}
    if request.POST.get("status") == "cancelled" and session.status != "cancelled":
        # Cancelling is a manager's, and never one click: it has its own confirmation.
        if not user.can(Cap.MANAGE_PROGRAMS):
            raise PermissionDenied("Only a manager may cancel a session.")
        messages.info(request, "Confirm the cancellation; nothing was saved yet.")
        return redirect("session_cancel", pk=pk)
    if "status" in request.POST:
        kwargs["status"] = request.POST["status"]
    if "location" in request.POST:
        kwargs["location"] = request.POST["location"]
    day, start, end = (request.POST.get(k, "").strip() for k in ("date", "start", "end"))
    if day or start or end:
        if not user.can(Cap.MANAGE_PROGRAMS):
            messages.error(request, "Only a manager may move a session.")
            return redirect("session_detail", pk=pk)
        local = session.local_start
        try:
            new_day = dt.date.fromisoformat(day) if day else local.date()
            new_start = dt.time.fromisoformat(start) if start else local.time()
            new_end = dt.time.fromisoformat(end) if end else session.local_end.time()
        except ValueError:
            messages.error(request, "Give the date as YYYY-MM-DD and times as HH:MM.")
            return redirect("session_detail", pk=pk)
        kwargs["start"] = dt.datetime.combine(new_day, new_start)
        end_day = new_day if new_end > new_start else new_day + dt.timedelta(days=1)
        kwargs["end"] = dt.datetime.combine(end_day, new_end)
    try:
        services.session_update(actor=user, session=session, **kwargs)
    except ValidationError as exc:
        messages.error(request, "; ".join(e["message"] for e in exc.errors) or exc.detail)
    except NotAllowed as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, "Session saved.")
    return redirect("session_detail", pk=pk)


@role_required(Cap.MANAGE_PROGRAMS)
def session_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a session in two steps: GET says what cancelling changes, the POST does it."""
    user = page_user(request)
    session = selectors.session_get(user=user, pk=pk)
    if session.status == "cancelled":
        messages.info(request, "This session is already cancelled.")
        return redirect("session_detail", pk=pk)
    counts = selectors.session_counts(session=session)
    if request.method != "POST":
        return render(request, "web/scheduling/session_cancel_confirm.html", {
            **session_page_context(user=user, session=session),
            "expected_text": wording.count(counts["expected"], "expected participant"),
            "recorded_text": wording.count(
                counts["delivered"] + counts["absent"] + counts["excused"], "recorded mark")})
    services.session_update(actor=user, session=session, status="cancelled")
    moved = counts["expected"]
    messages.success(request, f"Cancelled the session of {wording.day(session.local_date)}; "
                              f"{wording.count(moved, 'expected participant')} marked "
                              "cancelled. Restore it below if that was a mistake.")
    return redirect("session_detail", pk=pk)


@require_POST
@role_required(Cap.MANAGE_PROGRAMS)
def session_restore(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo a cancellation: the session is scheduled again and the participants it had marked
    cancelled are expected again."""
    user = page_user(request)
    session = selectors.session_get(user=user, pk=pk)
    if session.status != "cancelled":
        messages.info(request, "This session is not cancelled.")
        return redirect("session_detail", pk=pk)
    cancelled = selectors.session_counts(session=session)["cancelled"]
    services.session_update(actor=user, session=session, status="scheduled")
    messages.success(request, f"Restored the session of {wording.day(session.local_date)}; "
                              f"{wording.count(cancelled, 'participant')} expected again.")
    return redirect("session_detail", pk=pk)


@role_required(Cap.READ_SETUP)
def sessions_week(request: HttpRequest) -> HttpResponse:
    """A calendar-style grid of one week's sessions (Monday to Sunday), filterable by program."""
    user = page_user(request)
    try:
        day = dt.date.fromisoformat(request.GET.get("week", ""))
    except ValueError:
        day = djtz.localdate()
    monday = day - dt.timedelta(days=day.weekday())
    sunday = monday + dt.timedelta(days=6)
    programs = programs_visible(user).order_by("name")
    program_id = query_id(request.GET, "program")
    sessions = selectors.with_counts(selectors.sessions_between(
        user=user, start=monday, end=sunday, program_id=program_id)).order_by("start", "id")
    by_day: dict[dt.date, list[BenefitSession]] = {
        monday + dt.timedelta(days=i): [] for i in range(7)}
    for session in sessions:
        by_day.setdefault(session.local_date, []).append(session)
    query = f"&program={program_id}" if program_id else ""
    return render(request, "web/scheduling/sessions_week.html", {
        "days": [{"date": d, "sessions": s} for d, s in by_day.items()],
        "monday": monday, "sunday": sunday, "today": djtz.localdate(),
        "previous": f"?week={monday - dt.timedelta(days=7)}{query}",
        "next": f"?week={monday + dt.timedelta(days=7)}{query}",
        "this_week": f"?week={djtz.localdate()}{query}",
        "programs": programs, "program_id": program_id,
        "count": sum(len(s) for s in by_day.values()),
    })


urlpatterns = [
    path("benefits/<int:benefit_id>/schedules/new/", schedule_new, name="schedule_new"),
    path("schedules/", schedule_list, name="schedule_list"),
    path("schedules/<int:pk>/", schedule_detail, name="schedule_detail"),
    path("schedules/<int:pk>/sessions/add/", schedule_sessions_add, name="schedule_sessions_add"),
    path("schedules/<int:pk>/sessions/delete-future/", schedule_sessions_delete_future,
         name="schedule_sessions_delete_future"),
    path("schedules/<int:pk>/recurrence/", schedule_recurrence, name="schedule_recurrence"),
    path("schedules/<int:pk>/calendar.ics", schedule_calendar, name="schedule_calendar"),
    path("programs/<int:pk>/calendar.ics", program_calendar, name="program_calendar"),
    path("sessions/", sessions_week, name="sessions_week"),
    path("sessions/<int:pk>/edit/", session_edit, name="session_edit"),
    path("sessions/<int:pk>/cancel/", session_cancel, name="session_cancel"),
    path("sessions/<int:pk>/restore/", session_restore, name="session_restore"),
]
