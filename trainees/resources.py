"""Trainees in and out of spreadsheets (CSV, XLSX): the lists training bodies keep.

An import always fills one course, chosen by the user (the admin's import form, or the
course page of a coordinator); the file has one row per trainee and no course column. Rows
are only ever added: a trainee already enrolled on the course (same first name, last name
and birth date), or given twice in the file, is an error, never an update.

Every row is validated by the model's `full_clean()`, so the file obeys the rules of the
form: a minor on the first day of the course needs the legal guardian's columns, the
course's age limits apply, postal codes have five digits, phone numbers are checked. The
import is all or nothing, and every problem is named by its line in the file.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import translation
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from import_export import fields, widgets
from import_export.results import RowResult
from phonenumber_field.phonenumber import to_python as to_phone_number

from defis.importing import SpreadsheetResource, UnreadableFile, cell_text, header_key

from .models import Course, DigitalLevel, Trainee

# A course's list, not a region's: a bigger file is a mistake.
MAX_ROWS = 1000

# The columns a file must have (the others may be left out).
REQUIRED_COLUMNS = ("first_name", "last_name", "birth_date", "street", "postal_code", "town")

# The date formats accepted in a text cell, French first.
DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%Y/%m/%d")


class TextWidget(widgets.CharWidget):
    """Any cell as trimmed text ("56100" for the number 56100)."""

    def __init__(self):
        super().__init__(allow_blank=True)

    def clean(self, value, row=None, **kwargs):
        return cell_text(value)


class PostalCodeWidget(TextWidget):
    """Excel drops the leading zero of 01000, typed as a number: put it back."""

    def clean(self, value, row=None, **kwargs):
        text = super().clean(value)
        if isinstance(value, int | float) and text.isdigit() and len(text) < 5:
            text = text.zfill(5)
        return text


class PhoneWidget(TextWidget):
    """A French number as people write it ("06 12 34 56 78", "0612345678", "+33 6 12…"),
    checked here to name the wrong value; the model's field checks it again."""

    def clean(self, value, row=None, **kwargs):
        text = super().clean(value)
        if isinstance(value, int | float) and len(text) == 9:
            text = f"0{text}"  # Excel drops the leading zero of a number typed as a number
        if (
            text
            and not to_phone_number(text, region=settings.PHONENUMBER_DEFAULT_REGION).is_valid()
        ):
            raise ValueError(
                _("“%(value)s” is not a valid phone number: write it like 06 12 34 56 78.")
                % {"value": text}
            )
        return text

    def render(self, value, obj=None, **kwargs):
        return "" if not value else str(value)


class DateWidget(widgets.DateWidget):
    """A date typed the French way (25/03/2008), in ISO (2008-03-25), or an Excel date cell."""

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        text = cell_text(value)
        if not text:
            return None
        for date_format_ in DATE_FORMATS:
            try:
                return datetime.strptime(text, date_format_).date()  # noqa: DTZ007 (a date)
            except ValueError:
                pass
        try:
            # "2008-03-25 00:00:00", as some programs write a date.
            return datetime.fromisoformat(text).date()
        except ValueError:
            pass
        raise ValueError(
            _("“%(value)s” is not a date: write it dd/mm/yyyy, for example 25/03/2008.")
            % {"value": text}
        )

    def render(self, value, obj=None, **kwargs):
        return value.strftime("%d/%m/%Y") if value else ""


