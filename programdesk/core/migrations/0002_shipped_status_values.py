"""Status values shipped with Program Desk, matching Nonprofit Cloud's (docs/design.md §1)."""

from django.db import migrations

SHIPPED = {
    "disbursement": [
        ("enrolled", "Enrolled", "expected", True),
        ("completed", "Completed", "delivered", False),
        ("absent", "Absent", "absent", False),
        ("excused", "Excused", "excused", False),
        ("cancelled", "Cancelled", "cancelled", False),
    ],
    "enrollment": [
        ("applied", "Applied", "applied", False),
        ("waitlisted", "Waitlisted", "waitlisted", False),
        ("enrolled", "Enrolled", "active", True),
        ("in_progress", "In Progress", "active", False),
        ("completed", "Completed", "completed", False),
        ("withdrawn", "Withdrawn", "withdrawn", False),
        ("denied", "Denied", "denied", False),
    ],
}


def ship(apps, schema_editor):
    StatusValue = apps.get_model("core", "StatusValue")
    for kind, values in SHIPPED.items():
        for order, (code, label, bucket, is_default) in enumerate(values, start=1):
            StatusValue.objects.get_or_create(
                kind=kind, code=code,
                defaults={"label": label, "bucket": bucket, "is_default": is_default,
                          "order": order})


def unship(apps, schema_editor):
    StatusValue = apps.get_model("core", "StatusValue")
    for kind, values in SHIPPED.items():
        StatusValue.objects.filter(kind=kind, code__in=[v[0] for v in values]).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(ship, unship)]
