"""The daily reminders about loans (`python manage.py send_reminders`).

Each day, for the loans handed over and not yet returned:

- 14 days before the planned end, the coordinators of the trainee's training body are told
  the day the laptop comes back (`ends_in_14`), then again 3 days before (`ends_in_3`);
- once the planned end has passed, the coordinators and the Défis team are told the laptop
  is overdue (`overdue`);
- and the team receives a digest of what needs them (`staff_digest`): overdue loans, loans
  ending within 14 days, prepared loans waiting for their handover, requests waiting for a
  decision, departures reported on loans still running.

Idempotent and catch-up. Each reminder has a key in `ReminderLog` (unique on kind and key):
"loan:<id>:<planned end>" for the loan reminders, the day for the digest. A run inserts the
row first, in its own savepoint, and sends the email in `transaction.on_commit` of that
row's transaction: whoever inserts the row sends the email, a second run (the same day, the
next day, or at the same moment on another server) hits the unique constraint and skips it,
and a transaction rolled back sends nothing. A reminder is due from its day on, not only on
that day, so a day without a run is caught up on the next run. The 14-day reminder is no
longer sent once the 3-day one is due: a loan never gets both on one day. The planned end is
part of the key, so an extension re-arms the reminders for the new date.

Delivery is at most once per key. When the mail server refuses an email, the row is deleted
again (the run says so) and the next run tries again; the rest of the run then sends nothing
and leaves its reminders for the next run too, rather than waiting on a server that is down.

A training body without any active coordinator with an email address: the reminder is still
claimed, with no recipient, and the command says so. Retrying every day would either repeat
that message daily or send a "14 days" reminder a week late once someone adds an address;
instead the staff digest marks such loans "no coordinator to tell", which is where someone
can act (call the training body). The overdue email still reaches the team.

Queries: a constant number per run (the loans, their coordinators, the team, the reminders
already sent, the digest's sections), plus `QUERIES_PER_EMAIL` for each reminder sent
(savepoint, insert, release; the association's identity when the email is rendered).
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from trainees.models import Coordinator

from . import notifications
from .models import Loan, LoanEvent, LoanRequest, ReminderLog

logger = logging.getLogger(__name__)

Kind = ReminderLog.Kind

FIRST_REMINDER_DAYS = 14
LAST_REMINDER_DAYS = 3
# Lines per digest section; the rest is counted ("and 12 more") and is on the lists.
DIGEST_LIMIT = 50
# What each reminder sent adds to a run: SAVEPOINT, INSERT, RELEASE SAVEPOINT, and the
# association's identity read by notifications.send.
QUERIES_PER_EMAIL = 4

LOAN_KINDS = (Kind.ENDS_IN_14_DAYS, Kind.ENDS_IN_3_DAYS, Kind.OVERDUE)
TEMPLATE_ENDING = "emails/loans/reminder_ending"
TEMPLATE_OVERDUE = "emails/loans/reminder_overdue"
TEMPLATE_OVERDUE_STAFF = "emails/loans/reminder_overdue_staff"
TEMPLATE_DIGEST = "emails/loans/reminder_digest"


@dataclass
class Report:
    """What one run did, for the command's output."""

    today: date
    # Reminders claimed by this run (their email sent, or on its way at commit).
    claimed: dict = field(default_factory=lambda: defaultdict(int))
    # Emails the mail server refused: their claim released for the next run.
    failed: dict = field(default_factory=lambda: defaultdict(int))
    # Left for the next run without trying, once the mail server has failed.
    deferred: int = 0
    # Loans whose coordinator reminder had nobody to go to.
    unreachable: list = field(default_factory=list)
    # "sent", "already_sent", "nothing_due", "no_recipient" or "deferred"
    digest: str = "nothing_due"

    @property
    def mail_failed(self) -> bool:
        return any(self.failed.values())

    def sent(self, kind: str) -> int:
        return self.claimed[kind] - self.failed[kind]

    @property
    def nothing_due(self) -> bool:
        return not any(self.claimed.values()) and self.digest == "nothing_due"


