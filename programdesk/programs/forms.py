"""Page forms for programs, benefits, cohorts and the configuration pages (custom fields,
eligibility rules, income guidelines, status values, units, benefit types)."""

from __future__ import annotations

from typing import Any

from django import forms

from programdesk.core.errors import ValidationError
from programdesk.core.models import (
    DISBURSEMENT_BUCKETS,
    ENROLLMENT_BUCKETS,
    FieldTarget,
    FieldType,
    StatusKind,
    User,
)
from programdesk.core.params import parse_id
from programdesk.core.scoping import visible
from programdesk.people.forms import DateInput
from programdesk.people.models import DocumentType
from programdesk.programs.limits import MAX_DAYS as LIMIT_MAX_DAYS
from programdesk.programs.limits import MAX_MAX as LIMIT_MAX_MAX
from programdesk.programs.limits import limit_clean
from programdesk.programs.models import (
    Benefit,
    BenefitKind,
    BenefitType,
    Criterion,
    Program,
    ProgramStatus,
    RuleMode,
    UnitOfMeasure,
)


class ProgramForm(forms.Form):
    name = forms.CharField(max_length=200)
    status = forms.ChoiceField(choices=ProgramStatus.choices)
    start_date = forms.DateField(required=False, widget=DateInput())
    end_date = forms.DateField(required=False, widget=DateInput())
    summary = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))


class BenefitForm(forms.Form):
    name = forms.CharField(max_length=200)
    benefit_type = forms.ModelChoiceField(queryset=BenefitType.objects.select_related("unit"),
                                          required=False, empty_label="— none —")
    unit = forms.ModelChoiceField(queryset=UnitOfMeasure.objects.all(), required=False,
                                  empty_label="— the benefit type's unit —",
                                  help_text="What quantities count: hours, meals, passes…")
    default_quantity = forms.DecimalField(required=False, min_value=0, max_digits=12,
                                          decimal_places=2, help_text="Default 1")
    is_active = forms.BooleanField(required=False, initial=True, label="Active",
                                   help_text="Only active benefits can be assigned or given")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    # The service limit (programs/limits.py); "at most" left empty: none.
    limit_max = forms.IntegerField(required=False, min_value=1, max_value=LIMIT_MAX_MAX,
                                   label="Service limit: at most",
                                   help_text="How many times one person or household may "
                                             "receive it in the period. Empty: no limit")
    limit_scope = forms.ChoiceField(required=False, label="Per",
                                    choices=[("household", "household"), ("person", "person")])
    limit_per = forms.ChoiceField(required=False, label="In", choices=[
        ("month", "a calendar month"), ("week", "a week (Monday to Sunday)"),
        ("day", "a day"), ("year", "a calendar year"), ("days", "a rolling number of days")])
    limit_days = forms.IntegerField(required=False, min_value=1, max_value=LIMIT_MAX_DAYS,
                                    label="Days (rolling)", help_text="Only for a rolling "
                                                                      "number of days")

    def clean(self) -> dict[str, Any]:
        """The four limit fields become one ``limit`` (a ServiceLimit, or None)."""
        data = super().clean() or {}
        values = {key: data.pop(f"limit_{key}", None) for key in ("max", "per", "days", "scope")}
        if values["max"] is None:
            data["limit"] = None
            return data
        if values["per"] != "days":
            values["days"] = None
        try:
            data["limit"] = limit_clean(values)
        except ValidationError as exc:
            for error in exc.errors:
                self.add_error(error["field"].replace("limit.", "limit_"), error["message"])
        return data

    @staticmethod
    def limit_initial(benefit: Benefit) -> dict[str, Any]:
        return {"limit_max": benefit.limit_max, "limit_per": benefit.limit_per or "month",
                "limit_days": benefit.limit_days,
                "limit_scope": benefit.limit_scope or "household"}


class CohortForm(forms.Form):
    name = forms.CharField(max_length=200)
    start_date = forms.DateField(required=False, widget=DateInput())
    end_date = forms.DateField(required=False, widget=DateInput())
    max_members = forms.IntegerField(required=False, min_value=1, max_value=1_000_000,
                                     label="Maximum members", help_text="Empty: no limit")


def scope_choices(user: User, *, programs_label: str = "") -> list[tuple[str, Any]]:
    """Program / benefit choices for a scope select: "p:<id>" and "b:<id>" grouped by
    program."""
    groups: list[tuple[str, Any]] = []
    for program in visible(Program.objects.all(), user, "id").order_by("name").prefetch_related(
            "benefits"):
        options = [(f"p:{program.pk}", f"{program.name}{programs_label}")]
        options += [(f"b:{b.pk}", f"{b.name} (benefit)") for b in program.benefits.all()]
        groups.append((program.name, options))
    return groups


def parse_scope(value: str) -> tuple[int | None, int | None]:
    pk = parse_id(value[2:]) if value[:2] in {"p:", "b:"} else None
    if pk is not None:
        return (pk, None) if value.startswith("p:") else (None, pk)
    return None, None


