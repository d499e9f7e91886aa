"""A user who is disabled — ``is_active`` set to False by the admin, ``user_set_active`` or any
other save — is logged out of every session and their API tokens are revoked, in the same
transaction as the change. (A disabled user's session would already stop working, since Django
refuses inactive users; deleting it also ends it for good should they be enabled again.)"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.db.backends.signals import connection_created
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone

from programdesk.core.audit import audit_record
from programdesk.core.middleware import SESSION_STARTED_KEY
from programdesk.core.models import ApiToken, User


def user_sessions_end(user: User) -> int:
    """Delete every session of ``user`` (database sessions); returns how many."""
    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        return 0
    from django.contrib.sessions.models import Session

    mine = [s.pk for s in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
            if s.get_decoded().get(SESSION_KEY) == str(user.pk)]
    Session.objects.filter(pk__in=mine).delete()
    return len(mine)


@receiver(pre_save, sender=User, dispatch_uid="programdesk.user.was_active")
def _remember_active(sender: Any, instance: User, update_fields: Any = None,
                     **kwargs: Any) -> None:
    instance._was_active = None  # type: ignore[attr-defined]
    if instance.pk is None or (update_fields is not None and "is_active" not in update_fields):
        return  # a new user, or a save that cannot change is_active (last_login, say)
    instance._was_active = (User.objects.filter(pk=instance.pk)  # type: ignore[attr-defined]
                            .values_list("is_active", flat=True).first())


@receiver(post_save, sender=User, dispatch_uid="programdesk.user.end_access")
def _end_access_when_disabled(sender: Any, instance: User, created: bool,
                              **kwargs: Any) -> None:
    if created or instance.is_active or not getattr(instance, "_was_active", None):
        return
    with transaction.atomic():
        sessions = user_sessions_end(instance)
        tokens, _ = ApiToken.objects.filter(user=instance).delete()
        audit_record(actor=None, action="user.access_ended", obj=instance,
                     after={"sessions_ended": sessions, "tokens_revoked": tokens},
                     reason="The user was disabled.")


@receiver(user_logged_in, dispatch_uid="programdesk.session.mark_login_time")
def _mark_login_time(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    """The start of the session's absolute lifetime (``SessionLifetimeMiddleware``)."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_STARTED_KEY] = time.time()


@receiver(connection_created, dispatch_uid="programdesk.sqlite.private_files")
def _sqlite_files_private(sender: Any, connection: Any, **kwargs: Any) -> None:
    """The SQLite database, its WAL and shared-memory files: 0600, even if made before the
    umask in settings (an older install, a file copied in). SQLite gives the WAL and -shm files
    the database file's mode."""
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = Path(name + suffix)
        try:
            if path.exists() and path.stat().st_mode & 0o077:
                path.chmod(0o600)
        except OSError:  # not ours (a read-only copy): leave it
            pass
