"""Planning an accounts import, and finding the accounts other imports' rows name."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db.models import Q
from django.db.models.functions import Lower

from programdesk.core.bulk import JsonValues
from programdesk.core.errors import ValidationError
from programdesk.imports.run import ImportRun, NewAccount
from programdesk.imports.values import name_key, read_id
from programdesk.people import matching
from programdesk.people.models import AccountKind
from programdesk.people.services import account_values_clean

# (id, name, postal code, kind)
AccountRow = tuple[int, str, str, str]

_KIND_WORDS = {
    **{k.value: k.value for k in AccountKind},
    **{k.label.lower(): k.value for k in AccountKind},
    "organisation": "organization", "org": "organization", "family": "household",
}


def plan_accounts(run: ImportRun) -> None:
    """New accounts, each once; rows naming an existing account (or an earlier row's) are
    counted as matched."""
    cleaned = _accounts_checked(run)
    existing = accounts_by_name(run, [a["name"] for a in cleaned])
    planned: dict[str, list[AccountRow]] = defaultdict(list)
    matched = 0
    for account in cleaned:
        key = name_key(account["name"])
        postal = matching.postal_key(account["postal_code"])
        same_kind = [c for c in existing.get(key, []) if c[3] == account["kind"]]
        earlier = [c for c in planned[key] if c[3] == account["kind"]]
        if account_match(same_kind, postal) is not None \
                or account_match(earlier, postal) is not None:
            matched += 1
            continue
        planned[key].append((len(run.new_accounts), account["name"], account["postal_code"],
                             account["kind"]))
        run.new_accounts.append(NewAccount(**account))
    run.result.summary = {"accounts_new": len(run.new_accounts), "accounts_matched": matched}


def _accounts_checked(run: ImportRun) -> list[dict[str, Any]]:
    """Every row's account, checked by the rules of ``people.services.account_create``."""
    cleaned: list[dict[str, Any]] = []
    for n, (index, values) in enumerate(run.each_row(), 1):
        run.progress_every("checking", n)
        kind_text = values.get("kind", "").strip().lower()
        kind = _KIND_WORDS.get(kind_text) if kind_text else AccountKind.HOUSEHOLD
        if kind is None:
            run.error(index, "kind", f"'{values['kind']}' is not a kind of account: use "
                                     "household or organization.")
            kind = AccountKind.HOUSEHOLD  # to check the other fields
        try:
            account = account_values_clean({
                "name": values.get("name", ""), "kind": kind, "email": values.get("email", ""),
                "phone": values.get("phone", ""), "postal_code": values.get("postal_code", "")})
        except ValidationError as exc:
            run.errors_from(index, exc)
            continue
        account["name"] = " ".join(account["name"].split())
        if index not in run.bad:
            cleaned.append(account)
    return cleaned


def account_match(candidates: list[AccountRow], postal: str) -> AccountRow | None:
    """An account of the same name and kind is the same account when the postal codes agree
    or one of them is missing; the oldest wins."""
    same = [c for c in candidates if matching.postal_key(c[2]) == postal]
    if same:
        return same[0]
    loose = [c for c in candidates if not c[2] or not postal]
    return loose[0] if loose else None


def new_account(run: ImportRun, account: NewAccount) -> NewAccount:
    """The new account of this name: the one an earlier row made, else this one."""
    key = name_key(account.name)
    if key not in run.new_accounts_by_key:
        run.new_accounts_by_key[key] = account
        run.new_accounts.append(account)
    return run.new_accounts_by_key[key]


def accounts_by_id(run: ImportRun, texts: Iterable[str]) -> set[int]:
    """The ids among ``texts`` of accounts the user may see. One query."""
    ids = {pk for t in texts if t and (pk := read_id(t)) is not None}
    if not ids:
        return set()
    return set(run.accounts_scope().filter(pk__in=JsonValues(sorted(ids), cast="bigint"))
               .values_list("pk", flat=True))


def accounts_by_name(run: ImportRun, names: Iterable[str]) -> dict[str, list[AccountRow]]:
    """Existing accounts by name (case-insensitive; those the user may see, like people
    matching — an account they may not see is as if it did not exist):
    {name key: [(id, name, postal code, kind)]}, oldest first. One query."""
    names = list(names)
    keys = sorted({name_key(n) for n in names if n})
    if not keys:
        return {}
    found: dict[str, list[AccountRow]] = defaultdict(list)
    exact = sorted({" ".join(n.split()) for n in names if n})
    # SQLite's lower() folds ASCII letters only: the exact spelling is looked up too, so
    # "Ñandú" finds "Ñandú" on every database.
    rows = (run.accounts_scope().annotate(lower_name=Lower("name"))
            .filter(Q(lower_name__in=JsonValues(keys)) | Q(name__in=JsonValues(exact)))
            .order_by("id").values_list("id", "name", "postal_code", "kind"))
    for row in rows:
        found[name_key(row[1])].append(row)
    return found
