"""The front desk's language: the kiosk, the check-in page, the attendance sheet and its walk-in
panel are shown in the language chosen at the kiosk ("English" / "Español", one tap), kept in
the login's session; every other page stays in English (docs/front-desk.md, Languages).

Not Django's LocaleMiddleware: it would translate every page, and read the browser's
Accept-Language, where a shared tablet's language is the desk's choice, not the browser's.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_noop, pgettext_lazy
from django.views.decorators.http import require_POST

from programdesk.core.roles import Cap
from programdesk.web.permissions import role_required

# Words the front desk's pages show from a model's choices ({% translate value %} there):
# marked here so that makemessages finds them.
CHOICE_WORDS = [
    pgettext_lazy("session status", "Scheduled"), pgettext_lazy("session status", "Completed"),
    pgettext_lazy("session status", "Cancelled"), pgettext_lazy("session status", "Postponed"),
    gettext_noop("Admin"), gettext_noop("Manager"), gettext_noop("Staff"), gettext_noop("Viewer"),
    gettext_noop("Kiosk"),
]

SESSION_KEY = "front_desk_language"
DEFAULT = "en"

View = TypeVar("View", bound=Callable[..., HttpResponse])


def languages() -> list[tuple[str, str]]:
    """The front desk's languages as (code, name in that language): settings.LANGUAGES."""
    return list(settings.LANGUAGES)


def chosen(request: HttpRequest) -> str:
    """The language chosen at the kiosk for this login, or English."""
    code = request.session.get(SESSION_KEY, DEFAULT) if hasattr(request, "session") else DEFAULT
    return code if code in dict(languages()) else DEFAULT


def front_desk(view: View) -> View:
    """Show this page (and the messages it leaves for the next one) in the front desk's
    language. The language is active while the view runs and renders, then English again."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        code = chosen(request)
        with translation.override(code):
            request.LANGUAGE_CODE = code
            response = view(request, *args, **kwargs)
        response.headers.setdefault("Content-Language", code)
        # One URL answers in two languages: caches (the browser's, an offline copy) must not
        # give one language's page for the other.
        vary = response.headers.get("Vary", "")
        if "cookie" not in vary.lower():
            response.headers["Vary"] = f"{vary}, Cookie" if vary else "Cookie"
        return response

    return wrapper  # type: ignore[return-value]


@require_POST
@role_required(Cap.CHECK_IN)
def choose_language(request: HttpRequest) -> HttpResponse:
    """``POST /kiosk/language/`` with ``language`` (en, es): the front desk's language for this
    login, then back to the page it was chosen on (a path of this site only)."""
    from django.shortcuts import redirect

    code = request.POST.get("language", "")
    if code in dict(languages()):
        request.session[SESSION_KEY] = code
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()) \
            or not back.startswith("/"):
        back = "/kiosk/"
    return redirect(back)
