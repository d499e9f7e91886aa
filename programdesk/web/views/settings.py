"""Settings pages (admins): status values, custom fields, eligibility rules, the income
guideline, units and benefit types."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from programdesk.core import custom_fields
from programdesk.core import selectors as core_selectors
from programdesk.core import services as core_services
from programdesk.core.errors import Conflict, ValidationError
from programdesk.core.models import StatusKind
from programdesk.core.params import parse_id, parse_int
from programdesk.core.roles import Cap
from programdesk.core.scoping import visible_or_404
from programdesk.programs import selectors, services
from programdesk.programs.eligibility import rule_summary
from programdesk.programs.forms import (
    RULE_PARAM_FIELDS,
    BenefitTypeForm,
    FieldDefinitionForm,
    RuleForm,
    StatusValueForm,
    UnitForm,
    parse_scope,
)
from programdesk.web.forms import add_service_errors
from programdesk.web.permissions import page_user, role_required


@role_required(Cap.CONFIGURE)
def settings_index(request: HttpRequest) -> HttpResponse:
    return render(request, "web/settings/index.html", {"counts": selectors.settings_counts()})


# --- Status values -----------------------------------------------------------------------------

@role_required(Cap.CONFIGURE)
def status_values(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    form = StatusValueForm(initial={"kind": request.GET.get("kind", "disbursement")})
    if request.method == "POST":
        form = StatusValueForm(request.POST)
        if form.is_valid():
            try:
                value = core_services.status_value_create(actor=user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Added “{value.label}”.")
                return redirect("/settings/status-values/")
    kinds = [(label, core_selectors.status_values(kind)) for kind, label in StatusKind.choices]
    return render(request, "web/settings/status_values.html", {"kinds": kinds, "form": form})


class StatusValueRowForm(forms.Form):
    """One row of the status values table: its label, order and active box."""

    label = forms.CharField(max_length=80, required=False)
    order = forms.IntegerField(min_value=0, max_value=1_000_000, required=False)
    is_active = forms.BooleanField(required=False)

    def clean_label(self) -> str:
        # A row posted without its label keeps the one it has (an empty one is the service's
        # error to give).
        if "label" not in self.data:
            return str(self.initial["label"])
        return str(self.cleaned_data["label"])


@require_POST
@role_required(Cap.CONFIGURE)
def status_value_change(request: HttpRequest, pk: int) -> HttpResponse:
    """One row's buttons: save (label, order, active), make default, delete."""
    user = page_user(request)
    value = core_selectors.status_get(pk=pk)
    action = request.POST.get("action", "save")
    try:
        if action == "default":
            core_services.status_value_set_default(actor=user, status_value=value)
            messages.success(request, f"“{value.label}” is now the default {value.kind} status.")
        elif action == "delete":
            core_services.status_value_delete(actor=user, status_value=value)
            messages.success(request, f"Deleted “{value.label}”.")
        else:
            form = StatusValueRowForm(request.POST, initial={"label": value.label})
            if not form.is_valid():
                raise ValidationError("; ".join(f"{name}: {' '.join(map(str, errors))}"
                                                for name, errors in form.errors.items()))
            core_services.status_value_update(
                actor=user, status_value=value, label=form.cleaned_data["label"],
                order=form.cleaned_data["order"], is_active=form.cleaned_data["is_active"])
            messages.success(request, f"Saved “{form.cleaned_data['label']}”.")
    except (Conflict, ValidationError) as exc:
        messages.error(request, exc.detail)
    return redirect("/settings/status-values/")


# --- Custom fields -----------------------------------------------------------------------------

@role_required(Cap.CONFIGURE)
def custom_fields_list(request: HttpRequest) -> HttpResponse:
    definitions = selectors.field_definitions_visible(page_user(request)).select_related(
        "program", "benefit").order_by("target", "-is_active", "order", "id")
    return render(request, "web/settings/custom_fields.html", {"definitions": definitions})


