"""API: people (API.md)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["people"])
