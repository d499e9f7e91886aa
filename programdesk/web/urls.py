"""Pages. Each area's view module lists its own urlpatterns; this file only collects them."""

from programdesk.web.views import exports, home, people, programs, reports, scheduling, settings

urlpatterns = [
    *home.urlpatterns,
    *scheduling.urlpatterns,
    *people.urlpatterns,
    *programs.urlpatterns,
    *settings.urlpatterns,
    *reports.urlpatterns,
    *exports.urlpatterns,
]
