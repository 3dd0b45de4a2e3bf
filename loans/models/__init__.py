"""The loans app's models, one module per subject: requests, loans (with their agreement text
and reminders), and money (budget envelopes and the fee ledger)."""

from .loans import (
    DEFAULT_MONTHLY_FEE,
    AgreementTemplate,
    Loan,
    LoanEvent,
    ReminderLog,
    agreement_upload_to,
    scan_upload_to,
)
from .money import BudgetEnvelope, FeeEntry, LedgerIsAppendOnly
from .requests import LoanRequest, LoanRequestEvent

__all__ = [
    "DEFAULT_MONTHLY_FEE",
    "AgreementTemplate",
    "BudgetEnvelope",
    "FeeEntry",
    "LedgerIsAppendOnly",
    "Loan",
    "LoanEvent",
    "LoanRequest",
    "LoanRequestEvent",
    "ReminderLog",
    "agreement_upload_to",
    "scan_upload_to",
]
