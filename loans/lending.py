"""Every move of a loan goes through here.

The lifecycle of DESIGN.md: prepared (laptop reserved, agreement ready) -> active (handed
over, agreement signed) -> closed with an outcome (returned, lost, stolen, written off);
prepared -> cancelled. The planned end defaults to the course's end and can be extended with
a reason; a trainee who leaves the course brings the planned end forward, and the laptop is
then due back.

Each function runs in one transaction, locks the loan, checks the move against
`Loan.TRANSITIONS`, moves the laptop through inventory.services, saves with `update_fields`
and writes a `LoanEvent`. A refused move raises `LoanError` with a message in the user's
language and changes nothing.
"""

import hashlib
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from defis.audit import record_as
from defis.models import Counter
from defis.periods import add_months, months_started
from inventory import services as inventory_services
from inventory.models import Laptop
from trainees.models import Trainee

from . import envelopes, ledger, notifications
from . import services as request_services
from .models import AgreementTemplate, BudgetEnvelope, FeeEntry, Loan, LoanEvent, LoanRequest

Status = Loan.Status
Kind = LoanEvent.Kind

# Extensions stop here: a loan follows a training, which lasts months, not years.
MAX_LOAN_MONTHS = 24
# A signed scan: a PDF of at most this many bytes.
MAX_SCAN_BYTES = 10 * 1024 * 1024
PDF_MAGIC = b"%PDF-"


class LoanError(ValidationError):
    """A move the loan lifecycle forbids, or a rule it breaks."""


def _day(value: date) -> str:
    return date_format(value, "SHORT_DATE_FORMAT")


def _record(loan: Loan, kind: str, *, on: date, by, note: str = "", now: datetime) -> LoanEvent:
    return LoanEvent.objects.create(loan=loan, kind=kind, on=on, at=now, by=by, note=note)


def _lock(loan: Loan, *, by) -> Loan:
    """Re-read the loan under a row lock; its saves are recorded in the audit trail as `by`'s."""
    return record_as(
        Loan.objects.select_for_update(of=("self",))
        .select_related("laptop", "trainee", "course__training_body", "request")
        .get(pk=loan.pk),
        by,
    )


def _check_status(loan: Loan, *allowed: str, action: str) -> None:
    if loan.status not in allowed:
        raise LoanError(
            _("Loan %(number)s is “%(status)s”: it cannot be %(action)s.")
            % {"number": loan.number, "status": loan.get_status_display(), "action": action},
            code="forbidden_move",
        )


def _move(loan: Loan, to_status: str, **fields) -> Loan:
    if to_status not in Loan.TRANSITIONS[loan.status]:  # the callers check first
        raise LoanError(_("This move is not possible for this loan now."), code="forbidden_move")
    loan.status = to_status
    for name, value in fields.items():
        setattr(loan, name, value)
    loan.save(update_fields=["status", *fields])
    return loan


def _move_laptop(laptop: Laptop, to_status: str, *, by, note: str, now: datetime) -> Laptop:
    try:
        return inventory_services.laptop_change_status(
            laptop=laptop, to_status=to_status, by=by, note=note, now=now
        )
    except ValidationError as error:
        raise LoanError(error.messages) from error


def _clean_accessories(accessories: Iterable[str]) -> list[str]:
    keys = list(dict.fromkeys(accessories))
    unknown = [key for key in keys if key not in Loan.Accessory.values]
    if unknown:
        raise LoanError(_("Unknown accessory: %(name)s.") % {"name": ", ".join(unknown)})
    # Stored in the order of the choices, so that two lists compare as they read.
    return [key for key in Loan.Accessory.values if key in keys]


def laptop_accessories(laptop: Laptop) -> list[str]:
    """The accessories that go with a laptop, as the keys a loan stores."""
    pairs = (
        (laptop.has_charger, Loan.Accessory.CHARGER),
        (laptop.has_bag, Loan.Accessory.BAG),
        (laptop.has_mouse, Loan.Accessory.MOUSE),
    )
    return [str(key) for present, key in pairs if present]


def _check_not_in_future(day: date, *, today: date, what: str) -> None:
    if day > today:
        raise LoanError(
            _("The %(what)s date cannot be in the future.") % {"what": what}, code="future"
        )


