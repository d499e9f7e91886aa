from __future__ import annotations

import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.utils.timezone import localdate

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    return {m._meta.label: m._default_manager.count() for m in apps.get_models()
            if m._meta.app_label in {"core", "people", "programs", "scheduling", "participation"}}


def test_demo_twice_duplicates_nothing(settings, tmp_path) -> None:
    settings.VAR_DIR = tmp_path
    call_command("demo", stdout=io.StringIO())
    first = counts()
    assert first["people.Person"] >= 300
    call_command("demo", stdout=io.StringIO())
    assert counts() == first


def test_demo_has_households_of_several_sizes_and_counts_them(settings, tmp_path) -> None:
    from programdesk.participation.models import BenefitDisbursement
    from programdesk.people.models import HouseholdMembership
    from programdesk.people.selectors import households_today

    settings.VAR_DIR = tmp_path
    call_command("demo", stdout=io.StringIO())
    ids = set(HouseholdMembership.objects.values_list("account_id", flat=True))
    sizes = {f.size for f in households_today(ids).values()}
    assert set(range(1, 11)) <= sizes
    # The food pantry: a few hundred boxes these four months, to people of every age band
    # and to households, so the funders' counts have numbers.
    boxes = BenefitDisbursement.objects.filter(benefit__name="Food box")
    assert boxes.count() >= 200
    assert boxes.filter(household__isnull=False).values("household").distinct().count() >= 20
    today = localdate()
    ages = {(today - born).days // 365 for born in boxes.values_list("person__birth_date",
                                                                      flat=True)}
    assert min(ages) <= 5 and max(ages) >= 75 and any(14 <= a <= 17 for a in ages)
    first = boxes.order_by("disbursed_on").values_list("disbursed_on", flat=True)[0]
    assert (today - first).days > 90
    assert HouseholdMembership.objects.filter(end_date__isnull=False).exists()  # one moved
    served = BenefitDisbursement.objects.filter(household__isnull=False)
    assert served.values("household").distinct().count() >= 20
