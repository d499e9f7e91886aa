"""The people table carries the indexes its queries use, and no others: every index is paid
for on each insert (a large people import's write is mostly index upkeep)."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def _indexed_columns() -> list[tuple[str, ...]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "people_person")
    return [tuple(c["columns"]) for c in constraints.values()
            if c["index"] and not c["primary_key"]]


def test_matching_columns_have_one_index_each() -> None:
    indexed = _indexed_columns()
    # one each: on PostgreSQL db_index=True had added a varchar_pattern_ops twin
    assert indexed.count(("email",)) == 1
    assert indexed.count(("phone_key",)) == 1
    assert indexed.count(("birth_date",)) == 1
    assert indexed.count(("last_name_key", "first_name_key")) == 1


def test_columns_no_query_looks_up_have_no_index() -> None:
    indexed = _indexed_columns()
    assert ("phone",) not in indexed
    assert ("postal_code",) not in indexed
