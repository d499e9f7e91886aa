"""What scheduling tells the areas above it when sessions change.

Scheduling sits below participation (participation's rows point at sessions), so it never
imports participation. Yet adding, deleting, moving or cancelling sessions changes who is
expected at them. Scheduling sends these signals from inside its services, and participation
connects receivers in ``ParticipationConfig.ready`` that call its own public writers: the
rows are written by the area that owns them, in the same transaction as the change of the
sessions (``send``, not ``send_robust``: a receiver's error rolls the whole change back).

Receivers answer how many rows they wrote or deleted; ``tell`` adds the answers up for the
services' results ("3 disbursements created").
"""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal

from programdesk.scheduling.models import BenefitSession

# Sessions were added to a schedule that may already have a roster (added after the last
# one, or made by a new rule). Arguments: actor, schedule, sessions (saved, with ids).
# A new schedule has no roster yet, so schedule_create does not send it.
sessions_added = Signal()

# Sessions are about to be deleted. Receivers delete what may go with them (rows that record
# nothing yet); rows that record something keep the session through a protecting foreign
# key, and the delete then fails as a whole. Arguments: actor, schedule, session_ids.
sessions_deleting = Signal()

# One session was changed and saved. Arguments: actor, session (as saved), old_status,
# old_local_date.
session_changed = Signal()


def tell(signal: Signal, **kwargs: Any) -> int:
    """Send ``signal`` and return the sum of the receivers' counts."""
    answers: list[Any] = [answer for _, answer in signal.send(sender=BenefitSession, **kwargs)]
    return sum(answer for answer in answers if isinstance(answer, int))
