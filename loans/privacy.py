"""Everything held about one trainee, to answer their access request (RGPD, article 15).

`trainee_file(trainee)` reads it all in a fixed number of queries: the trainee's record (with
the legal guardian), the course and its training body, the laptop requests and what happened to
them, the loans (laptop, accessories, dates, events, ledger lines, reminders sent about them),
the workshops, the change history of the record, of the requests and of the loans (who changed
what, and when: the old values of their free text too), and the notes of the laptops' history
about their requests and loans ("Lent to … (loan PRET-2025-0001)"). That is what
loans.anonymisation treats as their personal data.

Reminders are given by kind, date and whom they went to (the training body, the Défis
team), not by the addresses of the staff who received them.

It is given two ways, from the same reading so that they never disagree:

- `as_json(file)`: for the person or a machine. Keys in English and stable (the model's field
  names), dates and times in ISO 8601, amounts as strings with two decimals ("7.00");
- `render_pdf(file)`: a document in French, to hand over or send.

Every field of the models is exported unless it is listed below as left out, so that a field
added later is not forgotten. Stored files are only said to exist (the kept agreement, the
signed scan): they are sent apart on request, and their storage name means nothing to anyone.
"""

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from phonenumber_field.phonenumber import PhoneNumber

from defis.models import Association
from defis.money import format_euros
from defis.pdf import render_pdf as render_pdf_template
from inventory.models import LaptopStatusChange
from trainees.models import Attendance, Trainee

from .ledger import Statement, statement
from .models import FeeEntry, Loan, LoanEvent, LoanRequest, LoanRequestEvent, ReminderLog

PDF_TEMPLATE = "pdf/loans/trainee_export.html"
JSON_FORMAT = "defis-trainee-export/1"

# Fields given elsewhere in the file, or that say nothing about the person.
TRAINEE_LEFT_OUT = ()
REQUEST_LEFT_OUT = ("trainee",)
LOAN_LEFT_OUT = ("trainee", "request")
COURSE_LEFT_OUT = ("id", "created_at")
# Labels for the fields whose model gives none of its own.
LABELS = {
    "agreement_sha256": gettext_lazy("fingerprint of the signed agreement (SHA-256)"),
    "signed_scan_uploaded_at": gettext_lazy("signed scan attached on"),
}
# Left out of the change histories: the row's own id, and a checksum that means nothing to
# a reader (the record gives it).
HISTORY_LEFT_OUT = ("id", "agreement_sha256")
# The amounts of these fields are money (formatted "7,00 €" in the PDF).
MONEY_FIELDS = {"monthly_fee", "amount", "envelope_amount"}

HISTORY_TYPES = {
    "+": "created",
    "~": "changed",
    "-": "deleted",
}

# Whom a reminder went to: roles, not the addresses of the people who hold them.
TRAINING_BODY = "training_body"
DEFIS_TEAM = "defis_team"
RECIPIENT_ROLES = {
    TRAINING_BODY: gettext_lazy("the training body"),
    DEFIS_TEAM: gettext_lazy("the Défis team"),
}


# --- Reading --------------------------------------------------------------------------------


@dataclass
class FieldChange:
    name: str
    label: str
    old: object
    new: object
    old_display: str
    new_display: str


@dataclass
class HistoryEntry:
    """One row of the record's change history: who, when, and what changed."""

    at: datetime
    by: str
    type: str  # "created", "changed" or "deleted"
    reason: str
    changes: list[FieldChange] = field(default_factory=list)


@dataclass
class TraineeFile:
    trainee: Trainee
    requests: list[LoanRequest]
    loans: list[Loan]
    statements: dict[int, Statement]
    attendances: list[Attendance]
    history: list[HistoryEntry]
    generated_at: datetime
    # The change history of each request and loan, by its id.
    request_history: dict[int, list[HistoryEntry]] = field(default_factory=dict)
    loan_history: dict[int, list[HistoryEntry]] = field(default_factory=dict)
    # The laptops' status changes whose note is about one of their requests or loans.
    laptop_notes: list[LaptopStatusChange] = field(default_factory=list)
    # Whom each reminder about their loans went to (RECIPIENT_ROLES keys), by its id.
    reminder_roles: dict[int, list[str]] = field(default_factory=dict)