class DigitalLevelWidget(TextWidget):
    """A digital level by its label in any language ("Débutant : a rarement utilisé…"), the
    label's first words ("Débutant"), or its stored value ("beginner")."""

    def clean(self, value, row=None, **kwargs):
        text = super().clean(value)
        if not text:
            return ""
        level = self._levels().get(header_key(text))
        if level is None:
            raise ValueError(
                _("“%(value)s” is not one of the accepted values: %(values)s.")
                % {"value": text, "values": ", ".join(self.short_labels())}
            )
        return level

    @staticmethod
    def short_labels() -> list[str]:
        """The labels up to their colon ("Débutant", "Bases"…), in the user's language."""
        return [str(level.label).split(":")[0].strip() for level in DigitalLevel]

    @staticmethod
    def _levels() -> dict[str, str]:
        levels = {}
        for level in DigitalLevel:
            levels[header_key(level.value)] = level.value
            for code, _language in settings.LANGUAGES:
                with translation.override(code):
                    label = str(level.label)
                levels[header_key(label)] = level.value
                levels[header_key(label.split(":")[0])] = level.value
        return levels

    def render(self, value, obj=None, **kwargs):
        return str(DigitalLevel(value).label) if value else ""


def _column(name: str, widget=None, header=None) -> fields.Field:
    """A column headed with the model field's verbose name, in the user's language."""
    return fields.Field(
        attribute=name,
        column_name=capfirst(header or Trainee._meta.get_field(name).verbose_name),
        widget=widget or TextWidget(),
    )


