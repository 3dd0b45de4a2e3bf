"""Anonymising the trainees whose personal data has been kept long enough
(`python manage.py anonymise_expired`, monthly: docs/exploitation.md).

The privacy notice's promise: a trainee's data is kept during the programme, then for
`settings.DEFIS_RETENTION_MONTHS` months (24) after their last loan ended, once nothing is
owed. A trainee may go (`expired_trainees`) when:

- they have no open loan (prepared or on loan) and no open laptop request;
- every loan of theirs was closed (returned, lost, stolen, written off) or cancelled before
  the cut-off, that is more than the retention period ago, and so did their course end (a
  trainee who never borrowed goes once their course has been over that long);
- every loan's balance is exactly zero: nothing owed, and nothing paid in advance that the
  association would have to pay back.

What anonymising does (`trainee_anonymise`), in one transaction per trainee:

- the trainee gets a random code ("ANON-7F3K9Q2M") that names nobody and cannot be traced
  back; their name becomes that code, their birth date the 1st of January of its year (ages
  for the statistics), their postal code its département (56), and their contact details,
  address, legal guardian, support needs and notes are emptied;
- the kept agreement PDFs and the signed scans (they carry the name and the signature) are
  deleted from storage once the transaction commits, and their fields cleared;
- the free text that may name the person is emptied: the requests' justifications and
  reasons, the loans' conditions, damage, notes, police report references and override
  reasons, the notes of their events, the references and reasons of their ledger lines, and
  the same in the change history of those requests and loans; the change history of the
  trainee's record (which holds the old personal data) is deleted; the laptops' status notes
  ("Lent to …") and the admin's log (every entry that contains one of the names the record
  had: the trainee's own, a workshop's attendances…) name the code;
- what the reports count stays as it was: the ledger's amounts, dates and links (`FeeEntry`
  is append-only; its free text is the one thing emptied, `scrub_free_text`), the loans with
  their dates, months, fees and envelope, the requests with their statuses, the laptops, the
  workshops attended. The reports' totals do not change.

Afterwards nothing puts personal data back on those loans: a signed scan, a payment, a waiver
or a reversal is refused (loans.lending, loans.ledger), and the admin no longer edits their
notes. Each run also deletes any agreement or scan still stored for an anonymised trainee's
loan (`sweep_left_files`: one left by an upload made before that refusal existed).

Safe to run twice, and on two servers at once: each trainee is locked (with their loans) and
checked again before anything is written, and one already anonymised is skipped.
"""

import logging
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import BigIntegerField, Exists, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Cast, Round
from django.utils import timezone

from defis.periods import add_months
from inventory.models import LaptopStatusChange
from trainees.models import Trainee, rename_in_admin_log

from .models import FeeEntry, Loan, LoanEvent, LoanRequest, LoanRequestEvent

logger = logging.getLogger(__name__)

PSEUDONYM_PREFIX = "ANON-"
# Crockford's base 32: no I, L, O nor U, which read as 1, 0 or V.
PSEUDONYM_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PSEUDONYM_LENGTH = 8

# The free text of a loan, of a request, that may name the person (or describe them).
LOAN_FREE_TEXT = (
    "condition_out",
    "condition_back",
    "damage",
    "notes",
    "police_report_reference",
    "envelope_override_reason",
)
REQUEST_FREE_TEXT = ("justification", "decision_reason")
# The trainee's fields emptied (the names, the birth date and the postal code are reduced).
TRAINEE_EMPTIED = (
    "email",
    "phone",
    "street",
    "town",
    "support_needs",
    "notes",
    *Trainee.GUARDIAN_FIELDS,
)


def retention_cutoff(*, today: date) -> date:
    """The day before which a last loan, or a course, must have ended."""
    return add_months(today, -settings.DEFIS_RETENTION_MONTHS)


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def expired_trainees(*, today: date):
    """The trainees whose personal data may be anonymised on `today` (the module's rules).
    Subqueries only (no GROUP BY on the trainees), so that it can be checked again for one
    trainee under a row lock."""
    cutoff = retention_cutoff(today=today)
    loans = Loan.objects.filter(trainee=OuterRef("pk"))
    # Open, or closed on or after the cut-off. A loan closed without a closing time (data
    # older than `closed_at`) counts as recent: better kept than anonymised too early.
    not_expired = loans.filter(
        Q(status__in=Loan.OPEN)
        | Q(closed_at__isnull=True)
        | Q(closed_at__gte=_start_of(cutoff))
        | Q(return_date__gte=cutoff)
    )
    open_requests = LoanRequest.objects.open().filter(trainee=OuterRef("pk"))
    # A loan whose ledger does not add up to zero: something owed, or paid in advance. In
    # whole cents: SQLite adds decimals as floats, and 0.10 + 0.20 + 13.70 - 14.00 is not 0
    # there.
    cents = Cast(Round(F("amount") * 100), output_field=BigIntegerField())
    unsettled = (
        FeeEntry.objects.filter(loan__trainee=OuterRef("pk"))
        .order_by()
        .values("loan")
        .annotate(balance=Sum(cents))
        .exclude(balance=0)
    )
    return Trainee.objects.filter(
        ~Exists(not_expired),
        ~Exists(open_requests),
        ~Exists(unsettled),
        anonymised_at__isnull=True,
        course__end_date__lt=cutoff,
    )


