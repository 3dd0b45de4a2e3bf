"""The arrears list at scale (issue 8): the ledger is summed in one pass for the loans chosen,
"owed since" is read from the latest months back, and the rows shown are read apart. These
say that the shortcuts give what `ledger.statement` gives, line by line, and that the page,
its totals and its CSV agree whatever the filters."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from defis.periods import add_months
from loans import balances, ledger, scale
from loans.models import FeeEntry, Loan
from loans.money_views import PAGE_SIZE
from tests.factories import CourseFactory, TraineeFactory, make_loan

pytestmark = pytest.mark.django_db

Kind = FeeEntry.Kind
SCALE_TODAY = date(2026, 11, 26)
SMALL = scale.Counts(
    territories=2,
    training_bodies=3,
    trainees=90,
    laptops=80,
    loans=120,
    ledger_lines=600,
    years=1,
    trainees_per_course=6,
)


def expected_rows(loans) -> dict:
    """What the list should show for each loan that owes, from `ledger.statement`."""
    rows = {}
    for loan in loans:
        account = ledger.statement(loan)
        if account.owed == 0:
            continue
        lines = list(loan.fee_entries.all())
        reversed_ids = {line.reverses_id for line in lines if line.kind == Kind.REVERSAL}
        paid_on = [
            line.entry_date
            for line in lines
            if line.kind == Kind.PAYMENT and line.pk not in reversed_ids
        ]
        rows[loan.pk] = {
            "balance": account.balance,
            "owed_since": account.oldest_unpaid.start,
            "months_unpaid": sum(1 for line in account.periods if not line.is_paid),
            "last_paid_on": max(paid_on, default=None),
        }
    return rows


def assert_sql_agrees_with_statement(loans, days):
    expected = expected_rows(loans)
    listed = {
        pk: (balance, owed_since, last_paid_on)
        for pk, balance, owed_since, last_paid_on in balances.in_arrears(
            Loan.objects.filter(pk__in=[loan.pk for loan in loans])
        ).values_list("pk", "balance", "owed_since", "last_paid_on")
    }
    assert listed == {
        pk: (row["balance"], row["owed_since"], row["last_paid_on"]) for pk, row in expected.items()
    }
    for day in days:
        chosen = Loan.objects.filter(pk__in=[loan.pk for loan in loans])
        owing = set(balances.owing(chosen, owed_since_before=day).values_list("pk", flat=True))
        assert owing == {pk for pk, row in expected.items() if row["owed_since"] < day}, day
    return expected


@pytest.fixture
def dataset(alice, no_funding):
    scale.generate(today=SCALE_TODAY, by=alice, counts=SMALL)


def test_it_agrees_with_the_statement_on_a_scale_dataset(dataset):
    loans = list(Loan.objects.all())
    days = [add_months(SCALE_TODAY, -months) for months in range(0, 14)]
    expected = assert_sql_agrees_with_statement(loans, days)
    assert len(expected) > 5  # some trainees are behind


def test_a_reversed_charge_leaves_its_month_out(alice, agora):
    """The ledger's services never reverse a charge, but the ledger allows it: the month
    leaves the statement, and the list says the same."""
    today = timezone.localdate()
    course = CourseFactory(
        training_body=agora,
        start_date=today - timedelta(days=100),
        end_date=today + timedelta(days=100),
    )
    loan = make_loan(TraineeFactory(course=course), by=alice, status=Loan.Status.ACTIVE)
    start = today - timedelta(days=100)
    Loan.objects.filter(pk=loan.pk).update(start_date=start)
    loan.refresh_from_db()
    ledger.bill_fees(until=today)
    charges = list(loan.fee_entries.filter(kind=Kind.CHARGE).order_by("period"))
    assert len(charges) == 4
    for charge in (charges[0], charges[2]):
        FeeEntry.objects.create(
            loan=loan,
            kind=Kind.REVERSAL,
            amount=-charge.amount,
            entry_date=today,
            envelope_amount=-charge.envelope_amount,
            envelope=charge.envelope,
            reverses=charge,
            reason="Erreur de saisie.",
            recorded_at=timezone.now(),
        )
    ledger.payment_record(loan=loan, amount="7", method="cash", paid_on=today, by=alice)
    days = [today - timedelta(days=days) for days in range(0, 120, 5)]
    expected = assert_sql_agrees_with_statement([loan], days)
    # Months 1 and 3 are gone, month 2 is paid: month 4 is owed.
    assert expected[loan.pk]["owed_since"] == charges[3].entry_date


# --- The page and its CSV --------------------------------------------------------------------


def owing_loans(alice, body, count, *, days_ago=70):
    """`count` loans in arrears, billed up to today."""
    today = timezone.localdate()
    course = CourseFactory(
        training_body=body,
        start_date=today - timedelta(days=days_ago),
        end_date=today + timedelta(days=60),
    )
    loans = []
    for _ in range(count):
        loan = make_loan(TraineeFactory(course=course), by=alice, status=Loan.Status.ACTIVE)
        loans.append(loan)
    Loan.objects.filter(pk__in=[loan.pk for loan in loans]).update(
        start_date=today - timedelta(days=days_ago)
    )
    ledger.bill_fees(until=today)
    return loans


def pay(loan, amount, by):
    return ledger.payment_record(
        loan=loan, amount=amount, method="cash", paid_on=timezone.localdate(), by=by
    )


def rows(response):
    return [loan.number for loan in response.context["page_obj"]]


def read_csv(response):
    text = response.content.decode("utf-8").lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text), delimiter=";"))[1:]


def test_the_pages_and_the_totals_cover_every_row(client, alice, agora):
    loans = owing_loans(alice, agora, PAGE_SIZE + 3)
    pay(loans[0], "3", alice)
    client.force_login(alice)
    url = reverse("loans:arrears")
    first = client.get(url)
    second = client.get(url, {"page": "2"})
    assert len(rows(first)) == PAGE_SIZE and len(rows(second)) == 3
    assert set(rows(first)) | set(rows(second)) == {loan.number for loan in loans}
    assert rows(second)[-1] == loans[0].number  # the smallest amount owed last
    expected_total = Decimal("21.00") * len(loans) - Decimal("3.00")
    for response in (first, second):
        assert response.context["totals"] == {"count": len(loans), "owed": expected_total}
    # As Paginator.get_page: past the last page, the last one; not a number, the first.
    assert rows(client.get(url, {"page": "99"})) == rows(second)
    assert rows(client.get(url, {"page": "0"})) == rows(second)
    assert rows(client.get(url, {"page": "deux"})) == rows(first)
    assert rows(client.get(url, {"page": "9" * 30})) == rows(second)


@pytest.mark.parametrize(
    "query",
    [{}, {"sort": "oldest"}, {"owed_for": "1"}, {"owed_for": "2", "sort": "oldest"}],
)
def test_the_csv_says_what_the_page_says(client, alice, agora, askoria, query):
    owing_loans(alice, agora, 3)
    older = owing_loans(alice, askoria, 2, days_ago=100)
    pay(older[0], "10", alice)
    client.force_login(alice)
    page = client.get(reverse("loans:arrears"), query)
    exported = read_csv(client.get(reverse("loans:arrears_csv"), query))
    assert [row[0] for row in exported] == rows(page)
    for row, loan in zip(exported, page.context["page_obj"], strict=True):
        assert row[6] == f"{loan.balance:.2f}".replace(".", ",")
        assert row[7] == loan.account.oldest_unpaid.start.strftime("%d/%m/%Y")
        assert row[8] == str(loan.months_unpaid)
        assert row[9] == (loan.last_paid_on.strftime("%d/%m/%Y") if loan.last_paid_on else "")


def test_the_query_count_stays_the_same_with_every_filter(client, alice, agora, askoria):
    owing_loans(alice, agora, 4)
    owing_loans(alice, askoria, 2, days_ago=100)
    client.force_login(alice)
    course = Loan.objects.filter(course__training_body=agora).first().course
    queries = [
        {},
        {"sort": "oldest"},
        {"owed_for": "3"},
        {"training_body": agora.pk, "sort": "oldest", "owed_for": "1"},
        {"course": course.pk, "page": "2"},
    ]
    for query in queries:
        with CaptureQueriesContext(connection) as counted:
            response = client.get(reverse("loans:arrears"), query)
        assert response.status_code == 200
        sql = [q["sql"] for q in counted.captured_queries if "SAVEPOINT" not in q["sql"]]
        # The session, the user, whether a coordinator, (PostgreSQL: JIT off,) the rows, their
        # loans, their lines, the bodies and the courses of the filters, and the body and the
        # course chosen, checked.
        assert len(sql) <= 11, sql
