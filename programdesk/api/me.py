"""API: who am I — the authenticated user, their role, what it may do and which programs."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from programdesk.api.auth import api_user
from programdesk.core.roles import Cap

router = Router(tags=["me"])


class MeOut(Schema):
    id: int
    username: str
    role: str
    capabilities: list[str] = Field(description="What the role may do (docs/api.md, Roles)")
    program_ids: list[int] | None = Field(
        description="The programs this user sees; null: every program")


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> MeOut:
    """The user the request is authenticated as: any role, kiosks included. Integrators use it
    to check a token and to show or hide what the user may not do."""
    user = api_user(request)
    programs = user.visible_program_ids()
    return MeOut(id=user.pk, username=user.username, role=user.role,
                 capabilities=[cap.value for cap in Cap if user.can(cap)],
                 program_ids=sorted(programs) if programs is not None else None)
