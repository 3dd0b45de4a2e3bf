"""Every change to a laptop's lifecycle goes through here.

Each function runs in one transaction, locks the laptop rows it changes, checks the move
against `Laptop.TRANSITIONS`, saves with `update_fields` and writes a `LaptopStatusChange`.
A forbidden move raises `LaptopMoveError` with a message in the user's language, and
changes nothing.
"""

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from defis.audit import record_as
from defis.models import Counter

from .models import (
    ASSET_TAG_COUNTER,
    Donation,
    Donor,
    Laptop,
    LaptopStatusChange,
    Repair,
    WipeRecord,
    format_asset_tag,
)

Status = Laptop.Status
RETIRE_NEEDS_REASON = gettext_lazy("Retiring a laptop needs a reason: use the retirement form.")


class LaptopMoveError(ValidationError):
    """A move the lifecycle forbids, or a rule it breaks (the wipe rule)."""


def _lock(laptop: Laptop) -> Laptop:
    """Re-read the laptop under a row lock; the caller's copy may be stale."""
    return Laptop.objects.select_for_update().get(pk=laptop.pk)


def _new_asset_tags(count: int) -> list[str]:
    """`count` fresh tags. Tags typed in by hand or imported are skipped over."""
    tags: list[str] = []
    while len(tags) < count:
        numbers = Counter.objects.take(ASSET_TAG_COUNTER, count - len(tags))
        candidates = [format_asset_tag(n) for n in numbers]
        taken = set(
            Laptop.objects.filter(asset_tag__in=candidates).values_list("asset_tag", flat=True)
        )
        tags.extend(tag for tag in candidates if tag not in taken)
    return tags


def _record(laptop, *, from_status, to_status, by, note, now) -> LaptopStatusChange:
    return LaptopStatusChange.objects.create(
        laptop=laptop,
        from_status=from_status,
        to_status=to_status,
        changed_by=by,
        changed_at=now,
        note=note,
    )


@transaction.atomic
def laptops_register(
    *, laptops: Sequence[Laptop], by, note: str = "", now: datetime | None = None
) -> list[Laptop]:
    """Save new laptops at intake, give each an asset tag and a first history row."""
    now = now or timezone.now()
    tags = iter(_new_asset_tags(sum(1 for laptop in laptops if not laptop.asset_tag)))
    for laptop in laptops:
        if not laptop.asset_tag:
            laptop.asset_tag = next(tags)
        laptop.status = Status.INTAKE
        laptop.status_changed_at = now
        laptop.full_clean()
        record_as(laptop, by)
        laptop.save()
        _record(laptop, from_status="", to_status=Status.INTAKE, by=by, note=note, now=now)
    return list(laptops)


@transaction.atomic
def donation_record(
    *,
    donor: Donor,
    received_on: date,
    laptops: Sequence[Laptop],
    laptops_announced: int | None = None,
    notes: str = "",
    by,
    now: datetime | None = None,
) -> Donation:
    """Record an intake batch and its laptops in one go: all of them, or none."""
    donation = Donation.objects.create(
        donor=donor,
        received_on=received_on,
        laptops_announced=len(laptops) if laptops_announced is None else laptops_announced,
        notes=notes,
        recorded_by=by,
    )
    for laptop in laptops:
        laptop.donation = donation
    laptops_register(
        laptops=laptops,
        by=by,
        note=_("Received from %(donor)s") % {"donor": donor.name},
        now=now,
    )
    return donation


def _last_came_in(laptop: Laptop) -> LaptopStatusChange | None:
    return (
        laptop.status_changes.filter(to_status__in=Laptop.COMES_IN)
        .order_by("-changed_at", "-id")
        .first()
    )


def wipe_is_pending(laptop: Laptop) -> bool:
    """True while the laptop has no verified wipe recorded since it last came in."""
    came_in = _last_came_in(laptop)
    wipes = laptop.wipes.filter(verified=True)
    if came_in is not None:
        wipes = wipes.filter(
            recorded_at__gte=came_in.changed_at,
            wiped_on__gte=timezone.localdate(came_in.changed_at),
        )
    return not wipes.exists()


def _check_wiped_since_it_came_in(laptop: Laptop) -> None:
    """The wipe rule: a laptop becomes ready only after a verified wipe recorded since it
    last came in (from a donor, or back from a trainee)."""
    if not wipe_is_pending(laptop):
        return
    came_in = _last_came_in(laptop)
    if came_in is not None and came_in.to_status == Status.RETURNED:
        message = _(
            "%(tag)s cannot be ready to lend: no verified data wipe has been recorded since "
            "it was returned on %(date)s."
        )
    else:
        message = _(
            "%(tag)s cannot be ready to lend: no verified data wipe has been recorded since "
            "it came in on %(date)s."
        )
    when = timezone.localtime(came_in.changed_at) if came_in else timezone.localtime()
    raise LaptopMoveError(
        message % {"tag": laptop.asset_tag, "date": when.strftime("%d/%m/%Y")},
        code="not_wiped",
    )


