import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from defis.models import Association, User
from defis.permissions import STAFF_GROUP_NAME, Role, role_of
from inventory import services
from inventory.models import Donation, Donor, Laptop, LaptopStatusChange, Repair, WipeRecord
from loans import envelopes, ledger
from loans.demo import ENVELOPE_NAME, WAIVER_REASON
from loans.models import BudgetEnvelope, FeeEntry, Loan, LoanEvent, LoanRequest
from trainees.models import (
    Attendance,
    Coordinator,
    Course,
    Territory,
    Trainee,
    TrainingBody,
    Workshop,
)

pytestmark = pytest.mark.django_db

COUNTED = (
    Association,
    User,
    Territory,
    TrainingBody,
    Coordinator,
    Group,
    Donor,
    Donation,
    Laptop,
    LaptopStatusChange,
    WipeRecord,
    Repair,
    Course,
    Trainee,
    Workshop,
    Attendance,
    LoanRequest,
    Loan,
    LoanEvent,
    BudgetEnvelope,
    FeeEntry,
)


def _counts():
    return {model.__name__: model.objects.count() for model in COUNTED}


def test_it_gives_the_same_counts_when_run_twice():
    call_command("seed_demo", stdout=None)
    first = _counts()
    call_command("seed_demo")
    assert _counts() == first
    assert {name: first[name] for name in list(first)[:6]} == {
        "Association": 1,
        "User": 4,
        "Territory": 3,
        "TrainingBody": 7,
        "Coordinator": 2,
        "Group": 1,
    }


def test_it_fills_the_inventory_with_laptops_in_every_status():
    call_command("seed_demo")
    laptops = Laptop.objects.all()
    assert 90 <= laptops.count() <= 110
    statuses = set(laptops.values_list("status", flat=True))
    assert statuses == set(Laptop.Status.values)
    lendable = laptops.filter(status__in=["ready", "reserved", "on_loan"]).count()
    assert lendable > laptops.count() / 2
    assert Donor.objects.filter(kind=Donor.Kind.LOCAL_AUTHORITY).exists()
    assert Donor.objects.filter(kind=Donor.Kind.COMPANY).count() >= 2
    assert Repair.objects.exists()
    assert len(set(laptops.values_list("brand", flat=True))) >= 4


@pytest.mark.parametrize("runs", [1, 2])
def test_its_laptops_went_through_the_lifecycle(runs):
    for _run in range(runs):
        call_command("seed_demo")
    today = timezone.now()
    for laptop in Laptop.objects.prefetch_related("status_changes"):
        changes = list(laptop.status_changes.all())[::-1]
        assert changes[0].from_status == "" and changes[0].to_status == "intake"
        assert changes[-1].to_status == laptop.status
        for before, after in itertools.pairwise(changes):
            assert after.from_status == before.to_status
            assert before.to_status in Laptop.TRANSITIONS and (
                after.to_status in Laptop.TRANSITIONS[before.to_status]
            )
        assert all(change.changed_at <= today for change in changes)
        if laptop.status == "ready":
            assert not services.wipe_is_pending(laptop), laptop.asset_tag
        if laptop.status == "returned":
            assert services.wipe_is_pending(laptop), laptop.asset_tag


def test_it_creates_the_seven_partners_of_the_article():
    call_command("seed_demo")
    assert sorted(TrainingBody.objects.values_list("name", flat=True)) == [
        "AFPA",
        "AMISEP",
        "ASKORIA",
        "Agora Services",
        "CLPS",
        "IBEP",
        "Sauvegarde 56",
    ]
    assert sorted(Territory.objects.values_list("name", flat=True)) == [
        "Pays d'Auray",
        "Pays de Lorient",
        "Pays de Vannes",
    ]


def test_it_records_the_association_identity_of_the_article():
    call_command("seed_demo")
    association = Association.objects.current()
    assert association.name == "Association Défis"
    assert association.address_lines == ["8 rue du Général Leclerc", "56600 Lanester"]
    assert association.phone.as_national == "02 97 76 34 91"
    assert association.website == "https://www.defis.info"


def test_it_creates_the_four_demo_accounts_with_their_roles(client):
    call_command("seed_demo")
    users = {user.username: user for user in User.objects.all()}
    assert users["admin"].is_superuser
    assert role_of(users["equipe"]) is Role.STAFF
    assert not users["equipe"].is_superuser
    assert users["equipe"].groups.filter(name=STAFF_GROUP_NAME).exists()
    assert users["agora"].coordinator.training_body.name == "Agora Services"
    assert users["askoria"].coordinator.training_body.name == "ASKORIA"
    assert not users["agora"].is_staff and not users["askoria"].is_staff
    for username in users:
        response = client.post(reverse("login"), {"username": username, "password": "defis-demo"})
        assert response.status_code == 302, username
        client.post(reverse("logout"))


