"""Every move of a loan, and every refusal (loans.lending)."""

from datetime import date, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.models import Laptop
from loans import lending, services
from loans.models import Loan, LoanEvent, LoanRequest
from tests.factories import (
    CourseFactory,
    TraineeFactory,
    make_laptop,
    make_loan,
    make_request,
    minor_trainee,
)

pytestmark = pytest.mark.django_db

Status = Loan.Status


def today():
    return timezone.localdate()


def codes(error) -> list[str]:
    return [item.code for item in error.value.error_list]


def kinds(loan) -> list[str]:
    return list(loan.events.values_list("kind", flat=True))


# --- Preparation ------------------------------------------------------------------------------


def test_preparing_an_approved_request_makes_a_numbered_loan_and_fulfils_the_request(alice):
    trainee = TraineeFactory()
    request = make_request(trainee, by=alice, status=LoanRequest.Status.APPROVED)

    loan = lending.loan_prepare(request=request, by=alice)

    assert loan.number == f"PRET-{today().year}-0001"
    assert loan.status == Status.PREPARED
    assert (loan.laptop, loan.trainee, loan.course) == (request.laptop, trainee, trainee.course)
    assert loan.start_date == today()
    assert loan.planned_end_date == trainee.course.end_date
    assert loan.monthly_fee == lending.Loan._meta.get_field("monthly_fee").default
    assert loan.accessories_out == ["charger"]
    assert loan.condition_out == "B : légères traces d’usage"
    request.refresh_from_db()
    assert request.status == LoanRequest.Status.FULFILLED
    assert request.events.first().to_status == LoanRequest.Status.FULFILLED
    assert kinds(loan) == [LoanEvent.Kind.PREPARED]
    laptop = Laptop.objects.get(pk=loan.laptop_id)
    assert laptop.status == Laptop.Status.RESERVED


def test_loan_numbers_follow_on_within_a_year(alice):
    first = make_loan(by=alice)
    second = make_loan(by=alice)
    year = today().year
    assert (first.number, second.number) == (f"PRET-{year}-0001", f"PRET-{year}-0002")


@pytest.mark.parametrize(
    "status", [LoanRequest.Status.SUBMITTED, LoanRequest.Status.WAITLISTED, "rejected"]
)
def test_only_an_approved_request_becomes_a_loan(alice, status):
    request = make_request(TraineeFactory(), by=alice, status=status)
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_prepare(request=request, by=alice)
    assert codes(refused) == ["not_approved"]
    assert not Loan.objects.exists()


def test_a_request_cannot_be_prepared_twice(alice):
    loan = make_loan(by=alice)
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_prepare(request=loan.request, by=alice)
    assert codes(refused) == ["not_approved"]
    assert Loan.objects.count() == 1


def test_preparation_refuses_dates_that_make_no_sense(alice):
    trainee = TraineeFactory()
    request = make_request(trainee, by=alice, status=LoanRequest.Status.APPROVED)
    end = trainee.course.end_date
    cases = [
        ({"start_date": today() - timedelta(days=1)}, "start_date"),
        ({"start_date": end + timedelta(days=1)}, "start_date"),
        (
            {"start_date": today() + timedelta(days=5), "planned_end_date": today()},
            "planned_end_date",
        ),
    ]
    for fields, code in cases:
        with pytest.raises(lending.LoanError) as refused:
            lending.loan_prepare(request=request, by=alice, **fields)
        assert codes(refused) == [code], fields
    assert not Loan.objects.exists()


def test_preparation_refuses_an_unknown_accessory(alice):
    request = make_request(TraineeFactory(), by=alice, status=LoanRequest.Status.APPROVED)
    with pytest.raises(lending.LoanError):
        lending.loan_prepare(request=request, by=alice, accessories=["charger", "printer"])
    assert not Loan.objects.exists()


def test_a_minor_without_a_guardian_on_the_start_date_is_refused(alice):
    """Adult on the course's first day (no guardian asked), but lent the laptop earlier."""
    course = CourseFactory(start_date=today() + timedelta(days=20))
    trainee = TraineeFactory(course=course, birth_date=today() - timedelta(days=365 * 18 - 10))
    assert not trainee.is_minor
    request = make_request(trainee, by=alice, status=LoanRequest.Status.APPROVED)

    with pytest.raises(lending.LoanError) as refused:
        lending.loan_prepare(request=request, by=alice)

    assert codes(refused) == ["guardian"]
    # Lent once they are 18, no guardian is needed.
    loan = lending.loan_prepare(request=request, by=alice, start_date=today() + timedelta(days=15))
    assert not loan.trainee_is_minor


