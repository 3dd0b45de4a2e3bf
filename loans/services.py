"""Every change to a laptop request goes through here.

The lifecycle of DESIGN.md: submitted -> approved (a laptop reserved) -> fulfilled (a loan
prepared); submitted -> waitlisted -> approved; rejected (with a reason) or cancelled from
any open state. One open request per trainee. The waitlist is served first come, first
served: a request is approved only when a ready laptop is left after every earlier
waitlisted request has had one.

Each function runs in one transaction, locks the rows it changes, saves with
`update_fields` and writes a `LoanRequestEvent`. A refused move raises `RequestError` with a
message in the user's language and changes nothing. Emails leave after the commit.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from defis.audit import record_as
from inventory import services as inventory_services
from inventory.models import Laptop
from trainees.models import Trainee

from . import notifications
from .models import Loan, LoanRequest, LoanRequestEvent

Status = LoanRequest.Status


class RequestError(ValidationError):
    """A move the request lifecycle forbids, or a rule it breaks."""


def _day(value: date) -> str:
    return date_format(value, "SHORT_DATE_FORMAT")


def _record(request, *, from_status, to_status, by, note, now) -> LoanRequestEvent:
    return LoanRequestEvent.objects.create(
        request=request, from_status=from_status, to_status=to_status, by=by, at=now, note=note
    )


def _check_transition(request, to_status) -> None:
    if to_status not in LoanRequest.TRANSITIONS[request.status]:
        raise RequestError(
            _("Request %(number)s is “%(from)s”: it cannot become “%(to)s”.")
            % {
                "number": request.number,
                "from": Status(request.status).label,
                "to": Status(to_status).label,
            },
            code="forbidden_move",
        )


def _move(request, to_status, *, by, note="", now, **fields) -> LoanRequest:
    _check_transition(request, to_status)
    from_status = request.status
    request.status = to_status
    for name, value in fields.items():
        setattr(request, name, value)
    record_as(request, by)
    request.save(update_fields=["status", *fields])
    _record(request, from_status=from_status, to_status=to_status, by=by, note=note, now=now)
    return request


def _lock(request: LoanRequest) -> LoanRequest:
    return (
        LoanRequest.objects.select_for_update(of=("self",))
        .select_related("trainee__course__training_body")
        .get(pk=request.pk)
    )


# --- Submission ---------------------------------------------------------------------------


def _check_can_submit(trainee: Trainee, *, needed_by: date, today: date) -> None:
    course = trainee.course
    name = trainee.full_name
    if not course.training_body.active:
        raise RequestError(
            _("%(body)s is no longer active: it cannot request laptops. Contact Défis.")
            % {"body": course.training_body.name},
            code="inactive_body",
        )
    if not course.is_current_or_coming(today=today):
        raise RequestError(
            _(
                "%(name)s’s course ended on %(date)s: a laptop can only be requested for a "
                "current or coming course."
            )
            % {"name": name, "date": _day(course.end_date)},
            code="course_over",
        )
    open_request = LoanRequest.objects.open().filter(trainee=trainee).first()
    if open_request is not None:
        raise RequestError(
            _("%(name)s already has an open request (%(number)s, “%(status)s”).")
            % {
                "name": name,
                "number": open_request.number,
                "status": open_request.get_status_display(),
            },
            code="open_request",
        )
    open_loan = Loan.objects.open().filter(trainee=trainee).first()
    if open_loan is not None:
        raise RequestError(
            _("%(name)s already has a laptop on loan (%(number)s, “%(status)s”).")
            % {
                "name": name,
                "number": open_loan.number,
                "status": open_loan.get_status_display(),
            },
            code="open_loan",
        )
    if needed_by < today:
        raise RequestError(_("The needed-by date cannot be in the past."), code="needed_by")
    if needed_by > course.end_date:
        raise RequestError(
            _("The needed-by date is after the end of %(name)s’s course (%(date)s).")
            % {"name": name, "date": _day(course.end_date)},
            code="needed_by",
        )


def _check_scope(by, trainees: Iterable[Trainee]) -> None:
    """A coordinator asks only for their own trainees (the views check it first)."""
    ids = {trainee.pk for trainee in trainees}
    if Trainee.objects.visible_to(by).filter(pk__in=ids).count() != len(ids):
        raise PermissionDenied


@transaction.atomic
def request_submit(
    *, trainee: Trainee, needed_by: date, justification: str, by, now: datetime | None = None
) -> LoanRequest:
    (request,) = requests_submit(
        trainees=[trainee], needed_by=needed_by, justification=justification, by=by, now=now
    )
    return request


@transaction.atomic
def requests_submit(
    *,
    trainees: Sequence[Trainee],
    needed_by: date,
    justification: str,
    by,
    now: datetime | None = None,
) -> list[LoanRequest]:
    """Ask for a laptop for each trainee: all of them, or none. The error names every
    trainee refused, with the reason."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    if not justification.strip():
        raise RequestError(_("Say why a laptop is needed."), code="justification")
    _check_scope(by, trainees)
    # The trainee rows are locked, so two requests for one trainee cannot both pass the
    # "no open request" check; the partial unique constraint is the last guard.
    locked = list(
        Trainee.objects.select_for_update(of=("self",))
        .select_related("course__training_body")
        .filter(pk__in=[trainee.pk for trainee in trainees])
        .order_by("pk")
    )
    if not locked:
        raise RequestError(_("Choose at least one trainee."), code="empty")
    errors = []
    for trainee in locked:
        try:
            _check_can_submit(trainee, needed_by=needed_by, today=today)
        except RequestError as error:
            errors.extend(error.messages)
    if errors:
        raise RequestError(errors)
    requests = []
    for trainee in sorted(locked, key=lambda t: (t.last_name, t.first_name)):
        request = LoanRequest(
            trainee=trainee,
            needed_by=needed_by,
            justification=justification.strip(),
            status=Status.SUBMITTED,
            submitted_at=now,
            submitted_by=by,
        )
        record_as(request, by)
        request.save(force_insert=True)
        _record(request, from_status="", to_status=Status.SUBMITTED, by=by, note="", now=now)
        requests.append(request)
    return requests


