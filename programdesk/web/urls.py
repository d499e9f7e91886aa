"""Pages. Each area's view module lists its own urlpatterns; this file only collects them."""

from django.urls import path

from programdesk.web import language
from programdesk.web.views import (
    cards,
    disbursements,
    exports,
    home,
    imports,
    offline,
    participation,
    people,
    programs,
    reports,
    scheduling,
    settings,
)

urlpatterns = [
    *home.urlpatterns,
    # The front desk's language, one tap at the kiosk (web/language.py).
    path("kiosk/language/", language.choose_language, name="kiosk_language"),
    # participation first: its attendance sheet is the session page (/sessions/<id>/)
    *participation.urlpatterns,
    *scheduling.urlpatterns,
    *disbursements.urlpatterns,
    *people.urlpatterns,
    *cards.urlpatterns,
    *programs.urlpatterns,
    *settings.urlpatterns,
    *reports.urlpatterns,
    *exports.urlpatterns,
    *imports.urlpatterns,
    *offline.urlpatterns,
]