def test_a_trainee_with_an_open_loan_cannot_ask_for_another_laptop(alice, bob, agora):
    trainee = TraineeFactory(course=CourseFactory(training_body=agora))
    loan = make_loan(trainee, by=alice)

    with pytest.raises(services.RequestError) as refused:
        services.request_submit(
            trainee=trainee, needed_by=today(), justification="Encore un", by=bob
        )

    assert loan.number in refused.value.messages[0]
    assert trainee.loan_requests.count() == 1
    # Once the loan is closed, a new request is possible.
    lending.loan_hand_over(loan=loan, on=today(), by=alice)
    lending.loan_return(loan=loan, on=today(), by=alice, accessories=["charger"])
    services.request_submit(trainee=trainee, needed_by=today(), justification="Nouveau", by=bob)


def test_the_database_refuses_two_open_loans_for_one_laptop_or_one_trainee(alice):
    loan = make_loan(by=alice)
    other = make_request(TraineeFactory(), by=alice, status=LoanRequest.Status.APPROVED)
    duplicate = {
        "number": "PRET-X",
        "request": other,
        "trainee": other.trainee,
        "course": other.trainee.course,
        "start_date": today(),
        "planned_end_date": today(),
        "prepared_at": timezone.now(),
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        Loan.objects.create(**duplicate, laptop=loan.laptop)
    with pytest.raises(IntegrityError), transaction.atomic():
        Loan.objects.create(**{**duplicate, "trainee": loan.trainee}, laptop=other.laptop)


# --- Cancellation -----------------------------------------------------------------------------


def test_cancelling_a_prepared_loan_makes_the_laptop_ready_again(alice):
    loan = make_loan(by=alice)

    lending.loan_cancel(loan=loan, reason="Ne viendra pas", by=alice)

    loan.refresh_from_db()
    assert loan.status == Status.CANCELLED
    assert Laptop.objects.get(pk=loan.laptop_id).status == Laptop.Status.READY
    assert kinds(loan)[-1] == LoanEvent.Kind.CANCELLED
    assert loan.events.last().note == "Ne viendra pas"


def test_a_cancellation_needs_a_reason_and_a_prepared_loan(alice):
    loan = make_loan(by=alice)
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_cancel(loan=loan, reason="  ", by=alice)
    assert codes(refused) == ["reason"]

    active = make_loan(by=alice, status=Status.ACTIVE)
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_cancel(loan=active, reason="Trop tard", by=alice)
    assert codes(refused) == ["forbidden_move"]
    active.refresh_from_db()
    assert active.status == Status.ACTIVE


# --- Handover ---------------------------------------------------------------------------------


def test_handing_over_signs_the_agreement_and_puts_the_laptop_on_loan(alice):
    loan = make_loan(by=alice)

    lending.loan_hand_over(
        loan=loan, on=today(), by=alice, accessories=["charger", "bag"], condition="Bon état"
    )

    loan.refresh_from_db()
    assert loan.status == Status.ACTIVE
    assert loan.handed_over_at is not None
    assert loan.accessories_out == ["charger", "bag"]
    assert loan.condition_out == "Bon état"
    assert loan.agreement_template.version == 1
    assert loan.agreement_pdf.name.startswith("agreements/")
    assert loan.number not in loan.agreement_pdf.name  # a random name, not a guessable one
    with loan.agreement_pdf.open("rb") as file:
        assert file.read(5) == b"%PDF-"
    assert len(loan.agreement_sha256) == 64
    assert Laptop.objects.get(pk=loan.laptop_id).status == Laptop.Status.ON_LOAN
    assert kinds(loan) == [LoanEvent.Kind.PREPARED, LoanEvent.Kind.HANDED_OVER]
    assert loan.events.last().note == "chargeur, sacoche"


def test_a_handover_on_an_earlier_day_starts_the_loan_that_day(alice):
    loan = make_loan(by=alice)
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        lending.loan_hand_over(loan=loan, on=loan.start_date + timedelta(days=1), by=alice)
    loan.refresh_from_db()
    assert loan.start_date == today() + timedelta(days=1)
    assert loan.events.last().on == loan.start_date


def test_a_handover_is_refused_in_the_future_twice_or_once_cancelled(alice):
    loan = make_loan(by=alice)
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_hand_over(loan=loan, on=today() + timedelta(days=1), by=alice)
    assert codes(refused) == ["future"]

    lending.loan_hand_over(loan=loan, on=today(), by=alice)
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_hand_over(loan=loan, on=today(), by=alice)
    assert codes(refused) == ["already_handed_over"]

    cancelled = make_loan(by=alice, status=Status.CANCELLED)
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_hand_over(loan=cancelled, on=today(), by=alice)
    assert codes(refused) == ["forbidden_move"]
    assert LoanEvent.objects.filter(kind=LoanEvent.Kind.HANDED_OVER).count() == 1


def test_handing_over_several_loans_is_all_or_nothing(alice):
    course = CourseFactory()
    fine = make_loan(TraineeFactory(course=course), by=alice)
    already = make_loan(TraineeFactory(course=course), by=alice, status=Status.ACTIVE)

    with pytest.raises(lending.LoanError) as refused:
        lending.loans_hand_over(loans=[fine, already], on=today(), by=alice)

    assert already.number in " ".join(refused.value.messages)
    fine.refresh_from_db()
    assert fine.status == Status.PREPARED
    assert not fine.agreement_pdf
    assert Laptop.objects.get(pk=fine.laptop_id).status == Laptop.Status.RESERVED

    done = lending.loans_hand_over(loans=[fine], on=today(), by=alice)
    assert [loan.status for loan in done] == [Status.ACTIVE]


def test_a_failed_handover_leaves_no_agreement_file_behind(alice, settings):
    fine = make_loan(by=alice)
    already = make_loan(by=alice, status=Status.ACTIVE)
    folder = settings.MEDIA_ROOT / "agreements"
    before = sorted(folder.rglob("*.pdf"))

    with pytest.raises(lending.LoanError):
        lending.loans_hand_over(loans=[fine, already], on=today(), by=alice)

    assert sorted(folder.rglob("*.pdf")) == before


# --- While on loan ----------------------------------------------------------------------------


def test_an_extension_moves_the_planned_end_with_its_reason(alice):
    loan = make_loan(by=alice, status=Status.ACTIVE)
    until = loan.planned_end_date + timedelta(days=30)

    lending.loan_extend(loan=loan, until=until, reason="Formation prolongée", by=alice)

    loan.refresh_from_db()
    assert loan.planned_end_date == until
    event = loan.events.last()
    assert event.kind == LoanEvent.Kind.EXTENDED
    assert "Formation prolongée" in event.note


def test_an_extension_needs_a_reason_a_later_date_and_an_active_loan(alice):
    loan = make_loan(by=alice, status=Status.ACTIVE)
    end = loan.planned_end_date
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_extend(loan=loan, until=end + timedelta(days=9), reason="", by=alice)
    assert codes(refused) == ["reason"]
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_extend(loan=loan, until=end, reason="Pourquoi pas", by=alice)
    assert codes(refused) == ["until"]
    prepared = make_loan(by=alice)
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_extend(loan=prepared, until=end + timedelta(days=9), reason="x", by=alice)
    assert codes(refused) == ["forbidden_move"]
    loan.refresh_from_db()
    assert loan.planned_end_date == end


def test_a_departure_brings_the_end_forward_and_forbids_an_extension(alice, bob, agora):
    trainee = TraineeFactory(course=CourseFactory(training_body=agora))
    loan = make_loan(trainee, by=alice, status=Status.ACTIVE)
    with time_machine.travel(timezone.now() + timedelta(days=10)):
        left_on = today() - timedelta(days=2)
        lending.loan_end_early(loan=loan, left_on=left_on, by=bob, note="A trouvé un emploi")
        loan.refresh_from_db()
        assert loan.left_course_on == left_on
        assert loan.planned_end_date == left_on
        assert loan.is_overdue(today=today())
        assert loan.status == Status.ACTIVE  # the laptop is still to come back
        with pytest.raises(lending.LoanError) as refused:
            lending.loan_extend(loan=loan, until=left_on + timedelta(days=60), reason="x", by=alice)
        assert codes(refused) == ["left_course"]
        with pytest.raises(lending.LoanError) as refused:
            lending.loan_end_early(loan=loan, left_on=left_on, by=bob)
        assert codes(refused) == ["already_reported"]


def test_a_departure_before_the_handover_cancels_the_loan(alice, bob, agora):
    trainee = TraineeFactory(course=CourseFactory(training_body=agora))
    loan = make_loan(trainee, by=alice)

    lending.loan_end_early(loan=loan, left_on=today(), by=bob)

    loan.refresh_from_db()
    assert loan.status == Status.CANCELLED
    assert Laptop.objects.get(pk=loan.laptop_id).status == Laptop.Status.READY


def test_a_coordinator_reports_departures_of_their_own_trainees_only(alice, charlie):
    loan = make_loan(by=alice, status=Status.ACTIVE)
    with pytest.raises(lending.PermissionDenied):
        lending.loan_end_early(loan=loan, left_on=today(), by=charlie)
    loan.refresh_from_db()
    assert loan.left_course_on is None


def test_a_departure_cannot_be_dated_in_the_future_or_before_the_handover(alice):
    loan = make_loan(by=alice, status=Status.ACTIVE)
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_end_early(loan=loan, left_on=today() + timedelta(days=1), by=alice)
    assert codes(refused) == ["future"]
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_end_early(loan=loan, left_on=today() - timedelta(days=1), by=alice)
    assert codes(refused) == ["left_on"]


# --- Closing ----------------------------------------------------------------------------------


def test_a_return_closes_the_loan_and_sends_the_laptop_to_be_wiped(alice):
    loan = make_loan(by=alice, status=Status.ACTIVE, accessories=["charger", "mouse"])

    lending.loan_return(
        loan=loan,
        on=today(),
        by=alice,
        accessories=["charger"],
        condition="Rayures",
        damage="Touche Échap manquante",
    )

    loan.refresh_from_db()
    assert (loan.status, loan.outcome, loan.return_date) == (
        Status.CLOSED,
        Loan.Outcome.RETURNED,
        today(),
    )
    assert loan.missing_accessories == ["souris"]
    assert loan.events.last().note == "Manquant : souris. Dommages : Touche Échap manquante"
    laptop = Laptop.objects.get(pk=loan.laptop_id)
    assert laptop.status == Laptop.Status.RETURNED
    # No trainee's data reaches the next one: ready again only after a wipe.
    from inventory import services as inventory_services
    from tests.factories import wipe

    with pytest.raises(inventory_services.LaptopMoveError):
        inventory_services.laptop_change_status(
            laptop=laptop, to_status=Laptop.Status.READY, by=alice
        )
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        wipe(laptop, by=alice)
        inventory_services.laptop_change_status(
            laptop=laptop, to_status=Laptop.Status.READY, by=alice
        )
    assert Laptop.objects.get(pk=loan.laptop_id).status == Laptop.Status.READY


def test_a_return_is_refused_before_the_handover_in_the_future_or_twice(alice):
    prepared = make_loan(by=alice)
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_return(loan=prepared, on=today(), by=alice, accessories=[])
    assert codes(refused) == ["forbidden_move"]

    loan = make_loan(by=alice, status=Status.ACTIVE)
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_return(loan=loan, on=today() + timedelta(days=1), by=alice, accessories=[])
    assert codes(refused) == ["future"]
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_return(loan=loan, on=today() - timedelta(days=1), by=alice, accessories=[])
    assert codes(refused) == ["return_date"]

    lending.loan_return(loan=loan, on=today(), by=alice, accessories=[])
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_return(loan=loan, on=today(), by=alice, accessories=[])
    assert codes(refused) == ["forbidden_move"]


@pytest.mark.parametrize(
    ("outcome", "laptop_status", "kind"),
    [
        (Loan.Outcome.LOST, Laptop.Status.LOST, LoanEvent.Kind.LOST),
        (Loan.Outcome.STOLEN, Laptop.Status.STOLEN, LoanEvent.Kind.STOLEN),
        (Loan.Outcome.WRITTEN_OFF, Laptop.Status.LOST, LoanEvent.Kind.WRITTEN_OFF),
    ],
)
def test_a_laptop_that_will_not_come_back_closes_the_loan(alice, outcome, laptop_status, kind):
    loan = make_loan(by=alice, status=Status.ACTIVE)

    lending.loan_report_loss(
        loan=loan,
        outcome=outcome,
        on=today(),
        police_report_reference="PV 2026/123",
        note="Injoignable depuis deux mois",
        by=alice,
    )

    loan.refresh_from_db()
    assert (loan.status, loan.outcome) == (Status.CLOSED, outcome)
    assert Laptop.objects.get(pk=loan.laptop_id).status == laptop_status
    assert loan.events.last().kind == kind


def test_a_theft_needs_the_police_report_and_a_write_off_a_reason(alice):
    loan = make_loan(by=alice, status=Status.ACTIVE)
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_report_loss(loan=loan, outcome="stolen", on=today(), by=alice)
    assert codes(refused) == ["police_report"]
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_report_loss(loan=loan, outcome="written_off", on=today(), by=alice)
    assert codes(refused) == ["reason"]
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_report_loss(loan=loan, outcome="returned", on=today(), by=alice)
    assert codes(refused) == ["outcome"]
    loan.refresh_from_db()
    assert loan.status == Status.ACTIVE
    assert Laptop.objects.get(pk=loan.laptop_id).status == Laptop.Status.ON_LOAN


# --- The signed scan --------------------------------------------------------------------------


def scan(content=b"%PDF-1.7 signed agreement", name="convention signée.pdf"):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def test_the_signed_scan_is_kept_under_a_random_name(alice):
    loan = make_loan(by=alice, status=Status.ACTIVE)

    lending.loan_attach_scan(loan=loan, upload=scan(), by=alice)

    loan.refresh_from_db()
    assert loan.signed_scan.name.startswith("signed-scans/")
    assert "convention" not in loan.signed_scan.name
    with loan.signed_scan.open("rb") as file:
        assert file.read() == b"%PDF-1.7 signed agreement"
    assert loan.events.last().kind == LoanEvent.Kind.SCAN_ATTACHED


def test_a_new_scan_replaces_the_old_file(alice, django_capture_on_commit_callbacks):
    loan = make_loan(by=alice, status=Status.ACTIVE)
    lending.loan_attach_scan(loan=loan, upload=scan(), by=alice)
    loan.refresh_from_db()
    old = loan.signed_scan.name

    with django_capture_on_commit_callbacks(execute=True):
        lending.loan_attach_scan(loan=loan, upload=scan(b"%PDF-1.7 v2"), by=alice)

    loan.refresh_from_db()
    assert loan.signed_scan.name != old
    assert not loan.signed_scan.storage.exists(old)


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"GIF89a not a pdf", "not_pdf"), (b"", "not_pdf"), (b"%PDF-" + b"0" * 64, "too_big")],
)
def test_a_scan_that_is_not_a_small_pdf_is_refused(alice, monkeypatch, content, code):
    monkeypatch.setattr(lending, "MAX_SCAN_BYTES", 32)
    loan = make_loan(by=alice, status=Status.ACTIVE)
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_attach_scan(loan=loan, upload=scan(content), by=alice)
    assert codes(refused) == [code]
    loan.refresh_from_db()
    assert not loan.signed_scan


