"""The money pages: staff record payments, waivers and reversals on a loan; the loan page shows
its account; the loan list its balance; the arrears list (and its CSV) who owes what, since
when. Coordinators read their own trainees' accounts and arrears, and nothing else."""

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from defis.periods import add_months
from loans import balances, ledger
from loans.models import FeeEntry, Loan
from tests.factories import (
    CourseFactory,
    StaffFactory,
    TraineeFactory,
    UserFactory,
    make_loan,
)

pytestmark = pytest.mark.django_db

Kind = FeeEntry.Kind
E = Decimal
TODAY = timezone.localdate


def moment(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=10))


def loan_from(alice, body, *, days_ago=70, first_name="Léa", last_name="Le Gall", title=None):
    """A loan handed over `days_ago` days ago, for a five-month course starting that day, and
    billed up to today: 70 days ago makes three months begun (21,00 €)."""
    start = TODAY() - timedelta(days=days_ago)
    with time_machine.travel(moment(start), tick=False):
        course = CourseFactory(
            training_body=body,
            start_date=start,
            end_date=start + timedelta(days=150),
            **({"title": title} if title else {}),
        )
        trainee = TraineeFactory(course=course, first_name=first_name, last_name=last_name)
        loan = make_loan(trainee, by=alice, status=Loan.Status.ACTIVE)
    ledger.bill_fees(until=TODAY())
    loan.refresh_from_db()
    return loan


def pay(loan, amount, by, *, on=None, method="cash"):
    return ledger.payment_record(
        loan=loan, amount=amount, method=method, paid_on=on or TODAY(), by=by
    )


@pytest.fixture
def loan(alice, agora):
    return loan_from(alice, agora, title="PRÉPA Avenir Jeunes")


@pytest.fixture
def askoria_loan(alice, askoria):
    return loan_from(alice, askoria, first_name="Noé", last_name="Tanguy", title="Cap Emploi")


def page(response):
    return response.content.decode()


def shown(response):
    return [str(m) for m in response.context["messages"]]


def entries(loan, kind=None):
    queryset = FeeEntry.objects.filter(loan=loan)
    return queryset.filter(kind=kind) if kind else queryset


def payment_data(**fields):
    data = {"amount": "7,00", "method": "cash", "paid_on": TODAY().isoformat(), "reference": ""}
    data.update(fields)
    return data


def test_the_loan_is_billed_three_months(loan):
    assert ledger.statement(loan).owed == E("21.00")
    assert loan.months == 5


# --- Payments -------------------------------------------------------------------------------


def test_the_payment_form_suggests_what_is_owed_and_the_current_user(client, alice, loan):
    StaffFactory(username="erwan", first_name="Erwan", last_name="Kervella")
    StaffFactory(username="gone", first_name="Parti", last_name="Ailleurs", is_active=False)
    client.force_login(alice)
    response = client.get(reverse("loans:payment_new", args=[loan.pk]))
    assert response.status_code == 200
    form = response.context["form"]
    assert form["amount"].value() == "21,00"
    assert form["received_by"].value() == alice.pk
    receivers = [user.username for user in form.fields["received_by"].queryset]
    assert receivers == ["alice", "erwan"]  # active staff only: no coordinator, nobody gone
    assert "Le compte aujourd’hui" in page(response)


def test_staff_record_a_payment_that_settles_the_oldest_months(client, alice, loan):
    erwan = StaffFactory(username="erwan", first_name="Erwan", last_name="Kervella")
    client.force_login(alice)
    response = client.post(
        reverse("loans:payment_new", args=[loan.pk]),
        payment_data(
            amount="10,50", method="cheque", reference="CHQ 1234567", received_by=erwan.pk
        ),
    )
    assert response.status_code == 302
    assert response["Location"] == loan.get_absolute_url()
    (payment,) = entries(loan, Kind.PAYMENT)
    assert payment.amount == E("-10.50")
    assert (payment.method, payment.reference) == ("cheque", "CHQ 1234567")
    assert (payment.received_by, payment.recorded_by) == (erwan, alice)
    detail = client.get(response["Location"])
    (message,) = shown(detail)
    assert "Paiement de 10,50\xa0€ enregistré pour le prêt" in message
    assert reverse("loans:payment_receipt", args=[payment.pk]) in message
    content = page(detail)
    assert 'data-period="1" data-period-status="paid"' in content
    assert 'data-period="2" data-period-status="part_paid"' in content
    assert 'data-period="3" data-period-status="due"' in content
    assert "Payé en partie : 3,50\xa0€ dus" in content
    assert 'data-balance="10.50"' in content


