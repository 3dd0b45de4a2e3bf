"""Every form of the project, fed generated input, never answers 500.

FORMS maps each form class of the apps (found by walking the subclasses of Django's
BaseForm, admin forms included) to the page or pages that post it, who may post there and
the record the URL names; FILTERS does the same for the filter forms of the lists (sent by
GET). A form or a filter added without an entry makes the first tests fail.

For each page, Hypothesis builds the data three ways: with `from_form`, values each field
accepts; field by field, such a value or garbage ("", NUL bytes, 5 000 characters,
right-to-left marks and emoji, "-1", "1e308", "0000-00-00", "31/02/2026", ids no database
holds, several values for one field, the field left out); and, where the page has one, a
post it accepts with one or two fields changed, to reach the services behind the form. The
data is posted as the user who may, and the page must answer below 500. Each example runs
in a savepoint rolled back after it, so every example meets the same records. For the pages
that write money, requests, trainees and laptops, a post refused (the form shown again) must
have written nothing, as ATOMIC_REQUESTS and the services' transactions promise.
"""

import importlib
import pkgutil
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal

import django_filters
import pytest
from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument, ResolutionFailed
from hypothesis.extra.django import from_field, from_form, register_field_strategy
from phonenumber_field.formfields import PhoneNumberField

from defis.forms import AdminIdsMixin
from defis.models import User
from inventory import services
from inventory.models import Donation, Donor, Laptop, Location
from loans import ledger
from loans.models import BudgetEnvelope, FeeEntry, Loan, LoanRequest, LoanRequestEvent
from loans.money_forms import AmountField
from tests.factories import (
    CourseFactory,
    DonorFactory,
    TraineeFactory,
    make_laptop,
    make_loan,
    make_request,
)
from trainees.models import Trainee, Workshop
from trainees.workshops import attendance_candidates

pytestmark = pytest.mark.django_db

APPS = ("defis", "inventory", "trainees", "loans")

# --- Every form and filter of the apps ----------------------------------------------------------


def _import_every_module():
    """Import the apps' modules, so that every form class they define exists."""
    for app in APPS:
        package = importlib.import_module(app)
        for module in pkgutil.walk_packages(package.__path__, f"{app}."):
            if any(part in module.name for part in (".migrations", ".management", "settings")):
                continue
            if module.name.endswith(("wsgi", "asgi")):
                continue
            importlib.import_module(module.name)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _classes_of_the_apps(base) -> set[str]:
    _import_every_module()
    return {
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _subclasses(base)
        if cls.__module__.split(".")[0] in APPS
    }


def _class(path: str):
    module, _dot, name = path.rpartition(".")
    # Nested names ("Admin.Form") do not occur: every form is defined at module level.
    return getattr(importlib.import_module(module), name)


# --- Where each form is posted ----------------------------------------------------------------


def no_kwargs(records, user):
    return {}


def nothing(records):
    return {}


@dataclass(frozen=True)
class Page:
    """A page that posts a form: its URL name, who may post (a fixture's name), the record
    its path names (a key of `records`) and under which argument, the form's own arguments
    as the view gives them, and what the page posts besides the form (the admin's action,
    the ticked rows, a formset's other fields)."""

    url: str
    user: str = "alice"
    record: str = ""
    path_arg: str = "pk"
    query: str = ""  # "name=record": the record's pk in the query string
    kwargs: Callable = no_kwargs
    fixed: Callable = nothing
    prefix: str = ""
    form: Callable | None = None  # the form class, when the page builds its own (the admin)
    # A snapshot of what a refused post must leave alone (compared when the page answers 200).
    unchanged: Callable | None = None
    needs: tuple = ()  # records the form offers to choose from, made before it is built
    # A post the page accepts: examples change a few of its fields, to reach the services.
    valid: Callable | None = None


def intake_management(records):
    return {
        "laptops-TOTAL_FORMS": "1",
        "laptops-INITIAL_FORMS": "0",
        "laptops-MIN_NUM_FORMS": "0",
        "laptops-MAX_NUM_FORMS": "60",
    }


def one_intake_row(records):
    """A valid first row of the intake formset, for the donation's own fields to be judged."""
    return {
        **intake_management(records),
        "laptops-0-brand": "Dell",
        "laptops-0-model": "Latitude 5490",
        "laptops-0-quantity": "1",
        "laptops-0-grade": Laptop.Grade.B,
        "laptops-0-operating_system": Laptop.OperatingSystem.LINUX_MINT,
        "laptops-0-keyboard_layout": Laptop.KeyboardLayout.AZERTY_FR,
        "laptops-0-replacement_value": "250,00",
    }