def test_a_scan_waits_for_the_handover(alice):
    loan = make_loan(by=alice)
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_attach_scan(loan=loan, upload=scan(), by=alice)
    assert codes(refused) == ["not_signed"]


# --- Querysets --------------------------------------------------------------------------------


def test_overdue_and_ending_soon(alice):
    soon = make_loan(by=alice, status=Status.ACTIVE, planned_end_date=today() + timedelta(days=3))
    later = make_loan(by=alice, status=Status.ACTIVE)
    make_loan(by=alice, planned_end_date=today() + timedelta(days=3))  # prepared: neither
    assert list(Loan.objects.ending_soon(today=today())) == [soon]
    in_a_week = today() + timedelta(days=7)
    assert list(Loan.objects.overdue(today=in_a_week)) == [soon]
    assert soon.is_overdue(today=in_a_week) and not later.is_overdue(today=in_a_week)


def test_a_coordinator_sees_their_own_trainees_loans_only(alice, bob, charlie, agora):
    own = make_loan(TraineeFactory(course=CourseFactory(training_body=agora)), by=alice)
    make_loan(by=alice)
    assert list(Loan.objects.visible_to(bob)) == [own]
    assert list(Loan.objects.visible_to(charlie)) == []
    assert Loan.objects.visible_to(alice).count() == 2


