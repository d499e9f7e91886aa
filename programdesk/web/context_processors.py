from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from programdesk.core.roles import Cap

# (label, path, capability needed to see the link). Translated: the front desk's pages show
# the menu in their language (web/language.py); everywhere else it is English.
NAV = [
    (_("Dashboard"), "/", Cap.READ_SETUP),
    (_("People"), "/people/", Cap.READ_RECORDS),
    (_("Accounts"), "/accounts/", Cap.READ_RECORDS),
    (_("Cases"), "/cases/", Cap.READ_RECORDS),
    (_("Programs"), "/programs/", Cap.READ_SETUP),
    (_("Sessions"), "/sessions/", Cap.READ_SETUP),
    (_("Disbursements"), "/disbursements/", Cap.READ_RECORDS),
    (_("Bulk disbursement"), "/disbursements/bulk/", Cap.LOG_DISBURSEMENTS),
    (_("Reports"), "/reports/", Cap.READ_RECORDS),
    (_("Import"), "/imports/", Cap.WRITE_RECORDS),
    (_("Settings"), "/settings/", Cap.CONFIGURE),
    (_("Check-in"), "/kiosk/", Cap.CHECK_IN),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": []}
    links = [(label, path) for label, path, cap in NAV if user.can(cap)]
    # The longest link the page is under is the current one (/disbursements/bulk/ is not also
    # /disbursements/).
    under = [path for _, path in links if request.path == path
             or (path != "/" and request.path.startswith(path))]
    current = max(under, key=len, default=None)
    return {"nav": [{"label": label, "path": path, "current": path == current}
                    for label, path in links]}