class TraineeResource(SpreadsheetResource):
    first_name = _column("first_name")
    last_name = _column("last_name")
    birth_date = _column("birth_date", DateWidget())
    email = _column("email")
    phone = _column("phone", PhoneWidget())
    street = _column("street")
    postal_code = _column("postal_code", PostalCodeWidget())
    town = _column("town")
    digital_level = _column("digital_level", DigitalLevelWidget())
    support_needs = _column("support_needs")
    notes = _column("notes")
    guardian_name = _column("guardian_name")
    # "Lien" alone says little in a spreadsheet.
    guardian_relationship = _column(
        "guardian_relationship", header=gettext_lazy("guardian’s relationship to the trainee")
    )
    guardian_phone = _column("guardian_phone", PhoneWidget())
    guardian_email = _column("guardian_email")
    guardian_street = _column("guardian_street")
    guardian_postal_code = _column("guardian_postal_code", PostalCodeWidget())
    guardian_town = _column("guardian_town")
    # Exported for the reader, never read: the course is chosen on the import page.
    course = fields.Field(
        attribute="course",
        column_name=capfirst(Trainee._meta.get_field("course").verbose_name),
        readonly=True,
    )

    class Meta:
        model = Trainee
        fields = (
            "first_name",
            "last_name",
            "birth_date",
            "email",
            "phone",
            "street",
            "postal_code",
            "town",
            "digital_level",
            "support_needs",
            "notes",
            "guardian_name",
            "guardian_relationship",
            "guardian_phone",
            "guardian_email",
            "guardian_street",
            "guardian_postal_code",
            "guardian_town",
            "course",
        )
        # Rows are only ever added (see the module's docstring).
        force_init_instance = True
        clean_model_instances = True
        use_transactions = True

    def __init__(self, course: Course | None = None, **kwargs):
        super().__init__(**kwargs)
        self.course = course
        self._enrolled: set[tuple[str, str, date]] = set()
        self._lines: dict[tuple[str, str, date], int] = {}

    # Export

    def get_queryset(self):
        return Trainee.objects.select_related("course__training_body")

    def dehydrate_course(self, trainee):
        return str(trainee.course)

    # Import

    def get_import_order(self):
        return tuple(name for name in super().get_import_order() if name != "course")

    @classmethod
    def import_headers(cls) -> list[str]:
        """The header line of a file to fill in, in the user's language."""
        return [str(cls.fields[name].column_name) for name in cls._meta.fields if name != "course"]

    @classmethod
    def required_headers(cls) -> list[str]:
        return [str(cls.fields[name].column_name) for name in REQUIRED_COLUMNS]

    @staticmethod
    def digital_levels() -> list[str]:
        return DigitalLevelWidget.short_labels()

    def before_import(self, dataset, **kwargs):
        if self.course is None:
            raise ValueError("TraineeResource imports into a course: pass course=.")
        super().before_import(dataset, **kwargs)
        missing = [
            self.fields[name].column_name
            for name in REQUIRED_COLUMNS
            if self.fields[name].column_name not in dataset.headers
        ]
        if missing:
            dataset.wipe()
            raise UnreadableFile(
                ngettext(
                    "The file has no column %(columns)s: add it, with a value on every row.",
                    "The file has no columns %(columns)s: add them, with a value on every row.",
                    len(missing),
                )
                % {"columns": ", ".join(_("“%(column)s”") % {"column": c} for c in missing)}
            )
        self._enrolled = {
            _person_key(first, last, born)
            for first, last, born in self.course.trainees.values_list(
                "first_name", "last_name", "birth_date"
            )
        }
        self._lines = {}

    def init_instance(self, row=None):
        return Trainee(course=self.course)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = {name: list(found) for name, found in (import_validation_errors or {}).items()}
        try:
            # The one-enrolment-per-course constraint is checked below, with a sentence that
            # names the person and the line; the database constraint stays the last guard.
            instance.full_clean(
                exclude=set(errors), validate_unique=validate_unique, validate_constraints=False
            )
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        self._gather_guardian_errors(instance, errors)
        self._check_enrolled_once(instance, errors)
        if errors:
            raise ValidationError(errors)

    def _gather_guardian_errors(self, instance, errors) -> None:
        """One sentence for a minor's missing guardian columns, rather than one per column."""
        if not instance.is_minor:
            return
        missing = [
            name
            for name in Trainee.GUARDIAN_FIELDS
            if name in errors and not getattr(instance, name)
        ]
        if not missing:
            return
        for name in missing:
            del errors[name]
        message = _(
            "%(name)s is %(age)s on the first day of the course: a minor needs the legal "
            "guardian’s columns, missing here: %(columns)s."
        ) % {
            "name": instance.full_name,
            "age": instance.age_at_course_start,
            "columns": ", ".join(self.fields[name].column_name for name in missing),
        }
        errors.setdefault(NON_FIELD_ERRORS, []).append(ValidationError(message))

    def _check_enrolled_once(self, instance, errors) -> None:
        """Same first name, last name and birth date: the same person, enrolled once."""
        if {"first_name", "last_name", "birth_date"} & set(errors) or not instance.birth_date:
            return
        key = _person_key(instance.first_name, instance.last_name, instance.birth_date)
        person = {
            "name": instance.full_name,
            "date": date_format(instance.birth_date, "SHORT_DATE_FORMAT"),
        }
        if key in self._enrolled:
            message = _("%(name)s, born on %(date)s, is already enrolled on this course.") % person
        else:
            first_line = self._lines.setdefault(key, self.line)
            if first_line == self.line:
                return
            message = _(
                "%(name)s, born on %(date)s, is already enrolled on line %(line)s of this file."
            ) % {**person, "line": first_line}
        errors.setdefault(NON_FIELD_ERRORS, []).append(ValidationError(message))


def _person_key(first_name: str, last_name: str, birth_date: date) -> tuple[str, str, date]:
    return (header_key(first_name), header_key(last_name), birth_date)


@dataclass
class TraineeImport:
    """What an import did: the trainees added, or the problems that stopped it."""

    imported: int = 0
    problems: list[str] = field(default_factory=list)


def trainees_import(*, course: Course, dataset, by) -> TraineeImport:
    """Add every trainee of the file to the course, or none: then every problem is named."""
    resource = TraineeResource(course=course)
    result = resource.import_data(
        dataset,
        dry_run=False,
        raise_errors=False,
        use_transactions=True,
        rollback_on_validation_errors=True,
        user=by,
    )
    if result.has_errors() or result.has_validation_errors():
        return TraineeImport(problems=resource.describe_errors(result))
    return TraineeImport(imported=result.totals[RowResult.IMPORT_TYPE_NEW])