@pytest.mark.parametrize("typed", ["7", "7,00", "7.00", " 7 € ", "7,0"])
def test_an_amount_is_read_the_french_or_the_english_way(client, alice, loan, typed):
    client.force_login(alice)
    response = client.post(
        reverse("loans:payment_new", args=[loan.pk]),
        payment_data(amount=typed, received_by=alice.pk),
    )
    assert response.status_code == 302
    assert entries(loan, Kind.PAYMENT).get().amount == E("-7.00")


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("0", "Le montant doit être supérieur à 0,00 €."),
        ("0,00", "Le montant doit être supérieur à 0,00 €."),
        ("-5", "Le montant doit être supérieur à 0,00 €."),
        ("abc", "Saisissez un montant en euros, par exemple 7,00."),
        ("1e3", "Saisissez un montant en euros, par exemple 7,00."),
        ("7,5,0", "Saisissez un montant en euros, par exemple 7,00."),
        ("NaN", "Saisissez un montant en euros, par exemple 7,00."),
        ("7.001", "Le montant a au plus deux décimales (les centimes)."),
        ("", "Ce champ est obligatoire."),
        ("36", "36,00\xa0€ dépasse ce qu’il reste à payer pour le prêt"),
        ("99999", "Le montant dépasse 10\xa0000,00\xa0€ : vérifiez-le."),
    ],
)
def test_a_wrong_amount_is_refused_beside_the_field(client, alice, loan, typed, words):
    client.force_login(alice)
    response = client.post(
        reverse("loans:payment_new", args=[loan.pk]),
        payment_data(amount=typed, received_by=alice.pk),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert any(words in error for error in errors["amount"]), errors
    assert not entries(loan, Kind.PAYMENT).exists()


def test_paying_ahead_is_accepted_up_to_the_whole_loan(client, alice, loan):
    client.force_login(alice)
    url = reverse("loans:payment_new", args=[loan.pk])
    assert client.post(url, payment_data(amount="35", received_by=alice.pk)).status_code == 302
    assert ledger.statement(loan).in_advance == E("14.00")
    response = client.post(url, payment_data(amount="0,01", received_by=alice.pk))
    assert (
        "0,01\xa0€ dépasse ce qu’il reste à payer" in response.context["form"].errors["amount"][0]
    )


def test_a_payment_in_the_future_is_refused(client, alice, loan):
    client.force_login(alice)
    tomorrow = (TODAY() + timedelta(days=1)).isoformat()
    response = client.post(
        reverse("loans:payment_new", args=[loan.pk]),
        payment_data(paid_on=tomorrow, received_by=alice.pk),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["paid_on"] == ["La date ne peut pas être dans le futur."]
    assert not entries(loan, Kind.PAYMENT).exists()


def test_a_payment_needs_a_method_and_a_staff_receiver(client, alice, bob, loan):
    client.force_login(alice)
    response = client.post(
        reverse("loans:payment_new", args=[loan.pk]),
        payment_data(method="bitcoin", received_by=bob.pk),
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"method", "received_by"}
    assert not entries(loan, Kind.PAYMENT).exists()


def test_a_loan_not_handed_over_takes_no_payment(client, alice, agora):
    prepared = make_loan(TraineeFactory(course=CourseFactory(training_body=agora)), by=alice)
    client.force_login(alice)
    url = reverse("loans:payment_new", args=[prepared.pk])
    response = client.get(url, follow=True)
    assert response.redirect_chain == [(prepared.get_absolute_url(), 302)]
    assert "n’a pas été remis : rien n’est encore dû" in shown(response)[0]
    response = client.post(url, payment_data(received_by=alice.pk))
    assert response.status_code == 200
    assert "n’a pas été remis" in response.context["form"].non_field_errors()[0]
    assert not entries(prepared).exists()


# --- Waivers --------------------------------------------------------------------------------


def test_the_waiver_form_suggests_what_is_owed(client, alice, loan):
    client.force_login(alice)
    response = client.get(reverse("loans:waiver_new", args=[loan.pk]))
    assert response.status_code == 200
    assert response.context["form"]["amount"].value() == "21,00"


def test_staff_waive_part_of_what_is_owed_with_a_reason(client, alice, loan):
    client.force_login(alice)
    response = client.post(
        reverse("loans:waiver_new", args=[loan.pk]),
        {"amount": "7", "reason": "Difficultés reconnues avec l’organisme."},
        follow=True,
    )
    assert response.redirect_chain == [(loan.get_absolute_url(), 302)]
    assert shown(response) == [f"Remise de 7,00\xa0€ enregistrée sur le prêt {loan.number}."]
    waiver = entries(loan, Kind.WAIVER).get()
    assert (waiver.amount, waiver.reason) == (E("-7.00"), "Difficultés reconnues avec l’organisme.")
    assert ledger.statement(loan).owed == E("14.00")
    assert "data-waived" in page(response)


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"amount": "7", "reason": "  "}, "reason", "Ce champ est obligatoire."),
        ({"amount": "21,01", "reason": "Geste"}, "amount", "Seulement 21,00\xa0€ sont dus sur le"),
        ({"amount": "0", "reason": "Geste"}, "amount", "Le montant doit être supérieur à 0,00 €."),
        ({"amount": "x", "reason": "Geste"}, "amount", "Saisissez un montant en euros"),
    ],
)
def test_a_wrong_waiver_is_refused(client, alice, loan, data, field, words):
    client.force_login(alice)
    response = client.post(reverse("loans:waiver_new", args=[loan.pk]), data)
    assert response.status_code == 200
    assert any(words in error for error in response.context["form"].errors[field])
    assert not entries(loan, Kind.WAIVER).exists()


