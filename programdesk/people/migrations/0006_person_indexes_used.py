"""Only the indexes of people_person that queries use: email and phone_key (duplicate
matching) as plain btrees; none on phone (matching and search use phone_key) or postal_code
(searched by fragment). db_index=True had also made, on PostgreSQL, a varchar_pattern_ops
index per column that no query uses — and every index costs each insert.

The old indexes are dropped by name, not by AlterField: on SQLite AlterField rebuilds the
whole table once per field."""

from django.db import migrations, models

OLD = {  # Django's generated names: the plain index, and on PostgreSQL its _like twin
    "email": "people_person_email_cdc75531",
    "phone": "people_person_phone_13c6e3c0",
    "postal_code": "people_person_postal_code_b15be79d",
    "phone_key": "people_person_phone_key_bdd9884f",
}

DROP = [f'DROP INDEX IF EXISTS "{name}{suffix}"' for name in OLD.values()
        for suffix in ("", "_like")]
RECREATE = [f'CREATE INDEX "{name}" ON "people_person" ("{column}")'
            for column, name in OLD.items()]


class Migration(migrations.Migration):

    dependencies = [
        ('people', '0005_card_codes'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='person',
                    name='email',
                    field=models.EmailField(blank=True, max_length=254),
                ),
                migrations.AlterField(
                    model_name='person',
                    name='phone',
                    field=models.CharField(blank=True, max_length=40),
                ),
                migrations.AlterField(
                    model_name='person',
                    name='phone_key',
                    field=models.CharField(blank=True, editable=False, max_length=20),
                ),
                migrations.AlterField(
                    model_name='person',
                    name='postal_code',
                    field=models.CharField(blank=True, max_length=20),
                ),
            ],
            database_operations=[migrations.RunSQL(DROP, reverse_sql=RECREATE)],
        ),
        migrations.AddIndex(
            model_name='person',
            index=models.Index(fields=['email'], name='people_person_email'),
        ),
        migrations.AddIndex(
            model_name='person',
            index=models.Index(fields=['phone_key'], name='people_person_phone_key'),
        ),
    ]