class FieldDefinitionForm(forms.Form):
    target = forms.ChoiceField(choices=FieldTarget.choices, label="Field for")
    key = forms.SlugField(max_length=50, help_text="Name in the API and imports, e.g. "
                                                   "school_grade. Cannot change later.")
    label = forms.CharField(max_length=100)
    field_type = forms.ChoiceField(choices=FieldType.choices, label="Type",
                                   help_text="Cannot change later.")
    scope = forms.ChoiceField(required=False, label="Applies to",
                              help_text="Everything, or one program or benefit")
    required = forms.BooleanField(required=False)
    max_length = forms.IntegerField(required=False, min_value=1, max_value=2000,
                                    label="Maximum length", help_text="Text fields only")
    choices = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}),
                              help_text="Choice fields: one choice per line")
    help_text = forms.CharField(required=False, max_length=200)
    order = forms.IntegerField(required=False, min_value=0, max_value=1_000_000)

    def __init__(self, *args: Any, user: User, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scope"].choices = [("", "Everything (all programs)"),  # type: ignore[attr-defined]
                                        *scope_choices(user)]
        if editing:
            for name in ("target", "key", "field_type", "scope"):
                self.fields[name].disabled = True
                self.fields[name].required = False
            self.fields["is_active"] = forms.BooleanField(
                required=False, label="Active", help_text="Retired fields keep their stored "
                                                          "values but leave the forms")

    def choice_list(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data.get("choices", "").splitlines()
                if line.strip()]


class RuleForm(forms.Form):
    scope = forms.ChoiceField(label="For")
    criterion = forms.ChoiceField(choices=Criterion.choices)
    mode = forms.ChoiceField(choices=RuleMode.choices)
    age_min = forms.IntegerField(required=False, min_value=0, max_value=130,
                                 label="Minimum age", help_text="Age rules")
    age_max = forms.IntegerField(required=False, min_value=0, max_value=130,
                                 label="Maximum age", help_text="Age rules")
    codes = forms.CharField(required=False, label="Postal codes",
                            help_text="Postal code rules: codes separated by spaces or commas")
    prefixes = forms.CharField(required=False, label="Postal code prefixes",
                               help_text="Postal code rules: e.g. 021 for every 021xx code")
    max_percent = forms.DecimalField(required=False, min_value=0, max_digits=6,
                                     decimal_places=2, label="Maximum % of the guideline",
                                     help_text="Income rules: e.g. 200")
    document_type = forms.ChoiceField(required=False, label="Document",
                                      choices=[("", "—"), *DocumentType.choices],
                                      help_text="Document rules")
    within_days = forms.IntegerField(required=False, min_value=1, max_value=3660,
                                     label="Verified within (days)", help_text="Document rules")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args: Any, user: User, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scope"].choices = [("", "— choose —"),  # type: ignore[attr-defined]
                                        *scope_choices(user, programs_label=" (whole program)")]
        if editing:
            for name in ("scope", "criterion"):
                self.fields[name].disabled = True
                self.fields[name].required = False

    def params(self) -> dict[str, Any]:
        data = self.cleaned_data
        criterion = data.get("criterion")
        if criterion == Criterion.AGE:
            return {k: v for k, v in {"min": data.get("age_min"),
                                      "max": data.get("age_max")}.items() if v is not None}
        if criterion == Criterion.POSTAL_CODE:
            return {"codes": data.get("codes") or "", "prefixes": data.get("prefixes") or ""}
        if criterion == Criterion.INCOME:
            percent = data.get("max_percent")
            return {"max_percent": str(percent) if percent is not None else None}
        return {"document_type": data.get("document_type") or None,
                "within_days": data.get("within_days")}

    @staticmethod
    def initial_for(params: dict[str, Any]) -> dict[str, Any]:
        return {"age_min": params.get("min"), "age_max": params.get("max"),
                "codes": " ".join(params.get("codes") or []),
                "prefixes": " ".join(params.get("prefixes") or []),
                "max_percent": params.get("max_percent"),
                "document_type": params.get("document_type", ""),
                "within_days": params.get("within_days")}


# Map the params' keys to this form's fields, for service errors at "params.<key>".
RULE_PARAM_FIELDS = {"params.min": "age_min", "params.max": "age_max", "params.codes": "codes",
                     "params.prefixes": "prefixes", "params.max_percent": "max_percent",
                     "params.document_type": "document_type",
                     "params.within_days": "within_days"}


class StatusValueForm(forms.Form):
    kind = forms.ChoiceField(choices=StatusKind.choices)
    code = forms.SlugField(max_length=40, help_text="What the API and imports use, e.g. "
                                                    "late_arrival. Cannot change later.")
    label = forms.CharField(max_length=80)
    bucket = forms.ChoiceField(
        choices=[("Disbursement", [(b, b.title()) for b in DISBURSEMENT_BUCKETS]),
                 ("Enrollment", [(b, b.title()) for b in ENROLLMENT_BUCKETS])],
        help_text="The fixed meaning reports rely on. Cannot change later.")


class UnitForm(forms.Form):
    code = forms.SlugField(max_length=20)
    name = forms.CharField(max_length=60)


class BenefitTypeForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=BenefitKind.choices)
    unit = forms.ModelChoiceField(queryset=UnitOfMeasure.objects.all(), to_field_name="code")
