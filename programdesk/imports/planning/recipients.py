"""Who each row of an enrollments or disbursements import is about: a person (existing or
new), an existing account, or — for anonymous disbursements — nobody."""

from __future__ import annotations

from programdesk.imports import fields
from programdesk.imports.fields import ImportKind
from programdesk.imports.planning.accounts import accounts_by_id, accounts_by_name
from programdesk.imports.planning.people import Rows, people_resolve
from programdesk.imports.run import ExistingAccount, ImportRun
from programdesk.imports.values import name_key, read_id

_PERSON_FIELDS = ("person_id", "first_name", "last_name", "birth_date", "email", "phone")


def recipients_resolve(run: ImportRun, *, anonymous_ok: bool) -> None:
    """Fill ``run.recipient_of`` for the rows naming people or accounts; a row naming nobody
    is an error unless ``anonymous_ok`` and it gives a number of recipients."""
    people_rows, account_rows = [], []
    for index, values in run.each_row():
        if any(values.get(k) for k in _PERSON_FIELDS):
            people_rows.append((index, values))
        elif values.get("account") or values.get("account_id"):
            account_rows.append((index, values))
        elif anonymous_ok and values.get("recipient_count"):
            continue  # anonymous: the program's anonymous enrollment
        else:
            run.error(index, "", "Name the person (first and last name, or person id) or the "
                                 "account" + (", or give the number of recipients for an "
                                              "anonymous disbursement" if anonymous_ok else "")
                      + ".")
    if people_rows:
        people_resolve(run, people_rows,
                       definitions=fields.custom_definitions(ImportKind.PEOPLE),
                       with_extra=False)
    _accounts_resolve(run, account_rows)


def _accounts_resolve(run: ImportRun, rows: Rows) -> None:
    """Rows naming an account: by id, or by a name exactly one visible account has."""
    by_id = accounts_by_id(run, [v.get("account_id", "") for _, v in rows])
    names = accounts_by_name(run, [v["account"] for _, v in rows
                                   if v.get("account") and not v.get("account_id")])
    for index, values in rows:
        if values.get("account_id"):
            pk = read_id(values["account_id"])
            if pk is None or pk not in by_id:
                run.error(index, "account_id", f"No account with id {values['account_id']}.")
            else:
                run.recipient_of[index] = ExistingAccount(pk)
            continue
        candidates = names.get(name_key(values["account"]), [])
        if len(candidates) == 1:
            run.recipient_of[index] = ExistingAccount(candidates[0][0])
        elif candidates:
            run.error(index, "account", f"{len(candidates)} accounts are named "
                                        f"'{values['account']}': give the account id.")
        else:
            run.error(index, "account", f"No account named '{values['account']}': import "
                                        "accounts first.")
