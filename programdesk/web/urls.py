"""Pages. Each area's view module lists its own urlpatterns; this file only collects them."""

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
