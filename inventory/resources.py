"""Laptops in and out of spreadsheets (CSV, XLSX), for the admin's import and export.

The columns are headed with the model's verbose names in the user's language ("Numéro de
série", "Marque"), as a French user expects in a spreadsheet; on import a header is also
recognised in the other language, or as the field's name ("serial_number").

An import never touches the lifecycle: status, status date and retirement reason are
exported, never read. A row without an asset tag is a new laptop, registered through
`services.laptops_register` like any other; a row with a tag updates that laptop's
description; a tag the application did not give is an error, never a new laptop.

Every row is validated by the model; the admin runs the import in one transaction and
rolls it back if any row is wrong, then lists every wrong row by its line in the file as a
spreadsheet numbers it (the header is line 1).
"""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db.models.fields import NOT_PROVIDED
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from import_export import fields, widgets

from defis.importing import CSV, SpreadsheetResource, UnreadableFile
from defis.importing import cell_text as _text

from . import services
from .models import Donation, Laptop, Location, normalise_serial

# Read by the admin from here.
__all__ = ["CSV", "LaptopResource", "UnreadableFile"]

# Exported for the reader, never read back: the lifecycle moves only through the services.
EXPORT_ONLY = ("donor", "status", "status_changed_at", "retirement_reason")


def _number(value) -> Decimal:
    """A number written the French way ("13,3", "1 000") or the English way ("13.3")."""
    text = _text(value)
    for space in (" ", "\u00a0", "\u202f"):
        text = text.replace(space, "")
    try:
        number = Decimal(text.replace(",", "."))
    except InvalidOperation:
        number = None
    # Finite and of a sensible size: int() of "1e999999" would take minutes.
    if number is None or not number.is_finite() or number.adjusted() > 15:
        raise ValueError(_("“%(value)s” is not a number.") % {"value": _text(value)})
    return number


class ChoiceWidget(widgets.CharWidget):
    """A choice by its stored value ("A", "linux_mint"), in any case."""

    def __init__(self, choices):
        super().__init__(allow_blank=True)
        self.values = [value for value, _label in choices]

    def clean(self, value, row=None, **kwargs):
        text = _text(value)
        if not text:
            return ""
        for accepted in self.values:
            if accepted.casefold() == text.casefold():
                return accepted
        raise ValueError(
            _("“%(value)s” is not one of the accepted values: %(values)s.")
            % {"value": text, "values": ", ".join(self.values)}
        )


YES = {"1", "true", "yes", "oui", "vrai", "x"}
NO = {"0", "false", "no", "non", "faux"}


class YesNoWidget(widgets.BooleanWidget):
    """Yes or no, in French or in English. The library's widget reads "oui" as False."""

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, bool):
            return value
        text = _text(value).casefold()
        if not text:
            return None
        if text in YES:
            return True
        if text in NO:
            return False
        raise ValueError(
            _("“%(value)s” is not understood: write yes or no.") % {"value": _text(value)}
        )

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return _("yes") if value else _("no")


class WholeNumberWidget(widgets.IntegerWidget):
    """The library's widget turns "8.5" into 8 and "8 Go" into an untranslated error."""

    def clean(self, value, row=None, **kwargs):
        if self.is_empty(value):
            return None
        number = _number(value)
        if number != number.to_integral_value():
            raise ValueError(_("“%(value)s” is not a whole number.") % {"value": _text(value)})
        return int(number)


class AmountWidget(widgets.DecimalWidget):
    def clean(self, value, row=None, **kwargs):
        if self.is_empty(value):
            return None
        return _number(value)


class LocationWidget(widgets.ForeignKeyWidget):
    """A location by its name, whatever the case."""

    def __init__(self):
        super().__init__(Location, field="name")

    def clean(self, value, row=None, **kwargs):
        name = _text(value)
        if not name:
            return None
        location = (
            Location.objects.filter(name=name).first()
            or Location.objects.filter(name__iexact=name).first()
        )
        if location is None:
            raise ValueError(
                _(
                    "No location is called “%(name)s”: add it in the administration first, "
                    "or correct the name."
                )
                % {"name": name}
            )
        return location


class DonationWidget(widgets.ForeignKeyWidget):
    """A donation by its number, the one shown in the admin's list of donations."""

    def __init__(self):
        super().__init__(Donation, field="pk")

    def clean(self, value, row=None, **kwargs):
        text = _text(value)
        if not text:
            return None
        number = _number(value)
        donation = None
        if number == number.to_integral_value():
            donation = Donation.objects.filter(pk=int(number)).first()
        if donation is None:
            raise ValueError(_("There is no donation number %(number)s.") % {"number": text})
        return donation


def _column(name: str, widget=None, **kwargs) -> fields.Field:
    """A column headed with the model field's verbose name, in the user's language."""
    model_field = Laptop._meta.get_field(name)
    if model_field.has_default():
        # An empty cell takes the model's default (charger: yes, keyboard: AZERTY).
        kwargs.setdefault("default", model_field.default)
    return fields.Field(
        attribute=name,
        column_name=capfirst(model_field.verbose_name),
        widget=widget or widgets.CharWidget(allow_blank=True),
        **kwargs,
    )


