from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.utils.cache import patch_cache_control

from programdesk.core.roles import Role
from programdesk.core.scoping import MAX_ID

# What a kiosk login may reach: the check-in pages and their API, logging out, static files.
# The offline front desk (docs/front-desk.md): the service worker and the app manifest at the
# root, the roster a device keeps and the sync of what it did offline.
KIOSK_PREFIXES = ("/kiosk/", "/logout/", "/static/", "/api/v1/sessions/", "/login/",
                  "/sw.js", "/manifest.webmanifest", "/api/v1/offline/", "/api/v1/sync")


class RoleAccessMiddleware:
    """A kiosk account sees the check-in flow and nothing else, whatever URL it types."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and getattr(user, "role", None) == Role.KIOSK
                and not user.is_superuser and not request.path.startswith(KIOSK_PREFIXES)):
            if request.path.startswith("/api/"):
                return self.get_response(request)  # the API's own role checks answer 403
            return redirect("/kiosk/")
        return self.get_response(request)


def _without_nul(data: QueryDict) -> QueryDict | None:
    """A copy of ``data`` with every NUL character taken out, or None when it holds none."""
    if not any("\x00" in key or any("\x00" in str(v) for v in values)
               for key, values in data.lists()):
        return None
    clean = QueryDict(mutable=True, encoding=data.encoding)
    for key, values in data.lists():
        clean.setlist(key.replace("\x00", ""), [str(v).replace("\x00", "") for v in values])
    clean._mutable = False
    return clean


class PageInputMiddleware:
    """What no page view is given, whatever a client sends (the API checks its own input):

    - NUL characters in the query string or a posted form are dropped: PostgreSQL refuses them
      in text, and nobody types one;
    - a path id the database cannot hold (``/people/99999999999999999999999/``: Django's
      ``<int:>`` takes any number of digits) is "not found", for every URL pattern at once.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            # Both copies are immutable, like the QueryDicts they replace.
            request.GET = _without_nul(request.GET) or request.GET  # type: ignore[assignment]
            if request.method == "POST":
                clean = _without_nul(request.POST)
                if clean is not None:
                    request.POST = clean  # type: ignore[assignment]
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Callable[..., Any], args: Any,
                     kwargs: dict[str, Any]) -> None:
        if request.path.startswith("/api/"):
            return
        for value in [*args, *kwargs.values()]:
            if isinstance(value, int) and not isinstance(value, bool) and value > MAX_ID:
                raise Http404("No such record.")


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every answer Django makes: pages, API answers, exports.

    Pages and API answers show personal data, and a browser's back button or a shared proxy
    must not keep them. Static files are answered by WhiteNoise (earlier in MIDDLEWARE) with
    their long cache headers and never reach this.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        patch_cache_control(response, no_store=True)
        return response


# The session key holding when the session's user logged in (seconds since the epoch).
SESSION_STARTED_KEY = "_programdesk_login_at"


class SessionLifetimeMiddleware:
    """An absolute session lifetime (``SESSION_MAX_AGE_SECONDS``) besides the idle timeout.

    ``SESSION_COOKIE_AGE`` with ``SESSION_SAVE_EVERY_REQUEST`` ends a session after a while
    without requests; an active session would otherwise last for ever. The login time is
    stored in the session (``core.signals`` sets it at login); a session older than the
    lifetime, or without the mark, is logged out, so the next page asks for the password.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            started = request.session.get(SESSION_STARTED_KEY)
            too_old = (not isinstance(started, int | float)
                       or time.time() - started > settings.SESSION_MAX_AGE_SECONDS)
            if too_old:
                logout(request)  # flushes the session; request.user becomes anonymous
        return self.get_response(request)