def a_donation(records):
    """Valid donation fields and the formset's management form, for the intake rows."""
    return {
        **intake_management(records),
        "donor": str(records["donor"].pk),
        "received_on": timezone.localdate().isoformat(),
    }


def admin_action(action, record):
    def fixed(records):
        return {"action": action, "_selected_action": [str(records[record].pk)], "apply": "1"}

    return fixed


def _admin_of(model):
    return admin.site._registry[model]


def _admin_request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def import_export_kwargs(model, *, export):
    def kwargs(records, user):
        model_admin = _admin_of(model)
        request = _admin_request(user)
        if export:
            return {
                "formats": model_admin.get_export_formats(),
                "resources": model_admin.get_export_resource_classes(request),
            }
        return {
            "formats": model_admin.get_import_formats(),
            "resources": model_admin.get_import_resource_classes(request),
        }

    return kwargs


def user_admin_form(records, user):
    return _admin_of(User).get_form(_admin_request(user), records["bob"])


def counts(*models):
    def snapshot(records):
        return tuple(model.objects.count() for model in models)

    return snapshot


def laptop_row(records):
    laptop = Laptop.objects.get(pk=records["laptop"].pk)
    return tuple(getattr(laptop, name) for name in [*Laptop.DESCRIPTION_FIELDS, "notes"])


def today(days=0) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


def valid_row(records):
    return {
        "brand": "Dell",
        "model": "Latitude 5490",
        "quantity": "1",
        "grade": Laptop.Grade.B,
        "operating_system": Laptop.OperatingSystem.LINUX_MINT,
        "keyboard_layout": Laptop.KeyboardLayout.AZERTY_FR,
        "replacement_value": "250,00",
    }


def valid_course(records):
    return {
        "training_body": records["agora"].pk,
        "title": "Remobilisation",
        "programme": "PRÉPA Avenir Jeunes",
        "town": "Lanester",
        "start_date": today(),
        "end_date": today(150),
    }


def valid_trainee(records):
    return {
        "course": records["course"].pk,
        "first_name": "Léa",
        "last_name": "Le Gall",
        "birth_date": "2000-03-25",
        "street": "3 rue des Lilas",
        "postal_code": "56600",
        "town": "Lanester",
        "phone": "06 12 34 56 78",
        "digital_level": "basic",
    }


def valid_workshop(records):
    return {
        "date": today(),
        "start_time": "14:00",
        "duration_minutes": "90",
        "topic": "Les courriels",
        "place": "Lanester",
        "facilitator": "Erwan",
        "course": records["course"].pk,
    }


def valid_request(records):
    return {"needed_by": today(7), "justification": "Pas d’ordinateur à la maison."}


def every_accessory(records):
    return [Loan.Accessory.CHARGER, Loan.Accessory.BAG]


