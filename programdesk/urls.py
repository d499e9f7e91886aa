from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from programdesk.api.main import api


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers and monitors: answers without touching the database."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("programdesk.web.urls")),
]