def test_a_minor_on_the_start_date_is_flagged(alice):
    loan = make_loan(minor_trainee(), by=alice)
    assert loan.trainee_is_minor
    adult = make_loan(by=alice)
    assert not adult.trainee_is_minor


def test_the_months_and_total_count_every_month_begun(alice):
    course = CourseFactory(start_date=today(), end_date=today() + timedelta(days=150))
    loan = make_loan(TraineeFactory(course=course), by=alice)
    assert loan.months == 5
    assert str(loan.planned_total) == "35.00"


def test_a_laptop_on_an_open_loan_goes_to_nobody_else(alice):
    laptop = make_laptop(by=alice, status=Laptop.Status.READY)
    make_loan(by=alice, laptop=laptop)
    request = make_request(TraineeFactory(), by=alice)
    with pytest.raises(services.RequestError):
        services.request_approve(request=request, laptop=laptop, by=alice)


def test_once_returned_the_months_are_those_begun_before_the_return(alice):
    course = CourseFactory(start_date=today(), end_date=today() + timedelta(days=150))
    loan = make_loan(TraineeFactory(course=course), by=alice, status=Status.ACTIVE)
    assert loan.months == 5
    with time_machine.travel(timezone.now() + timedelta(days=40)):
        lending.loan_return(loan=loan, on=today(), by=alice, accessories=["charger"])
    loan.refresh_from_db()
    assert loan.months == 2  # the second month had begun