FORMS = {
    # Inventory
    "inventory.forms.BulkForm": [Page("inventory:laptops_bulk", needs=("laptop", "ready_laptop"))],
    "inventory.forms.DonationForm": [
        Page(
            "inventory:donation_new",
            fixed=one_intake_row,
            unchanged=counts(Donation, Laptop),
            needs=("donor", "ready_laptop"),
            valid=lambda r: {"donor": r["donor"].pk, "received_on": today(), "notes": ""},
        )
    ],
    "inventory.forms.IntakeLaptopForm": [
        Page(
            "inventory:donation_new",
            prefix="laptops-0",
            fixed=a_donation,
            unchanged=counts(Donation, Laptop),
            valid=valid_row,
        )
    ],
    "inventory.forms.DonorForm": [Page("inventory:donor_new", unchanged=counts(Donor))],
    "inventory.forms.LaptopForm": [
        Page(
            "inventory:laptop_edit",
            record="laptop",
            kwargs=lambda r, user: {"instance": r["laptop"]},
            unchanged=laptop_row,
        )
    ],
    "inventory.forms.MoveForm": [Page("inventory:laptop_move", record="laptop")],
    "inventory.forms.RetireForm": [Page("inventory:laptop_retire", record="laptop")],
    "inventory.forms.WipeForm": [Page("inventory:wipe_add", record="laptop")],
    "inventory.forms.RepairForm": [Page("inventory:repair_add", record="laptop")],
    # Courses, trainees, workshops
    "trainees.forms.CourseForm": [
        Page("trainees:course_new", kwargs=lambda r, user: {"user": user}, valid=valid_course),
        Page(
            "trainees:course_edit",
            user="bob",
            record="course",
            kwargs=lambda r, user: {"user": user, "instance": r["course"]},
        ),
    ],
    "trainees.forms.TraineeForm": [
        Page(
            "trainees:trainee_new",
            user="bob",
            kwargs=lambda r, user: {"user": user},
            unchanged=counts(Trainee),
            valid=valid_trainee,
        ),
        Page(
            "trainees:trainee_edit",
            record="trainee",
            kwargs=lambda r, user: {"user": user, "instance": r["trainee"]},
        ),
    ],
    "trainees.imports.TraineeImportForm": [
        Page("trainees:trainee_import", user="bob", record="course", unchanged=counts(Trainee))
    ],
    "trainees.workshop_forms.WorkshopForm": [
        Page("trainees:workshop_new", valid=valid_workshop, needs=("course",)),
        Page(
            "trainees:workshop_edit",
            record="workshop",
            kwargs=lambda r, user: {"instance": r["workshop"]},
        ),
    ],
    "trainees.workshop_forms.AttendanceForm": [
        Page(
            "trainees:workshop_attendance",
            record="workshop",
            kwargs=lambda r, user: {"candidates": attendance_candidates(r["workshop"], user)},
            needs=("trainee",),
        )
    ],
    # Requests
    "loans.forms.RequestForm": [
        Page(
            "loans:request_new",
            user="bob",
            query="trainee=trainee",
            kwargs=lambda r, user: {"course": r["course"]},
            unchanged=counts(LoanRequest, LoanRequestEvent),
            valid=valid_request,
        )
    ],
    "loans.forms.CourseRequestForm": [
        Page(
            "loans:requests_for_course",
            user="bob",
            record="course",
            path_arg="course_pk",
            kwargs=lambda r, user: {
                "course": r["course"],
                "trainees": r["course"]
                .trainees.exclude(loan_requests__status__in=LoanRequest.OPEN)
                .order_by("pk"),
            },
            unchanged=counts(LoanRequest, LoanRequestEvent),
            needs=("trainee",),
            valid=lambda r: {**valid_request(r), "trainees": [r["trainee"].pk]},
        )
    ],
    "loans.forms.ApproveForm": [
        Page("loans:request_approve", record="request", needs=("ready_laptop",))
    ],
    "loans.forms.RejectForm": [Page("loans:request_reject", record="request")],
    "loans.forms.CancelForm": [Page("loans:request_cancel", user="bob", record="request")],
    # Loans
    "loans.loan_forms.PrepareForm": [
        Page(
            "loans:loan_prepare",
            record="approved_request",
            kwargs=lambda r, user: {"loan_request": r["approved_request"]},
            unchanged=counts(Loan),
            valid=lambda r: {
                "start_date": today(),
                "planned_end_date": r["course"].end_date.isoformat(),
                "accessories": every_accessory(r),
                "condition": "Bon état",
            },
        )
    ],
    "loans.loan_forms.HandOverForm": [
        Page(
            "loans:loan_hand_over",
            record="prepared_loan",
            kwargs=lambda r, user: {"loan": r["prepared_loan"]},
            valid=lambda r: {"on": today(), "accessories": every_accessory(r), "condition": "Bon"},
        )
    ],
    "loans.loan_forms.ExtendForm": [
        Page(
            "loans:loan_extend",
            record="loan",
            valid=lambda r: {
                "until": (r["loan"].planned_end_date + timedelta(days=30)).isoformat(),
                "reason": "Formation prolongée",
            },
        )
    ],
    "loans.loan_forms.ReturnForm": [
        Page(
            "loans:loan_return",
            record="loan",
            kwargs=lambda r, user: {"loan": r["loan"]},
            valid=lambda r: {"on": today(), "accessories": r["loan"].accessories_out},
        )
    ],
    "loans.loan_forms.LossForm": [
        Page(
            "loans:loan_loss",
            record="loan",
            valid=lambda r: {
                "outcome": Loan.Outcome.STOLEN,
                "on": today(),
                "police_report_reference": "PV 2026/123",
            },
        )
    ],
    "loans.loan_forms.CancelForm": [Page("loans:loan_cancel", record="prepared_loan")],
    "loans.loan_forms.DepartureForm": [
        Page(
            "loans:loan_departure",
            user="bob",
            record="loan",
            valid=lambda r: {"left_on": today(), "note": "A trouvé un emploi"},
        )
    ],
    "loans.loan_forms.ScanForm": [Page("loans:loan_scan_upload", record="loan")],
    "loans.envelope_forms.LoanEnvelopeForm": [
        Page(
            "loans:loan_envelope",
            record="prepared_loan",
            kwargs=lambda r, user: {"loan": r["prepared_loan"]},
        )
    ],
    "loans.distribution_views.HandOverDateForm": [
        Page(
            "loans:distribution_hand_over",
            record="course",
            path_arg="course_pk",
            fixed=lambda r: {"loan": [str(r["prepared_loan"].pk)]},
        )
    ],
    # Money
    "loans.money_forms.PaymentForm": [
        Page(
            "loans:payment_new",
            record="loan",
            kwargs=lambda r, user: {"user": user, "suggested": ledger.statement(r["loan"]).owed},
            unchanged=counts(FeeEntry),
            valid=lambda r: {
                "amount": "7,00",
                "method": "cash",
                "paid_on": today(),
                "received_by": r["alice"].pk,
            },
        )
    ],
    "loans.money_forms.WaiverForm": [
        Page(
            "loans:waiver_new",
            record="loan",
            kwargs=lambda r, user: {"owed": ledger.statement(r["loan"]).owed},
            unchanged=counts(FeeEntry),
            valid=lambda r: {"amount": "1,00", "reason": "Difficultés passagères"},
        )
    ],
    "loans.money_forms.ReverseForm": [
        Page("loans:entry_reverse", record="payment", unchanged=counts(FeeEntry))
    ],
    # The admin: its own forms, posted where the admin posts them
    "defis.admin.UserChangeForm": [
        Page("admin:defis_user_change", user="root", record="bob", path_arg="object_id")
    ],
    "inventory.admin.ChangeStatusForm": [
        Page("admin:inventory_laptop_changelist", fixed=admin_action("change_status", "laptop"))
    ],
    "inventory.admin.LaptopExportForm": [
        Page(
            "admin:inventory_laptop_export",
            kwargs=import_export_kwargs(Laptop, export=True),
            needs=("laptop",),
        )
    ],
    "trainees.admin.TraineeExportForm": [
        Page(
            "admin:trainees_trainee_export",
            kwargs=import_export_kwargs(Trainee, export=True),
            needs=("trainee",),
        )
    ],
    "trainees.admin.TraineeImportForm": [
        Page(
            "admin:trainees_trainee_import",
            kwargs=import_export_kwargs(Trainee, export=False),
            unchanged=counts(Trainee),
            needs=("course",),
        )
    ],
    "trainees.admin.TraineeConfirmImportForm": [
        Page(
            "admin:trainees_trainee_process_import",
            unchanged=counts(Trainee),
            needs=("course",),
        )
    ],
    "loans.admin.common.DecisionForm": [
        Page("admin:loans_loanrequest_changelist", fixed=admin_action("reject", "request")),
        Page(
            "admin:loans_loanrequest_changelist",
            fixed=admin_action("cancel", "request"),
            kwargs=lambda r, user: {"reason_required": False},
        ),
    ],
    "loans.admin.requests.PrepareForm": [
        Page(
            "admin:loans_loanrequest_changelist",
            fixed=admin_action("prepare_loans", "approved_request"),
        )
    ],
    "loans.admin.loans.CancelLoansForm": [
        Page("admin:loans_loan_changelist", fixed=admin_action("cancel_prepared", "prepared_loan"))
    ],
}

