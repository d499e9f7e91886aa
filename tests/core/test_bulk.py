"""core.bulk's batched inserts: multi-row statements on SQLite, the same rows as a statement
per row would write, conflicts skipped only when asked."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from programdesk.core.bulk import insert_rows_batched
from programdesk.programs.models import UnitOfMeasure

pytestmark = pytest.mark.django_db


def _units(*codes: str) -> list[tuple[str, str]]:
    return [(code, f"Unit {code}") for code in codes]


def test_ignoring_conflicts_skips_rows_already_there_and_repeated_in_the_batch() -> None:
    UnitOfMeasure.objects.create(code="cup", name="Cup")
    created = insert_rows_batched(UnitOfMeasure, ["code", "name"],
                                  _units("bowl", "cup", "plate", "bowl"), ignore_conflicts=True)
    assert created == 2
    assert sorted(UnitOfMeasure.objects.filter(code__in=["bowl", "cup", "plate"])
                  .values_list("code", "name")) == [
        ("bowl", "Unit bowl"), ("cup", "Cup"), ("plate", "Unit plate")]


def test_without_ignoring_conflicts_a_repeated_row_fails_and_writes_nothing() -> None:
    before = UnitOfMeasure.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows_batched(UnitOfMeasure, ["code", "name"], _units("bowl", "plate", "bowl"))
    assert UnitOfMeasure.objects.count() == before


def test_rows_past_one_statements_share_go_in_more_statements_in_order() -> None:
    codes = [f"n{i:05d}" for i in range(5000)]
    with CaptureQueriesContext(connection) as captured:
        created = insert_rows_batched(UnitOfMeasure, ["code", "name"], iter(_units(*codes)),
                                      batch=1200, ignore_conflicts=True)
    assert created == 5000
    assert len(captured.captured_queries) == 5  # 1,200 a statement
    assert list(UnitOfMeasure.objects.filter(code__startswith="n").order_by("id")
                .values_list("code", flat=True)) == codes


def test_a_bulk_load_tells_its_progress_between_statements_which_may_use_the_database(
        ) -> None:
    # An import's progress writes its job's row on the same connection: told during a
    # statement (a COPY in progress holds the connection), it would hang the import.
    codes = [f"c{i:05d}" for i in range(2500)]
    heard: list[tuple[int, int]] = []

    def written(count: int) -> None:
        heard.append((count, UnitOfMeasure.objects.filter(code__startswith="c").count()))

    with CaptureQueriesContext(connection) as captured:
        created = insert_rows_batched(UnitOfMeasure, ["code", "name"], iter(_units(*codes)),
                                      batch=1000, copy=True, written=written)
    assert created == 2500
    assert heard == [(1000, 1000), (1000, 2000), (500, 2500)]
    if connection.vendor == "postgresql":
        assert [q["sql"][:4] for q in captured.captured_queries].count("COPY") == 3
    assert list(UnitOfMeasure.objects.filter(code__startswith="c").order_by("id")
                .values_list("code", flat=True)) == codes
