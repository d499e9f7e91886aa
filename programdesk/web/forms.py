"""Helpers shared by every page form."""

from __future__ import annotations

from django import forms

from programdesk.core.errors import ValidationError


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's field errors on the form: on the field when the form has it, else at
    the top, so no message is ever lost."""
    if not exc.errors:
        form.add_error(None, exc.detail)
    for error in exc.errors:
        field = error.get("field") or None
        top = field.split(".")[0] if field else None
        if top in form.fields:
            form.add_error(top, error["message"])
        elif field and field.startswith("extra.") and field in form.fields:
            form.add_error(field, error["message"])
        else:
            form.add_error(None, f"{field}: {error['message']}" if field else error["message"])
