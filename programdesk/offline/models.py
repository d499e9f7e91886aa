"""The offline front desk's records (docs/front-desk.md, Offline): what a device sent that the
server could not apply, kept for staff to resolve. Which records were applied is told by the
``IdempotencyRecord`` each one claimed (method ``SYNC``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SyncKind(models.TextChoices):
    CHECK_IN = "check_in", _("Check-in")
    ATTENDANCE = "attendance", _("Attendance mark")
    REGISTER = "register", _("Quick-added walk-in")
    WALK_IN_DISBURSEMENT = "walk_in_disbursement", _("Walk-in disbursement")


class ConflictReason(models.TextChoices):
    SERVICE_LIMIT = "service_limit", _("A service limit was reached")
    PERSON_MERGED = "person_merged", _("The person was merged into another record")
    SESSION_CANCELLED = "session_cancelled", _("The session was cancelled")
    POSSIBLE_DUPLICATE = "possible_duplicate", _("The walk-in may be someone registered already")
    ELIGIBILITY = "eligibility_blocked", _("An eligibility rule refuses it")
    REFUSED = "refused", _("The server refused it")


class ConflictState(models.TextChoices):
    OPEN = "open", _("Waiting for review")
    APPLIED = "applied", _("Applied")
    MERGED = "merged", _("Applied to another person")
    DISCARDED = "discarded", _("Discarded")


class SyncConflict(models.Model):
    """A record made offline that the server could not apply as it was: what the device sent,
    the server's reason, and — once staff decide — what was done."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="+")  # who was logged in on the device
    device_id = models.CharField(max_length=64)
    record_id = models.CharField(max_length=200)  # made on the device: its Idempotency-Key
    kind = models.CharField(max_length=24, choices=SyncKind.choices)
    # The record as sent: ids, a status code, a quantity; a quick-added walk-in's name.
    payload = models.JSONField(default=dict)
    happened_at = models.DateTimeField()  # the device's time, bounded (services.happened_at)
    program = models.ForeignKey("programs.Program", on_delete=models.CASCADE, related_name="+")
    session = models.ForeignKey("scheduling.BenefitSession", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=24, choices=ConflictReason.choices)
    detail = models.TextField()  # the server's own words
    # What a resolution may need: the person a merged one became, the likely matches.
    matches = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=12, choices=ConflictState.choices,
                             default=ConflictState.OPEN)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One conflict per record: a retried sync never files it twice.
            models.UniqueConstraint(fields=["user", "record_id"],
                                    name="offline_syncconflict_unique_record"),
            models.CheckConstraint(
                condition=Q(state="open", resolved_at__isnull=True)
                | (~Q(state="open") & Q(resolved_at__isnull=False)),
                name="offline_syncconflict_resolved_when_closed"),
        ]
        indexes = [models.Index(fields=["state", "program"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.record_id} ({self.reason})"