# The admin builds its user form itself (with split date and time fields): post that one.
FORMS["defis.admin.UserChangeForm"][0] = Page(
    "admin:defis_user_change",
    user="root",
    record="bob",
    path_arg="object_id",
    form=user_admin_form,
)


@dataclass(frozen=True)
class ListPage:
    url: str
    user: str = "alice"


# The filter forms of the lists, sent by GET.
FILTERS = {
    "inventory.filters.LaptopFilter": ListPage("inventory:laptops"),
    "trainees.filters.TraineeFilter": ListPage("trainees:trainees", user="bob"),
    "trainees.filters.CourseFilter": ListPage("trainees:courses", user="bob"),
    "trainees.workshop_forms.WorkshopFilter": ListPage("trainees:workshops"),
    "loans.filters.RequestFilter": ListPage("loans:requests"),
    "loans.loan_filters.LoanFilter": ListPage("loans:loans"),
    "loans.money_forms.ArrearsFilter": ListPage("loans:arrears", user="bob"),
}
# Lists that read the same filters: the hours report, the CSV of the arrears.
MORE_LISTS = {
    "trainees.workshop_forms.WorkshopFilter": ListPage("trainees:workshop_hours"),
    "loans.money_forms.ArrearsFilter": ListPage("loans:arrears_csv"),
}


def test_every_form_of_the_project_has_a_robustness_test():
    found = _classes_of_the_apps(forms.BaseForm)
    assert sorted(found - set(FORMS)) == [], "add these forms to FORMS, with the page posting them"
    assert sorted(set(FORMS) - found) == []


def test_every_filter_of_the_project_has_a_robustness_test():
    found = _classes_of_the_apps(django_filters.FilterSet)
    # The base of the trainees' filters is never used on its own.
    found.discard("trainees.filters.ScopedFilterSet")
    assert sorted(found - set(FILTERS)) == [], "add these filters to FILTERS, with their list"
    assert sorted(set(FILTERS) - found) == []


# --- The records every page names -------------------------------------------------------------


