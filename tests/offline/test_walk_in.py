"""The walk-in distribution page offline (docs/front-desk.md, Offline): what the roster offers a
device for a benefit's walk-in page, and the walk-in disbursements it sends back — for someone
on the list, or for a walk-in quick-added on the device (the kiosk's duplicate check: a likely
match goes to staff review, and "merge" gives the benefit to the person found)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from programdesk.core.models import AuditEvent, IdempotencyRecord, User
from programdesk.offline import selectors
from programdesk.offline.models import ConflictState, SyncConflict
from programdesk.offline.services import sync_conflict_resolve
from programdesk.participation import services
from programdesk.participation.models import BenefitDisbursement
from programdesk.people.models import Person
from programdesk.programs.models import Benefit
from tests import factories as f
from tests.conftest import ApiClient
from tests.offline.util import record, sync

pytestmark = pytest.mark.django_db


def _serve(actor: User, benefit: Benefit, person: Person, days_ago: int = 3) -> None:
    services.disbursements_create_ad_hoc(
        actor=actor, person=person,
        disbursed_on=timezone.localdate() - dt.timedelta(days=days_ago),
        lines=[services.DisbursementLine(benefit.pk, Decimal(1))])


@pytest.fixture
def pantry(charlie: User) -> dict[str, Any]:
    """A pantry's walk-in benefit; Rosa and Kai were served by its program lately, Old Tom long
    ago; another program's benefit served Zed."""
    benefit = f.BenefitFactory(name="Groceries")
    rosa = f.PersonFactory(first_name="Rosa", last_name="Delgado", card_code="ROSA-1",
                           household_size=3, birth_date=dt.date(1981, 4, 7),
                           annual_income=Decimal("12345"), postal_code="02121")
    kai = f.PersonFactory(first_name="Kai", last_name="Grant")
    tom = f.PersonFactory(first_name="Tom", last_name="Oldman")
    for person in (rosa, kai):
        _serve(charlie, benefit, person)
    _serve(charlie, benefit, rosa, days_ago=10)  # served twice: listed once
    _serve(charlie, benefit, tom, days_ago=selectors.WALK_IN_RECENT_DAYS + 5)
    other = f.BenefitFactory(name="Bus pass")
    zed = f.PersonFactory(first_name="Zed", last_name="Other")
    _serve(charlie, other, zed)
    return {"benefit": benefit, "rosa": rosa, "kai": kai, "tom": tom, "other": other,
            "zed": zed}


# --- the roster -----------------------------------------------------------------------------


def test_the_roster_offers_the_people_the_benefits_program_served_recently(
        charlie: User, pantry: dict[str, Any]) -> None:
    benefit = pantry["benefit"]
    body = ApiClient(charlie).get("offline/roster", benefit=[benefit.pk]).json()
    (entry,) = body["benefits"]
    assert entry["benefit_id"] == benefit.pk and entry["name"] == "Groceries"
    assert [p["display_name"] for p in entry["people"]] == ["Rosa Delgado", "Kai Grant"]
    rosa = next(p for p in entry["people"] if p["person_id"] == pantry["rosa"].pk)
    assert rosa == {"person_id": pantry["rosa"].pk, "display_name": "Rosa Delgado",
                    "household_size": 3, "card_code": "ROSA-1"}
    text = str(body)
    # Nothing more about anyone: no birth date, income or postal code; nobody served long ago.
    for kept_back in ("1981", "12345", "02121", "Oldman", "Zed"):
        assert kept_back not in text
    # Without ?benefit= the device keeps no walk-in list.
    assert ApiClient(charlie).get("offline/roster").json()["benefits"] == []


def test_the_roster_leaves_out_benefits_the_user_may_not_log(
        charlie: User, kim: User, pantry: dict[str, Any]) -> None:
    benefit, other = pantry["benefit"], pantry["other"]
    limited = f.UserFactory(role="staff")
    limited.programs.add(benefit.program)
    body = ApiClient(limited).get("offline/roster", benefit=[benefit.pk, other.pk, 10**9]).json()
    assert [b["benefit_id"] for b in body["benefits"]] == [benefit.pk]
    assert "Zed" not in str(body)
    # A kiosk logs no disbursements: no walk-in lists at all.
    assert ApiClient(kim).get("offline/roster", benefit=[benefit.pk]).json()["benefits"] == []
    assert ApiClient(charlie).get("offline/roster", benefit="x").status_code == 422


def test_the_roster_takes_a_constant_number_of_queries(charlie: User,
                                                       pantry: dict[str, Any]) -> None:
    def count(benefit_ids: list[int]) -> int:
        with CaptureQueriesContext(connection) as queries:
            selectors.offline_walk_in_roster(user=charlie, benefit_ids=benefit_ids)
        return len(queries)

    one = count([pantry["benefit"].pk])
    more = [f.BenefitFactory() for _ in range(4)]
    for benefit in more:
        _serve(charlie, benefit, f.PersonFactory())
    assert count([pantry["benefit"].pk, *(b.pk for b in more)]) == one <= 3


# --- the sync -------------------------------------------------------------------------------


def _delivered_code() -> str:
    from programdesk.core.selectors import status_first_in_bucket

    return status_first_in_bucket("disbursement", "delivered").code


def _walk_in(benefit: Benefit, **fields: Any) -> dict[str, Any]:
    return record("walk_in_disbursement", benefit_id=benefit.pk, quantity=2,
                  status=_delivered_code(), **fields)