def _check_scope(by, loan: Loan) -> None:
    """Coordinators act only on their own trainees' loans (the views check it first)."""
    if not Loan.objects.visible_to(by).filter(pk=loan.pk).exists():
        raise PermissionDenied


# --- Preparation --------------------------------------------------------------------------


def _check_guardian(trainee: Trainee, start_date: date) -> None:
    if trainee.age_on(start_date) >= 18:
        return
    missing = [name for name in Trainee.GUARDIAN_FIELDS if not getattr(trainee, name)]
    if missing:
        raise LoanError(
            _(
                "%(name)s will be under 18 on %(date)s: fill in the legal guardian on the "
                "trainee’s page first, as the guardian co-signs the agreement."
            )
            % {"name": trainee.full_name, "date": _day(start_date)},
            code="guardian",
        )


def _new_number(year: int) -> str:
    (value,) = Counter.objects.take(f"loan-{year}")
    return f"PRET-{year}-{value:04d}"


@transaction.atomic
def loan_prepare(
    *,
    request: LoanRequest,
    by,
    start_date: date | None = None,
    planned_end_date: date | None = None,
    accessories: Iterable[str] | None = None,
    condition: str = "",
    notes: str = "",
    envelope: BudgetEnvelope | None = None,
    override_reason: str = "",
    now: datetime | None = None,
) -> Loan:
    """Turn an approved request into a loan ready to hand over: the laptop reserved for the
    request is kept, the agreement can be printed, and the request is fulfilled.

    The loan is tied to the budget envelope that funds its training body on its start date
    (or the one given); one that would overrun the envelope is refused with the figures,
    unless staff give a reason, which is recorded."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    request = (
        LoanRequest.objects.select_for_update(of=("self",))
        .select_related("laptop", "trainee__course__training_body")
        .get(pk=request.pk)
    )
    if request.status != LoanRequest.Status.APPROVED:
        raise LoanError(
            _("Request %(number)s is “%(status)s”: only an approved request becomes a loan.")
            % {"number": request.number, "status": request.get_status_display()},
            code="not_approved",
        )
    # The trainee's row is locked, so two preparations for one trainee wait for each other;
    # the partial unique constraints are the last guard.
    trainee = Trainee.objects.select_for_update().get(pk=request.trainee_id)
    course = request.trainee.course
    laptop = request.laptop
    existing = Loan.objects.open().filter(trainee=trainee).first()
    if existing is not None:
        raise LoanError(
            _("%(name)s already has an open loan (%(number)s).")
            % {"name": trainee.full_name, "number": existing.number},
            code="open_loan",
        )
    if laptop.status != Laptop.Status.RESERVED:
        raise LoanError(
            _("%(tag)s is “%(status)s”, not reserved for this request.")
            % {"tag": laptop.asset_tag, "status": laptop.get_status_display()},
            code="laptop_not_reserved",
        )
    start_date = start_date or today
    planned_end_date = planned_end_date or course.end_date
    if start_date < today:
        raise LoanError(_("The handover day cannot be in the past."), code="start_date")
    if start_date > course.end_date:
        raise LoanError(
            _("The handover day is after the end of the course (%(date)s).")
            % {"date": _day(course.end_date)},
            code="start_date",
        )
    if planned_end_date < start_date:
        raise LoanError(
            _("The planned end date is before the handover day."), code="planned_end_date"
        )
    if planned_end_date > course.end_date:
        raise LoanError(
            _(
                "The planned end date is after the end of the course (%(date)s): a loan "
                "lasts as long as the training, and is extended later if need be."
            )
            % {"date": _day(course.end_date)},
            code="planned_end_date",
        )
    _check_guardian(trainee, start_date)
    accessories = _clean_accessories(
        laptop_accessories(laptop) if accessories is None else accessories
    )
    envelope = envelope or envelopes.envelope_for(course.training_body, start_date)
    _check_envelope_covers(envelope, course, start_date)
    planned_periods = months_started(start_date, planned_end_date)
    envelopes.lock(envelope)
    overrun = _check_room(
        envelope,
        periods=planned_periods,
        what=_("the loan to %(name)s") % {"name": trainee.full_name},
        override_reason=override_reason,
    )
    loan = Loan(
        # The version printed is the version signed: a later edit of the text is for the
        # loans prepared after it.
        agreement_template=AgreementTemplate.objects.current(),
        number=_new_number(start_date.year),
        request=request,
        laptop=laptop,
        trainee=trainee,
        course=course,
        start_date=start_date,
        planned_end_date=planned_end_date,
        accessories_out=accessories,
        condition_out=condition.strip() or laptop.get_grade_display(),
        notes=notes.strip(),
        envelope=envelope,
        monthly_fee=envelope.trainee_fee,
        planned_periods=planned_periods,
        envelope_override_reason=override_reason.strip() if overrun else "",
        prepared_at=now,
        prepared_by=by,
    )
    record_as(loan, by)
    loan.save(force_insert=True)
    request_services._move(
        request,
        LoanRequest.Status.FULFILLED,
        by=by,
        note=_("Loan %(number)s prepared") % {"number": loan.number},
        now=now,
    )
    _record(
        loan,
        Kind.PREPARED,
        on=today,
        by=by,
        note=" ".join(
            part
            for part in (
                _("Handover planned on %(date)s with %(tag)s")
                % {"date": _day(start_date), "tag": laptop.asset_tag},
                overrun,
            )
            if part
        ),
        now=now,
    )
    return loan


def _check_envelope_covers(envelope, course, day: date) -> None:
    if envelope is None:
        raise LoanError(
            _(
                "No budget envelope funds %(body)s on %(date)s: add one in the "
                "administration, or widen an envelope’s dates or training bodies."
            )
            % {"body": course.training_body.name, "date": _day(day)},
            code="no_envelope",
        )
    covering = BudgetEnvelope.objects.covering(course.training_body, day)
    if not covering.filter(pk=envelope.pk).exists():
        raise LoanError(
            _("The envelope “%(envelope)s” does not fund %(body)s on %(date)s.")
            % {"envelope": envelope, "body": course.training_body.name, "date": _day(day)},
            code="envelope_scope",
        )


def _check_room(envelope, *, periods: int, what: str, override_reason: str) -> str:
    try:
        return envelopes.check_room(
            envelope, periods=periods, what=what, override_reason=override_reason
        )
    except envelopes.EnvelopeError as error:
        raise LoanError(error.message, code=error.code) from error


@transaction.atomic
def loan_change_envelope(
    *,
    loan: Loan,
    envelope: BudgetEnvelope,
    by,
    override_reason: str = "",
    now: datetime | None = None,
) -> Loan:
    """Tie a prepared loan to another envelope (staff, until the handover)."""
    now = now or timezone.now()
    loan = _lock(loan, by=by)
    if loan.status != Status.PREPARED:
        raise LoanError(
            _("Loan %(number)s was handed over: its envelope no longer changes.")
            % {"number": loan.number},
            code="handed_over",
        )
    if loan.envelope_id == envelope.pk:
        return loan
    _check_envelope_covers(envelope, loan.course, loan.start_date)
    envelopes.lock(envelope)
    overrun = _check_room(
        envelope,
        periods=loan.planned_periods,
        what=_("loan %(number)s") % {"number": loan.number},
        override_reason=override_reason,
    )
    previous = loan.envelope
    loan.envelope = envelope
    loan.monthly_fee = envelope.trainee_fee
    loan.envelope_override_reason = override_reason.strip() if overrun else ""
    loan.save(update_fields=["envelope", "monthly_fee", "envelope_override_reason"])
    note = _("From “%(from)s” to “%(to)s”.") % {"from": previous or "—", "to": envelope}
    _record(
        loan,
        Kind.ENVELOPE_CHANGED,
        on=timezone.localdate(now),
        by=by,
        note=" ".join(part for part in (note, overrun) if part),
        now=now,
    )
    return loan


@transaction.atomic
def loan_cancel(*, loan: Loan, reason: str, by, now: datetime | None = None) -> Loan:
    """A prepared loan that will not be handed over: the laptop is ready to lend again."""
    now = now or timezone.now()
    if not reason.strip():
        raise LoanError(_("Give the reason for the cancellation."), code="reason")
    loan = _lock(loan, by=by)
    _check_status(loan, Status.PREPARED, action=_("cancelled"))
    _move_laptop(
        loan.laptop,
        Laptop.Status.READY,
        by=by,
        note=_("Loan %(number)s cancelled") % {"number": loan.number},
        now=now,
    )
    _move(loan, Status.CANCELLED, closed_at=now)
    _record(loan, Kind.CANCELLED, on=timezone.localdate(now), by=by, note=reason.strip(), now=now)
    # The request the loan fulfilled is closed with it: a new request can then be made.
    request = LoanRequest.objects.select_for_update(of=("self",)).get(pk=loan.request_id)
    request_services._move(
        request,
        LoanRequest.Status.CANCELLED,
        by=by,
        note=_("Loan %(number)s cancelled: %(reason)s")
        % {"number": loan.number, "reason": reason.strip()},
        now=now,
        decision_reason=reason.strip(),
    )
    return loan


# --- Handover -----------------------------------------------------------------------------


def _freeze_agreement(loan: Loan, written: list) -> None:
    """Render the agreement with the version of the text it was prepared with, and keep the
    PDF: what was signed never changes, whatever happens to the template later."""
    from .agreements import render_agreement  # the PDF module imports this one

    loan.agreement_template = loan.agreement_template or AgreementTemplate.objects.current()
    pdf = render_agreement(loan)
    loan.agreement_sha256 = hashlib.sha256(pdf).hexdigest()
    loan.agreement_pdf.save(f"{loan.number}.pdf", ContentFile(pdf), save=False)
    written.append((loan.agreement_pdf.storage, loan.agreement_pdf.name))


def _hand_over_one(
    loan: Loan,
    *,
    on: date,
    accessories: Iterable[str] | None,
    condition: str | None,
    by,
    now: datetime,
    written: list,
) -> Loan:
    loan = _lock(loan, by=by)
    if loan.status == Status.ACTIVE:
        raise LoanError(
            _("Loan %(number)s was already handed over on %(date)s.")
            % {"number": loan.number, "date": _day(loan.start_date)},
            code="already_handed_over",
        )
    _check_status(loan, Status.PREPARED, action=_("handed over"))
    today = timezone.localdate(now)
    _check_not_in_future(on, today=today, what=_("handover"))
    prepared_on = timezone.localdate(loan.prepared_at)
    if on < prepared_on:
        raise LoanError(
            _("The handover date is before the loan was prepared (%(date)s).")
            % {"date": _day(prepared_on)},
            code="start_date",
        )
    if on > loan.planned_end_date:
        raise LoanError(
            _("The handover date is after the planned end of the loan (%(date)s).")
            % {"date": _day(loan.planned_end_date)},
            code="start_date",
        )
    _check_guardian(loan.trainee, on)
    if accessories is not None:
        loan.accessories_out = _clean_accessories(accessories)
    if condition is not None and condition.strip():
        loan.condition_out = condition.strip()
    loan.laptop = _move_laptop(
        loan.laptop,
        Laptop.Status.ON_LOAN,
        by=by,
        note=_("Lent to %(name)s (loan %(number)s)")
        % {"name": loan.trainee.full_name, "number": loan.number},
        now=now,
    )
    loan.start_date = on
    loan.handed_over_at = now
    _freeze_agreement(loan, written)
    _move(
        loan,
        Status.ACTIVE,
        start_date=on,
        handed_over_at=now,
        planned_periods=loan.count_planned_periods(),
        accessories_out=loan.accessories_out,
        condition_out=loan.condition_out,
        agreement_template=loan.agreement_template,
        agreement_pdf=loan.agreement_pdf,
        agreement_sha256=loan.agreement_sha256,
    )
    note = ", ".join(loan.accessories_out_labels) or _("no accessory")
    _record(loan, Kind.HANDED_OVER, on=on, by=by, note=note, now=now)
    # The first month begins at the handover: it is charged now.
    ledger.bill_loan(loan, until=max(on, timezone.localdate(now)), now=now)
    return loan


def loan_hand_over(
    *,
    loan: Loan,
    on: date,
    by,
    accessories: Iterable[str] | None = None,
    condition: str | None = None,
    now: datetime | None = None,
) -> Loan:
    """The trainee signs the agreement and takes the laptop: the loan starts on `on`."""
    (loan,) = loans_hand_over(
        loans=[loan], on=on, by=by, accessories=accessories, condition=condition, now=now
    )
    return loan


def loans_hand_over(
    *,
    loans: Sequence[Loan],
    on: date,
    by,
    accessories: Iterable[str] | None = None,
    condition: str | None = None,
    now: datetime | None = None,
) -> list[Loan]:
    """Hand over several prepared loans at once (a distribution day): all of them, or none.
    The error names every loan refused, with the reason."""
    now = now or timezone.now()
    accessories = None if accessories is None else list(accessories)
    if not loans:
        raise LoanError(_("Choose at least one loan."), code="empty")
    # Frozen agreements written to storage, removed again if the handover fails: Django
    # has no hook for a rollback, so this covers failures inside the service.
    written = []
    try:
        with transaction.atomic():
            done, errors = [], []
            for loan in sorted(loans, key=lambda item: item.pk):
                try:
                    with transaction.atomic():
                        done.append(
                            _hand_over_one(
                                loan,
                                on=on,
                                accessories=accessories,
                                condition=condition,
                                by=by,
                                now=now,
                                written=written,
                            )
                        )
                except LoanError as error:
                    errors.extend(error.error_list)  # messages and codes
            if errors:
                raise LoanError(errors)
    except BaseException:
        for storage, name in written:
            storage.delete(name)
        raise
    return done


# --- While on loan --------------------------------------------------------------------------


@transaction.atomic
def loan_extend(
    *,
    loan: Loan,
    until: date,
    reason: str,
    by,
    override_reason: str = "",
    now: datetime | None = None,
) -> Loan:
    """Move the planned end later, with a reason (a course extended, a late exam…)."""
    now = now or timezone.now()
    if not reason.strip():
        raise LoanError(_("Give the reason for the extension."), code="reason")
    loan = _lock(loan, by=by)
    _check_status(loan, Status.ACTIVE, action=_("extended"))
    if loan.left_course_on:
        raise LoanError(
            _("%(name)s left the course on %(date)s: the laptop is due back, not extended.")
            % {"name": loan.trainee.full_name, "date": _day(loan.left_course_on)},
            code="left_course",
        )
    longest = add_months(loan.start_date, MAX_LOAN_MONTHS) - timedelta(days=1)
    if until > longest:
        raise LoanError(
            _("A loan lasts at most %(months)s months: the end date can be %(date)s at the latest.")
            % {"months": MAX_LOAN_MONTHS, "date": _day(longest)},
            code="until",
        )
    if until <= loan.planned_end_date:
        raise LoanError(
            _("The new end date must be after the current one (%(date)s).")
            % {"date": _day(loan.planned_end_date)},
            code="until",
        )
    previous = loan.planned_end_date
    planned_periods = months_started(loan.start_date, until)
    envelopes.lock(loan.envelope)
    # What the extension adds to the envelope's commitments: the months planned beyond
    # those planned or charged already (an overdue loan is charged past its plan).
    charged = loan.fee_entries.filter(kind=FeeEntry.Kind.CHARGE).count()
    overrun = _check_room(
        loan.envelope,
        periods=max(planned_periods - max(loan.planned_periods, charged), 0),
        what=_("the extension of loan %(number)s") % {"number": loan.number},
        override_reason=override_reason,
    )
    loan.planned_end_date = until
    loan.planned_periods = planned_periods
    fields = ["planned_end_date", "planned_periods"]
    if overrun:
        loan.envelope_override_reason = override_reason.strip()
        fields.append("envelope_override_reason")
    loan.save(update_fields=fields)
    note = _("From %(from)s to %(to)s: %(reason)s") % {
        "from": _day(previous),
        "to": _day(until),
        "reason": reason.strip(),
    }
    _record(
        loan,
        Kind.EXTENDED,
        on=timezone.localdate(now),
        by=by,
        note=" ".join(part for part in (note, overrun) if part),
        now=now,
    )
    return loan


@transaction.atomic
def loan_end_early(
    *, loan: Loan, left_on: date, by, note: str = "", now: datetime | None = None
) -> Loan:
    """The trainee left the course on `left_on`: the loan now ends that day and the laptop is
    due back. A loan not yet handed over is cancelled instead, and its laptop freed.
    Coordinators report it for their own trainees; staff are told by email."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    _check_scope(by, loan)
    loan = _lock(loan, by=by)
    name = loan.trainee.full_name
    _check_not_in_future(left_on, today=today, what=_("departure"))
    asked_on = timezone.localdate(loan.request.submitted_at)
    if left_on < asked_on:
        raise LoanError(
            _("The departure date is before the laptop was requested (%(date)s).")
            % {"date": _day(asked_on)},
            code="left_on",
        )
    if loan.status == Status.PREPARED:
        reason = _("%(name)s left the course on %(date)s.") % {"name": name, "date": _day(left_on)}
        if note.strip():
            reason = f"{reason} {note.strip()}"
        loan = loan_cancel(loan=loan, reason=reason, by=by, now=now)
        notifications.departure_reported(loan, left_on=left_on, by=by)
        return loan
    _check_status(loan, Status.ACTIVE, action=_("ended early"))
    if loan.left_course_on:
        raise LoanError(
            _("The departure of %(name)s was already reported (%(date)s).")
            % {"name": name, "date": _day(loan.left_course_on)},
            code="already_reported",
        )
    if left_on < loan.start_date:
        raise LoanError(
            _("The departure date is before the handover (%(date)s).")
            % {"date": _day(loan.start_date)},
            code="left_on",
        )
    loan.left_course_on = left_on
    loan.planned_end_date = min(loan.planned_end_date, left_on)
    loan.planned_periods = loan.count_planned_periods()
    loan.save(update_fields=["left_course_on", "planned_end_date", "planned_periods"])
    _record(loan, Kind.LEFT_COURSE, on=left_on, by=by, note=note.strip(), now=now)
    notifications.departure_reported(loan, left_on=left_on, by=by)
    return loan


