"""Audit events: every service records what it changed, in the same transaction as the change."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.forms.models import model_to_dict

from programdesk.core.bulk import db_now, insert_row
from programdesk.core.models import AuditEvent, User

# Never in an event, even hashed: a password hash can be attacked offline; a token's digest
# is its lookup key.
SECRET_FIELDS = frozenset({"password", "digest"})


def snapshot(obj: models.Model, fields: Sequence[str] | None = None) -> dict[str, Any]:
    """A JSON-friendly dict of a model's concrete fields (foreign keys as ids), secrets left
    out."""
    data = model_to_dict(obj, fields=fields)
    for field in obj._meta.concrete_fields:
        if field.is_relation and (fields is None or field.name in fields):
            data[field.name] = getattr(obj, field.attname)
    for name in SECRET_FIELDS & data.keys():
        data[name] = "[secret]" if data[name] else ""
    return {key: _plain(value) for key, value in data.items() if not isinstance(value, list)
            or all(isinstance(v, (int, str)) for v in value)}


def _plain(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    return value


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values differ, so events stay small and readable."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def audit_record(
    *,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id: int | None = None,
    object_ids: Iterable[int] | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> int:
    """Record an event in the calling service's transaction; returns its id."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit_record must run inside the service's transaction")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id if object_id is not None else obj.pk
    actor_id = actor.pk if actor is not None and actor.pk else None
    # One INSERT of plain values, no model instance: every write pays for its event, and on
    # the hot paths (a check-in, an attendance sheet) building and saving an AuditEvent cost
    # as much as the change itself.
    return insert_row(AuditEvent, {
        "at": db_now(),
        "actor": actor_id,
        "action": action,
        "object_type": object_type or "",
        "object_id": object_id,
        "object_ids": _json(sorted(object_ids) if object_ids is not None else None),
        "before": _json(before),
        "after": _json(after),
        "reason": reason,
    })


def _json(value: Any) -> Any:
    """A JSON column's value as the model's field would store it (None stays SQL NULL)."""
    return None if value is None else connection.ops.adapt_json_value(value, DjangoJSONEncoder)
