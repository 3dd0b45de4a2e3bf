"""The payment receipt: a PDF for one payment line, which says which months it settled and
what was left to pay; for staff and the coordinator of the trainee's body only."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from pypdf import PdfReader

from defis.periods import add_months
from loans import balances, ledger
from loans.models import FeeEntry
from tests.loans.test_money_views import TODAY, loan_from, pay

pytestmark = pytest.mark.django_db

Kind = FeeEntry.Kind
E = Decimal


@pytest.fixture
def loan(alice, agora):
    return loan_from(alice, agora, title="PRÉPA Avenir Jeunes")


def text_of(response) -> str:
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    # Amounts and dates are typeset with non-breaking spaces.
    return " ".join(text.replace("\xa0", " ").replace("\u202f", " ").split())


def day(value) -> str:
    return value.strftime("%d/%m/%Y")


def test_staff_print_the_receipt_of_a_payment(client, alice, loan):
    payment = ledger.payment_record(
        loan=loan,
        amount="10,50",
        method="cheque",
        reference="CHQ 1234567",
        paid_on=TODAY() - timedelta(days=1),
        by=alice,
    )
    client.force_login(alice)
    response = client.get(reverse("loans:payment_receipt", args=[payment.pk]))
    assert response.status_code == 200
    assert f"recu-REC-{loan.number}-{payment.pk}.pdf" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    text = text_of(response)
    second = add_months(loan.start_date, 1)
    for words in (
        "Reçu de paiement",
        f"N° REC-{loan.number}-{payment.pk}",
        "10,50 €",
        "Léa Le Gall",
        loan.number,
        loan.laptop.asset_tag,
        "Chèque",
        "CHQ 1234567",
        "Alice Martin",
        "Agora Services",
        f"Du {day(loan.start_date)} au {day(second - timedelta(days=1))} 7,00 € payé",
        f"Du {day(second)} au",
        "3,50 € payé en partie",
        "10,50 € restent dus",
        "Participation aux frais — tout mois commencé est dû.",
    ):
        assert words in text, words


def test_the_receipt_of_a_payment_ahead_names_the_months_not_begun(client, alice, loan):
    pay(loan, "14", alice)
    ahead = ledger.payment_record(
        loan=loan, amount="14", method="transfer", paid_on=TODAY(), by=alice, reference="VIR-2"
    )
    client.force_login(alice)
    text = text_of(client.get(reverse("loans:payment_receipt", args=[ahead.pk])))
    fourth = add_months(loan.start_date, 3)
    assert f"Du {day(fourth)} au" in text
    assert "7,00 € payé (d’avance)" in text
    assert "7,00 € payés d’avance" in text  # the balance after it


def test_the_receipt_of_a_reversed_payment_says_it_is_void(client, alice, loan):
    payment = pay(loan, "7", alice)
    ledger.entry_reverse(entry=payment, reason="Chèque refusé par la banque.", by=alice)
    client.force_login(alice)
    text = text_of(client.get(reverse("loans:payment_receipt", args=[payment.pk])))
    assert "ce reçu n’est plus valable" in text
    assert "Chèque refusé par la banque." in text
    assert "Aucun : ce paiement ne règle aucun mois." in text


def test_the_coordinator_of_the_trainee_gets_the_receipt(client, alice, bob, charlie, loan):
    payment = pay(loan, "7", alice)
    url = reverse("loans:payment_receipt", args=[payment.pk])
    client.force_login(bob)
    assert client.get(url).status_code == 200
    client.force_login(charlie)
    assert client.get(url).status_code == 404


def test_only_a_payment_line_has_a_receipt(client, alice, loan):
    payment = pay(loan, "7", alice)
    waiver = ledger.waiver_record(loan=loan, amount="7", reason="Geste.", by=alice)
    reversal = ledger.entry_reverse(entry=payment, reason="Erreur.", by=alice)
    charge = loan.fee_entries.filter(kind=Kind.CHARGE).first()
    client.force_login(alice)
    for entry in (waiver, reversal, charge):
        assert client.get(reverse("loans:payment_receipt", args=[entry.pk])).status_code == 404
    assert client.get(reverse("loans:payment_receipt", args=[999999])).status_code == 404


# --- Which months a payment settled ------------------------------------------------------------


def settled(payment, loan):
    entries = list(loan.fee_entries.all())
    return [
        (month.period, month.amount, month.complete, month.in_advance)
        for month in balances.settled_by(payment, entries, loan)
    ]


def test_payments_settle_the_months_in_the_order_they_were_made(alice, loan):
    first = pay(loan, "10", alice, on=TODAY() - timedelta(days=2))
    second = pay(loan, "7", alice, on=TODAY() - timedelta(days=1))
    third = pay(loan, "18", alice)  # the rest of the five months: two not begun
    assert settled(first, loan) == [(1, E("7.00"), True, False), (2, E("3.00"), False, False)]
    assert settled(second, loan) == [(2, E("4.00"), True, False), (3, E("3.00"), False, False)]
    assert settled(third, loan) == [
        (3, E("4.00"), True, False),
        (4, E("7.00"), True, True),
        (5, E("7.00"), True, True),
    ]


def test_a_waiver_and_a_reversed_payment_move_what_a_payment_settles(alice, loan):
    ledger.waiver_record(loan=loan, amount="7", reason="Geste.", by=alice)
    refused = pay(loan, "7", alice)
    ledger.entry_reverse(entry=refused, reason="Chèque refusé.", by=alice)
    payment = pay(loan, "7", alice)
    assert settled(refused, loan) == []
    assert settled(payment, loan) == [(2, E("7.00"), True, False)]


def test_the_balance_after_a_payment_counts_the_months_begun_by_its_day(alice, loan):
    early = pay(loan, "7", alice, on=loan.start_date)
    late = pay(loan, "7", alice)
    entries = list(loan.fee_entries.all())
    # On the first day, month 1 (7 €) was charged and paid; today three months are.
    assert balances.balance_after(early, entries) == E("0.00")
    assert balances.balance_after(late, entries) == E("7.00")


def test_a_receipt_reprinted_later_says_the_same(alice, agora):
    from loans import receipts
    from tests.factories import CourseFactory, TraineeFactory, make_loan

    trainee = TraineeFactory(course=CourseFactory(training_body=agora))
    loan = make_loan(trainee, by=alice, status="active")
    first = ledger.payment_record(
        loan=loan, amount="7", method="cash", paid_on=loan.start_date, by=alice
    )
    before = receipts.receipt_context(first)
    ledger.payment_record(
        loan=loan, amount="7", method="cheque", paid_on=loan.start_date, by=alice, reference="42"
    )
    after = receipts.receipt_context(first)
    assert (after["settled"], after["balance_after"], after["issued_on"]) == (
        before["settled"],
        before["balance_after"],
        before["issued_on"],
    )