# --- Closing --------------------------------------------------------------------------------


@transaction.atomic
def loan_return(
    *,
    loan: Loan,
    on: date,
    by,
    accessories: Iterable[str],
    condition: str = "",
    damage: str = "",
    now: datetime | None = None,
) -> Loan:
    """The laptop is back: it goes to "returned", to be wiped before anyone else has it."""
    now = now or timezone.now()
    loan = _lock(loan, by=by)
    _check_status(loan, Status.ACTIVE, action=_("returned"))
    _check_not_in_future(on, today=timezone.localdate(now), what=_("return"))
    if on < loan.start_date:
        raise LoanError(
            _("The return date is before the handover (%(date)s).")
            % {"date": _day(loan.start_date)},
            code="return_date",
        )
    accessories = _clean_accessories(accessories)
    _move_laptop(
        loan.laptop,
        Laptop.Status.RETURNED,
        by=by,
        note=_("Returned by %(name)s (loan %(number)s)")
        % {"name": loan.trainee.full_name, "number": loan.number},
        now=now,
    )
    _move(
        loan,
        Status.CLOSED,
        outcome=Loan.Outcome.RETURNED,
        return_date=on,
        closed_at=now,
        accessories_back=accessories,
        condition_back=condition.strip(),
        damage=damage.strip(),
    )
    details = []
    if loan.missing_accessories:
        details.append(_("Missing: %(items)s.") % {"items": ", ".join(loan.missing_accessories)})
    if loan.damage:
        details.append(_("Damage: %(damage)s") % {"damage": loan.damage})
    _record(loan, Kind.RETURNED, on=on, by=by, note=" ".join(details), now=now)
    # The last months begun before the return are charged now.
    ledger.bill_loan(loan, until=on, now=now)
    return loan