class Records(dict):
    """The records the pages name, each made the first time it is asked for: a page about
    donors does not wait for loans to be prepared."""

    def __missing__(self, key):
        self[key] = value = RECORDS[key](self)
        return value

    def make(self, *keys):
        return [self[key] for key in keys]


def _workshop(r):
    course = r["course"]
    return Workshop.objects.create(
        course=course,
        date=course.start_date,
        duration_minutes=60,
        topic="Prise en main",
        place="Lanester",
        facilitator="Erwan",
    )


def _ready_laptops(r):
    """A ready laptop to approve a request with, and a place to store a donation."""
    Location.objects.create(name="Atelier de Lanester")
    return make_laptop(by=r["alice"], status=Laptop.Status.READY)


# How each record is made; all of them belong to Agora Services (Bob's body).
RECORDS = {
    "course": lambda r: CourseFactory(training_body=r["agora"]),
    "trainee": lambda r: TraineeFactory(course=r["course"]),
    "request": lambda r: make_request(TraineeFactory(course=r["course"]), by=r["bob"]),
    "approved_request": lambda r: make_request(
        TraineeFactory(course=r["course"]), by=r["alice"], status=LoanRequest.Status.APPROVED
    ),
    "loan": lambda r: make_loan(
        TraineeFactory(course=r["course"]), by=r["alice"], status=Loan.Status.ACTIVE
    ),
    "prepared_loan": lambda r: make_loan(TraineeFactory(course=r["course"]), by=r["alice"]),
    "payment": lambda r: ledger.payment_record(
        loan=r["loan"], amount="7.00", method="cash", paid_on=r["loan"].start_date, by=r["alice"]
    ),
    "laptop": lambda r: make_laptop(by=r["alice"]),
    "ready_laptop": _ready_laptops,
    "donor": lambda r: DonorFactory(),
    "workshop": _workshop,
}


@pytest.fixture
def records(alice, bob, root, agora, funding):
    return Records(alice=alice, bob=bob, root=root, agora=agora)


# --- What is posted -----------------------------------------------------------------------------

NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "-1",
    "0",
    "-0",
    "1e308",
    "-1e308",
    "NaN",
    "inf",
    "99999999999999999999999",
    "2147483648",
    "0000-00-00",
    "31/02/2026",
    "2026-02-31",
    "0001-01-01",
    "9999-12-31",
    "1/1/1",
    "24:61",
    "²",
    "٣",
    "\u202eRTL\u202c",
    "مرحبا",
    "😀👩‍👩‍👧",
    "x" * 5000,
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    '=HYPERLINK("x")',
    "7,00 €",
    "1 234,50",
    "1.5",
    "None",
    "null",
    "on",
    "true",
]

GARBAGE = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.integers().map(str),
    st.dates().map(date.isoformat),
    st.dates().map(lambda day: f"{day.day:02d}/{day.month:02d}/{day.year:04d}"),
)

# Dates near today, where the rules of the services lie, and any others.
DATES = st.one_of(
    st.integers(min_value=-400, max_value=400).map(
        lambda days: timezone.localdate() + timedelta(days=days)
    ),
    st.dates(),
)

# Present in the draw: the field is left out of the post.
LEFT_OUT = object()

CSV_TEXT = "Prénom;Nom;Date de naissance;Adresse;Code postal;Commune\r\n"
CSV_ROW = "Léa;Le Gall;25/03/2000;3 rue des Lilas;56600;Lanester\r\n"
FILE_CONTENTS = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b"",
            b"%PDF-1.4 signed",
            b"%PDF",
            CSV_TEXT.encode(),
            (CSV_TEXT + CSV_ROW).encode(),
            (CSV_TEXT + CSV_ROW).encode("utf-16"),
            (CSV_TEXT + CSV_ROW).encode("cp1252"),
            b"PK\x03\x04 not really a workbook",
            b"\xff\xfe\x00\x00",
        ]
    ),
)
FILE_NAMES = st.one_of(
    st.sampled_from(
        ["scan.pdf", "stagiaires.csv", "stagiaires.xlsx", "x.CSV", "photo.jpg", "sans extension"]
    ),
    st.text(min_size=1, max_size=300).filter(lambda name: "\x00" not in name),
)
FILES = st.builds(SimpleUploadedFile, FILE_NAMES, FILE_CONTENTS)

# The project's own field types, which Hypothesis cannot guess.
register_field_strategy(
    AmountField,
    st.one_of(
        st.decimals(min_value=0, max_value=1000, places=2).map(lambda d: str(d).replace(".", ",")),
        st.integers(min_value=-10, max_value=100).map(str),
    ),
)
register_field_strategy(
    PhoneNumberField,
    st.sampled_from(["", "06 12 34 56 78", "+33 6 12 34 56 78", "0612345678", "12"]),
)


