import datetime

import django.utils.timezone
from django.db import migrations, models


def expire_a_year_after_creation(apps, schema_editor):
    ApiToken = apps.get_model("core", "ApiToken")
    for token in ApiToken.objects.all().only("pk", "created_at"):
        ApiToken.objects.filter(pk=token.pk).update(
            expires_at=token.created_at + datetime.timedelta(days=365))


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0003_login_attempts"),
    ]

    operations = [
        # Set by token_create, so that expires_at is exactly the lifetime after it.
        migrations.AlterField(
            model_name="apitoken",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(null=True, help_text="Refused from this moment on"),
        ),
        migrations.RunPython(expire_a_year_after_creation, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(help_text="Refused from this moment on"),
        ),
    ]