def user_name(user) -> str:
    """Who did something: a name, or the login; empty for the system (a scheduled command)."""
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def trainee_file(trainee: Trainee, *, now: datetime | None = None) -> TraineeFile:
    """Everything held about `trainee`: about twenty queries, whatever the number of loans,
    ledger lines or history rows."""
    trainee = Trainee.objects.select_related("course__training_body").get(pk=trainee.pk)
    requests = list(
        LoanRequest.objects.filter(trainee=trainee)
        .select_related("laptop", "submitted_by")
        .prefetch_related(
            models.Prefetch(
                "events",
                queryset=LoanRequestEvent.objects.select_related("by").order_by("at", "pk"),
            )
        )
        .order_by("submitted_at", "pk")
    )
    loans = list(
        Loan.objects.filter(trainee=trainee)
        .select_related(
            "laptop",
            "course__training_body",
            "request",
            "prepared_by",
            "envelope",
            "agreement_template",
        )
        .prefetch_related(
            models.Prefetch("events", queryset=_events()),
            models.Prefetch(
                "fee_entries",
                queryset=FeeEntry.objects.select_related("recorded_by", "received_by"),
            ),
            "reminders",
        )
        .order_by("start_date", "pk")
    )
    attendances = list(
        Attendance.objects.filter(trainee=trainee)
        .select_related("workshop")
        .order_by("workshop__date", "workshop__start_time", "pk")
    )
    reminders = [reminder for loan in loans for reminder in loan.reminders.all()]
    return TraineeFile(
        trainee=trainee,
        requests=requests,
        loans=loans,
        statements={loan.pk: statement(loan, loan.fee_entries.all()) for loan in loans},
        attendances=attendances,
        history=_histories(Trainee, [trainee.pk], first_in_full=True).get(trainee.pk, []),
        generated_at=now or timezone.now(),
        request_history=_histories(LoanRequest, [r.pk for r in requests], first_in_full=False),
        loan_history=_histories(Loan, [loan.pk for loan in loans], first_in_full=False),
        laptop_notes=_laptop_notes([r.number for r in requests] + [x.number for x in loans]),
        reminder_roles=_reminder_roles(reminders),
    )


def _events():
    return LoanEvent.objects.select_related("by").order_by("at", "pk")


def _histories(model, ids: list[int], *, first_in_full: bool) -> dict[int, list[HistoryEntry]]:
    """The change history of the records of `model` with these ids, oldest first, by id; each
    row says what it changed from the one before. The first row lists everything the record
    was created with when `first_in_full` (the trainee's record); a request's or a loan's
    says only that it was created, its values being on the record or, when changed since,
    the old side of a later change. A query for the rows, and one for each kind of linked
    record whose value changed (a course, a laptop…), whatever the number of rows."""
    if not ids:
        return {}
    rows = list(
        model.history.filter(id__in=ids)
        .select_related("history_user")
        .order_by("id", "history_date", "history_id")
    )
    fields = [f for f in model.history.model.tracked_fields if f.name not in HISTORY_LEFT_OUT]
    diffs, previous_of = [], {}
    for row in rows:
        previous = previous_of.get(row.id)
        previous_of[row.id] = row
        diff = []
        if previous is not None or first_in_full:
            for model_field in fields:
                new = _comparable(model_field, getattr(row, model_field.attname))
                if previous is None:
                    if new not in (None, ""):
                        diff.append((model_field, None, new))
                    continue
                old = _comparable(model_field, getattr(previous, model_field.attname))
                if old != new:
                    diff.append((model_field, old, new))
        diffs.append((row, diff))
    names = _linked_names(
        (model_field, value)
        for _row, diff in diffs
        for model_field, old, new in diff
        for value in (old, new)
    )
    entries = defaultdict(list)
    for row, diff in diffs:
        changes = []
        for model_field, old, new in diff:
            old, new = _named(model_field, old, names), _named(model_field, new, names)
            changes.append(
                FieldChange(
                    name=model_field.name,
                    label=capfirst(LABELS.get(model_field.name, model_field.verbose_name)),
                    old=old,
                    new=new,
                    old_display=_history_display(model, model_field, old),
                    new_display=_history_display(model, model_field, new),
                )
            )
        entries[row.id].append(
            HistoryEntry(
                at=row.history_date,
                by=user_name(row.history_user),
                type=HISTORY_TYPES.get(row.history_type, row.history_type),
                reason=row.history_change_reason or "",
                changes=changes,
            )
        )
    return dict(entries)


