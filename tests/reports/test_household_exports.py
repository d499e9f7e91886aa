"""Exports carry households: a disbursement its household snapshot (``household_id``,
``household_size`` as on its date), a person their current household and its size now."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests import factories as f

pytestmark = pytest.mark.django_db


def _rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_people_export_has_the_current_household_and_its_size(client, charlie) -> None:
    harris = f.AccountFactory(name="Harris household", declared_size=2)
    ana, ben = f.PersonFactory(first_name="Ana"), f.PersonFactory(first_name="Ben")
    f.MembershipFactory(person=ana, account=harris)
    f.MembershipFactory(person=ben, account=harris)
    past = f.PersonFactory(first_name="Cleo")
    first = ana.household_memberships.get()
    f.MembershipFactory(person=past, account=harris, end_date=first.start_date)
    past.refresh_from_db()
    assert past.account_id is None
    org = f.AccountFactory(name="Acme", kind="organization")
    f.PersonFactory(first_name="Dan", account=org)
    f.PersonFactory(first_name="Eve")
    client.force_login(charlie)
    rows = _rows(client.get("/exports/people.csv", {"headers": "machine"}))
    got = {r["first_name"]: (r["current_household_id"], r["current_household_size"])
           for r in rows}
    assert got == {"Ana": (str(harris.pk), "4"), "Ben": (str(harris.pk), "4"),
                   "Cleo": ("", ""), "Dan": ("", ""), "Eve": ("", "")}
    human = _rows(client.get("/exports/people.csv"))
    assert "Current household ID" in human[0] and "Current household size" in human[0]


def test_disbursement_export_has_the_household_snapshot(client, alice) -> None:
    harris = f.AccountFactory(name="Harris household")
    f.DisbursementFactory(household=harris, household_size=5)
    f.DisbursementFactory()
    client.force_login(alice)
    rows = _rows(client.get("/exports/disbursements.csv", {"headers": "machine"}))
    assert sorted((r["household_id"], r["household_size"]) for r in rows) == [
        ("", ""), (str(harris.pk), "5")]
