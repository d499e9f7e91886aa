"""Someone new to us walks in to a session: created and put on that session in one step."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from programdesk.core.models import User
from programdesk.participation.services.rosters import session_add_participants
from programdesk.participation.services.writers import EligibilityOverride, ParticipationResult
from programdesk.people.models import Person
from programdesk.scheduling.models import BenefitSession

__all__ = ["WalkInAdded", "session_add_new_person"]


@dataclass(frozen=True)
class WalkInAdded:
    person: Person
    result: ParticipationResult


@transaction.atomic
def session_add_new_person(*, actor: User | None, session: BenefitSession, first_name: str,
                           last_name: str, postal_code: str = "",
                           override: EligibilityOverride | None = None) -> WalkInAdded:
    """Create a person with the few fields a front desk asks (the attendance sheet's quick add)
    and add them to this session only, as a walk-in. One transaction: when the session refuses
    them (cancelled, an eligibility rule that blocks) the person is not created either, so
    trying again never leaves a stray record. Looking for duplicates is the door's job
    (``people.selectors.people_find_duplicates``), before it calls this."""
    from programdesk.people.services import person_create

    person = person_create(actor=actor, first_name=first_name, last_name=last_name,
                           postal_code=postal_code)
    result = session_add_participants(actor=actor, session=session, person_ids=[person.pk],
                                      override=override)
    return WalkInAdded(person=person, result=result)
