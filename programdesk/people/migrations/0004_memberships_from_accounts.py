"""Households get dated memberships: every person who belongs to a household today becomes a
current member of it (relationship ``other``; nobody is made head). The membership starts on
the earliest day we know them by: the day they were registered, or their first disbursement
if that is earlier (imported history), so counts for those days find the household."""

import datetime as dt
from typing import Any

from django.db import migrations
from django.db.models import Min
from django.utils import timezone


def memberships_from_accounts(apps: Any, schema_editor: Any) -> int:
    """Create the memberships; people who already have one are left alone (running it twice
    creates nothing). Returns how many were created."""
    Person = apps.get_model("people", "Person")
    HouseholdMembership = apps.get_model("people", "HouseholdMembership")
    BenefitDisbursement = apps.get_model("participation", "BenefitDisbursement")
    people = (Person.objects.filter(account__kind="household")
              .exclude(pk__in=HouseholdMembership.objects.values("person_id"))
              .values_list("pk", "account_id", "created_at"))
    first_served = dict(BenefitDisbursement.objects.filter(person_id__isnull=False)
                        .values_list("person_id").annotate(first=Min("disbursed_on"))
                        .values_list("person_id", "first"))
    now = timezone.now()
    rows = []
    for pk, account_id, created_at in people.iterator(chunk_size=2000):
        start: dt.date = timezone.localdate(created_at) if created_at else now.date()
        if pk in first_served and first_served[pk] < start:
            start = first_served[pk]
        rows.append(HouseholdMembership(person_id=pk, account_id=account_id,
                                        relationship="other", start_date=start, end_date=None,
                                        created_at=now, updated_at=now))
    HouseholdMembership.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


class Migration(migrations.Migration):

    dependencies = [
        ("people", "0003_households"),
        ("participation", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(memberships_from_accounts, migrations.RunPython.noop),
    ]