def _comparable(model_field, value):
    """A stored file only says whether there is one (its storage name means nothing)."""
    if isinstance(model_field, models.FileField):
        return True if value else None
    return value


def _linked_names(values) -> dict:
    """{(model, pk): name} of the linked records in `values` ((field, pk) pairs): one query
    per kind of record."""
    wanted = defaultdict(set)
    for model_field, value in values:
        if model_field.is_relation and value is not None:
            wanted[model_field.related_model].add(value)
    names = {}
    for related_model, pks in wanted.items():
        # select_related(): what a name is made of (a course's training body) comes along.
        for obj in related_model._base_manager.select_related().filter(pk__in=pks):
            is_user = related_model._meta.label == settings.AUTH_USER_MODEL
            names[(related_model, obj.pk)] = user_name(obj) if is_user else str(obj)
    return names


def _named(model_field, value, names):
    """A link as the name of the record it points at (its number when it is gone)."""
    if model_field.is_relation and value is not None:
        return names.get((model_field.related_model, value), str(value))
    return value


def _history_display(model, model_field, value) -> str:
    if value in (None, "", []):
        return "—"
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(model_field, models.JSONField) and model is Loan:
        return ", ".join(Loan.accessory_labels(value))
    return display(value, money=model_field.name in MONEY_FIELDS)


def _laptop_notes(numbers: list[str]) -> list[LaptopStatusChange]:
    """The laptops' status changes whose note names one of these request or loan numbers
    ("Lent to Léa Martin (loan PRET-2025-0001)"), as loans.anonymisation finds them. One
    query."""
    if not numbers:
        return []
    about = Q()
    for number in numbers:
        about |= Q(note__contains=number)
    # PRET-2025-0001 is not PRET-2025-00012.
    exact = re.compile("(?:" + "|".join(re.escape(number) for number in numbers) + r")(?!\d)")
    changes = (
        LaptopStatusChange.objects.filter(about)
        .select_related("laptop", "changed_by")
        .order_by("changed_at", "pk")
    )
    return [change for change in changes if exact.search(change.note)]


def _reminder_roles(reminders: list[ReminderLog]) -> dict[int, list[str]]:
    """Whom each reminder went to, as roles: the Défis team for the addresses of staff
    accounts, the training body (its coordinators) for the others. One query, when there is a
    reminder."""
    if not reminders:
        return {}
    staff = {
        email.lower()
        for email in get_user_model()
        .objects.filter(is_staff=True)
        .exclude(email="")
        .values_list("email", flat=True)
    }
    roles = {}
    for reminder in reminders:
        addresses = {a.strip().lower() for a in reminder.recipients.split(",") if a.strip()}
        found = set()
        for address in addresses:
            found.add(DEFIS_TEAM if address in staff else TRAINING_BODY)
        roles[reminder.pk] = [role for role in RECIPIENT_ROLES if role in found]
    return roles


def recipient_labels(roles: list[str]) -> str:
    """The roles a reminder went to, in words, for the PDF."""
    return ", ".join(str(RECIPIENT_ROLES[role]) for role in roles) or "—"


# --- Values -----------------------------------------------------------------------------------


def json_value(value):
    """A value as JSON holds it: ISO dates, amounts as "7.00", phone numbers as +33…"""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, datetime):
        return (
            timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, PhoneNumber):
        return value.as_e164 if value.is_valid() else str(value)
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    return str(value)


