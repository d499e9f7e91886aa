"""Participation services — the only code that writes enrollments, assignments, rosters and
disbursements. ``writers`` holds the building blocks other areas call to write these tables in
bulk; ``rosters`` adds people to schedules and sessions; ``walk_ins`` adds someone new to one
session (the attendance sheet's quick add); ``attendance`` takes attendance and checks people
in; ``enrollments`` keeps enrollments and cohorts; ``disbursements`` records ad hoc and bulk
disbursements and their corrections."""

from programdesk.participation.services.attendance import *  # noqa: F403
from programdesk.participation.services.disbursements import *  # noqa: F403
from programdesk.participation.services.enrollments import *  # noqa: F403
from programdesk.participation.services.rosters import *  # noqa: F403
from programdesk.participation.services.walk_ins import *  # noqa: F403
from programdesk.participation.services.writers import *  # noqa: F403
