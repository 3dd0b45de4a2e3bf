"""The audit trail: who changed what, and when.

django-simple-history keeps a full copy of a laptop, trainee, request, loan or envelope each
time it is saved (`Model.history`). This module turns those copies into what a reader wants:
one entry per save, with its date, its author, and for a change the fields that moved from
one value to another, shown as the pages show them (a choice by its label, a date the French
way, a related record by its name).

The history user is the request's user (HistoryRequestMiddleware). A service called outside
a request (a command, the demo, a test) says who acts with `record_as(instance, by)` before
it saves.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.http import Http404, HttpResponseNotAllowed
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.text import Truncator, capfirst
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from defis.forms import AdminIdsMixin
from defis.money import format_euros

# What the page shows when a record has more saves than this: the latest ones.
TRAIL_LENGTH = 20
# Long texts (notes, reasons) are cut in the list of changes.
VALUE_LENGTH = 120
EMPTY = "–"

KINDS = {"+": "created", "~": "changed", "-": "deleted"}
KIND_LABELS = {
    "created": pgettext_lazy("audit trail", "Creation"),
    "changed": pgettext_lazy("audit trail", "Change"),
    "deleted": pgettext_lazy("audit trail", "Deletion"),
}

# Left out of the changes shown: what a neighbouring field or the entry itself already says
# (a status change's time is the entry's time), and what means nothing to a reader (a file's
# name in storage, a checksum).
NOISY_FIELDS = frozenset(
    {"id", "created_at", "status_changed_at", "agreement_pdf", "agreement_sha256", "signed_scan"}
)


def record_as(instance, user):
    """Record the next saves of `instance` in the audit trail as `user`'s. Inside a request
    the middleware does it; services call this so that a command or a test is recorded too."""
    if user is not None:
        instance._history_user = user
    return instance


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class Entry:
    at: datetime
    user: object  # the User, or None for a change made by no one in particular (a command)
    kind: str  # "created", "changed" or "deleted"
    # For a change: the fields that moved; None when the version before is not known (the
    # record existed before the audit trail began).
    changes: list[FieldChange] | None

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self.kind])


@dataclass(frozen=True)
class Trail:
    entries: list[Entry]  # latest first
    total: int

    @property
    def hidden(self) -> int:
        return self.total - len(self.entries)


def trail(record, *, length: int = TRAIL_LENGTH) -> Trail:
    """The latest `length` saves of `record`, latest first, and how many there are in all.

    A fixed number of queries whatever the length of the history: the versions (one more
    than shown, to compare the oldest shown with), their count when there are more than
    that, and one per kind of related record whose value changed."""
    versions = list(
        record.history.select_related("history_user").order_by("-history_date", "-history_id")[
            : length + 1
        ]
    )
    # Fewer than asked for: they are all there, no need to count them.
    total = len(versions) if len(versions) <= length else record.history.count()
    shown = versions[:length]
    pairs = [
        (version, versions[index + 1] if index + 1 < len(versions) else None)
        for index, version in enumerate(shown)
    ]
    changes = changes_between(pairs)
    entries = [
        Entry(
            at=version.history_date,
            user=version.history_user,
            kind=KINDS[version.history_type],
            changes=changed if KINDS[version.history_type] == "changed" else None,
        )
        for (version, _older), changed in zip(pairs, changes, strict=True)
    ]
    return Trail(entries=entries, total=total)


def changes_between(pairs) -> list[list[FieldChange] | None]:
    """For each (version, version before it or None), the fields that changed, formatted.
    Related records are read once for all the pairs: one query per related model."""
    raw = [None if older is None else _diff(version, older) for version, older in pairs]
    related = _related_objects(
        (field, value) for diff in raw if diff for field, old, new in diff for value in (old, new)
    )
    return [
        None
        if diff is None
        else [
            FieldChange(
                field=capfirst(field.verbose_name),
                old=_display(field, old, related),
                new=_display(field, new, related),
            )
            for field, old, new in diff
        ]
        for diff in raw
    ]


def _diff(version, older) -> list[tuple]:
    """The tracked fields whose value differs, with the old and the new value.

    Not `diff_against()`: it compares only the fields a form may edit, and so would miss
    the status, the decision, the handover… which the services write."""
    changed = []
    for field in version.tracked_fields:
        if field.name in NOISY_FIELDS:
            continue
        old, new = getattr(older, field.attname), getattr(version, field.attname)
        if old != new:
            changed.append(
                (field, _with_labels(field, older, old), _with_labels(field, version, new))
            )
    return changed


def _with_labels(field, version, value):
    """A list of keys shown through the model's `<field>_labels` property when it has one
    (a loan's accessories)."""
    if isinstance(value, list) and hasattr(version.instance_type, f"{field.name}_labels"):
        return getattr(version.instance, f"{field.name}_labels")
    return value


def _related_objects(values) -> dict:
    """{(model, pk): object} for the related records named in `values` ((field, pk) pairs)."""
    wanted: dict = {}
    for field, value in values:
        if field.is_relation and value is not None:
            wanted.setdefault(field.related_model, set()).add(value)
    found = {}
    for model, pks in wanted.items():
        # select_related(): the non-null foreign keys that a name is made of (a course's
        # training body, a donation's donor) come in the same query.
        for obj in model._base_manager.select_related().filter(pk__in=pks):
            found[(model, obj.pk)] = obj
    return found


def _display(field, value, related) -> str:
    if value is None or value == "" or value == []:
        return EMPTY
    if field.is_relation:
        target = related.get((field.related_model, value))
        return str(target) if target is not None else f"#{value}"
    if field.flatchoices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, date):
        return date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, Decimal):
        # Two places: euros (a fee, a value, an amount); otherwise a measure (a screen).
        if field.decimal_places == 2:
            return format_euros(value)
        return number_format(value, use_l10n=True)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if hasattr(value, "as_national"):  # a phone number
        return value.as_national
    return Truncator(str(value)).chars(VALUE_LENGTH)


def _require_number(*ids):
    """simple_history hands the ids of its URLs to the database as they come: a URL edited by
    hand ("abc", "1x") would be a 500 rather than a 404."""
    for value in ids:
        if not str(value).isascii() or not str(value).isdigit():
            raise Http404


class AuditTrailAdmin(AdminIdsMixin, SimpleHistoryAdmin):
    """The admin's "History" page, from the audit trail, read only.

    A past version is shown, never restored: a revert would write the lifecycle fields
    behind the services' back, and could bring back personal data that was erased."""

    def revert_disabled(self, request, obj=None):
        return True

    def history_view(self, request, object_id, extra_context=None):
        _require_number(object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        _require_number(object_id, version_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        """The changes of each version, as the record pages show them (the status and the
        other fields the services write included)."""
        records = list(historical_records)
        pairs = [
            (record, records[index + 1])
            for index, record in enumerate(records[:-1])
            if record.history_type == "~"
        ]
        for (record, _older), changes in zip(pairs, changes_between(pairs), strict=True):
            record.history_delta_changes = [
                {"field": change.field, "old": change.old, "new": change.new} for change in changes
            ]