def test_it_restores_a_demo_account_that_was_changed():
    call_command("seed_demo")
    agora = User.objects.get(username="agora")
    agora.is_active = False
    agora.set_password("something else entirely")
    agora.save()
    call_command("seed_demo")
    agora.refresh_from_db()
    assert agora.is_active
    assert agora.check_password("defis-demo")


@override_settings(DEFIS_DEMO_DATA_ALLOWED=False)
def test_it_refuses_to_create_demo_accounts_in_production():
    with pytest.raises(CommandError, match="DJANGO_ALLOW_DEMO_DATA"):
        call_command("seed_demo")
    assert User.objects.count() == 0


def test_it_enrols_the_first_distribution_of_prepa_avenir_jeunes_at_agora():
    call_command("seed_demo")
    course = Course.objects.get(title="PRÉPA Avenir Jeunes Lanester")
    assert course.training_body.name == "Agora Services"
    assert course.programme == "PRÉPA Avenir Jeunes" and course.town == "Lanester"
    assert course.length_in_months == 5
    trainees = list(course.trainees.all())
    assert len(trainees) == 8
    ages = [trainee.age_at_course_start for trainee in trainees]
    assert min(ages) >= 16 and max(ages) <= 25
    minors = [trainee for trainee in trainees if trainee.is_minor]
    assert len(minors) == 2
    for trainee in trainees:
        trainee.full_clean()  # guardians complete for the minors
    # Approved, then each turned into a loan.
    assert {r.status for r in LoanRequest.objects.filter(trainee__course=course)} == {"fulfilled"}


def test_it_makes_requests_in_every_open_and_closed_state_and_a_few_workshops():
    call_command("seed_demo")
    statuses = set(LoanRequest.objects.values_list("status", flat=True))
    assert statuses == set(LoanRequest.Status.values)
    bodies = set(LoanRequest.objects.values_list("trainee__course__training_body", flat=True))
    assert len(bodies) >= 4
    # Reserved for an approved request, or for the loan prepared from one.
    reserved = Laptop.objects.filter(status="reserved")
    approved = LoanRequest.objects.filter(status="approved")
    prepared = Loan.objects.filter(status="prepared")
    assert set(reserved) == {r.laptop for r in approved} | {loan.laptop for loan in prepared}
    assert Workshop.objects.count() >= 3
    assert Attendance.objects.filter(present=False).exists()


# --- Loans ----------------------------------------------------------------------------------


def test_it_lends_laptops_to_the_eight_lanester_trainees_on_a_tuesday():
    call_command("seed_demo")
    today = timezone.localdate()
    course = Course.objects.get(title="PRÉPA Avenir Jeunes Lanester")
    loans = list(Loan.objects.filter(course=course).select_related("agreement_template"))
    assert {loan.trainee for loan in loans} == set(course.trainees.all())
    assert len(loans) == 8
    (handover_day,) = {loan.start_date for loan in loans}
    assert handover_day.weekday() == 1  # a Tuesday
    # In the course's first week: a five-month course is a five-month loan.
    assert course.start_date <= handover_day <= course.start_date + timedelta(days=6) < today
    for loan in loans:
        assert loan.status == "active"
        handed_over = loan.events.get(kind="handed_over")
        assert handed_over.on == handover_day
        assert timezone.localdate(handed_over.at) == handover_day
        assert timezone.localdate(loan.handed_over_at) == handover_day
        assert loan.agreement_pdf and loan.agreement_template.version == 1
    assert {loan.months for loan in loans if loan.planned_end_date == course.end_date} == {5}
    (extended,) = [loan for loan in loans if loan.planned_end_date > course.end_date]
    assert extended.events.get(kind="extended").note.startswith("Du ")


def test_its_loans_include_returns_a_loss_a_theft_an_overdue_an_ending_and_a_coming_handover():
    call_command("seed_demo")
    today = timezone.localdate()
    (overdue,) = Loan.objects.overdue(today=today)
    assert overdue.course.end_date < today  # a finished course
    returned = Loan.objects.filter(outcome="returned")
    assert returned.count() >= 2
    # Back, then wiped and ready again; or back and waiting for its wipe.
    assert {loan.laptop.status for loan in returned} == {"ready", "returned"}
    assert Loan.objects.filter(outcome="lost").count() == 1
    (stolen,) = Loan.objects.filter(outcome="stolen")
    assert stolen.police_report_reference
    assert Loan.objects.ending_soon(today=today, days=14).exists()
    (prepared,) = Loan.objects.filter(status="prepared")
    assert prepared.start_date > today and prepared.start_date.weekday() == 1
    assert Loan.objects.filter(left_course_on__isnull=False).exists()


def test_every_laptop_out_of_the_workshop_has_the_loan_that_took_it():
    call_command("seed_demo")
    for laptop in Laptop.objects.filter(status="on_loan"):
        assert laptop.loans.filter(status="active").count() == 1, laptop.asset_tag
    assert not Loan.objects.active().exclude(laptop__status="on_loan").exists()
    for status in ("lost", "stolen", "returned"):
        for laptop in Laptop.objects.filter(status=status):
            last = laptop.loans.order_by("-closed_at").first()
            assert (last.status, last.outcome) == ("closed", status), laptop.asset_tag


