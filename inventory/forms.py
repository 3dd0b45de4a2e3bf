from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from defis.forms import IdsChoiceField

from .models import Donation, Donor, Laptop, Location, Repair, WipeRecord, normalise_serial

MAX_LAPTOPS_PER_ROW = 50


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def staff_users():
    return get_user_model().objects.filter(
        Q(is_staff=True) | Q(is_superuser=True), is_active=True, coordinator__isnull=True
    )


class LaptopForm(forms.ModelForm):
    class Meta:
        model = Laptop
        fields = [*Laptop.DESCRIPTION_FIELDS, "notes"]
        localized_fields = ["screen_inches", "replacement_value"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}


class IntakeLaptopForm(forms.ModelForm):
    """One row of the intake form: one laptop, or several identical ones without serials."""

    quantity = forms.IntegerField(
        label=_("Quantity"), min_value=1, max_value=MAX_LAPTOPS_PER_ROW, initial=1
    )

    class Meta:
        model = Laptop
        fields = [
            "brand",
            "model",
            "serial_number",
            "processor",
            "ram_gb",
            "storage_gb",
            "storage_type",
            "screen_inches",
            "operating_system",
            "keyboard_layout",
            "grade",
            "has_charger",
            "replacement_value",
        ]
        localized_fields = ["screen_inches", "replacement_value"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("serial_number") and (cleaned.get("quantity") or 1) > 1:
            self.add_error(
                "quantity",
                _("A serial number identifies one laptop: give a quantity of 1, or no serial."),
            )
        return cleaned

    def build_laptops(self, *, location=None) -> list[Laptop]:
        """The unsaved laptops this row stands for."""
        laptops = []
        for _i in range(self.cleaned_data["quantity"]):
            laptop = Laptop(location=location)
            for name in self._meta.fields:
                setattr(laptop, name, self.cleaned_data[name])
            laptops.append(laptop)
        return laptops


class BaseIntakeFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        serials = {}
        rows = 0
        for number, form in enumerate(self.forms, start=1):
            if not form.has_changed():
                continue
            rows += 1
            serial = normalise_serial(form.cleaned_data.get("serial_number"))
            if serial and serial in serials:
                raise forms.ValidationError(
                    _("Rows %(first)s and %(second)s have the same serial number %(serial)s.")
                    % {"first": serials[serial], "second": number, "serial": serial}
                )
            serials[serial] = number
        if rows == 0:
            raise forms.ValidationError(_("Describe at least one laptop."))


IntakeFormSet = forms.formset_factory(
    IntakeLaptopForm, formset=BaseIntakeFormSet, extra=3, max_num=60, validate_max=True
)


class DonationForm(forms.ModelForm):
    location = forms.ModelChoiceField(
        label=_("Stored at"),
        queryset=Location.objects.all(),
        required=False,
        help_text=_("Where the batch is put away; the laptops get this location."),
    )

    class Meta:
        model = Donation
        fields = ["donor", "received_on", "laptops_announced", "notes"]
        widgets = {"received_on": DateInput(), "notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["received_on"].initial = timezone.localdate
        self.fields["laptops_announced"].required = False
        self.fields["laptops_announced"].initial = None
        self.fields["laptops_announced"].help_text = _(
            "How many machines the donor said they would give; left empty, the number registered."
        )

    def clean_received_on(self):
        received_on = self.cleaned_data["received_on"]
        if received_on > timezone.localdate():
            raise forms.ValidationError(_("The date of a donation cannot be in the future."))
        return received_on


class DonorForm(forms.ModelForm):
    class Meta:
        model = Donor
        fields = ["name", "kind", "contact_name", "email", "phone", "town", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}


class MoveForm(forms.Form):
    to_status = forms.ChoiceField(choices=Laptop.Status.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class RetireForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason"), choices=Laptop.RetirementReason.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For example, who received it or the recycling slip number."),
    )


class WipeForm(forms.ModelForm):
    class Meta:
        model = WipeRecord
        fields = ["wiped_on", "method", "operator", "verified", "certificate_reference", "notes"]
        widgets = {"wiped_on": DateInput(), "notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["operator"].queryset = staff_users()
        self.fields["wiped_on"].initial = timezone.localdate

    def clean_wiped_on(self):
        wiped_on = self.cleaned_data["wiped_on"]
        if wiped_on > timezone.localdate():
            raise forms.ValidationError(_("The wipe date cannot be in the future."))
        return wiped_on


class RepairForm(forms.ModelForm):
    class Meta:
        model = Repair
        fields = ["repaired_on", "work_done", "parts", "cost", "repaired_by"]
        localized_fields = ["cost"]
        widgets = {"repaired_on": DateInput(), "work_done": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["repaired_by"].queryset = staff_users()
        self.fields["repaired_on"].initial = timezone.localdate

    def clean_repaired_on(self):
        repaired_on = self.cleaned_data["repaired_on"]
        if repaired_on > timezone.localdate():
            raise forms.ValidationError(_("The repair date cannot be in the future."))
        return repaired_on


class BulkForm(forms.Form):
    """The laptops ticked on the list page, and what to do with them."""

    LABELS = "labels"

    laptops = IdsChoiceField(
        queryset=Laptop.objects.all(),
        error_messages={"required": _("Tick at least one laptop.")},
    )
    action = forms.ChoiceField(label=_("With the laptops ticked"))
    skip = forms.IntegerField(
        label=_("Labels already used on the sheet"),
        required=False,
        min_value=0,
        max_value=23,
        initial=0,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [
            (self.LABELS, _("Print their labels")),
            *[
                (status, _("Move to “%(status)s”") % {"status": Laptop.Status(status).label})
                for status in Laptop.WORKSHOP_TARGETS
            ],
        ]