def test_nothing_to_waive_on_a_loan_paid_up(client, alice, loan):
    pay(loan, "21", alice)
    client.force_login(alice)
    response = client.get(reverse("loans:waiver_new", args=[loan.pk]), follow=True)
    assert response.redirect_chain == [(loan.get_absolute_url(), 302)]
    assert shown(response) == [f"Rien n’est dû sur le prêt {loan.number} : rien à remettre."]
    assert 'data-action="waiver"' not in page(response)
    assert 'data-action="payment"' in page(response)


# --- Reversals ------------------------------------------------------------------------------


def test_the_reversal_page_names_the_line(client, alice, loan):
    payment = pay(loan, "7", alice, method="cheque")
    client.force_login(alice)
    response = client.get(reverse("loans:entry_reverse", args=[payment.pk]))
    assert response.status_code == 200
    day = TODAY().strftime("%d/%m/%Y")
    assert f"Paiement de 7,00\xa0€ le {day} (Chèque)" in page(response)


def test_staff_reverse_a_payment_typed_twice(client, alice, loan):
    pay(loan, "7", alice)
    # Typed again later in the day (a form sent twice at once is refused by the ledger).
    twice = ledger.payment_record(
        loan=loan,
        amount="7",
        method="cash",
        paid_on=TODAY(),
        by=alice,
        now=timezone.now() + timedelta(minutes=20),
    )
    client.force_login(alice)
    response = client.post(
        reverse("loans:entry_reverse", args=[twice.pk]),
        {"reason": "Saisi deux fois."},
        follow=True,
    )
    assert response.redirect_chain == [(loan.get_absolute_url(), 302)]
    assert shown(response)[0].startswith("Contre-passé : Paiement de 7,00\xa0€ le")
    reversal = entries(loan, Kind.REVERSAL).get()
    assert (reversal.reverses, reversal.amount, reversal.reason) == (
        twice,
        E("7.00"),
        "Saisi deux fois.",
    )
    assert ledger.statement(loan).owed == E("14.00")
    content = page(response)
    # Neither the reversed line nor the reversal can be reversed again.
    assert content.count('data-action="reverse"') == 1  # the first payment; charges are waived
    assert f'data-entry="{twice.pk}" data-entry-kind="payment" data-reversed' in content
    assert reverse("loans:entry_reverse", args=[twice.pk]) not in content
    assert reverse("loans:entry_reverse", args=[reversal.pk]) not in content


