"""Form pieces shared by the apps. This module imports no app."""

import re

from django import forms

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
