"""Service limits: each period and scope with exact dates, the refusal's words, a manager's
override (audited), staff's refused (403), bulk refuse vs skip, constant statements."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from programdesk.core.errors import NotAllowed, ValidationError
from programdesk.core.models import AuditEvent
from programdesk.participation import services
from programdesk.participation.models import BenefitDisbursement
from programdesk.participation.services import DisbursementLine, ServiceLimitExceeded
from programdesk.programs.limits import ServiceLimit, limit_clean
from programdesk.programs.models import Benefit
from tests import factories as f

D = dt.date(2026, 3, 3)  # a Tuesday


def limited(max_: int = 1, per: str = "month", scope: str = "household",
            days: int | None = None, **kwargs: Any) -> Benefit:
    return f.BenefitFactory(limit_max=max_, limit_per=per, limit_days=days, limit_scope=scope,
                            **kwargs)


def give(actor: Any, benefit: Benefit, on: dt.date, reason: str = "", **who: Any) -> Any:
    return services.disbursements_create_ad_hoc(
        actor=actor, disbursed_on=on, override_reason=reason,
        lines=[DisbursementLine(benefit_id=benefit.pk, quantity=Decimal(1))], **who)


# --- the window rule (pure) -------------------------------------------------------------------

@pytest.mark.parametrize(("per", "days", "on", "window"), [
    ("day", None, D, (D, D)),
    ("week", None, D, (dt.date(2026, 3, 2), dt.date(2026, 3, 8))),  # Monday to Sunday
    ("week", None, dt.date(2026, 3, 8), (dt.date(2026, 3, 2), dt.date(2026, 3, 8))),
    ("week", None, dt.date(2026, 3, 9), (dt.date(2026, 3, 9), dt.date(2026, 3, 15))),
    ("month", None, D, (dt.date(2026, 3, 1), dt.date(2026, 3, 31))),
    ("month", None, dt.date(2028, 2, 10), (dt.date(2028, 2, 1), dt.date(2028, 2, 29))),
    ("month", None, dt.date(2026, 12, 31), (dt.date(2026, 12, 1), dt.date(2026, 12, 31))),
    ("year", None, D, (dt.date(2026, 1, 1), dt.date(2026, 12, 31))),
    ("days", 30, D, (dt.date(2026, 2, 2), D)),  # the date and the 29 days before
    ("days", 1, D, (D, D)),
])
def test_the_window_of_each_period(per: str, days: int | None, on: dt.date,
                                   window: tuple[dt.date, dt.date]) -> None:
    assert ServiceLimit(max=1, per=per, scope="person", days=days).window(on) == window


@pytest.mark.parametrize(("value", "fields"), [
    ({"max": 0, "per": "month", "scope": "person"}, ["limit.max"]),
    ({"max": 1, "per": "fortnight", "scope": "person"}, ["limit.per"]),
    ({"max": 1, "per": "month", "scope": "family"}, ["limit.scope"]),
    ({"max": 1, "per": "days", "scope": "person"}, ["limit.days"]),
    ({"max": 1, "per": "month", "days": 30, "scope": "person"}, ["limit.days"]),
    ({"max": True, "per": "month", "scope": "person"}, ["limit.max"]),
])
def test_a_limit_is_checked_field_by_field(value: dict[str, Any], fields: list[str]) -> None:
    with pytest.raises(ValidationError) as caught:
        limit_clean(value)
    assert [e["field"] for e in caught.value.errors] == fields


# --- each period and scope, counted ---------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize(("per", "days", "served", "refused", "allowed"), [
    ("day", None, D, D, D + dt.timedelta(days=1)),
    ("week", None, dt.date(2026, 3, 2), dt.date(2026, 3, 8), dt.date(2026, 3, 9)),
    ("month", None, dt.date(2026, 3, 31), dt.date(2026, 3, 1), dt.date(2026, 4, 1)),
    ("year", None, dt.date(2026, 1, 1), dt.date(2026, 12, 31), dt.date(2027, 1, 1)),
    ("days", 30, dt.date(2026, 2, 2), D, dt.date(2026, 3, 4)),
])
def test_each_period_refuses_inside_its_window_and_allows_outside(
        bob: Any, per: str, days: int | None, served: dt.date, refused: dt.date,
        allowed: dt.date) -> None:
    benefit = limited(per=per, days=days, scope="person")
    person = f.PersonFactory()
    give(bob, benefit, served, person=person)
    with pytest.raises(ServiceLimitExceeded):
        give(bob, benefit, refused, person=person)
    give(bob, benefit, allowed, person=person)
    assert BenefitDisbursement.objects.filter(person=person).count() == 2


@pytest.mark.django_db
def test_max_two_allows_two(bob: Any) -> None:
    benefit = limited(max_=2, per="week", scope="person")
    person = f.PersonFactory()
    give(bob, benefit, D, person=person)
    give(bob, benefit, D, person=person)
    with pytest.raises(ServiceLimitExceeded):
        give(bob, benefit, D, person=person)


@pytest.mark.django_db
def test_household_scope_counts_every_member_and_person_scope_only_the_person(bob: Any) -> None:
    household = f.AccountFactory(name="Harris", declared_size=0)
    ana = f.MembershipFactory(account=household, relationship="head",
                              start_date=dt.date(2025, 1, 1)).person
    ben = f.MembershipFactory(account=household, relationship="child",
                              start_date=dt.date(2025, 1, 1)).person
    per_household = limited(scope="household")
    per_person = limited(scope="person", program=per_household.program)
    give(bob, per_household, D, person=ana)
    give(bob, per_person, D, person=ana)
    with pytest.raises(ServiceLimitExceeded):
        give(bob, per_household, D, person=ben)
    with pytest.raises(ServiceLimitExceeded):  # the household account itself is the household
        give(bob, per_household, D, account=household)
    give(bob, per_person, D, person=ben)
    # Someone in no household counts alone under a household limit.
    alone = f.PersonFactory()
    give(bob, per_household, D, person=alone)
    with pytest.raises(ServiceLimitExceeded):
        give(bob, per_household, D, person=alone)


@pytest.mark.django_db
def test_only_delivered_rows_count_and_other_benefits_do_not(bob: Any) -> None:
    benefit = limited(scope="person")
    person = f.PersonFactory()
    f.DisbursementFactory(assignment=f.AssignmentFactory(benefit=benefit, enrollment=f.
                                                         EnrollmentFactory(
                                                             program=benefit.program,
                                                             person=person)),
                          disbursed_on=D, status=f.status("disbursement", "absent"))
    give(bob, f.BenefitFactory(program=benefit.program), D, person=person)
    give(bob, benefit, D, person=person)  # neither the absence nor the other benefit counts


@pytest.mark.django_db
def test_a_benefit_without_a_limit_is_never_refused(bob: Any) -> None:
    benefit = f.BenefitFactory()
    person = f.PersonFactory()
    for _ in range(3):
        give(bob, benefit, D, person=person)


# --- the refusal, the override ----------------------------------------------------------------

@pytest.mark.django_db
def test_the_refusal_names_the_recipient_and_when_and_where_they_were_last_served(
        bob: Any) -> None:
    benefit = limited(scope="household")
    household = f.AccountFactory(name="Harris", declared_size=0)
    ana = f.MembershipFactory(account=household, relationship="head",
                              start_date=dt.date(2025, 1, 1),
                              person=f.PersonFactory(first_name="Ana", last_name="Harris")).person
    ben = f.MembershipFactory(account=household, relationship="child",
                              start_date=dt.date(2025, 1, 1),
                              person=f.PersonFactory(first_name="Ben", last_name="Harris")).person
    # Served at a session at Site B on 2026-03-03.
    session = f.SessionFactory(schedule=f.ScheduleFactory(benefit=benefit, first_date=D),
                               local_date=D, location="Site B")
    services.session_add_participants(actor=bob, session=session, person_ids=[ana.pk])
    services.check_in(actor=bob, session=session, person_id=ana.pk)
    before = BenefitDisbursement.objects.count()
    with pytest.raises(ServiceLimitExceeded) as caught:
        give(bob, benefit, dt.date(2026, 3, 20), person=ben)
    error = caught.value
    assert error.status == 409
    assert error.errors == [{"field": "items.0.benefit_id", "message": (
        "Harris, Ben: already served this month on 2026-03-03 at Site B "
        "(limit: 1 per household per month).")}]
    assert "served this month on 2026-03-03 at Site B" in error.detail
    assert BenefitDisbursement.objects.count() == before  # nothing written
    # Served outside a session: where is the program.
    other = limited(scope="person")
    give(bob, other, D, person=ana)
    with pytest.raises(ServiceLimitExceeded) as caught:
        give(bob, other, D, person=ana)
    assert f"on 2026-03-03 at {other.program.name}" in caught.value.errors[0]["message"]


@pytest.mark.django_db
def test_a_manager_overrides_with_a_reason_which_is_audited(bob: Any) -> None:
    benefit = limited(scope="person")
    person = f.PersonFactory()
    give(bob, benefit, D, person=person)
    result = give(bob, benefit, D, reason="  Fire at home, lost the first box  ", person=person)
    assert len(result.disbursements) == 1
    event = AuditEvent.objects.filter(action="disbursement.create_ad_hoc").latest("id")
    assert event.reason == "Fire at home, lost the first box"
    assert event.before["limit_overridden"] == [{
        "benefit_id": benefit.pk, "person_id": person.pk, "account_id": None,
        "household_id": None, "count": 1, "last_served_on": "2026-03-03",
        "limit": "1 per person per month"}]


@pytest.mark.django_db
def test_staff_sending_a_reason_is_refused_only_when_a_limit_would_refuse(charlie: Any) -> None:
    benefit = limited(scope="person")
    person = f.PersonFactory()
    give(charlie, benefit, D, reason="just because", person=person)  # nothing to override
    with pytest.raises(NotAllowed):
        give(charlie, benefit, D, reason="just because", person=person)
    with pytest.raises(ServiceLimitExceeded):
        give(charlie, benefit, D, person=person)
    assert BenefitDisbursement.objects.filter(person=person).count() == 1


@pytest.mark.django_db
def test_two_lines_of_one_limited_benefit_count_twice(bob: Any) -> None:
    benefit = limited(scope="person")
    person = f.PersonFactory()
    with pytest.raises(ServiceLimitExceeded) as caught:
        services.disbursements_create_ad_hoc(
            actor=bob, person=person, disbursed_on=D,
            lines=[DisbursementLine(benefit_id=benefit.pk, quantity=Decimal(1))] * 2)
    assert caught.value.errors[0]["field"] == "items.1.benefit_id"
    assert "(this same request)" in caught.value.errors[0]["message"]


# --- bulk: refuse or skip ----------------------------------------------------------------------

def _household_of(n: int) -> tuple[Any, list[Any]]:
    household = f.AccountFactory(declared_size=0)
    members = [f.MembershipFactory(account=household, start_date=dt.date(2025, 1, 1),
                                   relationship="head" if i == 0 else "child").person
               for i in range(n)]
    return household, members


@pytest.mark.django_db
def test_bulk_refuses_by_default_and_writes_nothing(bob: Any) -> None:
    benefit = limited(scope="household")
    _, (ana, ben) = _household_of(2)
    other = f.PersonFactory()
    give(bob, benefit, D, person=ana)
    with pytest.raises(ServiceLimitExceeded) as caught:
        services.disbursements_bulk_walk_in(actor=bob, benefit=benefit, quantity=Decimal(1),
                                            disbursed_on=D, person_ids=[ben.pk, other.pk])
    assert [e["field"] for e in caught.value.errors] == ["person_ids"]
    assert not BenefitDisbursement.objects.filter(person__in=[ben, other]).exists()
    assert not other.enrollments.exists()


@pytest.mark.django_db
def test_bulk_skip_writes_the_rest_and_lists_the_skipped(bob: Any) -> None:
    benefit = limited(scope="household")
    _, (ana, ben, cai) = _household_of(3)
    other = f.PersonFactory()
    give(bob, benefit, dt.date(2026, 3, 1), person=ana)
    result = services.disbursements_bulk_walk_in(
        actor=bob, benefit=benefit, quantity=Decimal(1), disbursed_on=D,
        person_ids=[ben.pk, cai.pk, other.pk], over_limit="skip")
    assert result.disbursements_created == 1
    assert sorted(result.skipped, key=lambda s: s["person_id"]) == [
        {"person_id": ben.pk, "account_id": None, "last_served_on": "2026-03-01"},
        {"person_id": cai.pk, "account_id": None, "last_served_on": "2026-03-01"}]
    assert list(BenefitDisbursement.objects.filter(disbursed_on=D)
                .values_list("person_id", flat=True)) == [other.pk]
    assert not ben.enrollments.exists()  # skipped: no enrollment made for them either
    event = AuditEvent.objects.filter(action="disbursement.bulk_walk_in").latest("id")
    assert len(event.after["skipped"]) == 2


@pytest.mark.django_db
def test_bulk_counts_its_own_earlier_recipients(bob: Any) -> None:
    """Two members of one household in one bulk under "1 per household": one is served."""
    benefit = limited(scope="household")
    _, (ana, ben) = _household_of(2)
    result = services.disbursements_bulk_walk_in(
        actor=bob, benefit=benefit, quantity=Decimal(1), disbursed_on=D,
        person_ids=[ana.pk, ben.pk], over_limit="skip")
    assert result.disbursements_created == 1
    assert len(result.skipped) == 1


@pytest.mark.django_db
def test_bulk_by_enrollment_refuses_a_second_meal_the_same_day(bob: Any) -> None:
    benefit = limited(per="day", scope="person")
    enrollments = f.EnrollmentFactory.create_batch(3, program=benefit.program)
    services.disbursements_bulk_walk_in(actor=bob, benefit=benefit, quantity=Decimal(1),
                                        disbursed_on=D, person_ids=[enrollments[0].person_id])
    with pytest.raises(ServiceLimitExceeded):
        services.disbursements_bulk_enrollment(
            actor=bob, benefit=benefit, quantity=Decimal(1), disbursed_on=D,
            enrollment_ids=[e.pk for e in enrollments])
    result = services.disbursements_bulk_enrollment(
        actor=bob, benefit=benefit, quantity=Decimal(1), disbursed_on=D,
        enrollment_ids=[e.pk for e in enrollments], over_limit="skip")
    assert result.disbursements_created == 2
    assert result.skipped == [{"person_id": enrollments[0].person_id, "account_id": None,
                               "last_served_on": "2026-03-03"}]
    overridden = services.disbursements_bulk_enrollment(
        actor=bob, benefit=benefit, quantity=Decimal(1), disbursed_on=D,
        enrollment_ids=[enrollments[0].pk], override_reason="Second shift")
    assert overridden.disbursements_created == 1
    event = AuditEvent.objects.filter(action="disbursement.bulk_enrollment").latest("id")
    assert event.reason == "Second shift"
    assert event.before["limit_overridden"][0]["person_id"] == enrollments[0].person_id


@pytest.mark.django_db
def test_an_unknown_over_limit_is_a_field_error(bob: Any) -> None:
    benefit = limited(scope="person")
    person = f.PersonFactory()
    with pytest.raises(ValidationError) as caught:
        services.disbursements_bulk_walk_in(actor=bob, benefit=benefit, quantity=Decimal(1),
                                            disbursed_on=D, person_ids=[person.pk],
                                            over_limit="maybe")
    assert caught.value.errors[0]["field"] == "over_limit"


def _bulk_statements(bob: Any, benefit: Benefit, people: list[Any]) -> int:
    with CaptureQueriesContext(connection) as captured:
        services.disbursements_bulk_walk_in(actor=bob, benefit=benefit, quantity=Decimal(1),
                                            disbursed_on=D,
                                            person_ids=[p.pk for p in people], over_limit="skip")
    return len(captured.captured_queries)


@pytest.mark.django_db
def test_a_limited_bulk_of_1000_takes_as_many_statements_as_one_of_10(bob: Any) -> None:
    """Set-based: the check is the same few statements whatever the number of people (half
    of them already served, so skipped)."""
    statements = []
    for n in (10, 1000):
        benefit = limited(scope="household")
        people = [f.MembershipFactory(start_date=dt.date(2025, 1, 1)).person for _ in range(n)]
        services.disbursements_bulk_walk_in(actor=bob, benefit=benefit, quantity=Decimal(1),
                                            disbursed_on=D,
                                            person_ids=[p.pk for p in people[: n // 2]])
        statements.append(_bulk_statements(bob, benefit, people))
    assert statements[0] == statements[1], statements