def test_a_reversal_needs_a_reason(client, alice, loan):
    payment = pay(loan, "7", alice)
    client.force_login(alice)
    response = client.post(reverse("loans:entry_reverse", args=[payment.pk]), {"reason": ""})
    assert response.status_code == 200
    assert response.context["form"].errors["reason"] == ["Ce champ est obligatoire."]
    assert not entries(loan, Kind.REVERSAL).exists()


def test_a_line_is_reversed_once(client, alice, loan):
    payment = pay(loan, "7", alice)
    ledger.entry_reverse(entry=payment, reason="Chèque refusé.", by=alice)
    client.force_login(alice)
    url = reverse("loans:entry_reverse", args=[payment.pk])
    response = client.get(url, follow=True)
    assert response.redirect_chain == [(loan.get_absolute_url(), 302)]
    assert shown(response) == ["Cette ligne a déjà été contre-passée."]
    response = client.post(url, {"reason": "Encore."})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["Cette ligne a déjà été contre-passée."]
    assert entries(loan, Kind.REVERSAL).count() == 1


def test_a_reversal_is_never_reversed(client, alice, loan):
    payment = pay(loan, "7", alice)
    reversal = ledger.entry_reverse(entry=payment, reason="Chèque refusé.", by=alice)
    client.force_login(alice)
    url = reverse("loans:entry_reverse", args=[reversal.pk])
    response = client.get(url, follow=True)
    assert response.redirect_chain == [(loan.get_absolute_url(), 302)]
    assert "ne s’annule pas" in shown(response)[0]
    response = client.post(url, {"reason": "Oups."})
    assert "ne s’annule pas" in response.context["form"].non_field_errors()[0]
    assert entries(loan, Kind.REVERSAL).count() == 1


def test_a_charge_is_not_reversed_the_page_says_to_waive_it(client, alice, loan):
    charge = entries(loan, Kind.CHARGE).get(period=3)
    client.force_login(alice)
    page = client.get(reverse("loans:loan", args=[loan.pk])).content.decode()
    assert reverse("loans:entry_reverse", args=[charge.pk]) not in page
    response = client.post(
        reverse("loans:entry_reverse", args=[charge.pk]), {"reason": "Facturé à tort."}, follow=True
    )
    assert "Enregistrez plutôt une remise de dette" in response.content.decode()
    assert not entries(loan, Kind.REVERSAL).exists()


# --- Who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["payment_new", "waiver_new", "entry_reverse"])
def test_coordinators_record_nothing(client, alice, bob, loan, name):
    payment = pay(loan, "7", alice)
    pk = payment.pk if name == "entry_reverse" else loan.pk
    url = reverse(f"loans:{name}", args=[pk])
    client.force_login(bob)
    assert client.get(url).status_code == 403
    data = {**payment_data(received_by=alice.pk), "reason": "Geste."}
    assert client.post(url, data).status_code == 403
    assert list(entries(loan).exclude(kind=Kind.CHARGE)) == [payment]


def test_an_unknown_line_or_loan_answers_404(client, alice):
    client.force_login(alice)
    assert client.get(reverse("loans:entry_reverse", args=[999999])).status_code == 404
    assert client.get(reverse("loans:payment_new", args=[999999])).status_code == 404
    assert client.get(reverse("loans:waiver_new", args=[999999])).status_code == 404


# --- The loan page and the list --------------------------------------------------------------


def test_staff_see_the_account_and_its_actions_on_the_loan_page(client, alice, loan):
    payment = pay(loan, "10", alice)
    client.force_login(alice)
    content = page(client.get(loan.get_absolute_url()))
    assert "data-account" in content
    assert "data-charged>21,00\xa0€" in content and "data-paid>10,00\xa0€" in content
    assert 'data-action="payment"' in content and 'data-action="waiver"' in content
    assert reverse("loans:entry_reverse", args=[payment.pk]) in content
    assert reverse("loans:payment_receipt", args=[payment.pk]) in content
    since = add_months(loan.start_date, 1).strftime("%d/%m/%Y")
    assert f"Dû depuis le {since}" in content


