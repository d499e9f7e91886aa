"""The authorization matrix: for every route (API operation, page, admin), who may use it, and
whether it belongs to a program. test_matrix.py walks it for every role, on the user's own
program and on another one; a route missing here fails that test.

Who may (docs/api.md, Roles):
  READ     programs, benefits, schedules, sessions; people, records, reports — not the kiosk
  WRITE    people, accounts, cases, enrollments, cohorts, participants, attendance — staff and up
  CHECK_IN the check-in flow — staff and up, and the kiosk
  LOG      ad hoc and bulk disbursements (case workers log what they gave) — staff and up
  MANAGE   programs, benefits, schedules (cancelling a session, deleting future sessions);
           editing and deleting disbursements — managers and admins
  CONFIG   status values, custom fields, eligibility rules, units, benefit types — admins

Expected answers, derived from an entry:
  API    no credentials 401; a role not allowed 403; allowed: ``ok`` on its own program; another
         program's object named in the path or the query 404, named in the body 422.
  pages  anonymous → the login page; a kiosk → /kiosk/ (outside the check-in pages); a role not
         allowed 403; allowed: ``ok``; another program's object in the path 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.timezone import localdate

from tests.security.world import Side, World

ADMIN, MANAGER, STAFF, VIEWER, KIOSK = "admin", "manager", "staff", "viewer", "kiosk"
READ = frozenset({ADMIN, MANAGER, STAFF, VIEWER})
ELIGIBILITY = frozenset({ADMIN, MANAGER, STAFF})  # viewers see no income or documents
WRITE = frozenset({ADMIN, MANAGER, STAFF})
CHECK_IN = frozenset({ADMIN, MANAGER, STAFF, KIOSK})
SESSIONS = READ | {KIOSK}  # a kiosk sees today's sessions
LOG = frozenset({ADMIN, MANAGER, STAFF})
MANAGE = frozenset({ADMIN, MANAGER})
CONFIG = frozenset({ADMIN})
EVERYONE = frozenset({ADMIN, MANAGER, STAFF, VIEWER, KIOSK})

Body = Callable[[Side, World], Any]
Query = Callable[[Side], dict[str, Any]]


@dataclass(frozen=True)
class Api:
    allowed: frozenset[str]
    # How the request names a program's object: "path" (other program → 404), "query" (404),
    # "body" (422), "filter" (a list filtered by another program: empty, 200), or None when the
    # route belongs to no program.
    scope: str | None = "path"
    ok: int = 200
    body: Body | None = None
    query: Query | None = None
    public: bool = False  # answers without credentials
    upload: Body | None = None  # a multipart form (a dict of fields and files) instead of JSON
    params: dict[str, str] = field(default_factory=dict)  # path parameters that are no object


@dataclass(frozen=True)
class Page:
    allowed: frozenset[str]
    ok: int = 200
    scoped: bool = True  # the path names a program's object (another program → 404)
    query: Query | None = None  # the query string, or the form posted
    public: dict[str, int] | None = None  # role (or "anonymous") → status, for public pages
    kiosk_page: bool = False  # one of the check-in pages a kiosk stays on
    other: int = 404  # the answer on another program's object


def _none(side: Side) -> dict[str, Any]:
    return {}


def _program(side: Side) -> dict[str, Any]:
    return {"program_id": side.program.pk}


def _enrollments_csv(side: Side) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = f"program,person_id,start_date\n{side.program.pk},{side.duplicate.pk},2026-01-05\n"
    return {"file": SimpleUploadedFile("enrollments.csv", data.encode(), "text/csv")}


# --- the API -----------------------------------------------------------------------------------

V = "/api/v1"
API: dict[tuple[str, str], Api] = {
    # who am I
    ("GET", f"{V}/me"): Api(EVERYONE, scope=None),
    # reference data
    ("GET", f"{V}/status-values"): Api(READ, scope=None),
    ("GET", f"{V}/units"): Api(READ, scope=None),
    ("POST", f"{V}/units"): Api(CONFIG, scope=None, ok=201,
                                body=lambda s, w: {"code": "crate", "name": "Crate"}),
    ("GET", f"{V}/benefit-types"): Api(READ, scope=None),
    ("POST", f"{V}/benefit-types"): Api(CONFIG, scope=None, ok=201, body=lambda s, w: {
        "name": "Groceries", "kind": "goods", "unit": "item"}),
    # people, accounts, cases, documents, eligibility
    ("GET", f"{V}/people"): Api(READ, scope=None),
    ("POST", f"{V}/people"): Api(WRITE, scope="body", ok=201, body=lambda s, w: {
        "first_name": "New", "last_name": "Person", "account_id": s.account.pk}),
    ("GET", f"{V}/people/duplicates"): Api(READ, scope=None, query=lambda s: {
        "first_name": "Pat", "last_name": "Lee"}),
    ("GET", f"{V}/people/{{person_id}}"): Api(READ),
    ("PATCH", f"{V}/people/{{person_id}}"): Api(WRITE, body=lambda s, w: {"phone": "555-0100"}),
    ("POST", f"{V}/people/{{person_id}}/merge"): Api(WRITE, body=lambda s, w: {
        "duplicate_id": s.duplicate.pk}),
    ("GET", f"{V}/people/{{person_id}}/documents"): Api(ELIGIBILITY),
    ("POST", f"{V}/people/{{person_id}}/documents"): Api(WRITE, ok=201, body=lambda s, w: {
        "document_type": "address", "verified_on": "2026-01-05"}),
    ("DELETE", f"{V}/people/{{person_id}}/documents/{{document_id}}"): Api(WRITE, ok=204),
    ("GET", f"{V}/people/{{person_id}}/eligibility"): Api(ELIGIBILITY, query=_program),
    ("GET", f"{V}/accounts"): Api(READ, scope=None),
    ("POST", f"{V}/accounts"): Api(WRITE, scope=None, ok=201,
                                   body=lambda s, w: {"name": "New household"}),
    ("GET", f"{V}/accounts/{{account_id}}"): Api(READ),
    ("PATCH", f"{V}/accounts/{{account_id}}"): Api(WRITE, body=lambda s, w: {"phone": "555"}),
    ("GET", f"{V}/accounts/{{account_id}}/members"): Api(READ),
    ("POST", f"{V}/accounts/{{account_id}}/members"): Api(WRITE, ok=201, body=lambda s, w: {
        "person_id": s.duplicate.pk, "relationship": "child"}),
    ("POST", f"{V}/accounts/{{account_id}}/members/{{person_id}}/end"): Api(
        WRITE, body=lambda s, w: {}),
    ("GET", f"{V}/cases"): Api(READ, scope=None),
    ("POST", f"{V}/cases"): Api(WRITE, scope="body", ok=201, body=lambda s, w: {
        "person_id": s.person.pk, "subject": "Rent", "program_ids": [s.program.pk]}),
    ("GET", f"{V}/cases/{{case_id}}"): Api(READ),
    ("PATCH", f"{V}/cases/{{case_id}}"): Api(WRITE, body=lambda s, w: {"notes": "Called"}),
    # programs, benefits, cohorts, configuration
    ("GET", f"{V}/programs"): Api(READ, scope=None),
    ("POST", f"{V}/programs"): Api(MANAGE, scope=None, ok=201,
                                   body=lambda s, w: {"name": "Brand new program"}),
    ("GET", f"{V}/programs/{{program_id}}"): Api(READ),
    ("PATCH", f"{V}/programs/{{program_id}}"): Api(MANAGE, body=lambda s, w: {"summary": "x"}),
    ("GET", f"{V}/benefits"): Api(READ, scope=None),
    ("POST", f"{V}/benefits"): Api(MANAGE, scope="body", ok=201, body=lambda s, w: {
        "program_id": s.program.pk, "name": "Bus pass", "unit": "item"}),
    ("GET", f"{V}/benefits/{{benefit_id}}"): Api(READ),
    ("PATCH", f"{V}/benefits/{{benefit_id}}"): Api(MANAGE, body=lambda s, w: {
        "description": "x"}),
    ("GET", f"{V}/cohorts"): Api(READ, scope=None),
    ("POST", f"{V}/cohorts"): Api(WRITE, scope="body", ok=201, body=lambda s, w: {
        "program_id": s.program.pk, "name": "Fall cohort"}),
    ("GET", f"{V}/cohorts/{{cohort_id}}"): Api(READ),
    ("PATCH", f"{V}/cohorts/{{cohort_id}}"): Api(WRITE, body=lambda s, w: {"max_members": 9}),
    ("POST", f"{V}/cohorts/{{cohort_id}}/members"): Api(WRITE, ok=201, body=lambda s, w: {
        "enrollment_ids": [s.enrollment.pk]}),
    ("POST", f"{V}/cohorts/{{cohort_id}}/members/remove"): Api(WRITE, body=lambda s, w: {
        "enrollment_ids": [s.account_enrollment.pk]}),
    ("GET", f"{V}/custom-fields"): Api(READ, scope=None),
    ("POST", f"{V}/custom-fields"): Api(CONFIG, scope="body", ok=201, body=lambda s, w: {
        "target": "person", "key": "shoe_size", "label": "Shoe size", "field_type": "number",
        "program_id": s.program.pk}),
    ("PATCH", f"{V}/custom-fields/{{field_id}}"): Api(CONFIG, body=lambda s, w: {
        "label": "Renamed"}),
    ("GET", f"{V}/eligibility-rules"): Api(READ, scope=None),
    ("POST", f"{V}/eligibility-rules"): Api(CONFIG, scope="body", ok=201, body=lambda s, w: {
        "program_id": s.program.pk, "criterion": "age", "params": {"min": 1, "max": 99}}),
    ("PATCH", f"{V}/eligibility-rules/{{rule_id}}"): Api(CONFIG, body=lambda s, w: {
        "mode": "block"}),
    ("DELETE", f"{V}/eligibility-rules/{{rule_id}}"): Api(CONFIG, ok=204),
    ("GET", f"{V}/income-guidelines"): Api(READ, scope=None),
    ("PUT", f"{V}/income-guidelines"): Api(CONFIG, scope=None, body=lambda s, w: {
        "rows": [{"household_size": 1, "annual_income": 16000}]}),
    # schedules and sessions
    ("POST", f"{V}/benefits/{{benefit_id}}/schedules"): Api(MANAGE, ok=201, body=lambda s, w: {
        "name": "Evenings", "timezone": "America/New_York",
        "first_session_start": "2030-03-03T18:00", "first_session_end": "2030-03-03T20:00",
        "recurrence": {"frequency": "weekly", "count": 3}}),
    ("GET", f"{V}/schedules"): Api(READ, scope=None),
    ("GET", f"{V}/schedules/{{schedule_id}}"): Api(READ),
    ("GET", f"{V}/schedules/{{schedule_id}}/sessions"): Api(READ),
    ("POST", f"{V}/schedules/{{schedule_id}}/sessions"): Api(MANAGE, ok=201, body=lambda s, w: {
        "count": 1}),
    ("POST", f"{V}/schedules/{{schedule_id}}/sessions/delete-future"): Api(
        MANAGE, body=lambda s, w: {"after": "2099-01-01"}),
    ("POST", f"{V}/schedules/{{schedule_id}}/recurrence"): Api(MANAGE, body=lambda s, w: {
        "recurrence": {"frequency": "weekly", "count": 10}, "dry_run": True}),
    ("GET", f"{V}/schedules/{{schedule_id}}/calendar.ics"): Api(READ),
    ("HEAD", f"{V}/schedules/{{schedule_id}}/calendar.ics"): Api(READ),
    ("GET", f"{V}/programs/{{program_id}}/calendar.ics"): Api(READ),
    ("HEAD", f"{V}/programs/{{program_id}}/calendar.ics"): Api(READ),
    ("GET", f"{V}/sessions"): Api(SESSIONS, scope="filter", query=_program),
    ("GET", f"{V}/sessions/{{session_id}}"): Api(SESSIONS),
    ("PATCH", f"{V}/sessions/{{session_id}}"): Api(WRITE, body=lambda s, w: {
        "location": "Room 9"}),
    # participation
    ("GET", f"{V}/schedules/{{schedule_id}}/participants"): Api(READ),
    ("POST", f"{V}/schedules/{{schedule_id}}/participants"): Api(WRITE, ok=201,
                                                                 body=lambda s, w: {
        "person_ids": [s.duplicate.pk]}),
    ("POST", f"{V}/schedules/{{schedule_id}}/participants/remove"): Api(
        WRITE, body=lambda s, w: {"assignment_ids": [s.assignment.pk]}),
    ("POST", f"{V}/sessions/{{session_id}}/participants"): Api(WRITE, ok=201, body=lambda s, w: {
        "person_ids": [s.duplicate.pk]}),
    ("POST", f"{V}/sessions/{{session_id}}/attendance"): Api(WRITE, body=lambda s, w: {
        "records": [{"disbursement_id": s.disbursement.pk, "status": "completed"}]}),
    ("GET", f"{V}/sessions/{{session_id}}/check-in/search"): Api(CHECK_IN,
                                                                 query=lambda s: {"q": "Pat"}),
    ("POST", f"{V}/sessions/{{session_id}}/check-in"): Api(CHECK_IN, body=lambda s, w: {
        "person_id": s.person.pk}),
    ("POST", f"{V}/sessions/{{session_id}}/check-in/card"): Api(CHECK_IN, body=lambda s, w: {
        "code": s.person.card_code}),
    # the offline front desk: the roster a device keeps, the batch sync (a record naming
    # another program's session is "rejected" in a 200 answer: tests/offline), the conflicts
    ("GET", f"{V}/offline/roster"): Api(CHECK_IN, scope=None),
    ("POST", f"{V}/sync"): Api(CHECK_IN, scope=None, body=lambda s, w: {
        "device_id": "tablet-1", "records": [{
            "id": "r-1", "kind": "check_in", "happened_at": "2026-01-05T10:00:00Z",
            "session_id": s.session.pk, "person_id": s.person.pk}]}),
    ("GET", f"{V}/sync/conflicts"): Api(WRITE, scope=None),
    ("GET", f"{V}/enrollments"): Api(READ, scope=None),
    ("POST", f"{V}/enrollments"): Api(WRITE, scope="body", ok=201, body=lambda s, w: {
        "program_id": s.program.pk, "is_anonymous": True}),
    ("GET", f"{V}/enrollments/{{enrollment_id}}"): Api(READ),
    ("PATCH", f"{V}/enrollments/{{enrollment_id}}"): Api(WRITE, body=lambda s, w: {
        "start_date": "2026-01-05"}),
    # disbursements
    ("GET", f"{V}/disbursements"): Api(READ, scope=None),
    ("POST", f"{V}/disbursements"): Api(LOG, scope="body", ok=201, body=lambda s, w: {
        "person_id": s.person.pk, "disbursed_on": "2026-03-04",
        "items": [{"benefit_id": s.ad_hoc.benefit_id, "quantity": 1}]}),
    ("GET", f"{V}/disbursements/{{disbursement_id}}"): Api(READ),
    ("PATCH", f"{V}/disbursements/{{disbursement_id}}"): Api(MANAGE, body=lambda s, w: {
        "quantity": 2}),
    ("DELETE", f"{V}/disbursements/{{disbursement_id}}"): Api(MANAGE, ok=204),
    # imports: staff import people, accounts and enrollments (rows naming another program are
    # row errors, 422); disbursements need a manager.
    ("POST", f"{V}/imports/{{kind}}"): Api(WRITE, scope="body", params={"kind": "enrollments"},
                                           upload=lambda s, w: _enrollments_csv(s)),
    # a background import's job: its uploader's, no program's (tests/imports/test_api.py)
    ("GET", f"{V}/imports/jobs/{{job_id}}"): Api(WRITE, scope=None, ok=404,
                                                 params={"job_id": "999999999"}),
    ("POST", f"{V}/benefits/{{benefit_id}}/bulk-disbursements"): Api(
        LOG, ok=201, body=lambda s, w: {"mode": "anonymous", "quantity": 1,
                                           "disbursed_on": "2026-03-04",
                                           "number_of_recipients": 3}),
}

# Reports: read access, program-scoped through their query (another program's id → 404).
for _name in ["summary", "attendance", "completion", "units-by-month", "repeat-participation",
              "follow-ups/absences", "follow-ups/not-served", "follow-ups/unrecorded-sessions",
              "demographics"]:
    API[("GET", f"{V}/reports/{_name}")] = Api(READ, scope="query", query=_program)
for _name in ["summary", "attendance", "completion", "units-by-month", "repeat-participation",
              "repeat-by-postal-code", "follow-ups-absences", "follow-ups-not-served",
              "follow-ups-unrecorded-sessions", "demographics", "tefap-monthly", "csbg",
              "new-vs-returning"]:
    for _fmt in ["csv", "xlsx"]:
        API[("GET", f"{V}/reports/{_name}.{_fmt}")] = Api(READ, scope="query", query=_program)

# The API's own documents are public by design: they describe the contract, never data.
API_PUBLIC_ROUTES = {"api/v1/openapi.json": 200, "api/v1/docs": 200, "api/v1/": 404}

# Path parameter → the object of a side it names.
API_PARAMS = {
    "person_id": "person", "account_id": "account", "case_id": "case", "program_id": "program",
    "benefit_id": "benefit", "cohort_id": "cohort", "field_id": "field", "rule_id": "rule",
    "enrollment_id": "enrollment", "schedule_id": "schedule", "session_id": "session",
    "disbursement_id": "ad_hoc", "document_id": "document",
}


# --- pages -------------------------------------------------------------------------------------

def _person(side: Side) -> dict[str, Any]:
    return {"person": side.person.pk}


PAGES: dict[tuple[str, str], Page] = {
    ("GET", ""): Page(READ, scoped=False),
    # For monitors, which do not log in; a kiosk login stays on the check-in pages.
    ("GET", "healthz"): Page(EVERYONE, scoped=False, public={
        "anonymous": 200, **dict.fromkeys(READ, 200), KIOSK: 302}),
    ("GET", "login/"): Page(EVERYONE, scoped=False, public={
        "anonymous": 200, **dict.fromkeys(EVERYONE, 302)}),
    ("POST", "logout/"): Page(EVERYONE, scoped=False, public={
        "anonymous": 302, **dict.fromkeys(EVERYONE, 302)}),
    # participation
    ("GET", "schedules/<int:pk>/participants/"): Page(WRITE),
    ("GET", "schedules/<int:pk>/participants/search"): Page(WRITE, query=lambda s: {"q": "Pat"}),
    ("GET", "sessions/<int:pk>/"): Page(READ),
    ("POST", "sessions/<int:pk>/"): Page(WRITE, ok=302),  # the attendance sheet saves
    # the sheet's walk-in panel: without htmx a search is the sheet (redirect), an add goes back
    ("GET", "sessions/<int:pk>/walk-in/"): Page(WRITE, ok=302, query=lambda s: {"q": "Pat"}),
    ("POST", "sessions/<int:pk>/walk-in/"): Page(WRITE, ok=302, query=lambda s: {
        "person_id": s.duplicate.pk}),
    # the paper roster: printable, and the files the attendance import reads back
    ("GET", "sessions/<int:pk>/roster/"): Page(READ),
    ("GET", "sessions/<int:pk>/roster.csv"): Page(READ),
    ("GET", "sessions/<int:pk>/roster.xlsx"): Page(READ),
    ("GET", "kiosk/"): Page(CHECK_IN, scoped=False, kiosk_page=True),
    ("GET", "kiosk/<int:pk>/"): Page(CHECK_IN, kiosk_page=True),
    ("GET", "kiosk/<int:pk>/search"): Page(CHECK_IN, kiosk_page=True, query=lambda s: {"q": "Pat"}),
    # the offline front desk: the service worker and the manifest hold no data (anyone);
    # the review of records a device could not send (no conflict in the world: 404)
    ("GET", "sw.js"): Page(EVERYONE, scoped=False, public={
        "anonymous": 200, **dict.fromkeys(EVERYONE, 200)}),
    ("GET", "manifest.webmanifest"): Page(EVERYONE, scoped=False, public={
        "anonymous": 200, **dict.fromkeys(EVERYONE, 200)}),
    ("GET", "sync/conflicts/"): Page(WRITE, scoped=False),
    ("POST", "sync/conflicts/"): Page(WRITE, scoped=False, ok=404),
    # The front desk's language (web/language.py): kept in the login's session, then back.
    # It names no program's object: the same answer on either side.
    ("POST", "kiosk/language/"): Page(CHECK_IN, ok=302, scoped=False, kiosk_page=True, other=302,
                                      query=lambda s: {"language": "es", "next": "/kiosk/"}),
    ("GET", "programs/<int:pk>/enrollments/"): Page(READ),
    ("POST", "programs/<int:pk>/enrollments/"): Page(WRITE, ok=302, query=lambda s: {
        "cohort_id": s.cohort.pk, "enrollment_ids": s.enrollment.pk}),
    ("GET", "enrollments/<int:pk>/"): Page(READ),
    ("POST", "enrollments/<int:pk>/"): Page(WRITE),
    ("GET", "cohorts/<int:pk>/"): Page(READ),
    ("POST", "cohorts/<int:pk>/"): Page(WRITE, ok=302),
    # scheduling
    ("GET", "benefits/<int:benefit_id>/schedules/new/"): Page(MANAGE),
    ("GET", "schedules/"): Page(READ, scoped=False),
    ("GET", "schedules/<int:pk>/"): Page(READ),
    ("POST", "schedules/<int:pk>/sessions/add/"): Page(MANAGE, ok=302),
    # deleting future sessions: GET says what would go and asks to confirm, the POST deletes
    ("GET", "schedules/<int:pk>/sessions/delete-future/"): Page(MANAGE, query=lambda s: {
        "after": "2099-01-01"}),
    ("POST", "schedules/<int:pk>/sessions/delete-future/"): Page(MANAGE, ok=302),
    ("GET", "schedules/<int:pk>/recurrence/"): Page(MANAGE),
    ("GET", "schedules/<int:pk>/calendar.ics"): Page(READ, ok=302),
    ("GET", "programs/<int:pk>/calendar.ics"): Page(READ, ok=302),
    ("GET", "sessions/"): Page(READ, scoped=False),
    ("POST", "sessions/<int:pk>/edit/"): Page(WRITE, ok=302),
    ("GET", "sessions/<int:pk>/cancel/"): Page(MANAGE),  # the confirmation
    ("POST", "sessions/<int:pk>/cancel/"): Page(MANAGE, ok=302),
    ("POST", "sessions/<int:pk>/restore/"): Page(MANAGE, ok=302),
    # disbursements
    ("GET", "people/<int:pk>/log-benefits/"): Page(LOG),
    ("GET", "disbursements/line-fields"): Page(LOG, scoped=False),
    ("GET", "accounts/<int:pk>/log-benefits/"): Page(LOG),
    ("GET", "cases/<int:pk>/log-benefits/"): Page(LOG),
    ("GET", "programs/<int:pk>/bulk/"): Page(LOG),
    ("GET", "benefits/<int:pk>/bulk/"): Page(LOG),
    ("GET", "disbursements/bulk/"): Page(LOG, scoped=False),
    ("GET", "disbursements/"): Page(READ, scoped=False),
    ("GET", "disbursements/<int:pk>/"): Page(READ),
    ("POST", "disbursements/<int:pk>/"): Page(MANAGE),
    # people
    ("GET", "people/"): Page(READ, scoped=False),
    ("GET", "people/new/"): Page(WRITE, scoped=False),
    ("GET", "people/<int:pk>/"): Page(READ),
    ("GET", "people/<int:pk>/edit/"): Page(WRITE),
    # check-in cards: a replace or revoke is confirmed first (GET ?confirm=), done by the POST
    ("GET", "people/<int:pk>/card/"): Page(WRITE),
    ("POST", "people/<int:pk>/card/"): Page(WRITE, ok=302, query=lambda s: {"action": "issue"}),
    ("GET", "people/<int:pk>/merge/"): Page(WRITE),
    ("POST", "people/<int:pk>/documents/"): Page(WRITE, ok=302),
    ("POST", "people/<int:pk>/documents/<int:doc>/delete/"): Page(WRITE, ok=302),
    ("GET", "accounts/"): Page(READ, scoped=False),
    ("GET", "accounts/new/"): Page(WRITE, scoped=False),
    ("GET", "accounts/<int:pk>/"): Page(READ),
    ("GET", "accounts/<int:pk>/edit/"): Page(WRITE),
    ("GET", "accounts/<int:pk>/card/"): Page(WRITE),
    ("POST", "accounts/<int:pk>/card/"): Page(WRITE, ok=302, query=lambda s: {"action": "issue"}),
    ("POST", "accounts/<int:pk>/members/"): Page(WRITE, ok=302),
    ("GET", "accounts/<int:pk>/members/end/"): Page(WRITE, query=_person),
    ("POST", "accounts/<int:pk>/members/end/"): Page(WRITE, ok=302, query=lambda s: {
        "person": s.person.pk, "end_date": localdate().isoformat()}),
    ("GET", "accounts/<int:pk>/members/move/"): Page(WRITE, query=lambda s: {
        "person": s.duplicate.pk}),
    ("POST", "accounts/<int:pk>/members/move/"): Page(WRITE, ok=302, query=lambda s: {
        "person": s.duplicate.pk, "relationship": "other", "on": localdate().isoformat()}),
    ("GET", "cases/"): Page(READ, scoped=False),
    ("GET", "cases/new/"): Page(WRITE, scoped=False, query=_person),
    ("GET", "cases/<int:pk>/"): Page(READ),
    ("GET", "cases/<int:pk>/edit/"): Page(WRITE),
    # programs
    ("GET", "programs/"): Page(READ, scoped=False),
    ("GET", "programs/new/"): Page(MANAGE, scoped=False),
    ("GET", "programs/<int:pk>/"): Page(READ),
    ("GET", "programs/<int:pk>/edit/"): Page(MANAGE),
    ("GET", "programs/<int:pk>/benefits/new/"): Page(MANAGE),
    ("GET", "programs/<int:pk>/cohorts/new/"): Page(WRITE),
    ("GET", "benefits/<int:pk>/"): Page(READ),
    ("GET", "benefits/<int:pk>/edit/"): Page(MANAGE),
    ("GET", "cohorts/<int:pk>/edit/"): Page(WRITE),
    # settings (configuration)
    ("GET", "settings/"): Page(CONFIG, scoped=False),
    ("GET", "settings/status-values/"): Page(CONFIG, scoped=False),
    ("POST", "settings/status-values/<int:pk>/"): Page(CONFIG, scoped=False, ok=302),
    ("GET", "settings/custom-fields/"): Page(CONFIG, scoped=False),
    ("GET", "settings/custom-fields/new/"): Page(CONFIG, scoped=False),
    ("GET", "settings/custom-fields/<int:pk>/edit/"): Page(CONFIG),
    ("GET", "settings/eligibility-rules/"): Page(CONFIG, scoped=False),
    ("GET", "settings/eligibility-rules/new/"): Page(CONFIG, scoped=False),
    ("GET", "settings/eligibility-rules/<int:pk>/edit/"): Page(CONFIG),
    ("POST", "settings/eligibility-rules/<int:pk>/delete/"): Page(CONFIG, ok=302),
    ("GET", "settings/income-guidelines/"): Page(CONFIG, scoped=False),
    ("GET", "settings/units/"): Page(CONFIG, scoped=False),
    ("GET", "settings/benefit-types/"): Page(CONFIG, scoped=False),
    # reports and downloads: program-scoped through their query. A report page offers only the
    # user's programs: another program's id is a form error on the page (200, nothing shown).
    ("GET", "reports/"): Page(READ, query=_program, other=200),
    ("GET", "reports/attendance/"): Page(READ, query=_program, other=200),
    ("GET", "reports/completion/"): Page(READ, query=_program, other=200),
    ("GET", "reports/repeat/"): Page(READ, query=_program, other=200),
    ("GET", "reports/follow-ups/"): Page(READ, query=_program, other=200),
    ("GET", "reports/demographics/"): Page(READ, query=_program, other=200),
    ("GET", "reports/tefap/"): Page(READ, query=_program, other=200),
    ("GET", "reports/csbg/"): Page(READ, query=_program, other=200),
    ("GET", "reports/new-vs-returning/"): Page(READ, query=_program, other=200),
    # the rows behind a number: the filters as the downloads check them (another program 404)
    ("GET", "reports/rows/"): Page(READ, query=lambda s: {**_program(s), "measure": "people"}),
    ("GET", "reports/rows.csv"): Page(READ, query=lambda s: {**_program(s), "measure": "people"}),
    ("GET", "reports/rows.xlsx"): Page(READ, query=lambda s: {**_program(s), "measure": "people"}),
    # imports: a job is its uploader's ("other": someone else's job, 404)
    ("GET", "imports/"): Page(WRITE, scoped=False),
    ("POST", "imports/"): Page(WRITE, scoped=False, ok=400),  # no file: the form's error
    ("GET", "imports/template/<slug:kind>.csv"): Page(WRITE, scoped=False),
    ("GET", "imports/<int:pk>/"): Page(WRITE),
    ("GET", "imports/<int:pk>/progress/"): Page(WRITE, ok=204),  # not running
    ("GET", "imports/<int:pk>/errors.csv"): Page(WRITE),
    # large exports: a job is its asker's ("other": someone else's job, 404)
    ("GET", "exports/jobs/<int:pk>/"): Page(READ),
    ("GET", "exports/jobs/<int:pk>/progress/"): Page(READ, ok=204),  # written already
    ("GET", "exports/jobs/<int:pk>/download"): Page(READ),
}
for _name in ["summary", "attendance", "completion", "units-by-month", "repeat-participation",
              "repeat-by-postal-code", "follow-ups-absences", "follow-ups-not-served",
              "follow-ups-unrecorded-sessions", "demographics", "tefap-monthly", "csbg",
              "new-vs-returning"]:
    for _fmt in ["csv", "xlsx"]:
        PAGES[("GET", f"reports/{_name}.{_fmt}")] = Page(READ, query=_program)
for _name in ["people", "enrollments", "disbursements", "sessions"]:
    for _fmt in ["csv", "xlsx"]:
        PAGES[("GET", f"exports/{_name}.{_fmt}")] = Page(READ, query=_program)

# Which object of a side each page's path names, by route (``pk``), and other parameters.
PAGE_OBJECTS = {
    "schedules/": "schedule", "sessions/": "session", "kiosk/": "session",
    "programs/": "program", "enrollments/": "enrollment", "cohorts/": "cohort",
    "benefits/": "benefit", "people/": "person", "accounts/": "account", "cases/": "case",
    "disbursements/": "ad_hoc", "settings/custom-fields/": "field",
    "settings/eligibility-rules/": "rule",
}
PAGE_PARAMS = {"benefit_id": "benefit", "doc": "document"}
PAGE_SLUGS = {"kind": "people"}

# Configuration pages whose object is global, not a program's: the status value's page.
PAGE_GLOBAL_OBJECTS = {"settings/status-values/<int:pk>/": "status_value"}
