"""In the admin, a laptop, a trainee, a loan, a request or a course is chosen with a search
box (autocomplete) or a raw id, or shown read-only: never with a drop-down that lists
thousands of them. Every admin and inline of the project is walked, so a new foreign key
added without autocomplete fails here."""

import pytest
from django.contrib import admin
from django.contrib.admin.widgets import (
    AutocompleteSelect,
    AutocompleteSelectMultiple,
    ForeignKeyRawIdWidget,
    ManyToManyRawIdWidget,
)
from django.core.management import call_command
from django.test import RequestFactory

from inventory.models import Laptop, WipeRecord
from loans.models import Loan, LoanRequest
from trainees.models import Course, Trainee

pytestmark = pytest.mark.django_db

# Tens of thousands of rows at the scale we design for.
MANY = {Laptop, Trainee, Loan, LoanRequest, Course}
SEARCH_WIDGETS = (
    AutocompleteSelect,
    AutocompleteSelectMultiple,
    ForeignKeyRawIdWidget,
    ManyToManyRawIdWidget,
)


def plain_dropdowns(form_class) -> list[str]:
    """The form's fields that choose one of MANY from a plain <select>."""
    found = []
    for name, field in form_class.base_fields.items():
        queryset = getattr(field, "queryset", None)
        if queryset is None or queryset.model not in MANY:
            continue
        widget = getattr(field.widget, "widget", field.widget)  # RelatedFieldWidgetWrapper
        if not isinstance(widget, SEARCH_WIDGETS):
            found.append(name)
    return found


def relation_filters(model_admin) -> list[str]:
    """list_filter entries that would list every one of MANY in the sidebar."""
    found = []
    for entry in model_admin.list_filter:
        path = entry[0] if isinstance(entry, (tuple, list)) else entry
        if not isinstance(path, str):
            continue  # a SimpleListFilter decides its own choices
        model = model_admin.model
        field = None
        for part in path.split("__"):
            field = model._meta.get_field(part)
            model = field.related_model or model
        if field is not None and field.is_relation and field.related_model in MANY:
            found.append(path)
    return found


def forms_of(model_admin, request):
    """(where, form class) for the add form, the change form of an existing row, and every
    inline's form on both."""
    model = model_admin.model
    obj = None
    first = model._default_manager.order_by("pk").first()
    if first is not None:
        obj = model_admin.get_object(request, str(first.pk))
    label = f"{model._meta.label} admin"
    yield f"{label} (add)", model_admin.get_form(request, None, change=False)
    if obj is not None:
        yield f"{label} (change)", model_admin.get_form(request, obj, change=True)
    for inline_class in model_admin.inlines:
        inline = inline_class(model, model_admin.admin_site)
        where = f"{label}, {inline_class.__name__}"
        yield f"{where} (add)", inline.get_formset(request, None).form
        if obj is not None:
            yield f"{where} (change)", inline.get_formset(request, obj).form


@pytest.fixture
def admin_request(root):
    request = RequestFactory().get("/admin/")
    request.user = root
    return request


# The association's website field warns about Django 6's default URL scheme: not ours here.
@pytest.mark.filterwarnings("ignore:The default scheme will be changed")
def test_no_admin_form_chooses_a_laptop_trainee_loan_request_or_course_from_a_dropdown(
    admin_request,
):
    call_command("seed_demo")  # a row of most models, for their change forms
    problems = []
    for model_admin in admin.site._registry.values():
        for where, form_class in forms_of(model_admin, admin_request):
            problems += [f"{where}: {name}" for name in plain_dropdowns(form_class)]
        problems += [
            f"{model_admin.model._meta.label} admin, list_filter: {path}"
            for path in relation_filters(model_admin)
        ]
    assert problems == [], "Use autocomplete_fields, raw_id_fields or readonly_fields"


def test_every_admin_that_others_search_through_has_search_fields():
    # What autocomplete_fields need on the admin of the related model.
    for model in MANY:
        assert admin.site._registry[model].search_fields, model


def test_the_check_catches_a_plain_dropdown(admin_request):
    class Careless(admin.ModelAdmin):
        pass

    class Careful(admin.ModelAdmin):
        autocomplete_fields = ("laptop",)

    careless = Careless(WipeRecord, admin.site).get_form(admin_request)
    careful = Careful(WipeRecord, admin.site).get_form(admin_request)
    assert plain_dropdowns(careless) == ["laptop"]
    assert plain_dropdowns(careful) == []


def test_the_check_catches_a_filter_that_lists_every_laptop():
    class Careless(admin.ModelAdmin):
        list_filter = ("method", "laptop", ("laptop__donation", admin.RelatedOnlyFieldListFilter))

    assert relation_filters(Careless(WipeRecord, admin.site)) == ["laptop"]