class LaptopResource(SpreadsheetResource):
    asset_tag = _column("asset_tag", readonly=True)
    brand = _column("brand")
    model = _column("model")
    serial_number = _column("serial_number")
    processor = _column("processor")
    ram_gb = _column("ram_gb", WholeNumberWidget())
    storage_gb = _column("storage_gb", WholeNumberWidget())
    storage_type = _column("storage_type", ChoiceWidget(Laptop.StorageType.choices))
    screen_inches = _column("screen_inches", AmountWidget())
    operating_system = _column("operating_system", ChoiceWidget(Laptop.OperatingSystem.choices))
    keyboard_layout = _column("keyboard_layout", ChoiceWidget(Laptop.KeyboardLayout.choices))
    grade = _column("grade", ChoiceWidget(Laptop.Grade.choices))
    has_charger = _column("has_charger", YesNoWidget())
    has_bag = _column("has_bag", YesNoWidget())
    has_mouse = _column("has_mouse", YesNoWidget())
    replacement_value = _column("replacement_value", AmountWidget())
    location = _column("location", LocationWidget())
    donation = _column("donation", DonationWidget())
    donor = fields.Field(
        attribute="donation__donor__name",
        column_name=capfirst(Donation._meta.get_field("donor").verbose_name),
        readonly=True,
    )
    notes = _column("notes")
    status = _column("status", readonly=True)
    status_changed_at = _column("status_changed_at", widgets.DateTimeWidget(), readonly=True)
    retirement_reason = _column("retirement_reason", readonly=True)

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        # An empty cell gives a new laptop the model's default, but leaves an existing
        # laptop's value as it is: a blank column is not an instruction to reset it.
        if (
            instance.pk
            and field.default is not NOT_PROVIDED
            and not _text(row.get(field.column_name))
        ):
            return
        super().import_field(field, instance, row, is_m2m=is_m2m, **kwargs)

    class Meta:
        model = Laptop
        fields = (
            "asset_tag",
            *Laptop.DESCRIPTION_FIELDS,
            "donation",
            "donor",
            "notes",
            "status",
            "status_changed_at",
            "retirement_reason",
        )
        import_id_fields = ("asset_tag",)
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True
        use_transactions = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._tag_errors: list[str] = []
        self._tag_lines: dict[str, int] = {}
        self._serial_lines: dict[str, int] = {}

    # Export

    def get_queryset(self):
        return Laptop.objects.select_related("location", "donation__donor")

    def dehydrate_status(self, laptop):
        return laptop.get_status_display()

    def dehydrate_retirement_reason(self, laptop):
        return laptop.get_retirement_reason_display()

    # Import

    def get_import_order(self):
        return tuple(name for name in super().get_import_order() if name not in EXPORT_ONLY)

    @classmethod
    def accepted_values(cls) -> list[tuple[str, list[str]]]:
        """The columns that take a value from a list, with that list (for the import page)."""
        return [
            (field.column_name, field.widget.values)
            for field in cls.fields.values()
            if isinstance(field.widget, ChoiceWidget)
        ]

    def before_import(self, dataset, **kwargs):
        self._tag_lines, self._serial_lines = {}, {}
        super().before_import(dataset, **kwargs)
        headers = dataset.headers
        tag_column = self.fields["asset_tag"].column_name
        if tag_column not in headers:
            # A file of new laptops need not carry an empty asset tag column.
            dataset.append_col([""] * dataset.height, header=tag_column)

    def get_or_init_instance(self, instance_loader, row):
        # A problem with the tag is kept for validate_instance(), so that the row's other
        # problems are reported with it rather than on the next try.
        self._tag_errors = []
        tag = _text(row.get(self.fields["asset_tag"].column_name)).upper()
        if not tag:
            return self.init_instance(row), True
        first_line = self._tag_lines.setdefault(tag, self.line)
        if first_line != self.line:
            self._tag_errors.append(
                _("Line %(line)s of this file already has this asset tag.") % {"line": first_line}
            )
        laptop = self.get_queryset().filter(asset_tag=tag).first()
        if laptop is None:
            self._tag_errors.append(
                _(
                    "No laptop has the asset tag %(tag)s. Leave the cell empty for a new "
                    "laptop: the application gives its tag."
                )
                % {"tag": tag}
            )
            return self.init_instance(row), True
        return laptop, False

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if self._tag_errors:
            return False
        return super().skip_row(instance, original, row, import_validation_errors)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = {name: list(found) for name, found in (import_validation_errors or {}).items()}
        if self._tag_errors:
            errors["asset_tag"] = [ValidationError(message) for message in self._tag_errors]
        self._check_serial_once_in_file(instance, errors)
        if self._meta.clean_model_instances:
            # The application gives the tag and moves the status: not the file's to check.
            exclude = {*errors, "asset_tag", "status", "status_changed_at", "retirement_reason"}
            try:
                instance.full_clean(exclude=exclude, validate_unique=validate_unique)
            except ValidationError as error:
                errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def _check_serial_once_in_file(self, instance, errors) -> None:
        """Two rows with one serial: the second is refused, naming the first's line. (The
        database check would also refuse it, but as if another laptop already had it.)"""
        serial = normalise_serial(instance.serial_number)
        if not serial or "serial_number" in errors:
            return
        first_line = self._serial_lines.setdefault(serial, self.line)
        if first_line != self.line:
            errors["serial_number"] = [
                ValidationError(
                    _("Line %(line)s of this file already has this serial number.")
                    % {"line": first_line}
                )
            ]

    def save_instance(self, instance, is_create, row, **kwargs):
        if is_create:
            services.laptops_register(laptops=[instance], by=kwargs.get("user"), note=_("Imported"))
        else:
            # The description only: the lifecycle is never written from a file.
            names = [field.attribute for field in self.get_import_fields() if not field.readonly]
            instance.save(update_fields=names)
