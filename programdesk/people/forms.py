"""Page forms for people, accounts, cases and documents. They parse input; the services
validate and write."""

from __future__ import annotations

from typing import Any

from django import forms

from programdesk.core import custom_fields
from programdesk.core.models import FieldTarget, User
from programdesk.core.params import IdsChoiceField
from programdesk.core.relations import related_model
from programdesk.core.roles import Cap, Role
from programdesk.core.scoping import visible
from programdesk.people.models import (
    Account,
    AccountKind,
    Case,
    CaseStatus,
    DocumentType,
    Person,
    Relationship,
)
from programdesk.people.selectors import accounts_for_picker


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


ELIGIBILITY_FIELDS = ("household_size", "annual_income")


class AccountChoiceField(forms.ModelChoiceField):
    """An account, labelled with what tells namesakes apart (80 "Garcia household"s): the
    longest-standing member, how many members, the postal code and the record number. The
    select is a searchable picker in the browser (app.js, ``data-picker``)."""

    def label_from_instance(self, obj: Any) -> str:
        count = getattr(obj, "member_count", 0)
        first = getattr(obj, "first_member", None)
        # Shortest first: a narrow screen cuts the end of a long option off.
        details = [obj.postal_code] if obj.postal_code else []
        if first:
            details.append(first + (f" + {count - 1}" if count > 1 else ""))
        else:
            details.append("no members yet")
        details.append(f"no. {obj.pk}")
        return f"{obj.name} — {' · '.join(details)}"


class PersonForm(forms.Form):
    first_name = forms.CharField(max_length=100, widget=forms.TextInput(
        attrs={"autocomplete": "off", "autofocus": True}))
    last_name = forms.CharField(max_length=100, widget=forms.TextInput(
        attrs={"autocomplete": "off"}))
    birth_date = forms.DateField(required=False, widget=DateInput())
    email = forms.EmailField(required=False, max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    phone = forms.CharField(required=False, max_length=40,
                            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}))
    postal_code = forms.CharField(required=False, max_length=20)
    account = AccountChoiceField(
        queryset=Account.objects.none(), required=False,
        label="Household or organization", empty_label="— none —",
        widget=forms.Select(attrs={"data-picker": "households or organizations"}),
        help_text="Type a name, a member's name or a postal code to narrow the list.")
    household_size = forms.IntegerField(required=False, min_value=1, max_value=50,
                                        help_text="People in the household (for income rules)")
    annual_income = forms.DecimalField(required=False, min_value=0, max_digits=12,
                                       decimal_places=2, label="Yearly household income")

    def __init__(self, *args: Any, user: User, person: Person | None = None,
                 **kwargs: Any) -> None:
        if person is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "first_name": person.first_name, "last_name": person.last_name,
                "birth_date": person.birth_date, "email": person.email, "phone": person.phone,
                "postal_code": person.postal_code, "account": person.account_id,
                "household_size": person.household_size,
                "annual_income": person.annual_income}
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts_for_picker(  # type: ignore[attr-defined]
            user)
        if not user.can(Cap.SEE_ELIGIBILITY):
            for name in ELIGIBILITY_FIELDS:
                del self.fields[name]
        self.extra_names = custom_fields.extra_form_fields_add(
            self, custom_fields.field_definitions_for(target=FieldTarget.PERSON,
                                                      any_scope=True),
            person.extra if person else None, any_scope=True)

    def service_values(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items()
                if not k.startswith(custom_fields.FORM_PREFIX)}
        for key in ("email", "phone", "postal_code"):
            data[key] = data.get(key) or ""
        data["extra"] = custom_fields.extra_form_values(self)
        return data


class AccountForm(forms.Form):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=AccountKind.choices)
    email = forms.EmailField(required=False, max_length=254)
    phone = forms.CharField(required=False, max_length=40)
    postal_code = forms.CharField(required=False, max_length=20)
    declared_size = forms.IntegerField(
        required=False, min_value=0, max_value=50, label="People not registered here",
        help_text="A household's members who live there but have no record of their own.")
    annual_income = forms.DecimalField(required=False, min_value=0, max_digits=12,
                                       decimal_places=2, label="Yearly household income")


class MembershipForm(forms.Form):
    """Add someone to a household, move them into it, or end their membership."""

    relationship = forms.ChoiceField(choices=Relationship.choices, initial=Relationship.OTHER,
                                     label="Relationship to the head")
    on = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))


class MembershipEndForm(forms.Form):
    end_date = forms.DateField(label="Last day in the household",
                               widget=forms.DateInput(attrs={"type": "date"}))


class CaseForm(forms.Form):
    subject = forms.CharField(max_length=200)
    status = forms.ChoiceField(choices=CaseStatus.choices)
    worker: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="— nobody —")
    # The user's programs, set in __init__ (programs sits above people: reached through
    # Case.programs, core/relations.py).
    programs: forms.ModelMultipleChoiceField[Any] = IdsChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["worker"].queryset = User.objects.filter(  # type: ignore[attr-defined]
            is_active=True, role__in=[Role.ADMIN, Role.MANAGER, Role.STAFF]).order_by("username")
        self.fields["programs"].queryset = visible(  # type: ignore[attr-defined]
            related_model(Case, "programs").objects.all(), user, "id").order_by("name")


class DocumentForm(forms.Form):
    document_type = forms.ChoiceField(choices=DocumentType.choices, label="Document")
    verified_on = forms.DateField(widget=DateInput(), label="Verified on")
    note = forms.CharField(required=False, max_length=300)
