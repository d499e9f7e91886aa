"""Core writes: status values, users and API tokens."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from programdesk.core.audit import audit_record, changes, snapshot
from programdesk.core.errors import Conflict, ValidationError
from programdesk.core.models import (
    DISBURSEMENT_BUCKETS,
    ENROLLMENT_BUCKETS,
    ApiToken,
    IdempotencyRecord,
    StatusKind,
    StatusValue,
    User,
    token_digest,
)
from programdesk.core.relations import related_model
from programdesk.core.roles import Role


def _buckets(kind: str) -> list[str]:
    return DISBURSEMENT_BUCKETS if kind == StatusKind.DISBURSEMENT else ENROLLMENT_BUCKETS


@transaction.atomic
def status_value_create(*, actor: User | None, kind: str, code: str, label: str, bucket: str,
                        order: int | None = None) -> StatusValue:
    if kind not in StatusKind.values:
        raise ValidationError.for_fields({"kind": f"Unknown kind '{kind}'."})
    if bucket not in _buckets(kind):
        raise ValidationError.for_fields(
            {"bucket": f"A {kind} status belongs to one of: {', '.join(_buckets(kind))}."})
    if StatusValue.objects.filter(kind=kind, code=code).exists():
        raise ValidationError.for_fields({"code": f"A {kind} status with code '{code}' exists."})
    if order is None:
        order = (StatusValue.objects.filter(kind=kind).order_by("-order")
                 .values_list("order", flat=True).first() or 0) + 1
    value = StatusValue.objects.create(kind=kind, code=code, label=label, bucket=bucket,
                                       order=order)
    audit_record(actor=actor, action="status_value.create", obj=value, after=snapshot(value))
    return value


@transaction.atomic
def status_value_update(*, actor: User | None, status_value: StatusValue,
                        label: str | None = None, order: int | None = None,
                        is_active: bool | None = None) -> StatusValue:
    """Rename, reorder or retire a value. Its code and bucket never change."""
    value = StatusValue.objects.select_for_update().get(pk=status_value.pk)
    before = snapshot(value)
    if label is not None:
        if not label.strip():
            raise ValidationError.for_fields({"label": "A label is required."})
        value.label = label.strip()
    if order is not None:
        value.order = order
    if is_active is not None:
        if not is_active and value.is_default:
            raise Conflict("The default status cannot be retired; choose another default first.")
        value.is_active = is_active
    value.save(update_fields=["label", "order", "is_active"])
    before, after = changes(before, snapshot(value))
    audit_record(actor=actor, action="status_value.update", obj=value, before=before, after=after)
    return value


@transaction.atomic
def status_value_set_default(*, actor: User | None, status_value: StatusValue) -> StatusValue:
    """Make this value its kind's default. The swap happens in one transaction, so there is
    always exactly one default (the database allows at most one)."""
    value = StatusValue.objects.select_for_update().get(pk=status_value.pk)
    if not value.is_active:
        raise Conflict("A retired status cannot be the default.")
    previous = StatusValue.objects.filter(kind=value.kind, is_default=True).exclude(pk=value.pk)
    previous_ids = list(previous.values_list("id", flat=True))
    previous.update(is_default=False)
    value.is_default = True
    value.save(update_fields=["is_default"])
    audit_record(actor=actor, action="status_value.set_default", obj=value,
                 before={"default_ids": previous_ids}, after={"default_ids": [value.pk]})
    return value


@transaction.atomic
def status_value_delete(*, actor: User | None, status_value: StatusValue) -> None:
    """Delete a value that no record uses. A value in use can only be retired.

    "In use" is answered by the protecting foreign keys of the records that hold a status
    (enrollments, disbursements): core does not know those areas, the database does."""
    value = StatusValue.objects.select_for_update().get(pk=status_value.pk)
    if value.is_default:
        raise Conflict("The default status cannot be deleted.")
    audit_record(actor=actor, action="status_value.delete", obj=value, before=snapshot(value))
    try:
        with transaction.atomic():
            value.delete()
    except (ProtectedError, IntegrityError):
        raise Conflict(f"The status '{value.code}' is in use; retire it instead of deleting "
                       "it.") from None


@transaction.atomic
def user_create(*, actor: User | None, username: str, role: str, password: str | None = None,
                program_ids: Iterable[int] = (), email: str = "") -> User:
    """Create a user with a role, optionally limited to some programs.

    Without a password the user cannot log in to pages until one is set (API tokens still work).
    """
    if role not in Role.values:
        raise ValidationError.for_fields({"role": f"Unknown role '{role}'. Use one of: "
                                                  f"{', '.join(Role.values)}."})
    username = username.strip()
    if not username:
        raise ValidationError.for_fields({"username": "A username is required."})
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(f"A user named '{username}' already exists.")
    program_ids = sorted(set(program_ids))
    # programs sits above core: its Program is reached through User.programs.
    programs = related_model(User, "programs").objects
    found = set(programs.filter(id__in=program_ids).values_list("id", flat=True))
    missing = [pid for pid in program_ids if pid not in found]
    if missing:
        raise ValidationError.for_fields(
            {"programs": f"Unknown program ids: {', '.join(map(str, missing))}."})
    user = User(username=username, role=role, email=email,
                is_staff=role == Role.ADMIN, is_superuser=False)
    if password:
        try:
            validate_password(password, user)
        except DjangoValidationError as exc:
            raise ValidationError.for_fields({"password": " ".join(exc.messages)}) from None
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    if program_ids:
        user.programs.set(program_ids)
    audit_record(actor=actor, action="user.create", obj=user,
                 after={"username": username, "role": role, "programs": program_ids})
    return user


@transaction.atomic
def user_password_set(*, actor: User | None, user: User, password: str, reason: str = "") -> User:
    """Set ``user``'s password (Django's validators apply) and record it — never the hash."""
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationError.for_fields({"password": " ".join(exc.messages)}) from None
    locked = User.objects.select_for_update().get(pk=user.pk)
    locked.set_password(password)
    locked.save(update_fields=["password"])
    audit_record(actor=actor, action="user.password_change", obj=locked,
                 after={"password": "[secret]"}, reason=reason)
    return locked


@transaction.atomic
def user_set_active(*, actor: User | None, user: User, is_active: bool) -> User:
    """Enable or disable a user. Disabling ends their sessions and revokes their API tokens
    (core.signals, which does so for every save that disables a user)."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.is_active == is_active:
        return locked
    locked.is_active = is_active
    locked.save(update_fields=["is_active"])
    audit_record(actor=actor, action="user.enable" if is_active else "user.disable", obj=locked,
                 before={"is_active": not is_active}, after={"is_active": is_active})
    return locked


