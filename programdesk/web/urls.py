"""Pages. Each area's view module lists its own urlpatterns; this file only collects them."""

from programdesk.web.views import disbursements, home, participation

urlpatterns = [
    *home.urlpatterns,
    *participation.urlpatterns,
    *disbursements.urlpatterns,
]
