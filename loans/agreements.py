"""The loan agreement (convention de prêt) and the return record, as PDFs.

The agreement is laid out by templates/pdf/loans/agreement.html from the loan and from the
editable text of an `AgreementTemplate` version. Until the handover it follows the latest
version; at the handover `lending` renders it once more and keeps that PDF, which is then the
only one ever served: a later edit of the template never changes a signed agreement.

Documents are printed in French, the language the agreement is signed in, whatever the
language of the person printing it.
"""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.utils import timezone, translation

from defis.models import Association
from defis.pdf import combine, render_document
from trainees.models import Coordinator

from .models import AgreementTemplate, Loan

logger = logging.getLogger(__name__)

AGREEMENT_TEMPLATE = "pdf/loans/agreement.html"
AGREEMENT_STYLESHEET = "pdf/loans/agreement.css"
RETURN_RECORD_TEMPLATE = "pdf/loans/return_record.html"


def _referent(loan: Loan, body_referents: dict | None = None):
    """The training body's referent: the coordinator who asked for the laptop, else the
    body's first coordinator, else nobody (the block is then left blank to fill in).
    `body_referents` keeps the body's coordinator from one loan to the next (a distribution
    day prints a whole course: one query per body, not per loan)."""
    requester = loan.request.submitted_by
    if requester is not None and getattr(requester, "coordinator", None) is not None:
        return requester
    body_referents = {} if body_referents is None else body_referents
    body_id = loan.course.training_body_id
    if body_id not in body_referents:
        coordinator = (
            Coordinator.objects.filter(training_body_id=body_id).select_related("user").first()
        )
        body_referents[body_id] = coordinator.user if coordinator else None
    return body_referents[body_id]


def agreement_context(
    loan: Loan, template: AgreementTemplate, association=None, body_referents=None
) -> dict:
    return {
        "association": association or Association.objects.current(),
        "loan": loan,
        "trainee": loan.trainee,
        "course": loan.course,
        "training_body": loan.course.training_body,
        "laptop": loan.laptop,
        "template": template,
        "is_minor": loan.trainee_is_minor,
        "referent": _referent(loan, body_referents),
    }


def _agreement_document(
    loan: Loan, template: AgreementTemplate, association=None, body_referents=None
):
    context = agreement_context(loan, template, association, body_referents)
    with translation.override(settings.LANGUAGE_CODE):
        return render_document(AGREEMENT_TEMPLATE, context, stylesheets=(AGREEMENT_STYLESHEET,))


def render_agreement(loan: Loan, template: AgreementTemplate | None = None) -> bytes:
    """Lay out the agreement with the loan's version of the text (pinned when the loan was
    prepared)."""
    template = template or loan.agreement_template or AgreementTemplate.objects.current()
    return _agreement_document(loan, template).write_pdf()


class NoAgreement(Exception):
    """No agreement to show: a loan cancelled before its handover, or a kept copy missing."""


def agreement_pdf(loan: Loan) -> bytes:
    """The agreement as it is to be printed or was signed: once handed over, the frozen copy
    and never a new rendering of it."""
    if loan.agreement_pdf:
        try:
            with loan.agreement_pdf.open("rb") as file:
                return file.read()
        except FileNotFoundError as error:
            logger.error("The kept agreement of loan %s is missing: %s", loan.number, error)
            raise NoAgreement from error
    if loan.status != Loan.Status.PREPARED:
        raise NoAgreement
    return render_agreement(loan)


def combined_agreements(loans: Iterable[Loan]) -> bytes:
    """One PDF of the agreements of several prepared loans, to print at once (a distribution
    day). Each agreement keeps its own page numbers."""
    association = Association.objects.current()
    body_referents = {}
    latest = None
    documents = []
    for loan in loans:
        template = loan.agreement_template
        if template is None:
            latest = latest or AgreementTemplate.objects.current()
            template = latest
        documents.append(_agreement_document(loan, template, association, body_referents))
    return combine(documents)


def loans_for_documents(queryset):
    """What the documents read, fetched in one go."""
    return queryset.select_related(
        "trainee",
        "laptop",
        "course__training_body",
        "request__submitted_by__coordinator",
        "agreement_template",
    )


def render_return_record(loan: Loan) -> bytes:
    """The return record (constat de restitution), signed when the laptop comes back."""
    return_event = loan.events.filter(kind="returned").select_related("by").last()
    returned_on = loan.return_date or timezone.localdate()
    context = {
        "association": Association.objects.current(),
        "loan": loan,
        "trainee": loan.trainee,
        "course": loan.course,
        "training_body": loan.course.training_body,
        "laptop": loan.laptop,
        "return_event": return_event,
        "received_by": return_event.by if return_event and return_event.by else None,
        "missing_accessories": loan.missing_accessories,
        # The guardian co-signs when the trainee is still under 18 on the day of the return.
        "is_minor": loan.trainee.age_on(returned_on) < 18,
    }
    with translation.override(settings.LANGUAGE_CODE):
        return render_document(RETURN_RECORD_TEMPLATE, context).write_pdf()