# --- Found in review: dates out of bounds, and what a cancellation closes --------------------


def test_a_handover_cannot_be_dated_before_the_loan_was_prepared(alice):
    loan = make_loan(by=alice)
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_hand_over(loan=loan, on=today() - timedelta(days=1), by=alice)
    assert codes(refused) == ["start_date"]
    loan.refresh_from_db()
    assert loan.status == Status.PREPARED


def test_a_loan_is_prepared_for_the_course_and_extended_at_most_to_two_years(alice):
    trainee = TraineeFactory()
    request = make_request(trainee, by=alice, status=LoanRequest.Status.APPROVED)
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_prepare(
            request=request,
            by=alice,
            planned_end_date=trainee.course.end_date + timedelta(days=1),
        )
    assert codes(refused) == ["planned_end_date"]
    loan = lending.loan_prepare(request=request, by=alice)
    lending.loan_hand_over(loan=loan, on=today(), by=alice)
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_extend(loan=loan, until=date(9999, 12, 31), reason="Pourquoi pas", by=alice)
    assert codes(refused) == ["until"]
    loan.refresh_from_db()
    assert loan.planned_end_date == trainee.course.end_date


def test_a_departure_before_the_request_is_refused(alice, bob, agora):
    trainee = TraineeFactory(course=CourseFactory(training_body=agora))
    loan = make_loan(trainee, by=alice)
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_end_early(loan=loan, left_on=date(2001, 1, 1), by=bob)
    assert codes(refused) == ["left_on"]
    loan.refresh_from_db()
    assert loan.status == Status.PREPARED


