"""Participation services — the only code that writes enrollments, assignments, rosters and
disbursements. ``writers`` holds the building blocks other areas call to write these tables in
bulk; ``rosters`` adds people to schedules and sessions; ``attendance`` takes attendance,
checks people in and adds someone new to a session (the kiosk's and the sheet's walk-ins);
``enrollments`` keeps enrollments and cohorts; ``disbursements`` records ad hoc and bulk
disbursements and their corrections."""

from programdesk.participation.services.attendance import *  # noqa: F403
from programdesk.participation.services.disbursements import *  # noqa: F403
from programdesk.participation.services.enrollments import *  # noqa: F403
from programdesk.participation.services.limits import *  # noqa: F403
from programdesk.participation.services.rosters import *  # noqa: F403
from programdesk.participation.services.writers import *  # noqa: F403
