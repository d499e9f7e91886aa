from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone

from programdesk.core.roles import ROLE_CAPS, Cap, Role


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class User(AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    # Empty means every program; otherwise the user sees only these programs and their records.
    programs = models.ManyToManyField("programs.Program", blank=True, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=[r.value for r in Role]), name="core_user_role_valid"
            ),
        ]

    def can(self, cap: Cap) -> bool:
        if not self.is_active:
            return False
        if self.is_superuser:
            return True
        return cap in ROLE_CAPS.get(self.role, frozenset())

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        # The Django admin's per-model permissions follow the role: admins configure everything.
        if self.is_active and self.role == Role.ADMIN:
            return True
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label: str) -> bool:
        if self.is_active and self.role == Role.ADMIN:
            return True
        return super().has_module_perms(app_label)

    def visible_program_ids(self) -> frozenset[int] | None:
        """The programs this user may see, or None for all of them. Cached per instance."""
        cached: frozenset[int] | bool | None = getattr(self, "_visible_program_ids", False)
        if cached is False:
            ids = frozenset(self.programs.values_list("id", flat=True)) if self.pk else frozenset()
            cached = ids or None
            self._visible_program_ids = cached
        return cached  # type: ignore[return-value]

    def visible_programs_known(self, ids: Iterable[int]) -> None:
        """Set what ``visible_program_ids`` answers, read along with the user (the API's token
        check): empty means every program, as in the database."""
        self._visible_program_ids = frozenset(ids) or None


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """An API token. Only its SHA-256 digest is stored; the token itself is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, help_text="The first characters, to tell tokens apart")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(help_text="Refused from this moment on")
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class LoginAttempt(models.Model):
    """A failed login (core.lockout): enough of them lock the username or the address out."""

    username = models.CharField(max_length=150, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["username", "at"], name="core_loginattempt_user_at"),
                   models.Index(fields=["ip", "at"], name="core_loginattempt_ip_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.ip}"


class AuditQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("audit events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("audit events are append-only")


class AuditEvent(models.Model):
    """Append-only record of every write. Written by services inside the same transaction."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.BigIntegerField(null=True, blank=True)
    # Bulk writes record one event per batch and list the ids they touched here.
    object_ids = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    reason = models.TextField(blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["object_type", "object_id"])]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}#{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("audit events are append-only")


class StatusKind(models.TextChoices):
    DISBURSEMENT = "disbursement", "Disbursement"
    ENROLLMENT = "enrollment", "Enrollment"


class Bucket(models.TextChoices):
    """The fixed meanings behind configurable status values. Code and reports rely on these."""

    # disbursement
    EXPECTED = "expected", "Expected"
    DELIVERED = "delivered", "Delivered"
    ABSENT = "absent", "Absent"
    EXCUSED = "excused", "Excused"
    CANCELLED = "cancelled", "Cancelled"
    # enrollment
    APPLIED = "applied", "Applied"
    WAITLISTED = "waitlisted", "Waitlisted"
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    WITHDRAWN = "withdrawn", "Withdrawn"
    DENIED = "denied", "Denied"


DISBURSEMENT_BUCKETS = ["expected", "delivered", "absent", "excused", "cancelled"]
ENROLLMENT_BUCKETS = ["applied", "waitlisted", "active", "completed", "withdrawn", "denied"]


class StatusValue(models.Model):
    kind = models.CharField(max_length=16, choices=StatusKind.choices)
    code = models.SlugField(max_length=40)
    label = models.CharField(max_length=80)
    bucket = models.CharField(max_length=16, choices=Bucket.choices)
    is_default = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True, help_text="Retired values stay on old records")
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["kind", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "code"], name="core_statusvalue_unique_code"),
            models.UniqueConstraint(fields=["kind"], condition=Q(is_default=True),
                                    name="core_statusvalue_one_default"),
            models.CheckConstraint(
                condition=(Q(kind="disbursement", bucket__in=DISBURSEMENT_BUCKETS)
                           | Q(kind="enrollment", bucket__in=ENROLLMENT_BUCKETS)),
                name="core_statusvalue_bucket_of_kind",
            ),
            models.CheckConstraint(condition=Q(is_default=False) | Q(is_active=True),
                                   name="core_statusvalue_default_is_active"),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.kind})"


class FieldTarget(models.TextChoices):
    PERSON = "person", "Person"
    ENROLLMENT = "enrollment", "Enrollment"
    DISBURSEMENT = "disbursement", "Disbursement"


class FieldType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    DATE = "date", "Date"
    BOOLEAN = "boolean", "Yes/no"
    CHOICE = "choice", "Choice"


class FieldDefinition(models.Model):
    """An extra field an admin adds to people, enrollments or disbursements.

    With no program and no benefit it applies everywhere; otherwise only within that scope.
    Values live in the record's ``extra`` JSON column, validated by core.custom_fields.
    """

    target = models.CharField(max_length=16, choices=FieldTarget.choices)
    key = models.SlugField(max_length=50, help_text="Name of the value in `extra` (API, imports)")
    label = models.CharField(max_length=100)
    field_type = models.CharField(max_length=16, choices=FieldType.choices)
    required = models.BooleanField(default=False)
    max_length = models.PositiveIntegerField(null=True, blank=True)
    choices = models.JSONField(default=list, blank=True, help_text="For choice fields: a list")
    help_text = models.CharField(max_length=200, blank=True)
    program = models.ForeignKey("programs.Program", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="field_definitions")
    benefit = models.ForeignKey("programs.Benefit", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="field_definitions")
    order = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["target", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["target", "key"],
                                    name="core_fielddefinition_unique_key"),
            models.CheckConstraint(condition=Q(program__isnull=True) | Q(benefit__isnull=True),
                                   name="core_fielddefinition_one_scope"),
            models.CheckConstraint(condition=Q(max_length__isnull=True) | Q(max_length__gte=1),
                                   name="core_fielddefinition_max_length_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.target})"


class IdempotencyRecord(models.Model):
    """The first answer to a write sent with an ``Idempotency-Key`` header (docs/api.md)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    body_digest = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)  # null: in progress
    response_body = models.BinaryField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"],
                                    name="core_idempotencyrecord_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"
