"""Lists: ``?limit=`` (default 50, at most 1000; more is a 422) and ``?offset=``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.db.models import QuerySet
from ninja import Schema
from pydantic import Field

T = TypeVar("T")

MAX_OFFSET = 2**53


class PageParams(Schema):
    limit: int = Field(50, ge=1, le=1000, description="Items per page, at most 1000")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Items to skip")


class Page(Schema, Generic[T]):
    count: int
    items: list[T]


def paginate(items: QuerySet[Any] | Sequence[Any], params: PageParams,
             out: Callable[[Any], Any] = lambda x: x) -> dict[str, Any]:
    count = items.count() if isinstance(items, QuerySet) else len(items)
    page = items[params.offset: params.offset + params.limit]
    return {"count": count, "items": [out(item) for item in page]}
