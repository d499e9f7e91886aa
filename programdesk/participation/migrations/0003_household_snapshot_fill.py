"""Existing disbursements get their household snapshot from today's memberships (the only
ones known when households became dated): a person's current household, or the account itself
when it is a household, with its current size (current members plus the declared ones)."""

from typing import Any

from django.db import migrations
from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce


def snapshots_from_memberships(apps: Any, schema_editor: Any) -> None:
    BenefitDisbursement = apps.get_model("participation", "BenefitDisbursement")
    HouseholdMembership = apps.get_model("people", "HouseholdMembership")
    Account = apps.get_model("people", "Account")
    current = HouseholdMembership.objects.filter(end_date__isnull=True)
    members = (current.filter(account_id=OuterRef("pk")).order_by()
               .values("account_id").annotate(n=Count("pk")).values("n"))
    size_of = (Account.objects.filter(pk=OuterRef("household_id"))
               .annotate(size=Coalesce(Subquery(members, output_field=IntegerField()),
                                       Value(0))
                         + Coalesce("declared_size", Value(0)))
               .values("size"))
    rows = BenefitDisbursement.objects.filter(household_id__isnull=True)
    rows.filter(person_id__isnull=False).update(household_id=Subquery(
        current.filter(person_id=OuterRef("person_id")).values("account_id")[:1]))
    rows.filter(person_id__isnull=True, account_id__isnull=False).filter(
        Q(account__kind="household")).update(household_id=F("account_id"))
    (BenefitDisbursement.objects.filter(household_id__isnull=False, household_size__isnull=True)
     .update(household_size=Subquery(size_of, output_field=IntegerField())))


class Migration(migrations.Migration):

    dependencies = [
        ("participation", "0002_household_snapshot"),
        ("people", "0004_memberships_from_accounts"),
    ]

    operations = [
        migrations.RunPython(snapshots_from_memberships, migrations.RunPython.noop),
    ]
