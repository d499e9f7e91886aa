"""A list of values as ONE query parameter, for ``field__in`` with any number of values.

``Person.objects.filter(id__in=ids)`` sends one parameter per id; SQLite caps the number of
parameters per statement (32,766 in stock builds) and long IN lists are slow to plan. Set-based
paths (import matching, eligibility for 10,000 people) pass the values as one JSON array that
the database unpacks itself: ``json_each`` on SQLite, ``jsonb_array_elements_text`` on
PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from django.db.models import Expression


class JsonValues(Expression):
    """``Model.objects.filter(field__in=JsonValues(values, cast="bigint"))``.

    ``cast`` is the PostgreSQL type of the values (``bigint``, ``date``; text needs none).
    """

    contains_aggregate = False

    def __init__(self, values: Iterable[Any], cast: str = "") -> None:
        super().__init__()
        if cast not in {"", "bigint", "date"}:
            raise ValueError(f"unsupported cast {cast!r}")
        self.values = [v.isoformat() if isinstance(v, dt.date) else v for v in values]
        self.cast = cast

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        return "(SELECT value FROM json_each(%s))", [json.dumps(self.values)]

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        cast = f"::{self.cast}" if self.cast else ""
        return (f"(SELECT (jsonb_array_elements_text(%s::jsonb)){cast})",
                [json.dumps(self.values)])
