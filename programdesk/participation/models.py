from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from programdesk.core.models import TimeStampedModel
from programdesk.programs.models import quantity_field

# A person, or an account, or — when anonymous — neither. Shared by the three tables below.
NAMED_PERSON = Q(person__isnull=False, account__isnull=True)
NAMED_ACCOUNT = Q(person__isnull=True, account__isnull=False)
NOBODY = Q(person__isnull=True, account__isnull=True)


class ProgramEnrollment(TimeStampedModel):
    program = models.ForeignKey("programs.Program", on_delete=models.PROTECT,
                                related_name="enrollments")
    person = models.ForeignKey("people.Person", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="enrollments")
    account = models.ForeignKey("people.Account", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="enrollments")
    is_anonymous = models.BooleanField(default=False)
    status = models.ForeignKey("core.StatusValue", on_delete=models.PROTECT, related_name="+")
    # True exactly when the status is in the "active" bucket; kept by the services so that the
    # one-active-enrollment rule can be a partial unique index.
    is_active = models.BooleanField(default=True)
    application_date = models.DateField(null=True, blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "program enrollment"
        constraints = [
            models.CheckConstraint(
                condition=((NAMED_PERSON | NAMED_ACCOUNT) & Q(is_anonymous=False))
                | (NOBODY & Q(is_anonymous=True)),
                name="participation_enrollment_one_enrollee",
            ),
            models.UniqueConstraint(fields=["program", "person"],
                                    condition=Q(is_active=True, person__isnull=False),
                                    name="participation_enrollment_one_active_per_person"),
            models.UniqueConstraint(fields=["program", "account"],
                                    condition=Q(is_active=True, account__isnull=False),
                                    name="participation_enrollment_one_active_per_account"),
            models.UniqueConstraint(fields=["program"],
                                    condition=Q(is_active=True, is_anonymous=True),
                                    name="participation_enrollment_one_active_anonymous"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(start_date__isnull=True)
                | Q(end_date__gte=F("start_date")),
                name="participation_enrollment_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"Enrollment #{self.pk}"


class BenefitAssignment(TimeStampedModel):
    """The entitlement: this enrollee gets this benefit."""

    benefit = models.ForeignKey("programs.Benefit", on_delete=models.PROTECT,
                                related_name="assignments")
    enrollment = models.ForeignKey(ProgramEnrollment, on_delete=models.PROTECT,
                                   related_name="assignments")
    # Copied from the enrollment so rosters and reports need no join.
    person = models.ForeignKey("people.Person", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    account = models.ForeignKey("people.Account", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    is_anonymous = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["benefit", "enrollment"],
                                    name="participation_assignment_unique"),
            models.CheckConstraint(
                condition=((NAMED_PERSON | NAMED_ACCOUNT) & Q(is_anonymous=False))
                | (NOBODY & Q(is_anonymous=True)),
                name="participation_assignment_one_enrollee",
            ),
        ]

    def __str__(self) -> str:
        return f"Assignment #{self.pk}"


class ScheduleAssignment(TimeStampedModel):
    """The roster: this assignment is on this schedule from ``start_date`` to ``end_date``."""

    schedule = models.ForeignKey("scheduling.BenefitSchedule", on_delete=models.CASCADE,
                                 related_name="roster")
    assignment = models.ForeignKey(BenefitAssignment, on_delete=models.CASCADE,
                                   related_name="schedule_entries")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "assignment"],
                                    name="participation_scheduleassignment_unique"),
            models.CheckConstraint(condition=Q(end_date__isnull=True)
                                   | Q(end_date__gte=F("start_date")),
                                   name="participation_scheduleassignment_end_after_start"),
        ]


class RecipientType(models.TextChoices):
    ENROLLMENT = "enrollment", "Enrollment"
    WALK_IN = "walk_in", "Walk-in"
    ANONYMOUS = "anonymous", "Anonymous"


class BenefitDisbursement(TimeStampedModel):
    """One delivery (or expected delivery) of a benefit. Attendance is a disbursement."""

    assignment = models.ForeignKey(BenefitAssignment, on_delete=models.PROTECT,
                                   related_name="disbursements")
    session = models.ForeignKey("scheduling.BenefitSession", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="disbursements")
    # Copied from the assignment so every report is a single-table aggregate.
    enrollment = models.ForeignKey(ProgramEnrollment, on_delete=models.PROTECT,
                                   related_name="disbursements")
    benefit = models.ForeignKey("programs.Benefit", on_delete=models.PROTECT,
                                related_name="disbursements")
    program = models.ForeignKey("programs.Program", on_delete=models.PROTECT,
                                related_name="disbursements")
    person = models.ForeignKey("people.Person", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="disbursements")
    account = models.ForeignKey("people.Account", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="disbursements")
    case = models.ForeignKey("people.Case", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="disbursements")
    recipient_type = models.CharField(max_length=16, choices=RecipientType.choices,
                                      default=RecipientType.ENROLLMENT)
    recipient_count = models.PositiveIntegerField(default=1)
    quantity = quantity_field()
    unit = models.ForeignKey("programs.UnitOfMeasure", on_delete=models.PROTECT, related_name="+")
    status = models.ForeignKey("core.StatusValue", on_delete=models.PROTECT, related_name="+")
    # A session's disbursement carries the session's local date.
    disbursed_on = models.DateField()
    extra = models.JSONField(default=dict, blank=True)
    # The recipient's household and its size (registered members plus declared ones) as they
    # were on ``disbursed_on``, written with the row and never recomputed, so a count for a
    # past month does not drift when people move. None for organisations, anonymous rows and
    # people in no household.
    household = models.ForeignKey("people.Account", null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    household_size = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-disbursed_on", "-id"]
        indexes = [
            models.Index(fields=["program", "disbursed_on"]),
            models.Index(fields=["benefit", "disbursed_on"]),
            models.Index(fields=["disbursed_on"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "session"],
                                    condition=Q(session__isnull=False),
                                    name="participation_disbursement_one_per_session"),
            models.CheckConstraint(condition=Q(quantity__gte=0),
                                   name="participation_disbursement_quantity_not_negative"),
            models.CheckConstraint(condition=Q(recipient_count__gte=1),
                                   name="participation_disbursement_recipient_count_positive"),
            models.CheckConstraint(
                condition=((NAMED_PERSON | NAMED_ACCOUNT)
                           & Q(recipient_type__in=["enrollment", "walk_in"], recipient_count=1))
                | (NOBODY & Q(recipient_type="anonymous")),
                name="participation_disbursement_one_recipient",
            ),
        ]

    def __str__(self) -> str:
        return f"Disbursement #{self.pk}"


class CohortMember(TimeStampedModel):
    cohort = models.ForeignKey("programs.ProgramCohort", on_delete=models.CASCADE,
                               related_name="members")
    enrollment = models.ForeignKey(ProgramEnrollment, on_delete=models.CASCADE,
                                   related_name="cohort_memberships")
    added_on = models.DateField()
    removed_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["cohort", "enrollment"],
                                    condition=Q(removed_on__isnull=True),
                                    name="participation_cohortmember_unique_current"),
            models.CheckConstraint(condition=Q(removed_on__isnull=True)
                                   | Q(removed_on__gte=F("added_on")),
                                   name="participation_cohortmember_removed_after_added"),
        ]