def with_last_loan_closed(trainees):
    """`last_loan_closed_at`: when the trainee's last loan was closed (None: never lent)."""
    last_closed = (
        Loan.objects.filter(trainee=OuterRef("pk"), closed_at__isnull=False)
        .order_by("-closed_at")
        .values("closed_at")[:1]
    )
    return trainees.annotate(last_loan_closed_at=Subquery(last_closed))


def new_pseudonym() -> str:
    """A random code, not derived from anything about the person, not given before."""
    while True:
        code = PSEUDONYM_PREFIX + "".join(
            secrets.choice(PSEUDONYM_ALPHABET) for _ in range(PSEUDONYM_LENGTH)
        )
        if not Trainee.objects.filter(pseudonym=code).exists():
            return code


def _department(postal_code: str) -> str:
    """The département of a French postal code: 56 for 56600, 974 for 97400."""
    postal_code = postal_code.strip()
    return postal_code[:3] if postal_code.startswith("97") else postal_code[:2]


@dataclass
class Anonymised:
    trainee_id: int
    pseudonym: str
    files_deleted: int


@transaction.atomic
def trainee_anonymise(*, trainee_id: int, today: date, now: datetime) -> Anonymised | None:
    """Anonymise one trainee, if they may still be (module docstring). None when not: done
    meanwhile by another run, or no longer due (a payment, a new request)."""
    trainee = Trainee.objects.select_for_update(of=("self",)).filter(pk=trainee_id).first()
    if trainee is None or trainee.is_anonymised:
        return None
    # A payment or a new loan takes the loan's lock (loans.ledger, loans.lending): with the
    # loans locked too, the check below sees what they wrote, or they wait for this one.
    loans = list(
        Loan.objects.select_for_update(of=("self",)).filter(trainee_id=trainee_id).order_by("pk")
    )
    if not expired_trainees(today=today).filter(pk=trainee_id).exists():
        return None

    pseudonym = new_pseudonym()
    names = trainee.names_held()
    loan_ids = [loan.pk for loan in loans]
    request_ids = list(
        LoanRequest.objects.filter(trainee_id=trainee_id).values_list("pk", flat=True)
    )

    # Saving the model would run its validation and write a history row with the data just
    # removed: plain updates, on the rows of this trainee only.
    Trainee.objects.filter(pk=trainee_id).update(
        first_name="",
        last_name=pseudonym,
        birth_date=date(trainee.birth_date.year, 1, 1),
        postal_code=_department(trainee.postal_code),
        pseudonym=pseudonym,
        anonymised_at=now,
        **dict.fromkeys(TRAINEE_EMPTIED, ""),
    )
    files = [
        (stored.storage, stored.name)
        for loan in loans
        for stored in (loan.agreement_pdf, loan.signed_scan)
        if stored
    ]
    Loan.objects.filter(pk__in=loan_ids).update(
        agreement_pdf="",
        agreement_sha256="",
        signed_scan="",
        **dict.fromkeys(LOAN_FREE_TEXT, ""),
    )
    LoanEvent.objects.filter(loan_id__in=loan_ids).update(note="")
    # The ledger's one allowed write: its amounts, dates and links stay as they are.
    FeeEntry.objects.filter(loan_id__in=loan_ids).scrub_free_text()
    LoanRequest.objects.filter(pk__in=request_ids).update(**dict.fromkeys(REQUEST_FREE_TEXT, ""))
    LoanRequestEvent.objects.filter(request_id__in=request_ids).update(note="")

    # The change history: the trainee's own rows hold the old personal data and go; those of
    # the requests and loans keep their dates and statuses, without the free text.
    Trainee.history.filter(id=trainee_id).delete()
    Loan.history.filter(id__in=loan_ids).update(
        agreement_pdf="",
        agreement_sha256="",
        signed_scan="",
        history_change_reason=None,
        **dict.fromkeys(LOAN_FREE_TEXT, ""),
    )
    LoanRequest.history.filter(id__in=request_ids).update(
        history_change_reason=None, **dict.fromkeys(REQUEST_FREE_TEXT, "")
    )

    _rename_in_laptop_notes(loans, request_ids, names, pseudonym)
    rename_in_admin_log(names, pseudonym)
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Trainee), object_id=str(trainee_id)
    ).update(object_repr=pseudonym)

    # The files go once the anonymisation is committed: rolled back, nothing is lost.
    transaction.on_commit(lambda: _delete_files(files, trainee_id))
    return Anonymised(trainee_id=trainee_id, pseudonym=pseudonym, files_deleted=len(files))


