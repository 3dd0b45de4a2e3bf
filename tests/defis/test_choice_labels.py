"""`get_<field>_display()` through defis.models.ChoiceLabels: the same labels as Django's own,
in the active language, for every model field with choices."""

import pytest
from django.apps import apps
from django.db import models
from django.utils import translation

from defis.models import ChoiceLabels
from inventory.models import Laptop

CHOICE_FIELDS = [
    (model, field)
    for model in apps.get_models()
    if issubclass(model, ChoiceLabels)
    for field in model._meta.concrete_fields
    if field.choices
]


def test_every_model_of_ours_with_choices_uses_it():
    ours = {"defis", "inventory", "trainees", "loans"}
    missing = [
        model.__name__
        for model in apps.get_models()
        if model._meta.app_label in ours
        and not model.__name__.startswith("Historical")
        and any(field.choices for field in model._meta.concrete_fields)
        and not issubclass(model, ChoiceLabels)
    ]
    assert missing == []
    assert len(CHOICE_FIELDS) > 10


@pytest.mark.parametrize("language", ["fr", "en"])
def test_labels_are_djangos_in_the_active_language(language):
    with translation.override(language):
        for model, field in CHOICE_FIELDS:
            for value, _label in field.flatchoices:
                instance = model(**{field.attname: value})
                expected = models.Model._get_FIELD_display(instance, field)
                assert instance._get_FIELD_display(field) == expected, (model, field.name)


def test_a_value_outside_the_choices_is_shown_as_it_is():
    laptop = Laptop(status="no-such-status")
    assert laptop.get_status_display() == "no-such-status"
    with translation.override("fr"):
        assert Laptop(status=Laptop.Status.READY).get_status_display() != "ready"
