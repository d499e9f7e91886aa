"""Pages. Each area's view module lists its own urlpatterns; this file only collects them."""

from programdesk.web.views import home, people, programs, scheduling, settings

urlpatterns = [
    *home.urlpatterns,
    *scheduling.urlpatterns,
    *people.urlpatterns,
    *programs.urlpatterns,
    *settings.urlpatterns,
]