def _rename_in_laptop_notes(
    loans: list[Loan], request_ids: list[int], names: set[str], pseudonym: str
) -> None:
    """A laptop's history says whom it was reserved for and lent to ("Lent to Léa Martin
    (loan PRET-2025-0001)"): the code takes the name's place, in the notes about this
    person's requests and loans only (their number closes the note)."""
    numbers = [loan.number for loan in loans]
    numbers += [LoanRequest(pk=pk).number for pk in request_ids]
    if not numbers or not names:
        return
    about_them = Q()
    for number in numbers:
        about_them |= Q(note__contains=f"{number})")
    changed = []
    for change in LaptopStatusChange.objects.filter(about_them):
        note = change.note
        for name in sorted(names, key=len, reverse=True):
            note = note.replace(name, pseudonym)
        if note != change.note:
            change.note = note
            changed.append(change)
    LaptopStatusChange.objects.bulk_update(changed, ["note"])


def _delete_files(files, trainees) -> None:
    """`trainees`: whose files they were (a number, or several), for the log."""
    for storage, name in files:
        try:
            storage.delete(name)
        except OSError:
            # The record no longer points at it: say where it is, to delete it by hand.
            logger.exception(
                "Anonymising trainee %s: could not delete the stored file %s", trainees, name
            )


@transaction.atomic
def sweep_left_files() -> int:
    """Delete the agreements and signed scans still stored for the loans of trainees already
    anonymised (one uploaded before uploads were refused on such loans), and clear their
    fields, in the loans and in their history. Return how many files go. Cheap when there is
    none (one query), and safe to run twice: the loans are locked and read again."""
    loans = list(
        Loan.objects.select_for_update(of=("self",))
        .filter(trainee__anonymised_at__isnull=False)
        .exclude(agreement_pdf="", signed_scan="")
        .order_by("pk")
    )
    if not loans:
        return 0
    files = [
        (stored.storage, stored.name)
        for loan in loans
        for stored in (loan.agreement_pdf, loan.signed_scan)
        if stored
    ]
    loan_ids = [loan.pk for loan in loans]
    Loan.objects.filter(pk__in=loan_ids).update(
        agreement_pdf="", agreement_sha256="", signed_scan=""
    )
    Loan.history.filter(id__in=loan_ids).update(
        agreement_pdf="", agreement_sha256="", signed_scan=""
    )
    trainees = ", ".join(str(pk) for pk in sorted({loan.trainee_id for loan in loans}))
    transaction.on_commit(lambda: _delete_files(files, trainees))
    return len(files)


@dataclass
class Run:
    """What one run found and did, for the command's output."""

    today: date
    dry_run: bool
    candidates: list[Trainee] = field(default_factory=list)
    anonymised: list[Anonymised] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    # Files left on loans of trainees anonymised before this run, deleted by it.
    files_swept: int = 0

    @property
    def files_deleted(self) -> int:
        return sum(done.files_deleted for done in self.anonymised) + self.files_swept


def anonymise_expired(*, today: date, now: datetime | None = None, dry_run: bool = False) -> Run:
    """Anonymise every trainee due on `today`; with `dry_run`, only say who they are."""
    now = now or timezone.now()
    run = Run(today=today, dry_run=dry_run)
    run.candidates = list(
        with_last_loan_closed(expired_trainees(today=today))
        .select_related("course__training_body")
        .order_by("pk")
    )
    if dry_run:
        return run
    run.files_swept = sweep_left_files()
    for trainee in run.candidates:
        done = trainee_anonymise(trainee_id=trainee.pk, today=today, now=now)
        if done is None:
            run.skipped.append(trainee.pk)
        else:
            run.anonymised.append(done)
    return run
