"""What the services answer, in the front desk's language.

Services speak English: the API, the imports and the audit log carry their messages as they
are. The front desk's pages (web/language.py) show the ones they may meet in the desk's
language: each known message is a pattern here, matched at the door and given again through
gettext. A message not listed stays in English (never lost, never mangled); a service message
a front-desk page can show belongs here (tests/web/test_front_desk_language.py checks that each
pattern has its Spanish, and that the patterns still match what the services say).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from programdesk.core.errors import ValidationError

Translate = Callable[[re.Match[str]], str]


def _people_refused(match: re.Match[str]) -> str:
    count = 1 if match["one"] else int(match["many"])
    return ngettext(
        "{count} person does not meet this benefit's eligibility rules. A manager may "
        "override with a reason.",
        "{count} people do not meet this benefit's eligibility rules. A manager may "
        "override with a reason.", count).format(count=count)


# (the service's message as a pattern, its message in the active language). Kept in step with
# the services by tests/web/test_front_desk_language.py (test_known_service_messages_match).
KNOWN: list[tuple[re.Pattern[str], Translate]] = [
    (re.compile(r"This session is cancelled; its attendance cannot be recorded\."),
     lambda m: _("This session is cancelled; its attendance cannot be recorded.")),
    (re.compile(r"This session is cancelled; nobody can be added to it\."),
     lambda m: _("This session is cancelled; nobody can be added to it.")),
    (re.compile(r"Someone with this name is registered already\."),
     lambda m: _("Someone with this name is registered already.")),
    (re.compile(r"Unknown person (?P<id>\d+)\."),
     lambda m: _("Unknown person {id}.").format(id=m["id"])),
    (re.compile(r"(?:(?P<one>1 person does)|(?P<many>\d+) people do) not meet this benefit's "
                r"eligibility rules\. A manager may override with a reason\."), _people_refused),
    (re.compile(r"Only a manager may override eligibility rules\."),
     lambda m: _("Only a manager may override eligibility rules.")),
    (re.compile(r"Say why the eligibility rules are overridden\."),
     lambda m: _("Say why the eligibility rules are overridden.")),
    (re.compile(r"The benefit '(?P<name>.*)' is not active; activate it before adding "
                r"participants\."),
     lambda m: _("The benefit '{name}' is not active; activate it before adding "
                 "participants.").format(name=m["name"])),
    (re.compile(r"The status '(?P<status>.*)' is retired\."),
     lambda m: _("The status '{status}' is retired.").format(status=m["status"])),
    (re.compile(r"Unknown status '(?P<status>.*)'\. Use one of: (?P<codes>.*)\."),
     lambda m: _("Unknown status '{status}'. Use one of: {codes}.").format(
         status=m["status"], codes=m["codes"])),
    (re.compile(r"Must not be negative\."), lambda m: _("Must not be negative.")),
    (re.compile(r"Disbursement (?P<id>\d+) is not on this session\."),
     lambda m: _("Disbursement {id} is not on this session.").format(id=m["id"])),
    (re.compile(r"Each disbursement may appear only once\."),
     lambda m: _("Each disbursement may appear only once.")),
    (re.compile(r"There is already an active enrollment \(#(?P<id>\d+)\) for (?P<who>.*) in "
                r"this program; a participant has one active enrollment per program at a "
                r"time\."),
     lambda m: _("There is already an active enrollment (#{id}) for {who} in this program; a "
                 "participant has one active enrollment per program at a time.").format(
         id=m["id"], who=m["who"])),
    (re.compile(r"Not found"), lambda m: _("Not found.")),
    (re.compile(r"This field is required\."), lambda m: _("This field is required.")),
]


def front_desk_message(message: str) -> str:
    """A service's message in the active language when it is a known one; else as it is."""
    for pattern, translate in KNOWN:
        if match := pattern.fullmatch(message):
            return translate(match)
    return message


def translated(exc: ValidationError) -> ValidationError:
    """A service's field errors with their messages in the active language, for a form."""
    return ValidationError(front_desk_message(exc.detail), errors=[
        {**error, "message": front_desk_message(error["message"])} for error in exc.errors])