@role_required(Cap.CONFIGURE)
def custom_field_new(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    if request.method == "POST":
        form = FieldDefinitionForm(request.POST, user=user)
        if form.is_valid():
            data = form.cleaned_data
            program_id, benefit_id = parse_scope(data["scope"] or "")
            try:
                custom_fields.field_definition_create(
                    actor=user, target=data["target"], key=data["key"], label=data["label"],
                    field_type=data["field_type"], required=data["required"],
                    max_length=data["max_length"], choices=form.choice_list(),
                    help_text=data["help_text"], program_id=program_id, benefit_id=benefit_id,
                    order=data["order"])
            except ValidationError as exc:
                _field_errors(form, exc)
            else:
                messages.success(request, f"Added the field “{data['label']}”.")
                return redirect("/settings/custom-fields/")
    else:
        form = FieldDefinitionForm(user=user, initial={
            "scope": request.GET.get("scope", ""), "target": request.GET.get("target", "person")})
    return render(request, "web/settings/custom_field_form.html", {"form": form})


def _field_errors(form: FieldDefinitionForm, exc: ValidationError) -> None:
    renamed = [{"field": {"program_id": "scope", "benefit_id": "scope"}.get(e["field"],
                                                                             e["field"]),
                "message": e["message"]} for e in exc.errors]
    add_service_errors(form, ValidationError(exc.detail, errors=renamed))


@role_required(Cap.CONFIGURE)
def custom_field_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = page_user(request)
    definition = visible_or_404(selectors.field_definitions_visible(user), pk)
    scope = (f"b:{definition.benefit_id}" if definition.benefit_id
             else f"p:{definition.program_id}" if definition.program_id else "")
    initial = {"target": definition.target, "key": definition.key, "label": definition.label,
               "field_type": definition.field_type, "scope": scope,
               "required": definition.required, "max_length": definition.max_length,
               "choices": "\n".join(definition.choices or []),
               "help_text": definition.help_text, "order": definition.order,
               "is_active": definition.is_active}
    if request.method == "POST":
        form = FieldDefinitionForm(request.POST, user=user, editing=True, initial=initial)
        if form.is_valid():
            data = form.cleaned_data
            try:
                custom_fields.field_definition_update(
                    actor=user, definition=definition, label=data["label"],
                    required=data["required"], max_length=data["max_length"],
                    clear_max_length=data["max_length"] is None,
                    choices=form.choice_list(), help_text=data["help_text"],
                    order=data["order"], is_active=data["is_active"])
            except ValidationError as exc:
                _field_errors(form, exc)
            else:
                messages.success(request, "Saved.")
                return redirect("/settings/custom-fields/")
    else:
        form = FieldDefinitionForm(user=user, editing=True, initial=initial)
    return render(request, "web/settings/custom_field_form.html",
                  {"form": form, "definition": definition})


# --- Eligibility rules -------------------------------------------------------------------------

@role_required(Cap.CONFIGURE)
def rules_list(request: HttpRequest) -> HttpResponse:
    rules = selectors.rules_for_settings(user=page_user(request))
    return render(request, "web/settings/rules.html",
                  {"rules": selectors.rules_with_summaries(rules)})


def _rule_errors(form: RuleForm, exc: ValidationError) -> None:
    renamed = [{"field": RULE_PARAM_FIELDS.get(e["field"], {
        "program_id": "scope", "params": "criterion"}.get(e["field"], e["field"])),
        "message": e["message"]} for e in exc.errors]
    add_service_errors(form, ValidationError(exc.detail, errors=renamed))


@role_required(Cap.CONFIGURE)
def rule_new(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    if request.method == "POST":
        form = RuleForm(request.POST, user=user)
        if form.is_valid():
            program_id, benefit_id = parse_scope(form.cleaned_data["scope"])
            try:
                rule = services.eligibility_rule_create(
                    actor=user, criterion=form.cleaned_data["criterion"], params=form.params(),
                    mode=form.cleaned_data["mode"],
                    program=selectors.programs_visible(user).filter(pk=program_id).first()
                    if program_id else None,
                    benefit=selectors.benefits_visible(user).filter(pk=benefit_id).first()
                    if benefit_id else None)
            except ValidationError as exc:
                _rule_errors(form, exc)
            else:
                messages.success(request, f"Added the rule “{rule_summary(rule)}”.")
                return redirect("/settings/eligibility-rules/")
    else:
        form = RuleForm(user=user, initial={"scope": request.GET.get("scope", ""),
                                            "mode": "warn", "is_active": True})
    return render(request, "web/settings/rule_form.html", {"form": form})


@role_required(Cap.CONFIGURE)
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = page_user(request)
    rule = visible_or_404(selectors.rules_visible(user), pk)
    initial = {"scope": f"b:{rule.benefit_id}" if rule.benefit_id else f"p:{rule.program_id}",
               "criterion": rule.criterion, "mode": rule.mode, "is_active": rule.is_active,
               **RuleForm.initial_for(rule.params or {})}
    if request.method == "POST":
        form = RuleForm(request.POST, user=user, editing=True, initial=initial)
        if form.is_valid():
            try:
                services.eligibility_rule_update(actor=user, rule=rule, params=form.params(),
                                                 mode=form.cleaned_data["mode"],
                                                 is_active=form.cleaned_data["is_active"])
            except ValidationError as exc:
                _rule_errors(form, exc)
            else:
                messages.success(request, "Saved.")
                return redirect("/settings/eligibility-rules/")
    else:
        form = RuleForm(user=user, editing=True, initial=initial)
    return render(request, "web/settings/rule_form.html", {"form": form, "rule": rule})


@require_POST
@role_required(Cap.CONFIGURE)
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = visible_or_404(selectors.rules_visible(page_user(request)), pk)
    services.eligibility_rule_delete(actor=page_user(request), rule=rule)
    messages.success(request, "Rule deleted.")
    return redirect("/settings/eligibility-rules/")


# --- Income guideline --------------------------------------------------------------------------

BLANK_ROWS = 3


@role_required(Cap.CONFIGURE)
def income_guidelines(request: HttpRequest) -> HttpResponse:
    """The whole table as rows of inputs (plus a few blank ones); saving replaces it."""
    user = page_user(request)
    errors: dict[str, str] = {}
    if request.method == "POST":
        rows: list[tuple[Any, Any]] = []
        count = parse_int(request.POST.get("rows"), default=0, minimum=0, maximum=100)
        typed: list[tuple[str, str]] = []
        for i in range(count):
            size = request.POST.get(f"size_{i}", "").strip()
            income = request.POST.get(f"income_{i}", "").strip().replace(",", "").lstrip("$")
            typed.append((size, income))
            if not size and not income:
                continue
            try:
                amount: Any = Decimal(income)
            except InvalidOperation:
                amount = income
            rows.append((parse_id(size) or size, amount))
        try:
            services.income_guidelines_replace(actor=user, rows=rows)
        except ValidationError as exc:
            errors = {e["field"]: e["message"] for e in exc.errors}
            messages.error(request, "Nothing was saved: " + exc.detail)
            table = typed
        else:
            messages.success(request, "The income guideline was saved.")
            return redirect("/settings/income-guidelines/")
    else:
        table = [(str(g.household_size), f"{g.annual_income:.2f}")
                 for g in selectors.income_guidelines()]
    table = [row for row in table if row[0] or row[1]] + [("", "")] * BLANK_ROWS
    return render(request, "web/settings/income_guidelines.html",
                  {"table": list(enumerate(table)), "rows": len(table), "errors": errors})


# --- Units and benefit types -------------------------------------------------------------------

@role_required(Cap.CONFIGURE)
def units(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    form = UnitForm()
    if request.method == "POST":
        form = UnitForm(request.POST)
        if form.is_valid():
            try:
                services.unit_create(actor=user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Unit added.")
                return redirect("/settings/units/")
    return render(request, "web/settings/units.html",
                  {"units": selectors.units(), "form": form})


@role_required(Cap.CONFIGURE)
def benefit_types(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    form = BenefitTypeForm()
    if request.method == "POST":
        form = BenefitTypeForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.benefit_type_create(actor=user, name=data["name"], kind=data["kind"],
                                             unit_code=data["unit"].code)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Benefit type added.")
                return redirect("/settings/benefit-types/")
    return render(request, "web/settings/benefit_types.html", {
        "types": selectors.benefit_types(), "form": form})


urlpatterns = [
    path("settings/", settings_index, name="settings"),
    path("settings/status-values/", status_values, name="settings-status-values"),
    path("settings/status-values/<int:pk>/", status_value_change, name="settings-status-value"),
    path("settings/custom-fields/", custom_fields_list, name="settings-custom-fields"),
    path("settings/custom-fields/new/", custom_field_new, name="settings-custom-field-new"),
    path("settings/custom-fields/<int:pk>/edit/", custom_field_edit,
         name="settings-custom-field-edit"),
    path("settings/eligibility-rules/", rules_list, name="settings-rules"),
    path("settings/eligibility-rules/new/", rule_new, name="settings-rule-new"),
    path("settings/eligibility-rules/<int:pk>/edit/", rule_edit, name="settings-rule-edit"),
    path("settings/eligibility-rules/<int:pk>/delete/", rule_delete, name="settings-rule-delete"),
    path("settings/income-guidelines/", income_guidelines, name="settings-income-guidelines"),
    path("settings/units/", units, name="settings-units"),
    path("settings/benefit-types/", benefit_types, name="settings-benefit-types"),
]
