"""Emails about requests and loans, sent once the transaction has committed: a decision
rolled back never reaches anyone."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from defis.models import Association, User
from defis.permissions import Role, role_of
from trainees.models import Coordinator

from .models import Loan, LoanRequest

TEMPLATES = {
    LoanRequest.Status.APPROVED: "emails/loans/request_approved",
    LoanRequest.Status.WAITLISTED: "emails/loans/request_waitlisted",
    LoanRequest.Status.REJECTED: "emails/loans/request_rejected",
}


def recipients(request: LoanRequest) -> list[str]:
    """The coordinator who made the request; if they have left, the body's coordinators."""
    coordinators = Coordinator.objects.filter(
        training_body_id=request.trainee.course.training_body_id, user__is_active=True
    ).exclude(user__email="")
    requester = coordinators.filter(user_id=request.submitted_by_id).first()
    chosen = [requester] if requester else list(coordinators.select_related("user"))
    return sorted({coordinator.user.email for coordinator in chosen})


def request_decided(request: LoanRequest) -> None:
    """Tell the coordinator about an approval, a place on the waitlist or a rejection."""
    template = TEMPLATES.get(request.status)
    if template is None:
        return
    request_id, status = request.pk, request.status
    # robust: a mail server that fails must not turn a decision already saved into an
    # error page; the failure is logged for the administrator.
    transaction.on_commit(lambda: _send(request_id, status), robust=True)


def _send(request_id: int, status: str) -> None:
    # Imported here: services imports this module.
    from .services import waitlist_position

    request = LoanRequest.objects.select_related("trainee__course__training_body", "laptop").get(
        pk=request_id
    )
    to = recipients(request)
    if not to:
        return
    association = Association.objects.current()
    context = {
        "request": request,
        "trainee": request.trainee,
        "course": request.trainee.course,
        "position": waitlist_position(request),
        "association": association,
        "url": settings.DEFIS_SITE_URL.rstrip("/") + reverse("loans:request", args=[request.pk]),
    }
    template = TEMPLATES[status]
    # Coordinators read French; the templates are French sentences of the catalogue.
    with translation.override(settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(subject, text, to=to, reply_to=_reply_to(association))
    message.attach_alternative(html, "text/html")
    message.send()


def _reply_to(association) -> list[str]:
    return [association.email] if association.email else []


def absolute_url(path: str) -> str:
    return settings.DEFIS_SITE_URL.rstrip("/") + path


def staff_emails() -> list[str]:
    """The Défis team: active staff accounts with an email address."""
    users = User.objects.filter(is_active=True, is_staff=True).exclude(email="")
    users = users.select_related("coordinator")
    return sorted({user.email for user in users if role_of(user) == Role.STAFF})


def body_coordinator_emails(training_body_id: int) -> list[str]:
    return sorted(
        Coordinator.objects.filter(training_body_id=training_body_id, user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )


def send(template: str, context: dict, to: list[str]) -> bool:
    """Render `template` (_subject.txt, .txt, .html) in French and send it; False when
    nobody is to receive it."""
    if not to:
        return False
    association = Association.objects.current()
    context = {"association": association, **context}
    with translation.override(settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(subject, text, to=to, reply_to=_reply_to(association))
    message.attach_alternative(html, "text/html")
    message.send()
    return True


def departure_reported(loan: Loan, *, left_on, by) -> None:
    """A coordinator told Défis that a trainee left the course: the team arranges the
    laptop's return."""
    if role_of(by) != Role.COORDINATOR:
        return
    loan_id = loan.pk

    def _send_departure():
        loan = Loan.objects.select_related("trainee", "course__training_body", "laptop").get(
            pk=loan_id
        )
        context = {
            "loan": loan,
            "trainee": loan.trainee,
            "course": loan.course,
            "left_on": left_on,
            "reported_by": by,
            "url": absolute_url(loan.get_absolute_url()),
        }
        send("emails/loans/departure_reported", context, staff_emails())

    transaction.on_commit(_send_departure, robust=True)
