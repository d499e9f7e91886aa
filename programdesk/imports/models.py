from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from programdesk.imports.fields import ImportKind

KINDS = [k.value for k in ImportKind]


class ImportMapping(models.Model):
    """The column mapping a user last used for a kind of import: {normalized column name:
    field name, or "" for an ignored column}. The command line run without ``--user``
    remembers its own (user empty)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=ImportKind.choices)
    columns = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], condition=Q(user__isnull=False),
                                    name="imports_importmapping_one_per_user"),
            models.UniqueConstraint(fields=["kind"], condition=Q(user__isnull=True),
                                    name="imports_importmapping_one_for_command_line"),
            models.CheckConstraint(condition=Q(kind__in=KINDS),
                                   name="imports_importmapping_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} mapping of {self.user or 'the command line'}"


class JobStatus(models.TextChoices):
    READING = "reading", "Reading the file"
    UPLOADED = "uploaded", "Uploaded"
    CHECKING = "checking", "Checking"
    CHECKED = "checked", "Checked"
    RUNNING = "running", "Importing"
    DONE = "done", "Imported"
    FAILED = "failed", "Failed"


class ImportJob(models.Model):
    """One uploaded file on its way in through the import page (or the API's background
    imports): read, mapped, checked (dry run), then imported. The file itself waits under
    ``PROGRAMDESK_MEDIA_DIR/imports/`` (storage every app server and task worker shares) and is
    deleted once imported. Reading it, the check and the import run as tasks
    (``imports.tasks``) on a task worker, which writes their progress here: ``phase``,
    ``progress_done`` of ``progress_total`` and ``heartbeat_at``, read by whichever web worker
    answers the page.
    During the import's write transaction those writes are part of the transaction (seen
    when it commits); the row lock they take tells a live import from a dead one."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    kind = models.CharField(max_length=16, choices=ImportKind.choices)
    filename = models.CharField(max_length=255)
    stored_name = models.CharField(max_length=64, unique=True)
    size = models.PositiveIntegerField()
    row_count = models.PositiveIntegerField(default=0)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=list)
    # A few values of each column (the mapping form shows them), kept when the file is read
    # so that showing the form does not read the file again.
    samples = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=JobStatus.choices,
                              default=JobStatus.READING)
    summary = models.JSONField(default=dict, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # What the last task did, or does after reading the file ("read": nothing more; "check"
    # or "commit"), and the task queue's id for it.
    action = models.CharField(max_length=8, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    phase = models.CharField(max_length=32, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    # The task's last sign of life (its claim, then each progress write).
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=KINDS),
                                   name="imports_importjob_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=[s.value for s in JobStatus]),
                                   name="imports_importjob_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} import of {self.filename}"