LOSS_LAPTOP_STATUS = {
    Loan.Outcome.LOST: Laptop.Status.LOST,
    Loan.Outcome.STOLEN: Laptop.Status.STOLEN,
    # Written off: the laptop will not come back (a trainee out of reach); it counts as lost.
    Loan.Outcome.WRITTEN_OFF: Laptop.Status.LOST,
}


@transaction.atomic
def loan_report_loss(
    *,
    loan: Loan,
    outcome: str,
    on: date,
    by,
    police_report_reference: str = "",
    note: str = "",
    now: datetime | None = None,
) -> Loan:
    """Close a loan whose laptop will not come back: lost, stolen (with the police report's
    reference) or written off (with a reason)."""
    now = now or timezone.now()
    if outcome not in LOSS_LAPTOP_STATUS:
        raise LoanError(_("Choose lost, stolen or written off."), code="outcome")
    reference = police_report_reference.strip()
    if outcome == Loan.Outcome.STOLEN and not reference:
        raise LoanError(
            _("A theft is recorded with the reference of the police report."),
            code="police_report",
        )
    if outcome == Loan.Outcome.WRITTEN_OFF and not note.strip():
        raise LoanError(_("Give the reason for the write-off."), code="reason")
    loan = _lock(loan, by=by)
    _check_status(loan, Status.ACTIVE, action=_("closed"))
    _check_not_in_future(on, today=timezone.localdate(now), what=_("loss"))
    if on < loan.start_date:
        raise LoanError(
            _("The date is before the handover (%(date)s).") % {"date": _day(loan.start_date)},
            code="date",
        )
    _move_laptop(
        loan.laptop,
        LOSS_LAPTOP_STATUS[outcome],
        by=by,
        note=_("Loan %(number)s: %(outcome)s")
        % {"number": loan.number, "outcome": Loan.Outcome(outcome).label},
        now=now,
    )
    _move(
        loan,
        Status.CLOSED,
        outcome=outcome,
        return_date=on,
        closed_at=now,
        police_report_reference=reference,
    )
    kind = {
        Loan.Outcome.LOST: Kind.LOST,
        Loan.Outcome.STOLEN: Kind.STOLEN,
        Loan.Outcome.WRITTEN_OFF: Kind.WRITTEN_OFF,
    }[outcome]
    details = [note.strip()]
    if reference:
        details.insert(0, _("Police report: %(reference)s.") % {"reference": reference})
    _record(loan, kind, on=on, by=by, note=" ".join(part for part in details if part), now=now)
    ledger.bill_loan(loan, until=on, now=now)
    return loan