# --- The waitlist and the ready stock -----------------------------------------------------


def ready_laptops():
    """Laptops that can be reserved, the one ready the longest first."""
    return (
        Laptop.objects.in_stock()
        .select_related("location")
        .order_by("status_changed_at", "asset_tag")
    )


def suggested_laptop() -> Laptop | None:
    return ready_laptops().first()


def _earlier_waitlisted(request: LoanRequest):
    """The waitlisted requests that come before this one."""
    waiting = LoanRequest.objects.waitlist().exclude(pk=request.pk)
    if request.status == Status.WAITLISTED:
        waiting = waiting.filter(
            Q(submitted_at__lt=request.submitted_at)
            | Q(submitted_at=request.submitted_at, pk__lt=request.pk)
        )
    return waiting


def waitlist_position(request: LoanRequest) -> int | None:
    """1 for the next request to be served; None when the request is not waitlisted."""
    if request.status != Status.WAITLISTED:
        return None
    return _earlier_waitlisted(request).count() + 1


def next_on_waitlist() -> LoanRequest | None:
    return LoanRequest.objects.waitlist().select_related("trainee__course__training_body").first()


# --- Decisions ----------------------------------------------------------------------------


@transaction.atomic
def request_approve(
    *, request: LoanRequest, by, laptop: Laptop | None = None, note: str = "", now=None
) -> LoanRequest:
    """Approve and reserve a ready laptop: the one chosen, or the suggested one."""
    now = now or timezone.now()
    request = _lock(request)
    _check_transition(request, Status.APPROVED)
    ready = Laptop.objects.in_stock().count()
    if ready == 0:
        raise RequestError(
            _("No laptop is ready to lend: put request %(number)s on the waitlist.")
            % {"number": request.number},
            code="no_laptop",
        )
    earlier = _earlier_waitlisted(request)
    ahead = earlier.count()
    if ahead >= ready:
        first = earlier.select_related("trainee").first()
        raise RequestError(
            _(
                "%(ahead)s earlier requests are waiting for the %(ready)s ready laptops: serve "
                "the waitlist first (next: %(number)s, %(name)s)."
            )
            % {
                "ahead": ahead,
                "ready": ready,
                "number": first.number,
                "name": first.trainee.full_name,
            },
            code="waitlist_first",
        )
    laptop = laptop or suggested_laptop()
    try:
        laptop = inventory_services.laptop_change_status(
            laptop=laptop,
            to_status=Laptop.Status.RESERVED,
            by=by,
            note=_("Reserved for %(name)s (request %(number)s)")
            % {"name": request.trainee.full_name, "number": request.number},
            now=now,
        )
    except ValidationError as error:
        raise RequestError(error.messages) from error
    _move(request, Status.APPROVED, by=by, note=note, now=now, laptop=laptop, decided_at=now)
    notifications.request_decided(request)
    return request


