"""Roles and what each may do (docs/api.md, Roles). One table, used by pages, API and commands."""

from __future__ import annotations

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    STAFF = "staff", "Staff"
    VIEWER = "viewer", "Viewer"
    KIOSK = "kiosk", "Kiosk"


class Cap(StrEnum):
    READ_SETUP = "read_setup"  # programs, benefits, schedules, sessions
    READ_RECORDS = "read_records"  # people, accounts, cases, enrollments, disbursements, reports
    SEE_ELIGIBILITY = "see_eligibility"  # income, household, documents
    WRITE_RECORDS = "write_records"  # people, accounts, cases, enrollments, cohorts, attendance
    CHECK_IN = "check_in"
    # Create ad hoc and bulk disbursements (all three modes): case workers log what they gave.
    LOG_DISBURSEMENTS = "log_disbursements"
    # Programs, benefits, schedules (also cancelling a session and deleting future sessions);
    # editing and deleting disbursements; eligibility and service-limit overrides.
    MANAGE_PROGRAMS = "manage_programs"
    CONFIGURE = "configure"  # status values, custom fields, eligibility rules, units, users


_STAFF = {Cap.READ_SETUP, Cap.READ_RECORDS, Cap.SEE_ELIGIBILITY, Cap.WRITE_RECORDS, Cap.CHECK_IN,
          Cap.LOG_DISBURSEMENTS}

ROLE_CAPS: dict[str, frozenset[Cap]] = {
    Role.ADMIN: frozenset(Cap),
    Role.MANAGER: frozenset(_STAFF | {Cap.MANAGE_PROGRAMS}),
    Role.STAFF: frozenset(_STAFF),
    Role.VIEWER: frozenset({Cap.READ_SETUP, Cap.READ_RECORDS}),
    Role.KIOSK: frozenset({Cap.CHECK_IN}),
}