def test_a_coordinator_reads_the_account_without_the_actions(client, alice, bob, loan):
    payment = pay(loan, "7", alice)
    client.force_login(bob)
    content = page(client.get(loan.get_absolute_url()))
    assert "data-account" in content and 'data-period-status="due"' in content
    assert 'data-action="payment"' not in content
    assert 'data-action="waiver"' not in content
    assert 'data-action="reverse"' not in content
    assert reverse("loans:payment_receipt", args=[payment.pk]) in content


def test_a_prepared_loan_has_no_account_yet(client, alice, agora):
    prepared = make_loan(TraineeFactory(course=CourseFactory(training_body=agora)), by=alice)
    client.force_login(alice)
    assert "data-account" not in page(client.get(prepared.get_absolute_url()))


def test_the_loan_page_reads_the_ledger_in_one_query(client, alice, loan):
    def pay_one(number):  # distinct payments (the same one twice at once is refused)
        ledger.payment_record(
            loan=loan, amount="1", method="cash", paid_on=TODAY(), by=alice, reference=str(number)
        )

    for number in range(3):
        pay_one(number)
    client.force_login(alice)
    client.get(loan.get_absolute_url())
    with CaptureQueriesContext(connection) as few:
        client.get(loan.get_absolute_url())
    for number in range(3, 13):
        pay_one(number)
    with CaptureQueriesContext(connection) as many:
        client.get(loan.get_absolute_url())
    assert len(few) == len(many), [q["sql"] for q in many.captured_queries]


def test_the_loan_list_shows_each_balance(client, alice, agora, loan):
    ahead = loan_from(alice, agora, first_name="Inès", last_name="Guillou")
    pay(ahead, "28", alice)
    prepared = make_loan(TraineeFactory(course=CourseFactory(training_body=agora)), by=alice)
    client.force_login(alice)
    response = client.get(reverse("loans:loans"))
    balances_shown = {row.number: row.balance for row in response.context["page_obj"]}
    assert balances_shown == {
        loan.number: E("21.00"),
        ahead.number: E("-7.00"),
        prepared.number: None,
    }
    content = page(response)
    assert "21,00\xa0€" in content and "7,00\xa0€ d’avance" in content


def test_the_loan_list_query_count_does_not_grow_with_the_ledger(client, alice, agora):
    client.force_login(alice)
    for _ in range(3):
        pay(loan_from(alice, agora), "7", alice)
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("loans:loans"))
    for _ in range(12):
        pay(loan_from(alice, agora), "7", alice)
    with CaptureQueriesContext(connection) as large:
        response = client.get(reverse("loans:loans"))
    assert len(response.context["page_obj"]) == 15
    assert len(small) == len(large), [q["sql"] for q in large.captured_queries]


# --- The arrears list -------------------------------------------------------------------------


@pytest.fixture
def arrears_cases(alice, agora, askoria, loan, askoria_loan):
    """Léa (Agora) owes 21 €, Noé (ASKORIA) 14 € after a payment; Inès (Agora) paid up."""
    pay(askoria_loan, "7", alice, on=TODAY() - timedelta(days=3))
    paid_up = loan_from(alice, agora, first_name="Inès", last_name="Guillou")
    pay(paid_up, "21", alice)
    return {"lea": loan, "noe": askoria_loan, "paid_up": paid_up}


def rows(response):
    return [loan.number for loan in response.context["page_obj"]]


