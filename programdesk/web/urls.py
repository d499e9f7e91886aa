"""Pages. Each area's view module lists its own urlpatterns; this file only collects them."""

from programdesk.web.views import home, scheduling

urlpatterns = [
    *home.urlpatterns,
    *scheduling.urlpatterns,
]
