from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Waiting"
    RUNNING = "running", "Writing"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"


class ExportJob(models.Model):
    """A list export too large to answer in the request (``PROGRAMDESK_EXPORT_TASK_ROWS``):
    a task (``reports.tasks.export_job_run``) writes the file under
    ``PROGRAMDESK_MEDIA_DIR/exports/`` (storage every app server and task worker shares),
    with its progress here; the user who asked for it downloads it from its page until
    ``expires_at``, when the purge deletes it. ``filters`` are the list's filters, checked
    in the request (``export_jobs.list_filter_json``)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    name = models.CharField(max_length=32)  # the list: people, enrollments, ...
    format = models.CharField(max_length=4)
    filters = models.JSONField(default=dict)
    filename = models.CharField(max_length=128)  # the download's name, without its extension
    stored_name = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=16, choices=ExportStatus.choices,
                              default=ExportStatus.QUEUED)
    row_count = models.PositiveIntegerField(default=0)
    progress_done = models.PositiveIntegerField(default=0)
    size = models.PositiveBigIntegerField(default=0)
    message = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=[s.value for s in ExportStatus]),
                                   name="reports_exportjob_status_valid"),
            models.CheckConstraint(condition=Q(format__in=["csv", "xlsx"]),
                                   name="reports_exportjob_format_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.filename}.{self.format}"
