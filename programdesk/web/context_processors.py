from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from programdesk.core.roles import Cap

# (label, path, capability needed to see the link)
NAV = [
    ("Dashboard", "/", Cap.READ_SETUP),
    ("People", "/people/", Cap.READ_RECORDS),
    ("Accounts", "/accounts/", Cap.READ_RECORDS),
    ("Cases", "/cases/", Cap.READ_RECORDS),
    ("Programs", "/programs/", Cap.READ_SETUP),
    ("Sessions", "/sessions/", Cap.READ_SETUP),
    ("Disbursements", "/disbursements/", Cap.READ_RECORDS),
    ("Bulk disbursement", "/disbursements/bulk/", Cap.LOG_DISBURSEMENTS),
    ("Reports", "/reports/", Cap.READ_RECORDS),
    ("Import", "/imports/", Cap.WRITE_RECORDS),
    ("Settings", "/settings/", Cap.CONFIGURE),
    ("Check-in", "/kiosk/", Cap.CHECK_IN),
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
