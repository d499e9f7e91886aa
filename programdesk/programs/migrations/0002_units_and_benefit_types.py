"""Units of measure and benefit types every organisation starts with."""

from django.db import migrations

UNITS = [
    ("hour", "Hour"), ("minute", "Minute"), ("session", "Session"), ("meal", "Meal"),
    ("item", "Item"), ("pass", "Pass"), ("kit", "Kit"), ("usd", "USD"),
]

BENEFIT_TYPES = [
    ("Class or group session", "service", "session"),
    ("Coaching", "service", "hour"),
    ("Counseling", "service", "hour"),
    ("Tutoring", "service", "hour"),
    ("Meal", "goods", "meal"),
    ("Transit pass", "goods", "pass"),
    ("Relief kit", "goods", "kit"),
    ("Supplies", "goods", "item"),
    ("Cash assistance", "monetary", "usd"),
]


def seed(apps, schema_editor):
    Unit = apps.get_model("programs", "UnitOfMeasure")
    BenefitType = apps.get_model("programs", "BenefitType")
    units = {}
    for code, name in UNITS:
        units[code], _ = Unit.objects.get_or_create(code=code, defaults={"name": name})
    for name, kind, unit in BENEFIT_TYPES:
        BenefitType.objects.get_or_create(name=name, defaults={"kind": kind, "unit": units[unit]})


def unseed(apps, schema_editor):
    apps.get_model("programs", "BenefitType").objects.filter(
        name__in=[b[0] for b in BENEFIT_TYPES]).delete()
    apps.get_model("programs", "UnitOfMeasure").objects.filter(
        code__in=[u[0] for u in UNITS]).delete()


class Migration(migrations.Migration):
    dependencies = [("programs", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
