"""Role checks for pages. Every view is wrapped in one of these (or is the login page)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from programdesk.core.errors import NotFound
from programdesk.core.models import User
from programdesk.core.roles import Cap

View = TypeVar("View", bound=Callable[..., HttpResponse])


def role_required(cap: Cap) -> Callable[[View], View]:
    """Log in first, then the role must have ``cap``. A ``NotFound`` from a selector
    (``core.scoping.visible_or_404``) is the 404 page, as it is a 404 answer in the API."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            assert isinstance(user, User)
            if not user.can(cap):
                raise PermissionDenied(f"Your role ({user.role}) may not open this page.")
            try:
                return view(request, *args, **kwargs)
            except NotFound as exc:
                raise Http404(exc.detail) from None

        wrapper.required_cap = cap  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def page_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user