# Ids that are not ids: a database refuses some ("²", a 20-digit number overflows SQLite).
NOT_IDS = st.one_of(
    st.sampled_from(["0", "-1", "1.0", "1e3", "²", "٣", " 1", "99999999999999999999"]),
    st.integers().map(str),
)


def model_choices(form_field):
    """The ids a model choice field offers, read when drawn (the records exist by then),
    or ids that are not."""

    def ids():
        values = [str(pk) for pk in form_field.queryset.order_by("pk").values_list("pk", flat=True)]
        return st.sampled_from(values or [""])

    one = st.one_of(st.deferred(ids), NOT_IDS)
    if isinstance(form_field, forms.ModelMultipleChoiceField):
        return st.lists(one, max_size=3)
    return one


def explicit_strategies(form) -> dict:
    """What from_form is told rather than left to infer: model choices (their querysets are
    the view's), files, dates near today as well as any, and fields it cannot guess."""
    strategies = {}
    for name, form_field in field_names(form).items():
        if isinstance(form_field, forms.ModelChoiceField):
            strategies[name] = model_choices(form_field)
        elif isinstance(form_field, forms.FileField):
            strategies[name] = FILES
        elif isinstance(form_field, forms.DateField):
            strategies[name] = DATES
        else:
            try:
                from_field(form_field)
            except (ResolutionFailed, InvalidArgument):
                strategies[name] = GARBAGE
    return strategies


def accepted_values(form_field, explicit):
    if explicit is not None:
        return explicit
    try:
        return from_field(form_field)
    except (ResolutionFailed, InvalidArgument):
        return GARBAGE


def posted(value):
    """A Python value as a browser would send it."""
    if value is None:
        return ""
    if isinstance(value, list | tuple | set | frozenset):
        return [posted(item) for item in value]
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal | timedelta):
        return str(value)
    if hasattr(value, "pk"):
        return str(value.pk)
    return value if hasattr(value, "read") else str(value)


def field_names(form) -> dict:
    """Each field's name(s) in the post: a split field posts name_0, name_1."""
    names = {}
    for name, form_field in form.fields.items():
        if form_field.disabled:
            continue
        if isinstance(form_field, forms.MultiValueField):
            for index, part in enumerate(form_field.fields):
                names[f"{name}_{index}"] = part
        else:
            names[name] = form_field
    return names


def one_field(form_field, explicit):
    """A value the field accepts, garbage, several values, or nothing at all."""
    one = accepted_values(form_field, explicit)
    return st.one_of(
        one,
        GARBAGE,
        st.lists(st.one_of(one, GARBAGE), min_size=2, max_size=3),
        st.just(LEFT_OUT),
    )


@st.composite
def post_data(draw, form_class, form_kwargs, valid=None):
    """The data and files of one post: from_form's; each field's value or garbage; or,
    when the page has one, a post it accepts with one or two fields changed."""
    form = form_class(**form_kwargs)
    explicit = explicit_strategies(form)
    fields = field_names(form)
    arms = ["from_form", "field_by_field"] + (["valid"] * 2 if valid else [])
    arm = draw(st.sampled_from(arms))
    if arm == "from_form":
        built = draw(from_form(form_class, form_kwargs=form_kwargs, **explicit))
        values = {**built.data, **built.files}
    elif arm == "field_by_field":
        values = {}
        for name, form_field in fields.items():
            value = draw(one_field(form_field, explicit.get(name)))
            if value is not LEFT_OUT:
                values[name] = value
    else:
        values = dict(valid)
        for name in draw(st.sets(st.sampled_from(sorted(fields)), max_size=2)):
            value = draw(one_field(fields[name], explicit.get(name)))
            values.pop(name, None)
            if value is not LEFT_OUT:
                values[name] = value
    return {name: posted(value) for name, value in values.items()}