def _check_move(laptop: Laptop, to_status: str) -> None:
    if to_status not in Status.values:
        raise LaptopMoveError(_("Unknown status: %(status)s.") % {"status": to_status})
    if to_status not in Laptop.TRANSITIONS[laptop.status]:
        raise LaptopMoveError(
            _("%(tag)s cannot go from “%(from)s” to “%(to)s”.")
            % {
                "tag": laptop.asset_tag,
                "from": Status(laptop.status).label,
                "to": Status(to_status).label,
            },
            code="forbidden_move",
        )
    if to_status == Status.READY:
        _check_wiped_since_it_came_in(laptop)


def _move(laptop: Laptop, to_status: str, *, by, note: str, now: datetime, **fields) -> Laptop:
    from_status = laptop.status
    laptop.status = to_status
    laptop.status_changed_at = now
    for name, value in fields.items():
        setattr(laptop, name, value)
    record_as(laptop, by)
    laptop.save(update_fields=["status", "status_changed_at", *fields])
    _record(laptop, from_status=from_status, to_status=to_status, by=by, note=note, now=now)
    return laptop


@transaction.atomic
def laptop_change_status(
    *, laptop: Laptop, to_status: str, by, note: str = "", now: datetime | None = None
) -> Laptop:
    """Move one laptop along its lifecycle. Retirement goes through `laptop_retire`."""
    if to_status == Status.RETIRED:
        raise LaptopMoveError(RETIRE_NEEDS_REASON)
    laptop = _lock(laptop)
    _check_move(laptop, to_status)
    return _move(laptop, to_status, by=by, note=note, now=now or timezone.now())


@transaction.atomic
def laptops_change_status(
    *, laptops: Iterable[Laptop], to_status: str, by, note: str = "", now: datetime | None = None
) -> list[Laptop]:
    """Move several laptops in the workshop at once: all of them, or none. The error names
    every laptop that cannot move, not just the first."""
    now = now or timezone.now()
    ids = sorted({laptop.pk for laptop in laptops})
    # Locked in id order, so two bulk moves never wait for each other in a circle.
    locked = list(Laptop.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    errors = []
    for laptop in locked:
        try:
            if to_status == Status.RETIRED:
                raise LaptopMoveError(RETIRE_NEEDS_REASON)
            if not laptop.is_in_workshop:
                # Reserved, on loan, lost or stolen: it moves with its request or loan.
                raise LaptopMoveError(
                    _("%(tag)s is “%(status)s”: it moves with its request or its loan.")
                    % {"tag": laptop.asset_tag, "status": laptop.get_status_display()},
                    code="not_in_workshop",
                )
            _check_move(laptop, to_status)
        except LaptopMoveError as error:
            errors.extend(error.messages)
    if errors:
        raise LaptopMoveError(errors)
    return [_move(laptop, to_status, by=by, note=note, now=now) for laptop in locked]


@transaction.atomic
def laptop_retire(
    *, laptop: Laptop, reason: str, by, note: str = "", now: datetime | None = None
) -> Laptop:
    if reason not in Laptop.RetirementReason.values:
        raise LaptopMoveError(_("Choose why the laptop is retired."), code="reason")
    laptop = _lock(laptop)
    _check_move(laptop, Status.RETIRED)
    full_note = Laptop.RetirementReason(reason).label
    if note:
        full_note = f"{full_note}. {note}"
    return _move(
        laptop,
        Status.RETIRED,
        by=by,
        note=full_note,
        now=now or timezone.now(),
        retirement_reason=reason,
    )


def _check_in_workshop(laptop: Laptop, what: str) -> None:
    if not laptop.is_in_workshop:
        raise LaptopMoveError(
            _("%(tag)s is “%(status)s”: %(what)s can only be recorded while it is in the workshop.")
            % {"tag": laptop.asset_tag, "status": laptop.get_status_display(), "what": what},
            code="not_in_workshop",
        )


@transaction.atomic
def wipe_record(
    *,
    laptop: Laptop,
    wiped_on: date,
    method: str,
    operator,
    verified: bool,
    certificate_reference: str = "",
    notes: str = "",
    now: datetime | None = None,
) -> WipeRecord:
    now = now or timezone.now()
    laptop = _lock(laptop)
    _check_in_workshop(laptop, _("a data wipe"))
    if wiped_on > timezone.localdate(now):
        raise LaptopMoveError(_("The wipe date cannot be in the future."), code="future")
    return WipeRecord.objects.create(
        laptop=laptop,
        wiped_on=wiped_on,
        method=method,
        operator=operator,
        verified=verified,
        certificate_reference=certificate_reference,
        notes=notes,
        recorded_at=now,
    )


@transaction.atomic
def repair_record(
    *,
    laptop: Laptop,
    repaired_on: date,
    work_done: str,
    parts: str = "",
    cost,
    repaired_by,
    now: datetime | None = None,
) -> Repair:
    now = now or timezone.now()
    laptop = _lock(laptop)
    _check_in_workshop(laptop, _("a repair"))
    if repaired_on > timezone.localdate(now):
        raise LaptopMoveError(_("The repair date cannot be in the future."), code="future")
    return Repair.objects.create(
        laptop=laptop,
        repaired_on=repaired_on,
        work_done=work_done,
        parts=parts,
        cost=cost,
        repaired_by=repaired_by,
        recorded_at=now,
    )
