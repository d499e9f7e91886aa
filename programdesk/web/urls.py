"""Pages. Each area's view module lists its own urlpatterns; this file only collects them."""

from programdesk.web.views import exports, home, reports

urlpatterns = [
    *home.urlpatterns,
    *reports.urlpatterns,
    *exports.urlpatterns,
]
