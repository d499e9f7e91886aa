"""Calendar feeds (RFC 5545) of a schedule's or a program's sessions, and their signed URLs.

Google Calendar and Outlook fetch a subscribed feed without cookies or bearer tokens, so each
feed has an unguessable URL: ``?key=`` is an HMAC of the object with the server's SECRET_KEY
(rotating SECRET_KEY invalidates every feed URL). The feeds hold no personal data — only the
sessions' times, place, status and the names of the program, benefit and schedule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils.crypto import constant_time_compare, salted_hmac
from icalendar import Calendar, Event

from programdesk.scheduling.models import BenefitSession, SessionStatus

_SALT = "programdesk.scheduling.calendar"
PRODID = "-//Program Desk//Sessions//EN"
_STATUS = {
    SessionStatus.SCHEDULED: "CONFIRMED",
    SessionStatus.COMPLETED: "CONFIRMED",
    SessionStatus.POSTPONED: "TENTATIVE",
    SessionStatus.CANCELLED: "CANCELLED",
}


def feed_key(kind: str, pk: int) -> str:
    """The ``key`` of the feed of ``kind`` ("schedule" or "program") ``pk``."""
    return salted_hmac(_SALT, f"{kind}:{pk}", algorithm="sha256").hexdigest()[:32]


def key_is_valid(kind: str, pk: int, key: str | None) -> bool:
    return bool(key) and constant_time_compare(feed_key(kind, pk), key or "")


def schedule_feed_path(schedule_id: int) -> str:
    """The subscription path (no host) of a schedule's feed, key included."""
    return f"/api/v1/schedules/{schedule_id}/calendar.ics?key={feed_key('schedule', schedule_id)}"


def program_feed_path(program_id: int) -> str:
    """The subscription path (no host) of a program's feed, key included."""
    return f"/api/v1/programs/{program_id}/calendar.ics?key={feed_key('program', program_id)}"


def calendar(sessions: Iterable[BenefitSession], *, name: str, uid_domain: str,
             url_base: str = "") -> bytes:
    """The sessions (with ``schedule`` and ``benefit__program`` loaded) as an iCalendar file,
    with a VTIMEZONE for every zone used. UIDs are ``session-<id>@<uid_domain>``: stable as long
    as the session exists, so a calendar app updates an event rather than duplicating it."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    # How often subscribers should refresh (RFC 7986, and the older Microsoft property).
    cal.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    first: dt.date | None = None
    last: dt.date | None = None
    for session in sessions:
        first = min(first or session.local_date, session.local_date)
        last = max(last or session.local_date, session.local_date)
        schedule = session.schedule
        benefit = session.benefit
        tz = schedule.zone
        event = Event()
        event.add("uid", f"session-{session.pk}@{uid_domain}")
        event.add("dtstamp", session.updated_at.astimezone(dt.UTC))
        event.add("last-modified", session.updated_at.astimezone(dt.UTC))
        event.add("dtstart", session.start.astimezone(tz))
        event.add("dtend", session.end.astimezone(tz))
        title = f"{benefit.name}: {schedule.name}"
        if session.status == SessionStatus.CANCELLED:
            title = f"Cancelled: {title}"
        event.add("summary", title)
        event.add("status", _STATUS.get(SessionStatus(session.status), "CONFIRMED"))
        location = session.location or schedule.location
        if location:
            event.add("location", location)
        event.add("description", f"{benefit.program.name} · {benefit.name} · {schedule.name}"
                                 f" ({session.get_status_display()})")
        if url_base:
            event.add("url", f"{url_base}/sessions/{session.pk}/")
        cal.add_component(event)
    if first is not None and last is not None:
        # VTIMEZONE transitions covering the sessions (with a margin), not a fixed 1970–2038.
        cal.add_missing_timezones(first_date=first - dt.timedelta(days=366),
                                  last_date=last + dt.timedelta(days=366))
    return cal.to_ical()