def test_walk_in_disbursements_and_a_quick_added_walk_in_are_recorded_once(
        charlie: User, pantry: dict[str, Any]) -> None:
    benefit = pantry["benefit"]
    client = ApiClient(charlie)
    records = [_walk_in(benefit, person_id=pantry["rosa"].pk),
               _walk_in(benefit, person_id=pantry["kai"].pk),
               _walk_in(benefit, first_name="Noor", last_name="Haddad", postal_code="02139")]
    first = sync(client, records)
    assert [r["outcome"] for r in first] == ["applied"] * 3
    again = sync(client, records)
    assert [r["outcome"] for r in again] == ["already_applied"] * 3
    today = BenefitDisbursement.objects.filter(benefit=benefit,
                                               disbursed_on=timezone.localdate())
    assert today.count() == 3
    noor = Person.objects.get(first_name="Noor", last_name="Haddad")
    assert noor.postal_code == "02139"
    assert today.get(person=noor).quantity == Decimal(2)
    assert IdempotencyRecord.objects.filter(method="SYNC").count() == 3
    assert AuditEvent.objects.filter(action="sync.walk_in_disbursement").count() == 3
    assert AuditEvent.objects.filter(action="person.create", object_id=noor.pk).count() == 1


def test_a_quick_added_walk_in_who_matches_someone_is_reviewed_and_merge_gives_them_the_benefit(
        charlie: User, pantry: dict[str, Any]) -> None:
    benefit, rosa = pantry["benefit"], pantry["rosa"]
    results = sync(ApiClient(charlie), [_walk_in(benefit, first_name="Rosa",
                                                 last_name="Delgado")])
    assert results[0]["outcome"] == "conflict"
    assert results[0]["reason"] == "possible_duplicate"
    conflict = SyncConflict.objects.get()
    assert rosa.pk in {m["person_id"] for m in conflict.matches}
    assert conflict.payload["first_name"] == "Rosa"
    assert Person.objects.filter(last_name="Delgado").count() == 1
    before = BenefitDisbursement.objects.filter(person=rosa).count()
    sync_conflict_resolve(actor=charlie, conflict=conflict, resolution="merge",
                          person_id=rosa.pk)
    conflict.refresh_from_db()
    assert conflict.state == ConflictState.MERGED
    assert BenefitDisbursement.objects.filter(person=rosa).count() == before + 1
    assert Person.objects.filter(last_name="Delgado").count() == 1


def test_apply_registers_the_quick_added_walk_in_as_someone_new(
        charlie: User, pantry: dict[str, Any]) -> None:
    benefit = pantry["benefit"]
    sync(ApiClient(charlie), [_walk_in(benefit, first_name="Rosa", last_name="Delgado")])
    conflict = SyncConflict.objects.get()
    sync_conflict_resolve(actor=charlie, conflict=conflict, resolution="apply",
                          note="Another Rosa: different household")
    (new,) = Person.objects.filter(last_name="Delgado").exclude(pk=pantry["rosa"].pk)
    assert BenefitDisbursement.objects.get(person=new).benefit == benefit


def test_a_quick_add_whose_benefit_is_refused_creates_nobody(charlie: User,
                                                             pantry: dict[str, Any]) -> None:
    benefit = pantry["benefit"]
    Benefit.objects.filter(pk=benefit.pk).update(is_active=False)
    results = sync(ApiClient(charlie), [_walk_in(benefit, first_name="Noor",
                                                 last_name="Haddad")])
    assert results[0]["outcome"] == "conflict"
    assert not Person.objects.filter(first_name="Noor").exists()


@pytest.mark.parametrize(("fields", "message"), [
    ({}, "Give a person_id, or a first and last name."),
    ({"first_name": "Noor"}, "Give a person_id, or a first and last name."),
    ({"first_name": "  ", "last_name": " "}, "Give a person_id, or a first and last name."),
    ({"person_id": "ROSA", "first_name": "Noor", "last_name": "Haddad"},
     "Give a person_id or a name, not both."),
])
def test_bad_walk_in_records_are_rejected_one_by_one(charlie: User, pantry: dict[str, Any],
                                                     fields: dict[str, Any],
                                                     message: str) -> None:
    benefit = pantry["benefit"]
    if fields.get("person_id") == "ROSA":
        fields = {**fields, "person_id": pantry["rosa"].pk}
    good = _walk_in(benefit, person_id=pantry["kai"].pk)
    results = sync(ApiClient(charlie), [_walk_in(benefit, **fields), good])
    assert results[0]["outcome"] == "rejected" and results[0]["reason"] == "invalid"
    assert results[0]["detail"] == message
    assert results[1]["outcome"] == "applied"
    assert SyncConflict.objects.count() == 0


def test_walk_in_records_for_an_unknown_or_another_programs_benefit_are_rejected(
        pantry: dict[str, Any]) -> None:
    limited = f.UserFactory(role="staff")
    limited.programs.add(pantry["benefit"].program)
    no_benefit = record("walk_in_disbursement", person_id=pantry["rosa"].pk)
    results = sync(ApiClient(limited), [
        _walk_in(pantry["other"], person_id=pantry["rosa"].pk),
        _walk_in(pantry["other"], first_name="Noor", last_name="Haddad"), no_benefit])
    assert [r["outcome"] for r in results] == ["rejected"] * 3
    assert [r["reason"] for r in results] == ["not_found", "not_found", "invalid"]
    assert not Person.objects.filter(first_name="Noor").exists()
    assert not BenefitDisbursement.objects.filter(benefit=pantry["other"],
                                                  person=pantry["rosa"]).exists()
