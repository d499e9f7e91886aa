from __future__ import annotations

import io

import pytest
from django.apps import apps
from django.core.management import call_command

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
    assert len(sizes) >= 4
    assert HouseholdMembership.objects.filter(end_date__isnull=False).exists()  # one moved
    served = BenefitDisbursement.objects.filter(household__isnull=False)
    assert served.values("household").distinct().count() >= 20
