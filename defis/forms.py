"""Form pieces shared by the apps. This module imports no app."""

import re

from django import forms
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple

LARGEST_ID = 2**63 - 1  # the largest BigAutoField


def is_id(value) -> bool:
    """A plain positive number a database id column can hold: ASCII digits only ("²" and
    "٣" are digits to Python, not to a database)."""
    text = str(value)
    return re.fullmatch(r"[0-9]{1,19}", text) is not None and 0 < int(text) <= LARGEST_ID


class IdsChoiceField(forms.ModelMultipleChoiceField):
    """Ticked rows, by id. An id that is not a plain number a database can hold is refused
    like any other id off the list, before the query (SQLite raises OverflowError on a
    20-digit one)."""

    def _check_values(self, value):
        for pk in value:
            if not is_id(pk):
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super()._check_values(value)


class _PlainIdsSelected:
    """Django's admin autocomplete looks the submitted value up as it came to show it
    selected again (`pk__in=["abc"]`): a value that is not an id answers 500 where the
    field would have said "Select a valid choice". Only plain ids are looked up."""

    def optgroups(self, name, value, attr=None):
        return super().optgroups(name, [item for item in value if is_id(item)], attr)


class IdsAutocompleteSelect(_PlainIdsSelected, AutocompleteSelect):
    pass


class IdsAutocompleteSelectMultiple(_PlainIdsSelected, AutocompleteSelectMultiple):
    pass


class AdminIdsMixin:
    """For a ModelAdmin or an inline: the ids its forms and actions receive are read as the
    site reads them (`is_id`), so that a tampered or garbled id is refused like any id off
    the list, never looked up where it makes the database fail (a 500):

    - an autocomplete shows a posted value that is not an id as nothing selected;
    - a many-to-many field refuses it (SQLite cannot look a 20-digit id up);
    - an action ignores the ticked rows whose id is not one.
    """

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = IdsAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = IdsAutocompleteSelectMultiple(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        kwargs.setdefault("form_class", IdsChoiceField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def response_action(self, request, queryset):
        ticked = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if not all(is_id(pk) for pk in ticked):
            request.POST = request.POST.copy()
            request.POST.setlist(helpers.ACTION_CHECKBOX_NAME, [pk for pk in ticked if is_id(pk)])
        return super().response_action(request, queryset)
