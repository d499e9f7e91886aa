"""Pages: the offline front desk — the service worker and the app manifest (served from the
site's root, so the worker's scope covers every front-desk page), and the review of records a
device sent that the server could not apply (docs/front-desk.md, Offline)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import path
from django.utils.translation import gettext as _

from programdesk.core.errors import DomainError
from programdesk.core.params import parse_id, query_id
from programdesk.core.roles import Cap
from programdesk.core.scoping import visible_or_404
from programdesk.offline import selectors, services
from programdesk.offline.models import ConflictReason, ConflictState
from programdesk.people.selectors import people_visible
from programdesk.web.permissions import page_user, role_required

# Bump when sw.js changes what it caches: the new worker deletes the old caches.
WORKER_VERSION = "2"


def service_worker(request: HttpRequest) -> HttpResponse:
    """``/sw.js``: no personal data in it, so anyone may fetch it (a browser fetches it again
    to look for updates, logged in or not). From the root, its scope is the whole site."""
    response = render(request, "web/offline/sw.js", {
        "version": WORKER_VERSION,
        "static": json.dumps([static(name) for name in (
            "web/app.css", "web/app.js", "web/htmx-2.0.11.min.js", "web/kiosk.js",
            "web/attendance.js", "web/attendance.css", "web/offline.js", "web/favicon.svg",
            "web/favicon.png", "web/icon-192.png")])},
        content_type="text/javascript; charset=utf-8")
    return response


def manifest(request: HttpRequest) -> HttpResponse:
    """``/manifest.webmanifest``: what a tablet needs to install the front desk as an app."""
    data = {
        "name": _("Program Desk front desk"), "short_name": _("Front desk"),
        "start_url": "/kiosk/", "scope": "/", "display": "standalone",
        "background_color": "#ffffff", "theme_color": "#1f4e79",
        # The PNGs are made by programdesk/web/icons.py (installable apps want 192 and 512 px,
        # and a maskable one a launcher may crop to a circle).
        "icons": [{"src": static("web/favicon.svg"), "sizes": "any", "type": "image/svg+xml"},
                  {"src": static("web/favicon.png"), "sizes": "32x32", "type": "image/png"},
                  {"src": static("web/icon-192.png"), "sizes": "192x192", "type": "image/png"},
                  {"src": static("web/icon-512.png"), "sizes": "512x512", "type": "image/png"},
                  {"src": static("web/icon-maskable-512.png"), "sizes": "512x512",
                   "type": "image/png", "purpose": "maskable"}],
    }
    return HttpResponse(json.dumps(data), content_type="application/manifest+json")


@role_required(Cap.WRITE_RECORDS)
def sync_conflicts(request: HttpRequest) -> HttpResponse:
    """Records made offline that the server could not apply, with the server's reason and the
    decisions: apply with an override reason, merge (apply to the person found), discard."""
    user = page_user(request)
    if request.method == "POST":
        conflict = visible_or_404(selectors.conflicts_visible(user),
                                  query_id(request.POST, "conflict_id") or 0)
        resolution = request.POST.get("resolution", "")
        try:
            services.sync_conflict_resolve(
                actor=user, conflict=conflict, resolution=resolution,
                note=request.POST.get("note", ""),
                person_id=parse_id(request.POST.get("person_id", "")))
        except DomainError as exc:
            messages.error(request, " ".join([exc.detail] + [
                e["message"] for e in exc.errors if e["message"] != exc.detail]))
        else:
            messages.success(request, {
                "apply": _("Applied."), "merge": _("Applied to the person chosen."),
                "discard": _("Discarded."),
            }.get(resolution, _("Done.")))
        return redirect(request.path + ("?state=" + request.GET["state"]
                                         if request.GET.get("state") in ConflictState.values
                                         else ""))
    state = request.GET.get("state", ConflictState.OPEN)
    if state not in ConflictState.values:
        state = ConflictState.OPEN
    conflicts = list(selectors.conflicts_list(user=user, state=state)[:200])
    # The people the records name, by name (staff see names; the device sent ids).
    people = people_visible(user).in_bulk([
        c.payload["person_id"] for c in conflicts if isinstance(c.payload.get("person_id"), int)])
    for conflict in conflicts:
        person = people.get(conflict.payload.get("person_id"))
        conflict.person_name = person.full_name if person else ""  # type: ignore[attr-defined]
    return render(request, "web/offline/conflicts.html", {
        "conflicts": conflicts, "state": state, "states": ConflictState.choices,
        # The reasons whose server's words say more than the reason itself.
        "detailed": {ConflictReason.SERVICE_LIMIT, ConflictReason.ELIGIBILITY,
                     ConflictReason.REFUSED},
        "can_override": user.can(Cap.MANAGE_PROGRAMS),
        "manager_reasons": {ConflictReason.SERVICE_LIMIT, ConflictReason.ELIGIBILITY},
        "open_count": selectors.conflicts_open_count(user=user)})


urlpatterns = [
    path("sw.js", service_worker, name="service_worker"),
    path("manifest.webmanifest", manifest, name="manifest"),
    path("sync/conflicts/", sync_conflicts, name="sync_conflicts"),
]
