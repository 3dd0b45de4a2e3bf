import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Donation, Laptop, Location


class LaptopFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        method="search",
        widget=forms.TextInput(
            attrs={"placeholder": _("Tag, serial, brand or model"), "type": "search"}
        ),
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=Laptop.Status.choices, empty_label=_("All")
    )
    grade = django_filters.ChoiceFilter(
        label=_("Grade"), choices=Laptop.Grade.choices, empty_label=_("All")
    )
    operating_system = django_filters.ChoiceFilter(
        label=_("Operating system"), choices=Laptop.OperatingSystem.choices, empty_label=_("All")
    )
    location = django_filters.ModelChoiceFilter(
        label=_("Location"), queryset=Location.objects.all(), empty_label=_("All")
    )
    donation = django_filters.ModelChoiceFilter(
        label=_("Donation"),
        queryset=Donation.objects.select_related("donor"),
        empty_label=_("All"),
    )

    class Meta:
        model = Laptop
        fields = ["q", "status", "grade", "operating_system", "location", "donation"]

    def search(self, queryset, name, value):
        return queryset.search(value)
