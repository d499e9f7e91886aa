"""Reading an upper area's rows from a lower one, without importing it.

The areas are layered (docs/architecture.md): core, people, programs, scheduling,
participation, each importing only those below it. Some reads still cross upward — who may
see a person depends on their enrollments, a person's page lists their disbursements, a
benefit's custom fields include its program's. Those reads follow a relation of the lower
area's own model (a foreign key it holds, or the reverse relation the upper area declares on
it): Django resolves the model from the app registry, so the code names no upper module and
import-linter holds the layers. Writes never cross this way: they go through the owning
area's services, or, for "is it in use?", a protecting foreign key answers.
"""

from __future__ import annotations

from typing import Any

from django.db import models


def related_model(model: type[models.Model], relation: str) -> type[Any]:
    """The model at the other end of ``model``'s relation ``relation`` (a foreign key or
    many-to-many field of ``model``, or a related name another model declares on it)."""
    target = model._meta.get_field(relation).related_model
    assert isinstance(target, type), f"{model.__name__}.{relation} is not a relation"
    return target