@transaction.atomic
def request_waitlist(*, request: LoanRequest, by, note: str = "", now=None) -> LoanRequest:
    """Put a request on the waitlist: only when no ready laptop is left for it."""
    now = now or timezone.now()
    request = _lock(request)
    _check_transition(request, Status.WAITLISTED)
    ready = Laptop.objects.in_stock().count()
    waiting = LoanRequest.objects.waitlist().count()
    if request.status == Status.SUBMITTED and ready > waiting:
        raise RequestError(
            _(
                "%(ready)s laptops are ready and %(waiting)s requests are waiting: approve "
                "request %(number)s instead."
            )
            % {"ready": ready, "waiting": waiting, "number": request.number},
            code="laptop_ready",
        )
    _move(request, Status.WAITLISTED, by=by, note=note, now=now, decided_at=now)
    notifications.request_decided(request)
    return request


def _release_laptop(request: LoanRequest, *, by, now) -> None:
    if request.laptop_id and request.status == Status.APPROVED:
        inventory_services.laptop_change_status(
            laptop=request.laptop,
            to_status=Laptop.Status.READY,
            by=by,
            note=_("Reservation for request %(number)s ended") % {"number": request.number},
            now=now,
        )


@transaction.atomic
def request_reject(*, request: LoanRequest, reason: str, by, now=None) -> LoanRequest:
    now = now or timezone.now()
    if not reason.strip():
        raise RequestError(_("Give the reason for the rejection."), code="reason")
    request = _lock(request)
    if Status.REJECTED in LoanRequest.TRANSITIONS[request.status]:
        _release_laptop(request, by=by, now=now)
    _move(
        request,
        Status.REJECTED,
        by=by,
        note=reason.strip(),
        now=now,
        decided_at=now,
        decision_reason=reason.strip(),
    )
    notifications.request_decided(request)
    return request


@transaction.atomic
def request_cancel(*, request: LoanRequest, by, reason: str = "", now=None) -> LoanRequest:
    now = now or timezone.now()
    request = _lock(request)
    if request.status == Status.FULFILLED:
        # Only its loan closes it, when the loan is cancelled before the handover.
        raise RequestError(
            _("Request %(number)s became a loan: cancel the loan instead.")
            % {"number": request.number},
            code="fulfilled",
        )
    if Status.CANCELLED in LoanRequest.TRANSITIONS[request.status]:
        _release_laptop(request, by=by, now=now)
    return _move(
        request,
        Status.CANCELLED,
        by=by,
        note=reason.strip(),
        now=now,
        decision_reason=reason.strip(),
    )


@dataclass
class BulkApproval:
    approved: list[LoanRequest] = field(default_factory=list)
    left: list[tuple[LoanRequest, str]] = field(default_factory=list)


def requests_approve_in_order(*, requests: Iterable[LoanRequest], by, now=None) -> BulkApproval:
    """Approve the requests in waitlist order (waitlisted first, each by submission time),
    as far as the ready stock goes. Each approval commits or rolls back on its own (a
    savepoint inside a request's transaction): those made stay made when the stock runs
    out; the others are reported with the reason."""
    now = now or timezone.now()
    result = BulkApproval()
    ordered = sorted(
        requests,
        key=lambda r: (r.status != Status.WAITLISTED, r.submitted_at, r.pk),
    )
    for request in ordered:
        try:
            result.approved.append(request_approve(request=request, by=by, now=now))
        except RequestError as error:
            result.left.append((request, " ".join(error.messages)))
    return result