# A token's lifetime may be set between a day and ten years.
TOKEN_DAYS_MAX = 3650


def _token_days(days: int | None) -> int:
    if days is None:
        return int(settings.API_TOKEN_DAYS)
    if not 1 <= days <= TOKEN_DAYS_MAX:
        raise ValidationError.for_fields(
            {"days": f"A token lasts between 1 and {TOKEN_DAYS_MAX} days."})
    return days


@transaction.atomic
def token_create(*, actor: User | None, user: User, name: str = "",
                 days: int | None = None) -> str:
    """Create an API token for ``user`` and return it. Only its digest is stored.

    It expires after ``days`` (default ``API_TOKEN_DAYS``, one year)."""
    lifetime = _token_days(days)
    raw = "pd_" + secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:10],
                                    digest=token_digest(raw), created_at=now,
                                    expires_at=now + timedelta(days=lifetime))
    audit_record(actor=actor, action="api_token.create", obj=token,
                 after={"user": user.pk, "prefix": token.prefix, "name": name,
                        "expires_at": token.expires_at.isoformat()})
    return raw


@transaction.atomic
def token_rotate(*, actor: User | None, token: ApiToken, days: int | None = None) -> str:
    """Replace ``token`` by a new one for the same user and name, and revoke it, at once.

    The new token gets a full lifetime (``days``, default ``API_TOKEN_DAYS``)."""
    old = ApiToken.objects.select_for_update().filter(pk=token.pk).select_related("user").first()
    if old is None:
        raise Conflict("This token no longer exists (revoked or purged).")
    if not old.user.is_active:
        raise Conflict(f"The user '{old.user.username}' is disabled.")
    raw = token_create(actor=actor, user=old.user, name=old.name, days=days)
    audit_record(actor=actor, action="api_token.rotate", obj=old,
                 before={"prefix": old.prefix}, after={"replaced_by": raw[:10]})
    old.delete()
    return raw


@transaction.atomic
def tokens_purge_expired() -> int:
    """Delete API tokens that have expired; returns how many."""
    expired = list(ApiToken.objects.filter(expires_at__lte=timezone.now())
                   .values_list("pk", flat=True))
    if not expired:
        return 0
    ApiToken.objects.filter(pk__in=expired).delete()
    audit_record(actor=None, action="api_token.purge_expired", object_type="core.apitoken",
                 object_ids=expired, after={"deleted": len(expired)})
    return len(expired)


@transaction.atomic
def idempotency_records_purge() -> int:
    """Delete stored idempotent answers older than ``IDEMPOTENCY_KEEP_HOURS``; returns how many.

    They can hold personal data (the JSON of a created person); a client retries within
    minutes, not days."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEEP_HOURS)
    # An offline device's records (method SYNC) are kept longer: a device sends them up to a
    # day after they were made, and a retry must still find them (docs/front-desk.md).
    sync_cutoff = timezone.now() - timedelta(hours=settings.SYNC_KEEP_HOURS)
    deleted, _ = (IdempotencyRecord.objects.filter(created_at__lt=cutoff)
                  .exclude(method="SYNC", created_at__gte=sync_cutoff).delete())
    return deleted


@transaction.atomic
def admin_save(*, actor: User | None, obj: Any, change: bool, save: Callable[[], None]) -> None:
    """The Django admin's write path: the model's own validation (full_clean), the save, and an
    audit event with what changed — in one transaction."""
    before = {}
    if change and obj.pk is not None:
        old = type(obj).objects.filter(pk=obj.pk).first()
        before = snapshot(old) if old is not None else {}
    save()
    after = snapshot(obj)
    before, after = changes(before, after) if change else ({}, after)
    audit_record(actor=actor, action=f"admin.{'change' if change else 'add'}", obj=obj,
                 before=before or None, after=after)


@transaction.atomic
def admin_delete(*, actor: User | None, obj: Any, delete: Callable[[], None]) -> None:
    audit_record(actor=actor, action="admin.delete", obj=obj, before=snapshot(obj))
    delete()
