"""Two front desks check in two members of one household at the same moment, under a limit of
one per household: exactly one is served — on PostgreSQL because the check locks the household
row before counting, on SQLite because every write transaction is BEGIN IMMEDIATE. Real
threads, each with its own database connection (as tests/security/test_idempotency.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from programdesk.participation import services
from programdesk.participation.models import BenefitDisbursement
from programdesk.participation.services import ServiceLimitExceeded
from programdesk.participation.services import limits as limits_module
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = timezone.localdate()
POSTGRESQL = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL only")


def _two_members_on_a_limited_session() -> tuple[Any, list[int]]:
    benefit = f.BenefitFactory(limit_max=1, limit_per="month", limit_scope="household")
    session = f.SessionFactory(schedule=f.ScheduleFactory(benefit=benefit, first_date=TODAY),
                               local_date=TODAY)
    household = f.AccountFactory(declared_size=0)
    people = [f.MembershipFactory(account=household, relationship=r).person
              for r in ("head", "child")]
    services.session_add_participants(actor=None, session=session,
                                      person_ids=[p.pk for p in people])
    return session, [p.pk for p in people]


def _check_in_both(actor: Any, session: Any, person_ids: list[int]
                   ) -> tuple[list[int], list[BaseException]]:
    served: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(person_ids))

    def desk(person_id: int) -> None:
        try:
            start.wait(timeout=30)
            services.check_in(actor=actor, session=session, person_id=person_id)
            served.append(person_id)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=desk, args=(pid,)) for pid in person_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return served, errors


def _delivered(session: Any) -> int:
    return BenefitDisbursement.objects.filter(session=session,
                                              status__bucket="delivered").count()


def _meet_before(name: str, monkeypatch: pytest.MonkeyPatch, parties: int = 2) -> None:
    """Both desks wait for each other just before the check's ``name`` step, so they reach it
    at the same moment (the race this file is about, made certain rather than likely)."""
    real: Callable[..., Any] = getattr(limits_module, name)
    meet = threading.Barrier(parties)

    def waiting(*args: Any, **kwargs: Any) -> Any:
        meet.wait(timeout=30)
        return real(*args, **kwargs)

    monkeypatch.setattr(limits_module, name, waiting)


def test_two_concurrent_check_ins_of_one_household_serve_one(
        charlie: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    session, person_ids = _two_members_on_a_limited_session()
    if connection.vendor == "postgresql":
        # Both desks have their own row locked and reach the household's lock together.
        _meet_before("_lock", monkeypatch)
    served, errors = _check_in_both(charlie, session, person_ids)
    assert len(served) == 1, (served, errors)
    assert len(errors) == 1 and isinstance(errors[0], ServiceLimitExceeded), errors
    assert _delivered(session) == 1


@POSTGRESQL
def test_without_the_lock_both_would_be_served(charlie: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The same race with the household lock taken out: both desks count no delivery yet and
    both serve — what the lock prevents."""
    session, person_ids = _two_members_on_a_limited_session()
    monkeypatch.setattr(limits_module, "_lock", lambda keys: None)
    _meet_before("_served", monkeypatch)
    served, errors = _check_in_both(charlie, session, person_ids)
    assert not errors, errors
    assert len(served) == 2
    assert _delivered(session) == 2
