from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from programdesk.core.roles import Role

# What a kiosk login may reach: the check-in pages and their API, logging out, static files.
KIOSK_PREFIXES = ("/kiosk/", "/logout/", "/static/", "/api/v1/sessions/", "/login/")


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