def reminder_due(loan: Loan, *, today: date) -> str | None:
    """The loan reminder due today, if any: the latest one whose day has come."""
    days_left = (loan.planned_end_date - today).days
    if days_left < 0:
        return Kind.OVERDUE
    if days_left <= LAST_REMINDER_DAYS:
        return Kind.ENDS_IN_3_DAYS
    if days_left <= FIRST_REMINDER_DAYS:
        return Kind.ENDS_IN_14_DAYS
    return None


def loan_key(loan: Loan) -> str:
    """Per loan and planned end: an extension gives new keys, so new reminders."""
    return f"loan:{loan.pk}:{loan.planned_end_date.isoformat()}"


def coordinator_emails_by_body(training_body_ids) -> dict[int, list[str]]:
    """notifications.body_coordinator_emails for many bodies in one query."""
    emails = defaultdict(set)
    rows = (
        Coordinator.objects.filter(training_body_id__in=training_body_ids, user__is_active=True)
        .exclude(user__email="")
        .values_list("training_body_id", "user__email")
    )
    for body_id, email in rows:
        emails[body_id].add(email)
    return {body_id: sorted(addresses) for body_id, addresses in emails.items()}


def send_reminders(*, today: date, now: datetime | None = None) -> Report:
    """Send every reminder due on `today` that no run has sent yet, then the staff digest."""
    now = now or timezone.now()
    report = Report(today=today)
    horizon = today + timedelta(days=FIRST_REMINDER_DAYS)
    loans = list(
        Loan.objects.active()
        .filter(planned_end_date__lte=horizon)
        .select_related("trainee", "course__training_body", "laptop")
        .order_by("planned_end_date", "pk")
    )
    coordinators = coordinator_emails_by_body({loan.course.training_body_id for loan in loans})
    staff = notifications.staff_emails()
    # Skipping what is known to be sent keeps a second run's queries constant; the unique
    # constraint still decides for a run going on at the same time elsewhere.
    already_sent = set(
        ReminderLog.objects.filter(
            kind__in=LOAN_KINDS,
            loan__status=Loan.Status.ACTIVE,
            loan__planned_end_date__lte=horizon,
        ).values_list("kind", "key")
    )

    for loan in loans:
        kind = reminder_due(loan, today=today)
        key = loan_key(loan)
        if (kind, key) in already_sent:
            continue
        if report.mail_failed:
            report.deferred += 1
            continue
        to_coordinators = coordinators.get(loan.course.training_body_id, [])
        context = _loan_context(loan, today=today, coordinators=to_coordinators)
        messages = []
        if to_coordinators:
            template = TEMPLATE_OVERDUE if kind == Kind.OVERDUE else TEMPLATE_ENDING
            messages.append((template, context, to_coordinators))
        if kind == Kind.OVERDUE and staff:
            messages.append((TEMPLATE_OVERDUE_STAFF, context, staff))
        claimed = _claim(
            kind,
            key,
            loan=loan,
            recipients=[address for _, _, to in messages for address in to],
            messages=messages,
            now=now,
            report=report,
        )
        if claimed and not to_coordinators:
            report.unreachable.append(loan)

    _send_digest(loans, today=today, now=now, staff=staff, coordinators=coordinators, report=report)
    return report


def _loan_context(loan: Loan, *, today: date, coordinators: list[str]) -> dict:
    return {
        "loan": loan,
        "trainee": loan.trainee,
        "course": loan.course,
        "training_body": loan.course.training_body,
        "laptop": loan.laptop,
        "days_left": (loan.planned_end_date - today).days,
        "days_late": (today - loan.planned_end_date).days,
        "last_call": (loan.planned_end_date - today).days <= LAST_REMINDER_DAYS,
        "coordinators": coordinators,
        "url": notifications.absolute_url(loan.get_absolute_url()),
    }


def _claim(kind, key, *, loan, recipients, messages, now, report) -> bool:
    """Insert the reminder's row; False when another run already has. The emails leave when
    the row's transaction commits."""
    try:
        with transaction.atomic():
            row = ReminderLog.objects.create(
                kind=kind,
                key=key,
                loan=loan,
                recipients=", ".join(recipients),
                sent_at=now,
            )
            transaction.on_commit(
                partial(_deliver, row.pk, kind, messages, report=report), robust=True
            )
    except IntegrityError:
        return False
    report.claimed[kind] += 1
    return True