def test_cancelling_a_prepared_loan_closes_its_request_so_a_new_one_can_be_made(alice, bob, agora):
    trainee = TraineeFactory(course=CourseFactory(training_body=agora))
    loan = make_loan(trainee, by=alice)

    lending.loan_cancel(loan=loan, reason="Ordinateur tombé en panne", by=alice)

    request = LoanRequest.objects.get(pk=loan.request_id)
    assert request.status == LoanRequest.Status.CANCELLED
    assert "Ordinateur tombé en panne" in request.events.first().note
    services.request_submit(trainee=trainee, needed_by=today(), justification="Nouveau", by=bob)


def test_a_fulfilled_request_is_not_cancelled_behind_its_loan(alice, bob, agora):
    trainee = TraineeFactory(course=CourseFactory(training_body=agora))
    loan = make_loan(trainee, by=alice)
    with pytest.raises(services.RequestError) as refused:
        services.request_cancel(request=loan.request, by=bob)
    assert codes(refused) == ["fulfilled"]
    assert LoanRequest.objects.get(pk=loan.request_id).status == LoanRequest.Status.FULFILLED


def test_a_trainee_on_loan_stays_on_the_course_of_the_loan(alice, agora):
    from django.core.exceptions import ValidationError

    trainee = TraineeFactory(course=CourseFactory(training_body=agora))
    make_loan(trainee, by=alice)
    trainee.course = CourseFactory(training_body=agora)
    with pytest.raises(ValidationError) as refused:
        trainee.full_clean()
    assert "course" in refused.value.message_dict
