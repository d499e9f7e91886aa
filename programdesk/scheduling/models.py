from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import models
from django.db.models import F, Q

from programdesk.core.models import TimeStampedModel
from programdesk.programs.models import quantity_field


def session_quantity(*, schedule_quantity: Decimal | None, benefit_quantity: Decimal) -> Decimal:
    """How much each person is expected to receive at a session: the schedule's default
    quantity, else its benefit's. (For code that reads the two values as plain rows; with a
    schedule at hand use ``BenefitSchedule.session_quantity``.)"""
    return schedule_quantity if schedule_quantity is not None else benefit_quantity


class BenefitSchedule(TimeStampedModel):
    """Recurring sessions of a benefit.

    The first session is stored as wall-clock date and time in ``timezone`` plus a duration;
    sessions are expanded from ``recurrence`` in that zone (scheduling/recurrence.py), so a weekly
    18:00 class stays at 18:00 across daylight-saving changes.
    """

    benefit = models.ForeignKey("programs.Benefit", on_delete=models.PROTECT,
                                related_name="schedules")
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64)
    first_date = models.DateField()
    start_time = models.TimeField()
    duration = models.DurationField()
    recurrence = models.JSONField(default=dict)
    # Dates the rule gives that staff dropped (holidays), ISO strings; kept so that adding
    # sessions or changing the rule later does not bring them back.
    skip_dates = models.JSONField(default=list, blank=True)
    capacity = models.PositiveIntegerField(null=True, blank=True)
    default_quantity = quantity_field(null=True, blank=True)
    location = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["benefit__name", "first_date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(duration__gt=dt.timedelta(0)),
                                   name="scheduling_benefitschedule_end_after_start"),
            models.CheckConstraint(condition=Q(capacity__isnull=True) | Q(capacity__gte=1),
                                   name="scheduling_benefitschedule_capacity_positive"),
            models.CheckConstraint(
                condition=Q(default_quantity__isnull=True) | Q(default_quantity__gte=0),
                name="scheduling_benefitschedule_quantity_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def session_quantity(self) -> Decimal:
        """The quantity of each disbursement at the schedule's sessions (reads ``benefit``)."""
        return session_quantity(schedule_quantity=self.default_quantity,
                                benefit_quantity=self.benefit.default_quantity)

    @property
    def first_wall_start(self) -> dt.datetime:
        """The first session's start as naive wall-clock time in ``timezone``."""
        return dt.datetime.combine(self.first_date, self.start_time)


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    POSTPONED = "postponed", "Postponed"


class BenefitSession(TimeStampedModel):
    schedule = models.ForeignKey(BenefitSchedule, on_delete=models.PROTECT,
                                 related_name="sessions")
    # Copied from the schedule so "sessions of this benefit/program on this day" needs no join.
    benefit = models.ForeignKey("programs.Benefit", on_delete=models.PROTECT,
                                related_name="sessions")
    start = models.DateTimeField()
    end = models.DateTimeField()
    # The start's date in the schedule's time zone: what users call "the session's date".
    local_date = models.DateField(db_index=True)
    status = models.CharField(max_length=16, choices=SessionStatus.choices,
                              default=SessionStatus.SCHEDULED)
    location = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["start", "id"]
        indexes = [models.Index(fields=["benefit", "start"])]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")),
                                   name="scheduling_benefitsession_end_after_start"),
            models.UniqueConstraint(fields=["schedule", "start"],
                                    name="scheduling_benefitsession_unique_start"),
            models.CheckConstraint(condition=Q(status__in=[s.value for s in SessionStatus]),
                                   name="scheduling_benefitsession_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.schedule} {self.local_date}"

    @property
    def local_start(self) -> dt.datetime:
        """The start in the schedule's own time zone (what users see)."""
        return self.start.astimezone(self.schedule.zone)

    @property
    def local_end(self) -> dt.datetime:
        return self.end.astimezone(self.schedule.zone)