@contextmanager
def rolled_back():
    """Whatever the example wrote is undone: the next one meets the same records."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def page_url(page: Page, records) -> str:
    kwargs = {page.path_arg: records[page.record].pk} if page.record else {}
    url = reverse(page.url, kwargs=kwargs)
    if page.query:
        name, record = page.query.split("=")
        url += f"?{name}={records[record].pk}"
    return url


def _prefixed(data, prefix):
    return {f"{prefix}-{name}" if prefix else name: value for name, value in data.items()}


def _pages():
    return [
        pytest.param(name, index, id=f"{name}[{index}]")
        for name, pages in sorted(FORMS.items())
        for index in range(len(pages))
    ]


ROBUSTNESS = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


@pytest.mark.parametrize(("form_name", "index"), _pages())
# The export form's "export_items" takes the library's older way, which warns about it.
@pytest.mark.filterwarnings("ignore:The 'get_valid_export_item_pks:DeprecationWarning")
@ROBUSTNESS
@given(draw=st.data())
def test_generated_posts_never_answer_500(client, records, form_name, index, draw):
    page = FORMS[form_name][index]
    user = records[page.user]
    client.force_login(user)
    # Every record is made before the savepoint: made inside, it would be rolled back.
    records.make(*page.needs)
    url = page_url(page, records)
    form_kwargs = page.kwargs(records, user)
    form_class = page.form(records, user) if page.form else _class(form_name)
    fixed = page.fixed(records)
    valid = page.valid(records) if page.valid else None
    with rolled_back():
        data = draw.draw(post_data(form_class, form_kwargs, valid), label="data")
        before = page.unchanged(records) if page.unchanged else None
        response = client.post(url, {**fixed, **_prefixed(data, page.prefix)})
        assert response.status_code < 500, (form_name, data)
        if before is not None and response.status_code == 200:
            assert page.unchanged(records) == before, "a refused post wrote something"


# --- The filters of the lists -------------------------------------------------------------------


def _lists():
    pages = [(name, FILTERS[name]) for name in sorted(FILTERS)]
    pages += [(name, MORE_LISTS[name]) for name in sorted(MORE_LISTS)]
    return [pytest.param(name, page, id=page.url) for name, page in pages]


@pytest.mark.parametrize(("filter_name", "list_page"), _lists())
@ROBUSTNESS
@given(draw=st.data())
def test_generated_filters_never_answer_500(client, records, filter_name, list_page, draw):
    records.make("loan", "request", "workshop", "ready_laptop")  # rows for the lists to show
    client.force_login(records[list_page.user])
    names = [*_class(filter_name).base_filters, "page", "format"]
    query = draw.draw(
        st.dictionaries(
            st.sampled_from(names),
            st.one_of(GARBAGE, st.lists(GARBAGE, min_size=2, max_size=3)),
        ),
        label="query",
    )
    response = client.get(reverse(list_page.url), query)
    assert response.status_code < 500, (filter_name, query)


# --- The key forms: a refused post writes nothing -----------------------------------------------


def test_a_payment_refused_by_the_ledger_writes_nothing(client, alice, records):
    """More than the whole loan will cost: the form comes back, no ledger line written."""
    loan = records["loan"]
    client.force_login(alice)
    before = FeeEntry.objects.count()
    response = client.post(
        reverse("loans:payment_new", args=[loan.pk]),
        {"amount": "1000", "method": "cash", "paid_on": today(), "received_by": alice.pk},
    )
    assert response.status_code == 200
    (error,) = response.context["form"].errors["amount"]
    assert "dépasse ce qu’il reste à payer pour le prêt" in error
    assert FeeEntry.objects.count() == before


def test_a_request_refused_by_the_service_writes_nothing(client, bob, records):
    """The trainee already has a request under way: refused, no request nor event."""
    trainee = records["request"].trainee
    client.force_login(bob)
    before = LoanRequest.objects.count(), LoanRequestEvent.objects.count()
    response = client.post(
        f"{reverse('loans:request_new')}?trainee={trainee.pk}", valid_request(records)
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert (LoanRequest.objects.count(), LoanRequestEvent.objects.count()) == before


def test_a_garbled_request_writes_nothing(client, bob, records):
    client.force_login(bob)
    before = LoanRequest.objects.count(), LoanRequestEvent.objects.count()
    response = client.post(
        f"{reverse('loans:request_new')}?trainee={records['trainee'].pk}",
        {"needed_by": "0000-00-00", "justification": "\x00"},
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"needed_by", "justification"}
    assert (LoanRequest.objects.count(), LoanRequestEvent.objects.count()) == before


def intake(records, *rows):
    data = {
        **a_donation(records),
        "laptops-TOTAL_FORMS": str(len(rows)),
        "laptops-MIN_NUM_FORMS": "0",
    }
    for number, row in enumerate(rows):
        data.update({f"laptops-{number}-{name}": value for name, value in row.items()})
    return data


def test_an_intake_refused_half_way_writes_nothing(client, alice, records, monkeypatch):
    """Someone registers the second laptop's serial number while the form is on its way:
    the service refuses that laptop after it has written the donation, which goes with it
    (the service runs in one transaction)."""
    register = services.laptops_register

    def meanwhile(*, laptops, **kwargs):
        if len(laptops) == 2:  # the intake's, not the other one's
            make_laptop(by=alice, serial_number=laptops[1].serial_number)
        return register(laptops=laptops, **kwargs)

    monkeypatch.setattr(services, "laptops_register", meanwhile)
    client.force_login(alice)
    before = Donation.objects.count(), Laptop.objects.count()
    rows = [valid_row(records), {**valid_row(records), "serial_number": "SN-0042"}]
    response = client.post(reverse("inventory:donation_new"), intake(records, *rows))
    assert response.status_code == 200
    assert "Rien n’a été enregistré :" in response.content.decode()
    assert (Donation.objects.count(), Laptop.objects.count()) == before


def test_a_garbled_intake_writes_nothing(client, alice, records):
    """A donation whose second row is wrong: neither the donation nor its first laptop."""
    client.force_login(alice)
    before = Donation.objects.count(), Laptop.objects.count()
    rows = [valid_row(records), {"brand": "Dell", "model": "x" * 5000, "quantity": "1e308"}]
    response = client.post(reverse("inventory:donation_new"), intake(records, *rows))
    assert response.status_code == 200
    formset = response.context["formset"]
    assert not formset.errors[0]
    assert set(formset.errors[1]) >= {"model", "quantity"}
    assert (Donation.objects.count(), Laptop.objects.count()) == before


def test_a_garbled_laptop_edit_changes_nothing(client, alice, records):
    laptop = records["laptop"]
    client.force_login(alice)
    before = laptop_row(records)
    response = client.post(
        reverse("inventory:laptop_edit", args=[laptop.pk]),
        {"brand": "Dell", "model": "", "ram_gb": "-1", "replacement_value": "1e308"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert laptop_row(records) == before


def test_another_bodys_course_in_a_form_is_refused_not_a_500(client, bob, records, askoria):
    """A coordinator posting another body's course id: refused as off the list."""
    other = CourseFactory(training_body=askoria)
    client.force_login(bob)
    before = Trainee.objects.count()
    response = client.post(
        reverse("trainees:trainee_new"), {**valid_trainee(records), "course": other.pk}
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["course"]
    assert Trainee.objects.count() == before


# --- The admin's ids ------------------------------------------------------------------------------


class CourseAutocompleteAdmin(AdminIdsMixin, admin.ModelAdmin):
    autocomplete_fields = ("course",)


@pytest.mark.parametrize("value", ["abc", "1.5", " ", "99999999999999999999", "٣"])
def test_the_admin_autocomplete_shows_a_value_that_is_no_id_as_an_error(records, value):
    """Django's autocomplete looks the posted value up to show it again, and answers 500
    on "abc"; with AdminIdsMixin, the field says the choice is not valid."""
    model_admin = CourseAutocompleteAdmin(Workshop, admin.site)
    form = model_admin.get_form(_admin_request(records["root"]))(data={"course": value})
    assert form.errors["course"]
    assert "selected" not in str(form["course"])


def test_the_admin_autocomplete_still_shows_the_course_posted(records):
    course = records["course"]
    model_admin = CourseAutocompleteAdmin(Workshop, admin.site)
    form = model_admin.get_form(_admin_request(records["root"]))(data={"course": course.pk})
    assert f'<option value="{course.pk}" selected>' in str(form["course"])


@pytest.mark.parametrize("autocomplete", [(), ("territories",)])
def test_an_admin_many_to_many_refuses_an_id_sqlite_cannot_look_up(records, autocomplete):
    class EnvelopeAdmin(AdminIdsMixin, admin.ModelAdmin):
        autocomplete_fields = autocomplete

    model_admin = EnvelopeAdmin(BudgetEnvelope, admin.site)
    form_class = model_admin.get_form(_admin_request(records["root"]))
    form = form_class(data={"territories": ["99999999999999999999"]})
    assert form.errors["territories"]
    assert str(form["territories"])


class MarkAdmin(AdminIdsMixin, admin.ModelAdmin):
    actions = ["mark"]

    @admin.action(description="Mark")
    def mark(self, request, queryset):
        request.marked = list(queryset)


def _action_request(user, ticked):
    data = {"action": "mark", "index": "0", ACTION_CHECKBOX_NAME: ticked}
    request = RequestFactory().post("/admin/inventory/laptop/", data)
    request.user = user
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def test_an_admin_action_leaves_out_the_ticked_ids_that_are_none(records):
    laptop = records["laptop"]
    request = _action_request(records["root"], ["99999999999999999999", "²", str(laptop.pk)])
    MarkAdmin(Laptop, admin.site).response_action(request, Laptop.objects.all())
    assert request.marked == [laptop]


def test_an_admin_action_with_no_id_at_all_says_tick_some(records):
    request = _action_request(records["root"], ["99999999999999999999"])
    MarkAdmin(Laptop, admin.site).response_action(request, Laptop.objects.all())
    assert not hasattr(request, "marked")
    (message,) = [str(message) for message in request._messages]
    assert message.startswith("Des éléments doivent être sélectionnés")