def display(value, *, money: bool = False) -> str:
    """A value as the PDF shows it, the French way."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, date):
        return date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, Decimal) and money:
        return format_euros(value)
    if isinstance(value, PhoneNumber):
        return value.as_national if value.is_valid() else str(value)
    return str(value)


def _fields(model, left_out: Iterable[str]):
    return [f for f in model._meta.concrete_fields if f.name not in left_out]


def _raw(instance, model_field):
    """The field's value for the export: a stored file only says whether it is kept; a link
    to a user gives their name; another link, what the linked record is called."""
    if isinstance(model_field, models.FileField):
        return bool(getattr(instance, model_field.name))
    if model_field.is_relation:
        if getattr(instance, model_field.attname) is None:
            return None
        target = getattr(instance, model_field.name)
        if model_field.related_model._meta.label == settings.AUTH_USER_MODEL:
            return user_name(target)
        return str(target)
    return getattr(instance, model_field.attname)


def record_json(instance, left_out: Iterable[str] = ()) -> dict:
    return {f.name: json_value(_raw(instance, f)) for f in _fields(type(instance), left_out)}


def record_rows(instance, left_out: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(label, value) of every field, for the PDF's tables."""
    rows = []
    for model_field in _fields(type(instance), left_out):
        value = _raw(instance, model_field)
        if model_field.choices and value not in (None, ""):
            value = getattr(instance, f"get_{model_field.name}_display")()
        elif isinstance(model_field, models.JSONField) and isinstance(instance, Loan):
            value = ", ".join(Loan.accessory_labels(value or []))
        rows.append(
            (
                capfirst(LABELS.get(model_field.name, model_field.verbose_name)),
                display(value, money=model_field.name in MONEY_FIELDS),
            )
        )
    return rows


# --- JSON ----------------------------------------------------------------------------------------


def _event_json(event) -> dict:
    return {
        "on": json_value(event.on),
        "at": json_value(event.at),
        "kind": event.kind,
        "by": user_name(event.by),
        "note": event.note,
    }


def _request_event_json(event) -> dict:
    return {
        "at": json_value(event.at),
        "from_status": event.from_status,
        "to_status": event.to_status,
        "by": user_name(event.by),
        "note": event.note,
    }


def _entry_json(entry: FeeEntry) -> dict:
    return {
        "id": entry.pk,
        "entry_date": json_value(entry.entry_date),
        "kind": entry.kind,
        "amount": json_value(entry.amount),
        "period": entry.period,
        "method": entry.method,
        "reference": entry.reference,
        "reason": entry.reason,
        "reverses": entry.reverses_id,
        "received_by": user_name(entry.received_by),
        "recorded_by": user_name(entry.recorded_by),
        "recorded_at": json_value(entry.recorded_at),
    }


def _history_json(entries: list[HistoryEntry]) -> list[dict]:
    return [
        {
            "at": json_value(entry.at),
            "by": entry.by,
            "type": entry.type,
            "reason": entry.reason,
            "changes": {
                change.name: {"old": json_value(change.old), "new": json_value(change.new)}
                for change in entry.changes
            },
        }
        for entry in entries
    ]


def _laptop_note_json(change: LaptopStatusChange) -> dict:
    return {
        "laptop": change.laptop.asset_tag,
        "at": json_value(change.changed_at),
        "from_status": change.from_status,
        "to_status": change.to_status,
        "by": user_name(change.changed_by),
        "note": change.note,
    }


def _laptop_json(laptop) -> dict:
    return {
        "asset_tag": laptop.asset_tag,
        "brand": laptop.brand,
        "model": laptop.model,
        "serial_number": laptop.serial_number,
    }


