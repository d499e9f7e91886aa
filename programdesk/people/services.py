"""Writes for people, accounts and cases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction

from programdesk.core.audit import audit_record, snapshot
from programdesk.core.errors import ValidationError
from programdesk.core.models import User
from programdesk.people.models import Account, AccountKind, Person


@transaction.atomic
def account_create(*, actor: User | None, name: str, kind: str = AccountKind.HOUSEHOLD,
                   email: str = "", phone: str = "", postal_code: str = "") -> Account:
    name = name.strip()
    if not name:
        raise ValidationError.for_fields({"name": "A name is required."})
    if kind not in AccountKind.values:
        raise ValidationError.for_fields({"kind": f"Use one of: {', '.join(AccountKind.values)}."})
    account = Account.objects.create(name=name, kind=kind, email=email.strip(),
                                     phone=phone.strip(), postal_code=postal_code.strip())
    audit_record(actor=actor, action="account.create", obj=account, after=snapshot(account))
    return account


@transaction.atomic
def person_create(*, actor: User | None, first_name: str, last_name: str,
                  birth_date: dt.date | None = None, email: str = "", phone: str = "",
                  postal_code: str = "", account: Account | None = None,
                  household_size: int | None = None, annual_income: Decimal | None = None,
                  extra: dict[str, Any] | None = None) -> Person:
    errors = {}
    if not first_name.strip():
        errors["first_name"] = "A first name is required."
    if not last_name.strip():
        errors["last_name"] = "A last name is required."
    if errors:
        raise ValidationError.for_fields(errors)
    person = Person.objects.create(
        first_name=first_name.strip(), last_name=last_name.strip(), birth_date=birth_date,
        email=email.strip().lower(), phone=phone.strip(), postal_code=postal_code.strip().upper(),
        account=account, household_size=household_size, annual_income=annual_income,
        extra=extra or {})
    audit_record(actor=actor, action="person.create", obj=person, after=snapshot(person))
    return person
