"""The offline front desk's sync (docs/front-desk.md, Offline): records made on a device without
a network, applied exactly once through the areas' own services, and the conflicts staff
resolve.

Exactly once: each record claims an ``IdempotencyRecord`` (method ``SYNC``, key ``sync:<the
device-made id>``) in the same transaction as its writes and its answer, so a record is either
applied and answered, or not at all; a retried batch replays the answers of the records already
done. Each record is its own transaction: a sync cut halfway keeps what was done, and the retry
does the rest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from programdesk.core.audit import audit_record
from programdesk.core.errors import Conflict, DomainError, NotAllowed, NotFound, ValidationError
from programdesk.core.models import AuditEvent, IdempotencyRecord, User
from programdesk.core.roles import Cap, Role
from programdesk.core.scoping import visible
from programdesk.offline.models import ConflictReason, ConflictState, SyncConflict, SyncKind
from programdesk.participation import services as participation
from programdesk.participation.selectors import kiosk_likely_matches as likely_matches
from programdesk.people.models import Person
from programdesk.people.selectors import people_visible
from programdesk.people.services import person_create
from programdesk.programs.selectors import benefits_visible
from programdesk.scheduling.models import BenefitSession, SessionStatus

SYNC_METHOD = "SYNC"
KEY_PREFIX = "sync:"
# How long a device keeps what it made offline (offline.js wipes it then): the earliest a record
# without a session may say it happened, and how long its answer is kept for retries.
DEVICE_KEEP_HOURS = 24
# What each kind of record needs of the role that sends it.
KIND_CAP = {SyncKind.CHECK_IN: Cap.CHECK_IN, SyncKind.REGISTER: Cap.CHECK_IN,
            SyncKind.ATTENDANCE: Cap.WRITE_RECORDS,
            SyncKind.WALK_IN_DISBURSEMENT: Cap.LOG_DISBURSEMENTS}


@dataclass(frozen=True)
class SyncRecord:
    """One record made offline, as the device sent it."""

    id: str
    kind: str
    happened_at: dt.datetime
    session_id: int | None = None
    person_id: int | None = None
    disbursement_id: int | None = None
    benefit_id: int | None = None
    status: str | None = None
    quantity: Decimal | None = None
    first_name: str = ""
    last_name: str = ""
    postal_code: str = ""

    def payload(self) -> dict[str, Any]:
        """What is kept of it (a conflict's ``payload``): the fields given, as JSON values."""
        data = {k: v for k, v in asdict(self).items()
                if k not in ("id", "kind", "happened_at") and v not in (None, "")}
        if self.quantity is not None:
            data["quantity"] = str(self.quantity)
        return data

    def digest(self) -> str:
        """What "the same record" means for a retry: every field, canonically."""
        data = {**self.payload(), "kind": self.kind, "happened_at": self.happened_at.isoformat()}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


@dataclass
class SyncOutcome:
    """The server's answer for one record: ``applied``, ``already_applied`` (a retry),
    ``conflict`` (filed for staff: ``conflict_id``) or ``rejected`` (nothing anyone can apply —
    an unknown session, a role that may not — with the reason)."""

    id: str
    outcome: str
    reason: str = ""
    detail: str = ""
    conflict_id: int | None = None
    happened_at: str | None = None
    object_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Taken(Exception):
    """The record's id was claimed already (a retry, or another request sending it now)."""


class _Rejected(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class _Target:
    program_id: int
    session: BenefitSession | None
    earliest: dt.datetime


# --- the sync -------------------------------------------------------------------------------


def sync_apply(*, actor: User, device_id: str, records: list[SyncRecord]) -> list[SyncOutcome]:
    """Apply each record once, each in its own transaction; an answer per record, in order."""
    return [_sync_one(actor=actor, device_id=device_id, record=record) for record in records]


def _sync_one(*, actor: User, device_id: str, record: SyncRecord) -> SyncOutcome:
    digest = record.digest()
    try:
        with transaction.atomic():
            claim = _claim(actor=actor, record=record, digest=digest)
            outcome = _apply_or_file(actor=actor, device_id=device_id, record=record)
            IdempotencyRecord.objects.filter(pk=claim.pk).update(
                status_code=200, content_type="application/json",
                response_body=json.dumps(outcome.as_dict()).encode())
            return outcome
    except _Taken:
        return _replay(actor=actor, record=record, digest=digest)


def _claim(*, actor: User, record: SyncRecord, digest: str) -> IdempotencyRecord:
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                user=actor, key=(KEY_PREFIX + record.id)[:200], method=SYNC_METHOD,
                path="/api/v1/sync", body_digest=digest)
    except IntegrityError:
        raise _Taken from None


def _replay(*, actor: User, record: SyncRecord, digest: str) -> SyncOutcome:
    stored = IdempotencyRecord.objects.filter(user=actor, key=(KEY_PREFIX + record.id)[:200]
                                              ).first()
    if stored is None or stored.status_code is None:
        return SyncOutcome(record.id, "retry", "in_progress",
                           _("This record is being sent by another request; send it again."))
    if stored.body_digest != digest or stored.method != SYNC_METHOD:
        return SyncOutcome(record.id, "rejected", "id_reused",
                           _("This record id was used for another record."))
    answer = json.loads(bytes(stored.response_body or b"{}"))
    outcome = SyncOutcome(**answer)
    if outcome.outcome == "applied":
        outcome.outcome = "already_applied"
    return outcome


def happened_at_bounded(*, device_time: dt.datetime, earliest: dt.datetime,
                        now: dt.datetime | None = None) -> dt.datetime:
    """When it happened, as the device says, within bounds: not in the future (a clock ahead),
    not before ``earliest`` (the session's day; a clock far behind)."""
    now = now or timezone.now()
    if timezone.is_naive(device_time):
        device_time = timezone.make_aware(device_time, dt.UTC)
    return min(max(device_time, earliest), now)


def _apply_or_file(*, actor: User, device_id: str, record: SyncRecord) -> SyncOutcome:
    try:
        target = _target(actor=actor, record=record)
    except _Rejected as rejected:
        return SyncOutcome(record.id, "rejected", rejected.reason, rejected.detail)
    happened = happened_at_bounded(device_time=record.happened_at, earliest=target.earliest)
    try:
        with transaction.atomic():
            obj = _apply(actor=actor, record=record, target=target, happened=happened)
    except DomainError as exc:
        conflict = _conflict_file(actor=actor, device_id=device_id, record=record,
                                  target=target, happened=happened, exc=exc)
        return SyncOutcome(record.id, "conflict", conflict.reason, _answer_detail(exc),
                           conflict_id=conflict.pk, happened_at=happened.isoformat())
    audit_record(actor=actor, action=f"sync.{record.kind}", obj=obj,
                 after={"device_id": device_id, "record_id": record.id,
                        "happened_at": happened.isoformat(),
                        "device_time": record.happened_at.isoformat(), **record.payload()})
    return SyncOutcome(record.id, "applied", happened_at=happened.isoformat(), object_id=obj.pk)


def _day_start(session: BenefitSession) -> dt.datetime:
    return dt.datetime.combine(session.local_date, dt.time.min, tzinfo=session.schedule.zone)


def _target(*, actor: User, record: SyncRecord) -> _Target:
    """What the record is about, if the sender may: the program (a conflict belongs to it),
    the session and the earliest it may have happened. Otherwise rejected."""
    cap = KIND_CAP.get(SyncKind(record.kind)) if record.kind in SyncKind.values else None
    if cap is None:
        raise _Rejected("unknown_kind", _("Unknown kind of record."))
    if not actor.can(cap):
        raise _Rejected("not_allowed", _("Your role may not do this."))
    if record.kind == SyncKind.WALK_IN_DISBURSEMENT:
        _walk_in_shape_check(record)
        benefit = benefits_visible(actor).filter(pk=record.benefit_id or 0).first()
        if benefit is None:
            raise _Rejected("not_found", _("Unknown benefit."))
        earliest = timezone.now() - dt.timedelta(hours=DEVICE_KEEP_HOURS)
        return _Target(benefit.program_id, None, earliest)
    session = visible(BenefitSession.objects.select_related("benefit", "schedule"), actor,
                      "benefit__program_id").filter(pk=record.session_id or 0).first()
    if session is None:
        raise _Rejected("not_found", _("Unknown session."))
    if actor.role == Role.KIOSK and not actor.is_superuser and (
            session.local_date < timezone.localdate() - dt.timedelta(days=1)):
        # A kiosk checks in to today's sessions; one sent after midnight is yesterday's.
        raise _Rejected("not_allowed", _("The kiosk checks people in to today's sessions only."))
    return _Target(session.benefit.program_id, session, _day_start(session))


def _walk_in_shape_check(record: SyncRecord) -> None:
    """A walk-in disbursement names its benefit and either a person (``person_id``) or a
    walk-in quick-added on the device (first and last name) — not both, not neither."""
    named = bool(record.first_name.strip() or record.last_name.strip())
    if record.benefit_id is None:
        raise _Rejected("invalid", _("benefit_id: Required."))
    if record.person_id is not None and named:
        raise _Rejected("invalid", _("Give a person_id or a name, not both."))
    if record.person_id is None and not (record.first_name.strip()
                                         and record.last_name.strip()):
        raise _Rejected("invalid", _("Give a person_id, or a first and last name."))


def _person_merged_check(actor: User, person_id: int | None) -> None:
    """A person gone since the roster was cached: merged into someone (the conflict names the
    survivor, so "merge" applies the record to them), else unknown."""
    if person_id is None or people_visible(actor).filter(pk=person_id).exists():
        return
    event = (AuditEvent.objects.filter(action="person.merge", before__duplicate__id=person_id)
             .order_by("-at").values_list("object_id", flat=True).first())
    if event is not None:
        raise Conflict(_("This person was merged into another record since."),
                       type=ConflictReason.PERSON_MERGED, matches=[{"person_id": event}])
    raise ValidationError.for_fields({"person_id": _("Unknown person %(id)s.") % {
        "id": person_id}})


def _apply(*, actor: User, record: SyncRecord, target: _Target, happened: dt.datetime,
           override_reason: str = "") -> models.Model:
    """The record through its area's service (raising what the service raises)."""
    session = target.session
    if session is not None and session.status == SessionStatus.CANCELLED:
        raise Conflict(_("This session was cancelled."), type=ConflictReason.SESSION_CANCELLED)
    _person_merged_check(actor, record.person_id)
    override = participation.EligibilityOverride(reason=override_reason) if override_reason \
        else None
    if record.kind == SyncKind.CHECK_IN and session is not None:
        if record.person_id is None:
            raise ValidationError.for_fields({"person_id": _("Required.")})
        return participation.check_in(actor=actor, session=session, person_id=record.person_id,
                                      override_reason=override_reason)
    if record.kind == SyncKind.REGISTER and session is not None:
        if not (record.first_name.strip() and record.last_name.strip()):
            raise ValidationError.for_fields({"last_name": _("First and last name, please.")})
        return participation.kiosk_register(
            actor=actor, session=session, first_name=record.first_name.strip(),
            last_name=record.last_name.strip(), postal_code=record.postal_code.strip(),
            new_person_confirmed=bool(override_reason))
    if record.kind == SyncKind.ATTENDANCE and session is not None:
        if record.disbursement_id is None or not record.status:
            raise ValidationError.for_fields({"status": _("A mark needs a row and a status.")})
        participation.attendance_record(actor=actor, session=session, marks=[
            participation.AttendanceMark(record.disbursement_id, record.status, record.quantity)],
            override_reason=override_reason)
        return session
    return _walk_in_disbursement(actor=actor, record=record, happened=happened,
                                 override=override, override_reason=override_reason)


def _walk_in_person(*, actor: User, record: SyncRecord, confirmed: bool) -> Person:
    """The person a walk-in disbursement is for: the one named, or the walk-in quick-added on
    the device — made here, after the kiosk's duplicate check (a likely match is a conflict
    "possible_duplicate" whose merge gives the disbursement to the person found; ``confirmed``,
    the "apply" resolution, registers them as someone new)."""
    if record.person_id is not None:
        person = people_visible(actor).filter(pk=record.person_id).first()
        if person is None:
            raise ValidationError.for_fields({"person_id": _("Choose a person.")})
        return person
    first, last = record.first_name.strip(), record.last_name.strip()
    postal = record.postal_code.strip()
    if not confirmed:
        matches = likely_matches(first_name=first, last_name=last, postal_code=postal,
                                 user=actor)
        if matches:
            raise Conflict(_("Someone with this name is registered already."),
                           type=ConflictReason.POSSIBLE_DUPLICATE, matches=matches)
    return person_create(actor=actor, first_name=first, last_name=last, postal_code=postal)


def _walk_in_disbursement(*, actor: User, record: SyncRecord, happened: dt.datetime,
                          override: participation.EligibilityOverride | None,
                          override_reason: str) -> models.Model:
    person = _walk_in_person(actor=actor, record=record, confirmed=bool(override_reason))
    if record.benefit_id is None:
        raise ValidationError.for_fields({"benefit_id": _("Required.")})
    result = participation.disbursements_create_ad_hoc(
        actor=actor, person=person, disbursed_on=timezone.localdate(happened), override=override,
        override_reason=override_reason,
        lines=[participation.DisbursementLine(
            record.benefit_id, Decimal(1) if record.quantity is None else record.quantity,
            record.status)])
    return result.disbursements[0]


def _reason_of(exc: DomainError) -> str:
    if isinstance(exc, participation.ServiceLimitExceeded):
        return ConflictReason.SERVICE_LIMIT
    kind = str(exc.extra.get("type") or "")
    return kind if kind in ConflictReason.values else ConflictReason.REFUSED


def _plain(value: Any) -> Any:
    """A service's extra (matches with datetimes) as JSON values."""
    return json.loads(json.dumps(value, default=str))


def _answer_detail(exc: DomainError) -> str:
    """What the device is told (a kiosk: only to see a staff member)."""
    return " ".join([exc.detail, *(e["message"] for e in exc.errors
                                   if e["message"] != exc.detail)])


def _conflict_file(*, actor: User, device_id: str, record: SyncRecord, target: _Target,
                   happened: dt.datetime, exc: DomainError) -> SyncConflict:
    detail = getattr(exc, "staff_detail", "") or _answer_detail(exc)
    conflict = SyncConflict.objects.create(
        user=actor, device_id=device_id, record_id=record.id, kind=record.kind,
        payload=record.payload(), happened_at=happened, program_id=target.program_id,
        session=target.session, reason=_reason_of(exc), detail=detail[:2000],
        matches=_plain(exc.extra.get("matches") or []))
    audit_record(actor=actor, action="sync.conflict", obj=conflict,
                 after={"device_id": device_id, "record_id": record.id, "kind": record.kind,
                        "reason": conflict.reason, "detail": conflict.detail})
    return conflict


# --- resolving conflicts --------------------------------------------------------------------


class Resolution(models.TextChoices):
    APPLY = "apply", "Apply with an override reason"
    MERGE = "merge", "Apply to the existing person"
    DISCARD = "discard", "Discard"


# A service limit or an eligibility rule is overridden by a manager (core/roles.py).
MANAGER_OVERRIDES = {ConflictReason.SERVICE_LIMIT, ConflictReason.ELIGIBILITY}


def _record_of(conflict: SyncConflict, *, person_id: int | None = None) -> SyncRecord:
    payload = dict(conflict.payload)
    kind = conflict.kind
    if person_id is not None:
        payload["person_id"] = person_id
        if kind == SyncKind.REGISTER:  # "that's them": check in the person found
            kind = SyncKind.CHECK_IN
        # "That's them": the record is the person found's (a check-in, a walk-in's benefit).
        for name in ("first_name", "last_name", "postal_code"):
            payload.pop(name, None)
    if "quantity" in payload:
        payload["quantity"] = Decimal(payload["quantity"])
    return SyncRecord(id=conflict.record_id, kind=kind, happened_at=conflict.happened_at,
                      **payload)


def _merge_choices(conflict: SyncConflict) -> set[int]:
    return {int(m["person_id"]) for m in conflict.matches if m.get("person_id")}


@transaction.atomic
def sync_conflict_resolve(*, actor: User, conflict: SyncConflict, resolution: str,
                          note: str = "", person_id: int | None = None) -> SyncConflict:
    """Staff decide: ``apply`` the record as it was, with the reason (a walk-in who is new after
    all, a limit a manager overrides); ``merge`` — apply it to the person it matched or was
    merged into; ``discard`` it. Audited with the device's id; one decision per conflict."""
    locked = SyncConflict.objects.select_for_update().filter(pk=conflict.pk).first()
    if locked is None:
        raise NotFound()
    if locked.state != ConflictState.OPEN:
        raise Conflict(_("This record was resolved already."))
    note = note.strip()[:1000]
    applied: models.Model | None = None
    if resolution == Resolution.APPLY:
        if not note:
            raise ValidationError.for_fields({"note": _("Say why it is applied anyway.")})
        if locked.reason in MANAGER_OVERRIDES and not actor.can(Cap.MANAGE_PROGRAMS):
            raise NotAllowed(_("Overriding a limit or an eligibility rule is a manager's "
                               "decision."))
        applied = _resolve_apply(actor, locked, _record_of(locked), note)
        locked.state = ConflictState.APPLIED
    elif resolution == Resolution.MERGE:
        if person_id is None or person_id not in _merge_choices(locked):
            raise ValidationError.for_fields({"person_id": _("Choose one of the people "
                                                             "listed.")})
        applied = _resolve_apply(actor, locked, _record_of(locked, person_id=person_id), "")
        locked.state = ConflictState.MERGED
    elif resolution == Resolution.DISCARD:
        locked.state = ConflictState.DISCARDED
    else:
        raise ValidationError.for_fields({"resolution": _("Apply, merge or discard.")})
    locked.resolved_by, locked.resolved_at, locked.resolution_note = actor, timezone.now(), note
    locked.save(update_fields=["state", "resolved_by", "resolved_at", "resolution_note"])
    audit_record(actor=actor, action=f"sync_conflict.{resolution}", obj=locked, reason=note,
                 after={"device_id": locked.device_id, "record_id": locked.record_id,
                        "kind": locked.kind, "reason": locked.reason, "person_id": person_id,
                        "applied": (f"{applied._meta.label_lower}:{applied.pk}"
                                    if applied is not None else None)})
    return locked


def _resolve_apply(actor: User, conflict: SyncConflict, record: SyncRecord,
                   note: str) -> models.Model:
    session = None
    if conflict.session_id is not None:
        session = BenefitSession.objects.select_related("benefit", "schedule").get(
            pk=conflict.session_id)
    target = _Target(conflict.program_id, session, conflict.happened_at)
    return _apply(actor=actor, record=record, target=target, happened=conflict.happened_at,
                  override_reason=note)


# --- the purge ------------------------------------------------------------------------------


@transaction.atomic
def sync_conflicts_purge() -> int:
    """Delete resolved conflicts older than ``SYNC_CONFLICT_KEEP_DAYS``; open ones are kept
    until someone decides (the audit log keeps every decision)."""
    cutoff = timezone.now() - dt.timedelta(days=settings.SYNC_CONFLICT_KEEP_DAYS)
    deleted, _kinds = SyncConflict.objects.exclude(state=ConflictState.OPEN).filter(
        resolved_at__lt=cutoff).delete()
    return deleted
