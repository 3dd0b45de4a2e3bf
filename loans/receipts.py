"""The payment receipt (reçu de paiement): one PDF per payment line, printed in French
like the other documents, whatever the language of the person printing it.

No model of its own: the receipt is numbered after the loan and the ledger line, and says
which months the payment settled (oldest first, as loans.ledger settles them) and what the
balance was once it was made.
"""

from django.conf import settings
from django.utils import timezone, translation

from defis.models import Association
from defis.pdf import render_pdf

from .balances import balance_after, settled_by
from .ledger import ZERO
from .models import FeeEntry

RECEIPT_TEMPLATE = "pdf/loans/receipt.html"


def receipt_number(payment: FeeEntry) -> str:
    return f"REC-{payment.loan.number}-{payment.pk}"


def receipt_context(payment: FeeEntry, *, today=None) -> dict:
    loan = payment.loan
    entries = list(loan.fee_entries.all())
    # The ledger as it stood when the payment was recorded: a receipt reprinted later says
    # the same, whatever was recorded after it (a backdated payment, a new month charged).
    known = [entry for entry in entries if entry.pk <= payment.pk]
    after = balance_after(payment, known)
    # Its reversal, if any, is told: the receipt is then no longer valid.
    reversal = next((e for e in entries if e.reverses_id == payment.pk), None)
    return {
        "association": Association.objects.current(),
        "number": receipt_number(payment),
        "payment": payment,
        "amount": -payment.amount,
        "loan": loan,
        "trainee": loan.trainee,
        "course": loan.course,
        "training_body": loan.course.training_body,
        "laptop": loan.laptop,
        # A reversed payment settled nothing in the end.
        "settled": [] if reversal else settled_by(payment, known, loan),
        "balance_after": after,
        "ahead": max(-after, ZERO),
        "reversal": reversal,
        "issued_on": timezone.localdate(payment.recorded_at),
    }


def render_receipt(payment: FeeEntry) -> bytes:
    """`payment` comes with its loan, trainee, course, training body, laptop and receiver."""
    context = receipt_context(payment)
    with translation.override(settings.LANGUAGE_CODE):
        return render_pdf(RECEIPT_TEMPLATE, context)