def test_its_loan_histories_read_in_order_and_lie_in_the_past():
    call_command("seed_demo")
    now = timezone.now()
    for loan in Loan.objects.prefetch_related("events"):
        events = list(loan.events.all())  # by time recorded
        assert events[0].kind == "prepared"
        assert all(event.at <= now and event.on <= timezone.localdate(now) for event in events)
        assert [event.at for event in events] == sorted(event.at for event in events)
        assert loan.prepared_at <= (loan.handed_over_at or now) <= (loan.closed_at or now)
        if loan.status != "prepared":
            assert loan.start_date <= timezone.localdate(now)


# --- Money ----------------------------------------------------------------------------------


def test_it_bills_every_month_begun_up_to_today():
    call_command("seed_demo")
    today = timezone.localdate()
    for loan in Loan.objects.filter(handed_over_at__isnull=False):
        periods = loan.fee_entries.filter(kind="charge").values_list("period", flat=True)
        assert sorted(periods) == list(range(1, loan.periods_due(until=today) + 1)), loan.number
    assert not FeeEntry.objects.filter(loan__status="prepared").exists()
    assert ledger.bill_fees(until=today) == 0
    now = timezone.now()
    assert not FeeEntry.objects.filter(recorded_at__gt=now).exists()
    assert not FeeEntry.objects.filter(entry_date__gt=today).exists()


def test_its_trainees_pay_in_every_way_and_staff_receive_it():
    call_command("seed_demo")
    staff = User.objects.get(username="equipe")
    payments = FeeEntry.objects.filter(kind="payment")
    assert set(payments.values_list("method", flat=True)) == set(FeeEntry.Method.values)
    assert set(payments.values_list("received_by", flat=True)) == {staff.pk}
    assert set(payments.values_list("recorded_by", flat=True)) == {staff.pk}
    assert not payments.filter(method__in=["cheque", "transfer"], reference="").exists()
    # The training body pays several months at once.
    (paid_by_body,) = payments.filter(method="training_body")
    assert -paid_by_body.amount >= 3 * paid_by_body.loan.monthly_fee
    # Each payment some days after the month it pays began.
    for payment in payments.exclude(method="training_body"):
        assert payment.loan.start_date < payment.entry_date


def test_it_records_one_waiver_and_one_reversal_of_a_cheque_typed_twice():
    call_command("seed_demo")
    (waiver,) = FeeEntry.objects.filter(kind="waiver")
    assert waiver.reason == WAIVER_REASON and waiver.amount < 0
    (reversal,) = FeeEntry.objects.filter(kind="reversal")
    cheque = reversal.reverses
    assert (cheque.kind, cheque.method) == ("payment", "cheque")
    assert reversal.amount == -cheque.amount
    assert reversal.entry_date == cheque.entry_date + timedelta(days=1)
    assert cheque.reference in reversal.reason
    # The same cheque was recorded twice: one copy stands.
    copies = FeeEntry.objects.filter(loan=cheque.loan, reference=cheque.reference)
    assert copies.filter(kind="payment").count() == 2
    assert ledger.statement(cheque.loan).paid == cheque.loan.monthly_fee * len(
        ledger.statement(cheque.loan).periods
    )


def test_most_trainees_owe_nothing_and_one_is_months_behind():
    call_command("seed_demo")
    today = timezone.localdate()
    loans = list(Loan.objects.filter(handed_over_at__isnull=False))
    accounts = {loan: ledger.statement(loan) for loan in loans}
    owing_nothing = [loan for loan, account in accounts.items() if account.owed == 0]
    assert len(owing_nothing) > 3 * len(loans) / 4
    in_arrears = [
        loan
        for loan, account in accounts.items()
        if account.owed >= 3 * loan.monthly_fee
        and account.oldest_unpaid.start < today - timedelta(days=60)
    ]
    assert len(in_arrears) == 1
    assert sum(1 for account in accounts.values() if account.in_advance) == 1


def test_its_envelope_figures_add_up_with_the_ledger():
    call_command("seed_demo")
    envelope = BudgetEnvelope.objects.get(name=ENVELOPE_NAME)
    assert (envelope.funder, envelope.amount) == ("Région Bretagne", Decimal("15000.00"))
    assert (envelope.trainee_fee, envelope.funder_share) == (Decimal("7.00"), Decimal("30.00"))
    assert set(Loan.objects.values_list("envelope", flat=True)) == {envelope.pk}
    charges = FeeEntry.objects.filter(kind="charge", reversed_by__isnull=True)
    figures = envelopes.figures(envelope)
    assert figures.consumed == charges.count() * Decimal("30.00")
    remaining = sum(
        max(loan.planned_periods - loan.fee_entries.filter(kind="charge").count(), 0)
        for loan in Loan.objects.open()
    )
    assert figures.committed == remaining * Decimal("30.00")
    assert Decimal("0") < figures.available < envelope.amount
