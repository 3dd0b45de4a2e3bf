"""The forms of the money pages: a payment, a waiver, a reversal, the arrears filters.

They only read what was typed. What an amount may be (more than zero, cents at most, no
more than the loan will cost, no more than what is owed) and what a date may be is decided
by loans.ledger, whose refusals the views show beside the field they are about.
"""

import re
from datetime import date
from decimal import Decimal, InvalidOperation

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from defis.periods import add_months
from defis.permissions import is_staff_member
from trainees.filters import CourseChoiceFilter, ListedModelChoiceFilter
from trainees.models import Course, TrainingBody

from . import balances
from .forms import DateInput
from .models import FeeEntry, Loan

# "7", "7,5", "7,00", "7.00", "1 234,50", "-7" (refused later, with the ledger's reason).
AMOUNT = re.compile(r"-?\d+(?:[.,]\d+)?")
SPACES = str.maketrans("", "", " \N{NO-BREAK SPACE}\N{NARROW NO-BREAK SPACE}€")


class AmountField(forms.CharField):
    """An amount in euros typed the French or the English way: "7", "7,00", "7.00", "7 €".
    Read as a Decimal, never a float."""

    default_error_messages = {"invalid": _("Enter an amount in euros, such as 7,00.")}

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "widget",
            forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "maxlength": 20}),
        )
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        text = value.translate(SPACES)
        if len(text) > 20 or not AMOUNT.fullmatch(text):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            return Decimal(text.replace(",", "."))
        except InvalidOperation as error:  # pragma: no cover - the pattern rules it out
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from error


def amount_text(amount: Decimal) -> str:
    """An amount as it is typed back in the form: "7,00" in French."""
    return number_format(amount, decimal_pos=2, use_l10n=True)


def staff_members():
    """Who may have received a payment: the active members of the Défis team."""
    return (
        get_user_model()
        .objects.filter(is_active=True, coordinator__isnull=True)
        .filter(Q(is_staff=True) | Q(is_superuser=True))
        .order_by("first_name", "last_name", "username")
    )


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.get_username()


class PaymentForm(forms.Form):
    amount = AmountField(label=_("Amount"), help_text=_("In euros, for example 7,00 or 35."))
    method = forms.ChoiceField(
        label=_("Payment method"), choices=FeeEntry.Method.choices, widget=forms.RadioSelect
    )
    paid_on = forms.DateField(label=_("Paid on"), widget=DateInput(), initial=timezone.localdate)
    reference = forms.CharField(
        label=_("Reference"),
        required=False,
        max_length=100,
        help_text=_("The cheque number, the transfer reference… Leave empty for cash."),
    )
    received_by = StaffChoiceField(
        label=_("Received by"), queryset=get_user_model().objects.none(), empty_label=None
    )

    def __init__(self, *args, user, suggested: Decimal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].initial = amount_text(suggested) if suggested > 0 else ""
        self.fields["received_by"].queryset = staff_members()
        self.fields["received_by"].initial = user.pk


class WaiverForm(forms.Form):
    amount = AmountField(label=_("Amount waived"), help_text=_("At most what is owed today."))
    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: hardship agreed with the training body, a laptop that failed."),
    )

    def __init__(self, *args, owed: Decimal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].initial = amount_text(owed)


class ReverseForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the reversal"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: payment typed twice, cheque refused by the bank."),
    )


# --- The arrears list -----------------------------------------------------------------------

OLDEST = "oldest"
LARGEST = "largest"
# The default order; "since when" is computed for the page's rows only, not to sort them all.
LARGEST_FIRST = ("-balance", "number")
OWED_FOR_MONTHS = (1, 2, 3, 6)


def _owed_for_choices():
    return [
        (
            months,
            ngettext("more than %(count)d month", "more than %(count)d months", months)
            % {"count": months},
        )
        for months in OWED_FOR_MONTHS
    ]


class ArrearsFilter(django_filters.FilterSet):
    """The filters above the arrears list, and its order: the largest amount owed first, or
    the oldest month unpaid first.

    Given the loans the user may see, it keeps those of the body and course chosen, then
    those of them that owe (for more than the months chosen), found in one pass over the
    ledger (`filter_queryset`, `balances.owing`)."""

    training_body = ListedModelChoiceFilter(
        label=_("Training body"),
        field_name="course__training_body",
        queryset=TrainingBody.objects.all(),
        empty_label=_("All"),
    )
    course = CourseChoiceFilter(
        label=_("Course"), field_name="course", queryset=Course.objects.none(), empty_label=_("All")
    )
    # These two are read by `filter_queryset`, not applied one after the other.
    owed_for = django_filters.ChoiceFilter(
        label=_("Owed for"), choices=_owed_for_choices, empty_label=_("Any time")
    )
    sort = django_filters.ChoiceFilter(
        label=_("Sort by"),
        choices=[(LARGEST, _("Amount owed")), (OLDEST, _("Owed since (oldest first)"))],
        empty_label=None,
    )

    class Meta:
        model = Loan
        fields = ["training_body", "course", "owed_for", "sort"]

    def __init__(self, *args, user, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        if not is_staff_member(user):
            del self.filters["training_body"]
        self.filters["course"].queryset = Course.objects.visible_to(user).select_related(
            "training_body"
        )

    def filter_queryset(self, queryset):
        data = self.form.cleaned_data
        for name in ("training_body", "course"):
            if name in self.filters:
                queryset = self.filters[name].filter(queryset, data.get(name))
        owed_for = data.get("owed_for")
        queryset = balances.owing(
            queryset,
            owed_since_before=add_months(self.today, -int(owed_for)) if owed_for else None,
        )
        if data.get("sort") == OLDEST:
            return balances.with_owed_since(queryset).order_by("owed_since", "-balance", "number")
        return queryset.order_by(*LARGEST_FIRST)
