"""API authentication: bearer tokens (stored hashed) or the web session with CSRF."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie
from ninja.utils import check_csrf

from programdesk.core.errors import NotAllowed
from programdesk.core.models import ApiToken, User, token_digest
from programdesk.core.roles import Cap


def user_for_token(raw: str) -> User | None:
    if not raw or len(raw) > 200:
        return None
    token = (ApiToken.objects.select_related("user").filter(digest=token_digest(raw)).first())
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.expires_at <= now:
        return None
    # Touch last_used_at at most once a minute: a write per request would serialize readers.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def token_has_expired(raw: str) -> bool:
    """Whether ``raw`` is a real token of an active user that has expired (to say so in the 401)."""
    if not raw or len(raw) > 200:
        return False
    return ApiToken.objects.filter(digest=token_digest(raw), user__is_active=True,
                                   expires_at__lte=timezone.now()).exists()


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = user_for_token(token)
        if user is not None:
            request.user = user
        elif token_has_expired(token):
            request.api_token_expired = True  # type: ignore[attr-defined]
        return user


class SessionAuth(APIKeyCookie):
    """The web UI's session cookie. Unlike ninja's, no credentials is a 401 (not a CSRF 403)."""

    param_name = "sessionid"

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        unsafe = request.method not in {"GET", "HEAD", "OPTIONS", "TRACE"}
        exempt = getattr(request, "_ninja_csrf_exempt", False)
        if unsafe and not exempt and check_csrf(request) is not None:
            raise HttpError(403, "CSRF check failed: send the X-CSRFToken header.")
        return user


def api_user(request: HttpRequest) -> User:
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


def require(request: HttpRequest, cap: Cap) -> User:
    """The authenticated user, if their role has ``cap``; otherwise 403."""
    user = api_user(request)
    if not user.can(cap):
        raise NotAllowed(f"Your role ({user.role}) may not do this.")
    return user
