"""Pages: check-in cards (a person's or a household's printable card with a QR code; issue,
replace, revoke) and a session's paper roster (printable, CSV and XLSX) for the day the
tablet's battery dies."""

from __future__ import annotations

from typing import Literal, cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from programdesk.core.errors import Conflict
from programdesk.core.roles import Cap
from programdesk.core.scoping import visible, visible_or_404
from programdesk.participation import selectors as participation_selectors
from programdesk.people import selectors, services
from programdesk.people.models import Account, Person
from programdesk.reports.exports import export_response
from programdesk.scheduling.models import BenefitSession
from programdesk.web.permissions import page_user, role_required
from programdesk.web.qr import qr_svg


def _session(request: HttpRequest, pk: int) -> BenefitSession:
    return visible_or_404(visible(BenefitSession.objects.select_related(
        "benefit__program", "schedule"), page_user(request), "benefit__program_id"), pk)


CardAction = Literal["issue", "replace", "revoke"]
ACTIONS: tuple[CardAction, ...] = ("issue", "replace", "revoke")


def _card_page(request: HttpRequest, holder: Person | Account, *, kind: str,
               base: str) -> HttpResponse:
    """A card's page: the printable card, and issue / replace / revoke. A replace or a revoke
    is asked first (``?confirm=replace``) and done by the confirming POST: a lost card's old
    code stops working, so it is never one click. The first card is issued at once."""
    user = page_user(request)
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in ACTIONS or (action != "issue" and request.POST.get("confirm") != "1"):
            return redirect(f"{base}?confirm={action}" if action in ACTIONS else base)
        target = {"person": holder} if kind == "person" else {"account": holder}
        try:
            if action == "revoke":
                services.card_revoke(actor=user, **target)  # type: ignore[arg-type]
                messages.success(request, _("The card was revoked: its code no longer works."))
            else:
                had = bool(holder.card_code)
                services.card_issue(actor=user, **target)  # type: ignore[arg-type]
                messages.success(request, _("A new card was made: print it. The old card no "
                                            "longer works.") if had else
                                 _("A card was made: print it."))
        except Conflict as exc:
            messages.error(request, exc.detail)
        return redirect(base)
    confirm = request.GET.get("confirm", "")
    code = holder.card_code or ""
    if isinstance(holder, Person):
        name, household = holder.full_name, holder.account.name if holder.account else ""
    else:
        name, household = holder.name, ""
    return render(request, "web/cards/card.html", {
        "holder": holder, "kind": kind, "base": base, "name": name, "household": household,
        "code": code, "qr": qr_svg(code, title=_("Check-in card %(code)s") % {"code": code})
        if code else "",
        "confirm": confirm if confirm in ("replace", "revoke") and code else "",
        "revoked": holder.revoked_card_codes.count()})


@role_required(Cap.WRITE_RECORDS)
def person_card(request: HttpRequest, pk: int) -> HttpResponse:
    person = selectors.person_get(page_user(request), pk)
    return _card_page(request, person, kind="person", base=f"/people/{person.pk}/card/")


@role_required(Cap.WRITE_RECORDS)
def account_card(request: HttpRequest, pk: int) -> HttpResponse:
    account = selectors.account_get(page_user(request), pk)
    return _card_page(request, account, kind="account", base=f"/accounts/{account.pk}/card/")


# --- the paper roster ---------------------------------------------------------------------------


@role_required(Cap.READ_RECORDS)
def session_roster(request: HttpRequest, pk: int) -> HttpResponse:
    """A session's sheet on paper: who is expected (and anyone recorded), their card codes,
    a box to tick; the files the attendance import reads back."""
    session = _session(request, pk)
    rows = participation_selectors.session_roster(session=session)
    return render(request, "web/cards/roster.html", {
        "session": session, "rows": rows, "blank_rows": range(8)})


def _roster_file(request: HttpRequest, pk: int, fmt: Literal["csv", "xlsx"]
                 ) -> HttpResponse:
    session = _session(request, pk)
    header, rows = participation_selectors.session_roster_file(session=session)
    name = f"roster-session-{session.pk}-{session.local_date:%Y-%m-%d}"
    # A streaming CSV or a file response: HttpResponseBase, which role_required passes through.
    return cast(HttpResponse, export_response(
        fmt, filename=name, header=header, rows=rows, headers="human",
        title=f"Roster {session.local_date:%Y-%m-%d}"))


@role_required(Cap.READ_RECORDS)
def session_roster_csv(request: HttpRequest, pk: int) -> HttpResponse:
    return _roster_file(request, pk, "csv")


@role_required(Cap.READ_RECORDS)
def session_roster_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    return _roster_file(request, pk, "xlsx")


urlpatterns = [
    path("people/<int:pk>/card/", person_card, name="person-card"),
    path("accounts/<int:pk>/card/", account_card, name="account-card"),
    path("sessions/<int:pk>/roster/", session_roster, name="session-roster"),
    path("sessions/<int:pk>/roster.csv", session_roster_csv, name="session-roster-csv"),
    path("sessions/<int:pk>/roster.xlsx", session_roster_xlsx, name="session-roster-xlsx"),
]
