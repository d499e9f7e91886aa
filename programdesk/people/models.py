from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from programdesk.core.models import TimeStampedModel
from programdesk.people import matching


class AccountKind(models.TextChoices):
    HOUSEHOLD = "household", "Household"
    ORGANIZATION = "organization", "Organization"


class Account(TimeStampedModel):
    """A household or an organisation. People may belong to one; none is fine too."""

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=AccountKind.choices,
                            default=AccountKind.HOUSEHOLD)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    postal_code = models.CharField(max_length=20, blank=True, db_index=True)
    # A household's people who live there but are not registered as people here ("and three
    # children"): its size is its current members plus these.
    declared_size = models.PositiveSmallIntegerField(null=True, blank=True)
    annual_income = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    # The household's check-in card (people.services.card_issue): random, re-issued when lost.
    card_code = models.CharField(max_length=32, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["household", "organization"]),
                                   name="people_account_kind_valid"),
            models.CheckConstraint(condition=Q(annual_income__isnull=True)
                                   | Q(annual_income__gte=0),
                                   name="people_account_income_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class Person(TimeStampedModel):
    """An individual client ("Contact"). Only first and last name are required."""

    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    birth_date = models.DateField(null=True, blank=True)
    # Indexed in Meta (email) or not at all (phone: matching and search use phone_key;
    # postal_code: searched by fragment, which no btree serves) — see Meta.indexes.
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="members")
    household_size = models.PositiveSmallIntegerField(null=True, blank=True)
    annual_income = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    # Printed on a card or QR code for the check-in kiosk.
    card_code = models.CharField(max_length=32, null=True, blank=True, unique=True)
    extra = models.JSONField(default=dict, blank=True)
    # Matching keys for duplicate detection and search, derived from the fields above on every
    # save (people.matching): Soundex of each name, the phone's digits.
    first_name_key = models.CharField(max_length=20, blank=True, editable=False)
    last_name_key = models.CharField(max_length=20, blank=True, editable=False)
    phone_key = models.CharField(max_length=20, blank=True, editable=False)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        verbose_name_plural = "people"
        indexes = [
            models.Index(fields=["last_name", "first_name"]),
            models.Index(fields=["last_name_key", "first_name_key"],
                         name="people_person_name_keys"),
            models.Index(fields=["birth_date"], name="people_person_birth_date"),
            # Duplicate matching looks people up by email and phone digits (equality, IN):
            # plain btrees. Declared here and not with db_index=True, which on PostgreSQL adds
            # a second, varchar_pattern_ops index per column for LIKE 'x%' — no query uses
            # one, and every index costs each insert (a 100,000-person import spent about a
            # third of its write in the six dropped: docs/performance.md, round 5).
            models.Index(fields=["email"], name="people_person_email"),
            models.Index(fields=["phone_key"], name="people_person_phone_key"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(first_name="") & ~Q(last_name=""),
                                   name="people_person_name_required"),
            models.CheckConstraint(condition=Q(household_size__isnull=True)
                                   | Q(household_size__gte=1),
                                   name="people_person_household_size_positive"),
            models.CheckConstraint(condition=Q(annual_income__isnull=True)
                                   | Q(annual_income__gte=0),
                                   name="people_person_income_not_negative"),
        ]

    def __str__(self) -> str:
        return self.full_name

    KEY_FIELDS = ("first_name_key", "last_name_key", "phone_key")

    def fill_keys(self) -> None:
        """Derive the matching keys. ``save()`` calls it; bulk_create callers must too."""
        self.first_name_key = matching.sound_key(self.first_name)
        self.last_name_key = matching.sound_key(self.last_name)
        self.phone_key = matching.phone_key(self.phone)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.fill_keys()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, *self.KEY_FIELDS}
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def kiosk_name(self) -> str:
        """What the check-in kiosk may show: first name and last initial."""
        return f"{self.first_name} {self.last_name[:1]}."


class RevokedCardCode(TimeStampedModel):
    """A card code taken back (a lost card, re-issued): remembered so that a scan of the old
    card says "this card was replaced" rather than "unknown", and never issued again. Whose it
    was, so staff can tell who to ask; ``created_at`` is when it was revoked."""

    code = models.CharField(max_length=32, unique=True)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE,
                               related_name="revoked_card_codes")
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="revoked_card_codes")

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(person__isnull=False, account__isnull=True)
                           | Q(person__isnull=True, account__isnull=False)),
                name="people_revokedcardcode_one_holder"),
        ]

    def __str__(self) -> str:
        return self.code


class Relationship(models.TextChoices):
    """A member's relationship to the head of the household."""

    HEAD = "head", "Head of household"
    SPOUSE_PARTNER = "spouse_partner", "Spouse or partner"
    CHILD = "child", "Child"
    OTHER_RELATIVE = "other_relative", "Other relative"
    OTHER = "other", "Other"


class HouseholdMembership(TimeStampedModel):
    """A person's membership of a household from ``start_date`` to ``end_date`` (the last day,
    inclusive; none while current). Dated, so a count for a past day finds who lived where
    then. ``Person.account`` mirrors the current one; the services keep both in step."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE,
                               related_name="household_memberships")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    relationship = models.CharField(max_length=16, choices=Relationship.choices,
                                    default=Relationship.OTHER)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["start_date", "id"]
        indexes = [models.Index(fields=["account", "start_date"],
                                name="people_membership_account")]
        constraints = [
            # Current = no end date. A person lives in one household at a time, and a
            # household has one head at a time: partial unique indexes on both databases.
            models.UniqueConstraint(fields=["person"], condition=Q(end_date__isnull=True),
                                    name="people_householdmembership_one_current_household"),
            models.UniqueConstraint(fields=["account"],
                                    condition=Q(end_date__isnull=True, relationship="head"),
                                    name="people_householdmembership_one_current_head"),
            models.CheckConstraint(condition=Q(end_date__isnull=True)
                                   | Q(end_date__gte=F("start_date")),
                                   name="people_householdmembership_end_after_start"),
            models.CheckConstraint(condition=Q(relationship__in=Relationship.values),
                                   name="people_householdmembership_relationship_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} in {self.account_id} from {self.start_date}"

    @property
    def is_current(self) -> bool:
        return self.end_date is None


class DocumentType(models.TextChoices):
    AGE = "age", "Proof of age"
    ADDRESS = "address", "Proof of address"
    INCOME = "income", "Proof of income"


class PersonDocument(TimeStampedModel):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="documents")
    document_type = models.CharField(max_length=16, choices=DocumentType.choices)
    verified_on = models.DateField()
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-verified_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(document_type__in=["age", "address", "income"]),
                                   name="people_persondocument_type_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_document_type_display()} {self.verified_on}"


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Case(TimeStampedModel):
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="cases")
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="cases")
    subject = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="cases")
    programs = models.ManyToManyField("programs.Program", blank=True, related_name="cases")
    opened_on = models.DateField()
    closed_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(person__isnull=False, account__isnull=True)
                           | Q(person__isnull=True, account__isnull=False)),
                name="people_case_one_client",
            ),
            models.CheckConstraint(condition=Q(status__in=["open", "closed"]),
                                   name="people_case_status_valid"),
            models.CheckConstraint(
                condition=Q(closed_on__isnull=True) | Q(closed_on__gte=F("opened_on")),
                name="people_case_closed_after_opened",
            ),
        ]

    def __str__(self) -> str:
        return self.subject