def test_staff_see_every_loan_in_arrears_with_the_amount_and_since_when(
    client, alice, arrears_cases
):
    lea, noe = arrears_cases["lea"], arrears_cases["noe"]
    client.force_login(alice)
    response = client.get(reverse("loans:arrears"))
    assert response.status_code == 200
    assert rows(response) == [lea.number, noe.number]  # the largest amount owed first
    assert response.context["totals"] == {"count": 2, "owed": E("35.00")}
    content = page(response)
    assert 'data-arrears-count="2"' in content and 'data-arrears-total="35.00"' in content
    assert "Léa Le Gall" in content and "Noé Tanguy" in content and "Guillou" not in content
    by_number = {row.number: row for row in response.context["page_obj"]}
    assert by_number[noe.number].months_unpaid == 2
    assert by_number[noe.number].account.oldest_unpaid.start == add_months(noe.start_date, 1)
    assert by_number[noe.number].last_paid_on == TODAY() - timedelta(days=3)
    assert by_number[lea.number].last_paid_on is None
    assert by_number[lea.number].owed_since == lea.start_date
    assert "jamais" in content


def test_a_coordinator_sees_only_their_trainees_arrears(client, bob, arrears_cases):
    client.force_login(bob)
    response = client.get(reverse("loans:arrears"))
    assert rows(response) == [arrears_cases["lea"].number]
    assert response.context["totals"] == {"count": 1, "owed": E("21.00")}
    assert "Tanguy" not in page(response)
    assert "training_body" not in response.context["filter"].filters
    assert "Les impayés de mes stagiaires" in page(response)


def test_the_arrears_filter_by_body_course_and_how_long(client, alice, agora, arrears_cases):
    lea, noe = arrears_cases["lea"], arrears_cases["noe"]
    recent = loan_from(alice, agora, days_ago=10, first_name="Tom", last_name="Riou")
    client.force_login(alice)
    url = reverse("loans:arrears")
    assert rows(client.get(url, {"training_body": agora.pk})) == [lea.number, recent.number]
    assert rows(client.get(url, {"course": noe.course_id})) == [noe.number]
    # Léa owes since the start (70 days), Noé since a month after it, Tom since 10 days.
    assert rows(client.get(url, {"owed_for": "1"})) == [lea.number, noe.number]
    assert rows(client.get(url, {"owed_for": "2"})) == [lea.number]
    assert rows(client.get(url, {"owed_for": "3"})) == []
    assert rows(client.get(url, {"sort": "oldest"})) == [lea.number, noe.number, recent.number]


@pytest.mark.parametrize(
    "query", [{"course": "999999"}, {"owed_for": "7"}, {"sort": "x"}, {"page": "abc"}]
)
def test_a_filter_that_cannot_be_read_shows_no_500(client, alice, arrears_cases, query):
    client.force_login(alice)
    response = client.get(reverse("loans:arrears"), query)
    assert response.status_code == 200
    assert client.get(reverse("loans:arrears_csv"), query).status_code == 200


def test_a_coordinator_cannot_filter_on_another_bodys_course(client, bob, arrears_cases):
    client.force_login(bob)
    response = client.get(reverse("loans:arrears"), {"course": arrears_cases["noe"].course_id})
    assert rows(response) == []


def test_the_sql_and_the_statement_agree_on_since_when(client, alice, agora):
    """Partly paid months, a waiver, reversed lines, payments ahead: the list's SQL says the
    same as ledger.statement."""
    cases = [loan_from(alice, agora, days_ago=days) for days in (70, 100, 130, 40, 70, 70)]
    pay(cases[0], "3,50", alice)
    pay(cases[1], "10", alice)
    ledger.waiver_record(loan=cases[1], amount="4", reason="Geste.", by=alice)
    reversed_payment = pay(cases[2], "14", alice)
    pay(cases[2], "7", alice)
    ledger.entry_reverse(entry=reversed_payment, reason="Chèque refusé.", by=alice)
    ledger.waiver_record(loan=cases[4], amount="7", reason="Facturé à tort.", by=alice)
    pay(cases[5], "21", alice)  # paid up: not in arrears
    listed = balances.in_arrears(Loan.objects.all())
    for loan in Loan.objects.all():
        account = ledger.statement(loan)
        row = listed.filter(pk=loan.pk).first()
        if account.owed == 0:
            assert row is None, loan
            continue
        assert row.balance == account.balance, loan
        assert row.owed_since == account.oldest_unpaid.start, loan
    # The filter "owed for more than N months" says the same as `owed_since`, day by day.
    for days in range(0, 140, 3):
        day = TODAY() - timedelta(days=days)
        expected = {row.pk for row in listed if row.owed_since < day}
        assert {row.pk for row in balances.owed_since_before(listed, day)} == expected, day


