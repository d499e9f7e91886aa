"""Login lockout (ASVS V6.3): after repeated failures a username, or an address, is refused for
a while, on the login page and the admin's alike.

- Failures are rows of ``LoginAttempt`` (username, address, time), so the count holds across
  processes and servers; rows older than a day are pruned as new ones come.
- A username is locked after ``LOCKOUT_USERNAME_FAILURES`` failures within
  ``LOCKOUT_WINDOW_SECONDS``; an address after ``LOCKOUT_IP_FAILURES`` (higher: an office shares
  one address). A successful login clears its username's failures.
- The address is ``REMOTE_ADDR``, or — only when ``TRUSTED_PROXY_IP_HEADER`` names the header a
  trusted proxy sets — the entry that proxy added (``TRUSTED_PROXY_COUNT`` from the right).
  A header a client sends is never trusted otherwise.
- Every failure is logged to ``programdesk.security`` with the username and address, never the
  password.

API tokens are not locked out: they are 256-bit random strings, which guessing cannot find, and
a lockout by address would let anyone lock an office out.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from typing import Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from programdesk.core.models import LoginAttempt

logger = logging.getLogger("programdesk.security")

PRUNE_AFTER = dt.timedelta(days=1)


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address: REMOTE_ADDR, or the trusted proxy's header when configured."""
    if request is None:
        return None
    header = getattr(settings, "TRUSTED_PROXY_IP_HEADER", "")
    if header:
        hops = [h.strip() for h in request.headers.get(header, "").split(",") if h.strip()]
        count = max(_setting("TRUSTED_PROXY_COUNT", 1), 1)
        if len(hops) >= count and _valid_ip(hops[-count]):
            return hops[-count]
    remote = request.META.get("REMOTE_ADDR", "")
    return remote if _valid_ip(remote) else None


def _valid_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _normal(username: str | None) -> str:
    return (username or "").strip().lower()[:150]


def locked_out(username: str | None, ip: str | None) -> bool:
    """Whether a login for this username, or from this address, is refused right now."""
    since = timezone.now() - dt.timedelta(seconds=_setting("LOCKOUT_WINDOW_SECONDS", 900))
    recent = LoginAttempt.objects.filter(at__gte=since)
    name = _normal(username)
    if name and recent.filter(username=name).count() >= _setting("LOCKOUT_USERNAME_FAILURES", 5):
        return True
    return bool(ip) and recent.filter(ip=ip).count() >= _setting("LOCKOUT_IP_FAILURES", 30)


def lockout_message() -> str:
    minutes = max(_setting("LOCKOUT_WINDOW_SECONDS", 900) // 60, 1)
    return (f"Too many failed logins for this account or from this network. Try again in "
            f"{minutes} minutes, or ask an administrator.")


def record_failure(username: str | None, ip: str | None) -> None:
    now = timezone.now()
    LoginAttempt.objects.filter(at__lt=now - PRUNE_AFTER).delete()
    LoginAttempt.objects.create(username=_normal(username), ip=ip, at=now)
    # %r: a username is whatever was typed; repr keeps a newline from forging a log line.
    logger.warning("login failed for username=%r from %s", _normal(username), ip or "unknown")


@receiver(user_login_failed, dispatch_uid="programdesk.lockout.failed")
def _on_login_failed(sender: Any, credentials: dict[str, Any],
                     request: HttpRequest | None = None, **kwargs: Any) -> None:
    if request is not None and getattr(request, "_programdesk_locked_out", False):
        logger.warning("login refused (locked out) for username=%r from %s",
                       _normal(credentials.get("username")), client_ip(request) or "unknown")
        return
    record_failure(credentials.get("username"), client_ip(request))


@receiver(user_logged_in, dispatch_uid="programdesk.lockout.logged_in")
def _on_logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    LoginAttempt.objects.filter(username=_normal(user.get_username())).delete()


class LockoutBackend(ModelBackend):
    """Django's username and password check, refused while the username or address is locked
    out — for every login form (pages and the admin)."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None,
                     password: str | None = None, **kwargs: Any) -> Any:
        if locked_out(username, client_ip(request)):
            if request is not None:
                request._programdesk_locked_out = True  # type: ignore[attr-defined]
            raise PermissionDenied("locked out")
        return super().authenticate(request, username=username, password=password, **kwargs)


class _LockoutForm(auth_forms.AuthenticationForm):
    locked_out_message = ""  # shown instead of "did not match" when set

    def clean(self) -> dict[str, Any]:
        username, ip = self.data.get("username"), client_ip(self.request)
        if locked_out(username, ip):
            logger.warning("login refused (locked out) for username=%r from %s",
                           _normal(username), ip or "unknown")
            self.locked_out_message = lockout_message()
            raise DjangoValidationError(self.locked_out_message, code="locked_out")
        return super().clean()


class LoginForm(_LockoutForm):
    """The login page's form: says so when the account or the address is locked out."""


class AdminLoginForm(_LockoutForm, AdminAuthenticationForm):
    """The admin's login form, with the same lockout."""
