"""Participation services — the only code that writes enrollments, assignments, rosters and
disbursements. ``participants`` adds people to schedules and sessions and takes attendance;
``disbursements`` records ad hoc and bulk disbursements and their corrections."""

from programdesk.participation.services.disbursements import *  # noqa: F403
from programdesk.participation.services.participants import *  # noqa: F403