def test_the_arrears_query_count_does_not_grow(client, alice, agora):
    client.force_login(alice)
    for _ in range(3):
        pay(loan_from(alice, agora), "3", alice)
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("loans:arrears"))
    with CaptureQueriesContext(connection) as small_csv:
        client.get(reverse("loans:arrears_csv"))
    for _ in range(27):
        pay(loan_from(alice, agora), "3", alice)
    with CaptureQueriesContext(connection) as large:
        response = client.get(reverse("loans:arrears"))
    with CaptureQueriesContext(connection) as large_csv:
        csv_response = client.get(reverse("loans:arrears_csv"))
    assert len(response.context["page_obj"]) == 30
    assert len(read_csv(csv_response)) == 31
    assert len(small) == len(large), [q["sql"] for q in large.captured_queries]
    assert len(small_csv) == len(large_csv), [q["sql"] for q in large_csv.captured_queries]


# --- The CSV export ---------------------------------------------------------------------------


def read_csv(response):
    content = response.content.decode("utf-8")
    assert content.startswith("\ufeff")
    return list(csv.reader(io.StringIO(content[1:]), delimiter=";"))


def test_the_csv_has_the_same_rows_for_a_spreadsheet(client, alice, arrears_cases):
    lea, noe = arrears_cases["lea"], arrears_cases["noe"]
    client.force_login(alice)
    response = client.get(reverse("loans:arrears_csv"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="impayes-' in response["Content-Disposition"]
    header, *lines = read_csv(response)
    assert header == [
        "Prêt",
        "Nom",
        "Prénom",
        "Organisme de formation",
        "Formation",
        "Ordinateur",
        "Montant dû",
        "Dû depuis le",
        "Mois impayés",
        "Dernier paiement",
    ]
    assert lines == [
        [
            lea.number,
            "Le Gall",
            "Léa",
            "Agora",
            "PRÉPA Avenir Jeunes",
            lea.laptop.asset_tag,
            "21,00",
            lea.start_date.strftime("%d/%m/%Y"),
            "3",
            "",
        ],
        [
            noe.number,
            "Tanguy",
            "Noé",
            "ASKORIA",
            "Cap Emploi",
            noe.laptop.asset_tag,
            "14,00",
            add_months(noe.start_date, 1).strftime("%d/%m/%Y"),
            "2",
            (TODAY() - timedelta(days=3)).strftime("%d/%m/%Y"),
        ],
    ]


def test_the_csv_follows_the_filters_and_the_coordinators_scope(client, bob, arrears_cases):
    client.force_login(bob)
    lines = read_csv(client.get(reverse("loans:arrears_csv")))[1:]
    assert [line[0] for line in lines] == [arrears_cases["lea"].number]
    lines = read_csv(client.get(reverse("loans:arrears_csv"), {"owed_for": "3"}))[1:]
    assert lines == []


def test_the_csv_never_runs_a_formula(client, alice, agora):
    loan_from(alice, agora, first_name="@SUM(A1)", last_name='=HYPERLINK("http://x")')
    client.force_login(alice)
    (line,) = read_csv(client.get(reverse("loans:arrears_csv")))[1:]
    assert line[1] == '\'=HYPERLINK("http://x")'
    assert line[2] == "'@SUM(A1)"


def test_an_account_without_a_role_gets_no_arrears(client, arrears_cases):
    client.force_login(UserFactory(username="nobody"))
    assert client.get(reverse("loans:arrears")).status_code == 403
    assert client.get(reverse("loans:arrears_csv")).status_code == 403


def test_staff_and_coordinators_find_the_arrears_in_the_menu(client, alice, bob):
    for user in (alice, bob):
        client.force_login(user)
        content = page(client.get(reverse("loans:loans")))
        assert f'href="{reverse("loans:arrears")}"' in content
        assert "Impayés" in content
