"""API authentication: bearer tokens (stored hashed) or the web session with CSRF."""

from __future__ import annotations

from typing import Any

from django.db.models import Aggregate, CharField, OuterRef, Subquery
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie
from ninja.utils import check_csrf

from programdesk.core.errors import NotAllowed
from programdesk.core.models import ApiToken, User, token_digest
from programdesk.core.roles import Cap


class _IdList(Aggregate):
    """Ids as one comma-separated string: SQLite's GROUP_CONCAT, PostgreSQL's STRING_AGG."""

    function = "GROUP_CONCAT"
    output_field = CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, function="STRING_AGG",
                           template="%(function)s(%(expressions)s::text, ',')", **extra)


def user_for_token(raw: str) -> User | None:
    """The active user whose unexpired token ``raw`` is, with their program scope: one query.

    The scope (``User.visible_program_ids``) comes with the token because nearly every API
    request asks for it, and a check-in is only a few statements in all."""
    if not raw or len(raw) > 200:
        return None
    programs: Any = (User.programs.through.objects.filter(user_id=OuterRef("user_id"))
                     .values("user_id").annotate(ids=_IdList("program_id")))
    programs = programs.values("ids")
    token = (ApiToken.objects.select_related("user").filter(digest=token_digest(raw))
             .annotate(program_ids=Subquery(programs)).first())
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.expires_at <= now:
        return None
    # Touch last_used_at at most once a minute: a write per request would serialize readers.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    ids: str = token.program_ids or ""
    token.user.visible_programs_known(int(i) for i in ids.split(",") if i)
    return token.user


def request_token_user(request: HttpRequest, raw: str) -> User | None:
    """``user_for_token``, once per request: the Idempotency-Key middleware and the API's
    authentication both ask."""
    cache: dict[str, User | None] = request.__dict__.setdefault("_token_users", {})
    if raw not in cache:
        cache[raw] = user_for_token(raw)
    return cache[raw]


def token_has_expired(raw: str) -> bool:
    """Whether ``raw`` is a real token of an active user that has expired (to say so in the 401)."""
    if not raw or len(raw) > 200:
        return False
    return ApiToken.objects.filter(digest=token_digest(raw), user__is_active=True,
                                   expires_at__lte=timezone.now()).exists()


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = request_token_user(request, token)
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
