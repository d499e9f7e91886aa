"""Programs, benefits and schedules a row names, by name or id, among those the user may see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from programdesk.imports.run import ImportRun
from programdesk.imports.values import NamedRecords
from programdesk.programs.models import Program


def programs_named(run: ImportRun) -> NamedRecords:
    """The programs the importing user may see (the command line sees all). One query."""
    qs = Program.objects.all()
    if run.actor is not None and (ids := run.actor.visible_program_ids()) is not None:
        qs = qs.filter(pk__in=ids)
    return NamedRecords(qs.values_list("id", "name"))


def find_one(run: ImportRun, index: int, name: str, named: NamedRecords, text: str, noun: str,
             within: Callable[[tuple[Any, ...]], bool] | None = None,
             hint: str = "") -> tuple[Any, ...] | None:
    """The one record ``text`` names (within those ``within`` keeps); None with an error on
    row ``index``'s field ``name`` when there is none or several."""
    found = named.find(text)
    if within is not None:
        found = [r for r in found if within(r)]
    if len(found) == 1:
        return found[0]
    if found:
        run.error(index, name, f"{len(found)} {noun}s are named '{text}'{hint}.")
    else:
        run.error(index, name, f"No {noun} named '{text}'.")
    return None
