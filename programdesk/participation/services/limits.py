"""Service limits, counted: before a write adds delivered disbursements of a limited benefit,
count what each recipient (or their household) already received in the limit's window and
refuse, skip or — with a manager's reason — let through those past it.

Set-based: whatever the number of recipients, a check is at most two locking statements, one
aggregate over the delivered disbursements in the windows, and — only when someone is refused —
one read of where they were last served and one of their names. It runs inside the write's
transaction, before the insert or update, so what it counted is what the write adds to.

Concurrency: two front desks serving one household at once must not both get past a limit of
one. On PostgreSQL the check first locks the rows of whom it counts — the household accounts,
or the people (accounts) for a per-person limit — with ``SELECT ... FOR UPDATE`` in id order
(so two checks never wait on each other in a cycle); the second desk waits there until the
first commits, and its count (READ COMMITTED: a new snapshot per statement) then sees the first
delivery. On SQLite every write transaction is ``BEGIN IMMEDIATE`` (settings.py), which already
lets one writer at a time through.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Count, Q
from django.utils.translation import gettext

from programdesk.core.bulk import id_values
from programdesk.core.errors import Conflict, NotAllowed, ValidationError
from programdesk.core.models import User
from programdesk.core.roles import Cap, Role
from programdesk.participation.models import BenefitDisbursement
from programdesk.people.models import Account, Person
from programdesk.programs.limits import ServiceLimit

# Whom a limit counts: ("person", id), ("account", id) or ("household", id).
LimitKey = tuple[str, int]

KIOSK_MESSAGE = "Please see a staff member."


class OverLimit:
    """What bulk writes do with recipients past a limit: refuse the whole call, or skip them."""

    REFUSE = "refuse"
    SKIP = "skip"
    CHOICES = (REFUSE, SKIP)


class ServiceLimitExceeded(Conflict):
    """A delivery past a benefit's service limit (409); ``errors`` name each recipient and when
    and where they were last served."""

    title = "Service limit reached"
    # A kiosk is told only to see a staff member; what staff would be told (who, when, where)
    # rides along for a record filed for their review (offline sync), never in the answer.
    staff_detail = ""


@dataclass(frozen=True)
class LimitCandidate:
    """One delivery a write is about to add: of which benefit, to whom, on which day.
    ``field`` is what the refusal names (``person_ids``, ``records.3.disbursement_id``)."""

    benefit_id: int
    person_id: int | None
    account_id: int | None
    household_id: int | None
    on: dt.date
    field: str = "person_id"

    def key(self, limit: ServiceLimit) -> LimitKey | None:
        """Whom this delivery counts against: the household for a per-household limit (a
        person in none counts alone), else the person or account. None: nobody (anonymous)."""
        if limit.scope == "household" and self.household_id is not None:
            return ("household", self.household_id)
        if self.person_id is not None:
            return ("person", self.person_id)
        if self.account_id is not None:
            return ("account", self.account_id)
        return None


@dataclass(frozen=True)
class LimitHit:
    """A candidate past its benefit's limit: ``count`` deliveries in the window already,
    the last on ``last_served_on`` (``where``: the session's location, else the program)."""

    candidate: LimitCandidate
    limit: ServiceLimit
    count: int
    last_served_on: dt.date
    where: str = ""
    name: str = ""

    def message(self) -> str:
        """"Harris, Ana: already served this month on 2026-03-03 at Site B (limit: 1 per
        household per month)." """
        place = gettext(" at %(where)s") % {"where": self.where} if self.where else ""
        return gettext("%(name)s: already served %(period)s on %(day)s%(place)s "
                       "(limit: %(limit)s).") % {
            "name": self.name, "period": self.limit.period_words(),
            "day": self.last_served_on.isoformat(), "place": place,
            "limit": self.limit.describe()}


@dataclass
class LimitOutcome:
    """What a check let through: the indexes (into the candidates) skipped, and what to audit
    about an override."""

    skipped: list[LimitHit] = field(default_factory=list)
    overridden: list[LimitHit] = field(default_factory=list)
    reason: str = ""

    @property
    def skipped_candidates(self) -> set[LimitCandidate]:
        return {h.candidate for h in self.skipped}

    def audit(self) -> dict[str, Any]:
        """For the write's audit event: ``{"limit_overridden": [...]}`` when a manager went past
        a limit (their reason goes in the event's ``reason``)."""
        if not self.overridden:
            return {}
        return {"limit_overridden": [
            {"benefit_id": h.candidate.benefit_id, "person_id": h.candidate.person_id,
             "account_id": h.candidate.account_id, "household_id": h.candidate.household_id,
             "count": h.count, "last_served_on": h.last_served_on.isoformat(),
             "limit": h.limit.describe()} for h in self.overridden]}


def limits_check(*, limits: Mapping[int, ServiceLimit], candidates: Sequence[LimitCandidate],
                 exclude_ids: Sequence[int] = (), lock: bool = True) -> list[LimitHit]:
    """The candidates past their benefit's limit (``limits``: benefit id → limit; benefits
    without one are not counted). Counted in date order, the call's own earlier candidates
    included: two members of one household in one bulk under "1 per household" are one hit.
    Locks first (see the module's docstring). Constant statements whatever the number.
    ``exclude_ids``: rows the write already marked delivered (a sheet, a check-in), which are
    the candidates themselves, not earlier deliveries. ``lock=False``: a dry run's check,
    outside any write transaction (an import's; its write checks again, locking)."""
    counted = [(c, limits[c.benefit_id], key) for c in candidates
               if c.benefit_id in limits and (key := c.key(limits[c.benefit_id])) is not None]
    if not counted:
        return []
    if lock:
        _lock(key for _, _, key in counted)
    served = _served(counted, exclude_ids)
    hits: list[LimitHit] = []
    added: dict[tuple[int, LimitKey], list[dt.date]] = defaultdict(list)
    for candidate, limit, key in sorted(counted, key=lambda t: t[0].on):
        start, end = limit.window(candidate.on)
        days = [day for day in served.get((candidate.benefit_id, key), [])
                + added[(candidate.benefit_id, key)] if start <= day <= end]
        if len(days) >= limit.max:
            hits.append(LimitHit(candidate=candidate, limit=limit, count=len(days),
                                 last_served_on=max(days)))
        else:
            added[(candidate.benefit_id, key)].append(candidate.on)
    return hits


def limits_enforce(*, actor: User | None, hits: Sequence[LimitHit], override_reason: str = "",
                   over_limit: str = OverLimit.REFUSE) -> LimitOutcome:
    """What to do with the hits: a manager's (or admin's) non-empty ``override_reason`` lets
    them through (audited by the caller with ``LimitOutcome.audit``); else ``skip`` leaves them
    out, and ``refuse`` raises ``ServiceLimitExceeded`` naming each, nothing written. A reason
    from anyone else is refused (403) — only when a limit would refuse. A kiosk's refusal
    names nobody: it only says to see a staff member."""
    if over_limit not in OverLimit.CHOICES:
        raise ValidationError.for_fields({"over_limit": (
            f"Choose one of: {', '.join(OverLimit.CHOICES)}.")})
    if not hits:
        return LimitOutcome()
    reason = (override_reason or "").strip()
    if reason:
        if actor is None or not actor.can(Cap.MANAGE_PROGRAMS):
            raise NotAllowed("Only a manager may go past a service limit.")
        return LimitOutcome(overridden=list(hits), reason=reason)
    if over_limit == OverLimit.SKIP:
        return LimitOutcome(skipped=list(hits))
    described = limit_hits_described(hits)
    detail = (" ".join(h.message() for h in described[:3])
              + (f" (and {len(described) - 3} more)" if len(described) > 3 else "")
              + " A manager may override with a reason.")
    if actor is not None and actor.role == Role.KIOSK:
        message = gettext(KIOSK_MESSAGE)
        refused = ServiceLimitExceeded(message, errors=[{"field": hits[0].candidate.field,
                                                         "message": message}],
                                       type="service_limit")
        refused.staff_detail = detail
        raise refused
    raise ServiceLimitExceeded(
        detail,
        errors=[{"field": h.candidate.field, "message": h.message()} for h in described],
        type="service_limit")


def limit_hits_described(hits: Sequence[LimitHit]) -> list[LimitHit]:
    """The hits with the recipient's name and where they were last served: two reads,
    whatever the number."""
    names = _names(hits)
    places = _places(hits)
    return [LimitHit(candidate=h.candidate, limit=h.limit, count=h.count,
                     last_served_on=h.last_served_on,
                     where=places.get((h.candidate.benefit_id, _hit_key(h), h.last_served_on),
                                      ""),
                     name=names.get(_recipient(h.candidate), "")) for h in hits]


# --- the statements -------------------------------------------------------------------------


def _lock(keys: Any) -> None:
    """Lock the rows of whom the check counts, in id order (PostgreSQL only; see above)."""
    if connection.vendor != "postgresql":
        return
    by_model: dict[str, set[int]] = defaultdict(set)
    for kind, pk in keys:
        by_model["person" if kind == "person" else "account"].add(pk)
    for kind, model in (("account", Account), ("person", Person)):
        if by_model[kind]:
            list(model.objects.filter(pk__in=id_values(by_model[kind])).order_by("pk")
                 .select_for_update().values_list("pk", flat=True))


def _who(wanted: Mapping[str, set[int]]) -> Q:
    q = Q(pk__in=[])
    for kind in ("person", "account", "household"):
        if wanted.get(kind):
            q |= Q(**{f"{kind}_id__in": id_values(wanted[kind])})
    return q


def _served(counted: Sequence[tuple[LimitCandidate, ServiceLimit, LimitKey]],
            exclude_ids: Sequence[int]) -> dict[tuple[int, LimitKey], list[dt.date]]:
    """{(benefit id, key): [a day for each delivered disbursement]} over the union of the
    windows: one aggregate, grouped by recipient, household and day."""
    first = min(limit.window(c.on)[0] for c, limit, _ in counted)
    last = max(limit.window(c.on)[1] for c, limit, _ in counted)
    wanted: dict[str, set[int]] = defaultdict(set)
    for _, _, (kind, pk) in counted:
        wanted[kind].add(pk)
    served: dict[tuple[int, LimitKey], list[dt.date]] = defaultdict(list)
    for benefit_id, person_id, account_id, household_id, day, n in (
            BenefitDisbursement.objects.filter(
                _who(wanted), benefit_id__in=sorted({c.benefit_id for c, _, _ in counted}),
                disbursed_on__gte=first, disbursed_on__lte=last, status__bucket="delivered")
            .exclude(pk__in=id_values(exclude_ids))
            .values_list("benefit_id", "person_id", "account_id", "household_id", "disbursed_on")
            .annotate(n=Count("id")).order_by()):
        for kind, pk in (("person", person_id), ("account", account_id),
                         ("household", household_id)):
            if pk is not None and pk in wanted[kind]:
                served[(benefit_id, (kind, pk))].extend([day] * n)
    return served


def _hit_key(hit: LimitHit) -> LimitKey:
    key = hit.candidate.key(hit.limit)
    assert key is not None
    return key


def _places(hits: Sequence[LimitHit]) -> dict[tuple[int, LimitKey, dt.date], str]:
    """Where each hit was last served: the session's location, else the program's name.
    A hit by the call's own earlier candidate has no row yet: "(this same request)"."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for h in hits:
        kind, pk = _hit_key(h)
        wanted[kind].add(pk)
    places: dict[tuple[int, LimitKey, dt.date], str] = {}
    for benefit_id, person_id, account_id, household_id, day, location, program in (
            BenefitDisbursement.objects.filter(
                _who(wanted), benefit_id__in=sorted({h.candidate.benefit_id for h in hits}),
                disbursed_on__in=sorted({h.last_served_on for h in hits}),
                status__bucket="delivered")
            .values_list("benefit_id", "person_id", "account_id", "household_id",
                         "disbursed_on", "session__location", "program__name")
            .order_by("id")):
        for kind, pk in (("person", person_id), ("account", account_id),
                         ("household", household_id)):
            if pk is not None and pk in wanted[kind]:
                places[(benefit_id, (kind, pk), day)] = location or program
    for h in hits:
        places.setdefault((h.candidate.benefit_id, _hit_key(h), h.last_served_on),
                          gettext("(this same request)"))
    return places


def _recipient(c: LimitCandidate) -> LimitKey:
    return ("person", c.person_id) if c.person_id is not None else ("account", c.account_id or 0)


def _names(hits: Sequence[LimitHit]) -> dict[LimitKey, str]:
    """"Last, First" of each person, an account's name: a statement for each kind."""
    people = {h.candidate.person_id for h in hits if h.candidate.person_id is not None}
    accounts = {h.candidate.account_id for h in hits
                if h.candidate.person_id is None and h.candidate.account_id is not None}
    names: dict[LimitKey, str] = {}
    if people:
        names.update((("person", pk), f"{last}, {first}") for pk, first, last in
                     Person.objects.filter(pk__in=id_values(people))
                     .values_list("pk", "first_name", "last_name"))
    if accounts:
        names.update((("account", pk), name) for pk, name in
                     Account.objects.filter(pk__in=id_values(accounts))
                     .values_list("pk", "name"))
    return names
