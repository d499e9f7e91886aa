"""Every route the project serves, read from the URL configuration and the API itself, so that
a new route shows up in the authorization matrix's test without anyone remembering to add it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

API_PREFIX = "/api/v1"


def _walk(patterns: list, prefix: str = "") -> Iterator[str]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


def url_routes() -> list[str]:
    """Every Django route as written in urls.py (``people/<int:pk>/``), API and admin too."""
    return sorted(set(_walk(get_resolver().url_patterns)))


def page_routes() -> list[str]:
    return [r for r in url_routes() if not r.startswith(("api/v1/", "admin/"))]


def admin_routes() -> list[str]:
    return [r for r in url_routes() if r.startswith("admin/")]


def api_operations() -> list[tuple[str, str]]:
    """(METHOD, "/api/v1/people/{person_id}") for every operation of the ninja API."""
    from programdesk.api.main import api

    ops: set[tuple[str, str]] = set()

    def visit(prefix: str, router: Any) -> None:
        for path, path_view in router.path_operations.items():
            template = re.sub(r"\{(?:\w+:)?(\w+)\}", r"{\1}", API_PREFIX + prefix + path)
            for op in path_view.operations:
                for method in op.methods:
                    ops.add((method, template))
        for child_prefix, child, *_ in getattr(router, "_routers", []):
            visit(prefix + child_prefix, child)

    for prefix, router in api._routers:
        visit(prefix, router)
    return sorted(ops, key=lambda x: (x[1], x[0]))