def as_json(file: TraineeFile) -> dict:
    trainee = file.trainee
    course = trainee.course
    body = course.training_body
    return {
        "format": JSON_FORMAT,
        "generated_at": json_value(file.generated_at),
        "controller": Association.objects.current().name,
        "trainee": record_json(trainee, TRAINEE_LEFT_OUT),
        "course": {
            **record_json(course, ("training_body",)),
            "training_body": {
                "name": body.name,
                "short_name": body.short_name,
                "town": body.town,
            },
        },
        "loan_requests": [
            {
                "number": loan_request.number,
                **record_json(loan_request, REQUEST_LEFT_OUT),
                "laptop": loan_request.laptop.asset_tag if loan_request.laptop else None,
                "events": [_request_event_json(e) for e in loan_request.events.all()],
                "history": _history_json(file.request_history.get(loan_request.pk, [])),
            }
            for loan_request in file.requests
        ],
        "loans": [_loan_json(loan, file) for loan in file.loans],
        "workshops": [
            {
                "date": json_value(attendance.workshop.date),
                "start_time": json_value(attendance.workshop.start_time),
                "topic": attendance.workshop.topic,
                "place": attendance.workshop.place,
                "duration_minutes": attendance.workshop.duration_minutes,
                "present": attendance.present,
            }
            for attendance in file.attendances
        ],
        "history": _history_json(file.history),
        "laptop_notes": [_laptop_note_json(change) for change in file.laptop_notes],
    }


def _loan_json(loan: Loan, file: TraineeFile) -> dict:
    account = file.statements[loan.pk]
    return {
        **record_json(loan, LOAN_LEFT_OUT),
        "request": loan.request.number,
        "laptop": _laptop_json(loan.laptop),
        "agreement_template": loan.agreement_template.version if loan.agreement_template else None,
        "events": [_event_json(e) for e in loan.events.all()],
        "ledger": [_entry_json(entry) for entry in loan.fee_entries.all()],
        "balance": json_value(account.balance),
        "charged": json_value(account.charged),
        "paid": json_value(account.paid),
        "waived": json_value(account.waived),
        # Whom they went to, not the addresses of the people who received them.
        "reminders": [
            {
                "kind": reminder.kind,
                "sent_at": json_value(reminder.sent_at),
                "sent_to": file.reminder_roles.get(reminder.pk, []),
            }
            for reminder in loan.reminders.all()
        ],
        "history": _history_json(file.loan_history.get(loan.pk, [])),
    }


# --- PDF -----------------------------------------------------------------------------------------


GUARDIAN_FIELDS = set(Trainee.GUARDIAN_FIELDS)


def pdf_context(file: TraineeFile) -> dict:
    trainee = file.trainee
    rows = record_rows(trainee, TRAINEE_LEFT_OUT)
    names = [f.name for f in _fields(Trainee, TRAINEE_LEFT_OUT)]
    return {
        "association": Association.objects.current(),
        "file": file,
        "trainee": trainee,
        "course": trainee.course,
        "retention_months": settings.DEFIS_RETENTION_MONTHS,
        "identity_rows": [
            row for name, row in zip(names, rows, strict=True) if name not in GUARDIAN_FIELDS
        ],
        "guardian_rows": [
            row for name, row in zip(names, rows, strict=True) if name in GUARDIAN_FIELDS
        ],
        "course_rows": record_rows(trainee.course, COURSE_LEFT_OUT),
        "requests": [
            (
                loan_request,
                record_rows(loan_request, REQUEST_LEFT_OUT),
                file.request_history.get(loan_request.pk, []),
            )
            for loan_request in file.requests
        ],
        "loans": [
            {
                "loan": loan,
                "rows": record_rows(loan, LOAN_LEFT_OUT),
                "account": file.statements[loan.pk],
                "history": file.loan_history.get(loan.pk, []),
                "reminders": [
                    (reminder, recipient_labels(file.reminder_roles.get(reminder.pk, [])))
                    for reminder in loan.reminders.all()
                ],
            }
            for loan in file.loans
        ],
    }


def render_pdf(file: TraineeFile) -> bytes:
    """The file in French, whatever the language of the person printing it."""
    with translation.override(settings.LANGUAGE_CODE):
        return render_pdf_template(PDF_TEMPLATE, pdf_context(file))