def _deliver(row_id: int, kind: str, messages: list, *, report: Report) -> None:
    """Send the reminder's emails. If the mail server refuses the first one, the claim is
    released so that the next run tries again; once one went out, the claim stays (a second
    attempt would repeat it)."""
    if not messages:
        return  # nobody to tell: the claim only records that
    sent_one = False
    try:
        if report.mail_failed:
            raise _MailServerDown
        for template, context, to in messages:
            notifications.send(template, context, to)
            sent_one = True
    except Exception as error:
        if not isinstance(error, _MailServerDown):
            logger.exception("Reminder %s (ReminderLog %s) not sent", kind, row_id)
        if not sent_one:
            ReminderLog.objects.filter(pk=row_id).delete()
            report.failed[kind] += 1


class _MailServerDown(Exception):
    """An earlier email of this run failed: do not wait on the server again."""


# --- Digest --------------------------------------------------------------------------------


def _section(queryset, line) -> dict:
    count = queryset.count()
    lines = [line(item) for item in queryset[:DIGEST_LIMIT]]
    return {"count": count, "lines": lines, "more": count - len(lines)}


def _from_list(items: list, line) -> dict:
    lines = [line(item) for item in items[:DIGEST_LIMIT]]
    return {"count": len(items), "lines": lines, "more": len(items) - len(lines)}


def digest_context(loans: list[Loan], *, today: date, coordinators: dict) -> dict:
    """The digest's sections. `loans` are the active loans ending by the 14-day horizon."""

    def loan_line(loan):
        return {
            "loan": loan,
            "days_left": (loan.planned_end_date - today).days,
            "days_late": (today - loan.planned_end_date).days,
            "no_coordinator": not coordinators.get(loan.course.training_body_id),
            "url": notifications.absolute_url(loan.get_absolute_url()),
        }

    def prepared_line(loan):
        return {"loan": loan, "url": notifications.absolute_url(loan.get_absolute_url())}

    def request_line(request):
        return {"request": request, "url": notifications.absolute_url(request.get_absolute_url())}

    def departure_line(event):
        return {"event": event, "url": notifications.absolute_url(event.loan.get_absolute_url())}

    overdue = [loan for loan in loans if loan.planned_end_date < today]
    ending = [loan for loan in loans if loan.planned_end_date >= today]
    prepared = (
        Loan.objects.filter(status=Loan.Status.PREPARED)
        .select_related("trainee", "course__training_body", "laptop")
        .order_by("start_date", "pk")
    )
    requests = (
        LoanRequest.objects.filter(
            status__in=(LoanRequest.Status.SUBMITTED, LoanRequest.Status.WAITLISTED)
        )
        .select_related("trainee__course__training_body")
        .order_by("submitted_at", "pk")
    )
    departures = (
        LoanEvent.objects.filter(kind=LoanEvent.Kind.LEFT_COURSE, loan__status=Loan.Status.ACTIVE)
        .select_related("loan__trainee", "loan__course__training_body", "loan__laptop")
        .order_by("on", "pk")
    )
    return {
        "today": today,
        "overdue": _from_list(overdue, loan_line),
        "ending": _from_list(ending, loan_line),
        "prepared": _section(prepared, prepared_line),
        "requests": _section(requests, request_line),
        "departures": _section(departures, departure_line),
        "limit": DIGEST_LIMIT,
        "loans_url": notifications.absolute_url(reverse("loans:loans")),
        "requests_url": notifications.absolute_url(reverse("loans:requests")),
    }


def _send_digest(loans, *, today, now, staff, coordinators, report) -> None:
    context = digest_context(loans, today=today, coordinators=coordinators)
    sections = ("overdue", "ending", "prepared", "requests", "departures")
    if not any(context[section]["count"] for section in sections):
        report.digest = "nothing_due"
        return
    if report.mail_failed:
        report.digest = "deferred"
        return
    messages = [(TEMPLATE_DIGEST, context, staff)] if staff else []
    claimed = _claim(
        Kind.STAFF_DIGEST,
        today.isoformat(),
        loan=None,
        recipients=staff,
        messages=messages,
        now=now,
        report=report,
    )
    if not claimed:
        report.digest = "already_sent"
    else:
        report.digest = "sent" if staff else "no_recipient"