# --- The signed scan --------------------------------------------------------------------------


def _check_not_anonymised(loan: Loan) -> None:
    """Nothing that names the person comes back on the loans of a trainee whose personal data
    was anonymised (loans.anonymisation). Read afresh once the loan is locked, so that an
    anonymisation committed meanwhile counts."""
    if Trainee.objects.filter(pk=loan.trainee_id, anonymised_at__isnull=False).exists():
        raise LoanError(
            _(
                "The trainee of loan %(number)s was anonymised: no signed scan is attached to "
                "this loan any more."
            )
            % {"number": loan.number},
            code="anonymised",
        )


def check_scan(upload) -> None:
    """A PDF of at most 10 MB, judged by its first bytes rather than its name."""
    if upload.size > MAX_SCAN_BYTES:
        raise LoanError(
            _("The file is %(size)s MB: the signed scan can be at most 10 MB.")
            % {"size": f"{upload.size / 1024 / 1024:.1f}".replace(".", ",")},
            code="too_big",
        )
    upload.seek(0)
    head = upload.read(len(PDF_MAGIC))
    upload.seek(0)
    if head != PDF_MAGIC:
        raise LoanError(
            _("This file is not a PDF: scan the signed agreement to PDF."), code="not_pdf"
        )


@transaction.atomic
def loan_attach_scan(*, loan: Loan, upload, by, now: datetime | None = None) -> Loan:
    """Keep the scan of the agreement as signed on paper. A new scan replaces the old one.
    Refused once the trainee is anonymised: the scan carries their name and signature."""
    now = now or timezone.now()
    check_scan(upload)
    loan = _lock(loan, by=by)
    _check_not_anonymised(loan)
    if loan.status not in (Status.ACTIVE, Status.CLOSED):
        raise LoanError(
            _(
                "The agreement of loan %(number)s is signed at the handover: attach the scan "
                "after it."
            )
            % {"number": loan.number},
            code="not_signed",
        )
    old = loan.signed_scan.name
    storage = loan.signed_scan.storage
    loan.signed_scan.save("scan.pdf", upload, save=False)
    new = loan.signed_scan.name
    try:
        with transaction.atomic():
            loan.signed_scan_uploaded_at = now
            loan.save(update_fields=["signed_scan", "signed_scan_uploaded_at"])
            _record(loan, Kind.SCAN_ATTACHED, on=timezone.localdate(now), by=by, now=now)
    except BaseException:
        storage.delete(new)
        raise
    if old:
        transaction.on_commit(lambda: storage.delete(old))
    return loan
