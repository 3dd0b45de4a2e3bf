"""Loan pages: the staff's list, the loan page and its actions, the documents; coordinators
read their own trainees' loans and report a departure."""

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from defis.money import format_euros
from inventory import services as inventory_services
from inventory.models import Laptop
from loans import lending
from loans.models import Loan, LoanEvent, LoanRequest
from tests.factories import (
    CourseFactory,
    TerritoryFactory,
    TraineeFactory,
    TrainingBodyFactory,
    UserFactory,
    make_laptop,
    make_loan,
    make_request,
    wipe,
)

pytestmark = pytest.mark.django_db

Status = Loan.Status
PDF = b"%PDF-1.4\n% a signed agreement\n"


@pytest.fixture
def course(agora):
    return CourseFactory(training_body=agora, title="PRÉPA Avenir Jeunes")


@pytest.fixture
def trainee(course):
    return TraineeFactory(course=course, first_name="Léa", last_name="Le Gall")


@pytest.fixture
def prepared(alice, trainee):
    return make_loan(trainee, by=alice)


@pytest.fixture
def active(alice, course):
    trainee = TraineeFactory(course=course, first_name="Noé", last_name="Tanguy")
    return make_loan(trainee, by=alice, status=Status.ACTIVE)


@pytest.fixture
def closed(alice, course):
    trainee = TraineeFactory(course=course, first_name="Inès", last_name="Guillou")
    return make_loan(trainee, by=alice, status=Status.CLOSED)


@pytest.fixture
def askoria_loan(alice, askoria):
    trainee = TraineeFactory(course=CourseFactory(training_body=askoria, title="Cap Emploi"))
    return make_loan(trainee, by=alice, status=Status.ACTIVE)


def shown(response):
    return [str(m) for m in response.context["messages"]]


def page(response):
    return response.content.decode()


def day(value):
    return value.isoformat()


def later(days):
    """A moment `days` days from now, at noon, for time_machine."""
    moment = datetime.combine(timezone.localdate() + timedelta(days=days), time(12))
    return timezone.make_aware(moment)


def status_of(loan):
    loan.refresh_from_db()
    return loan.status


# --- The list -------------------------------------------------------------------------------


def test_it_lists_open_loans_by_default(client, alice, prepared, active, closed):
    client.force_login(alice)
    response = client.get(reverse("loans:loans"))
    assert response.status_code == 200
    listed = [loan.number for loan in response.context["page_obj"]]
    assert sorted(listed) == sorted([prepared.number, active.number])
    content = page(response)
    assert "Léa Le Gall" in content and active.laptop.asset_tag in content
    assert 'data-loan-status="prepared"' in content and 'data-loan-status="active"' in content


def test_it_counts_the_loans_of_each_status(client, alice, prepared, active, closed):
    client.force_login(alice)
    response = client.get(reverse("loans:loans"))
    content = page(response)
    counts = {pill["key"]: pill["count"] for pill in response.context["pills"]}
    assert counts == {"open": 2, "prepared": 1, "active": 1, "closed": 1, "cancelled": 0, "": 3}
    assert 'data-status-count="closed"' in content


def test_it_shows_every_status_on_request(client, alice, prepared, active, closed):
    client.force_login(alice)
    response = client.get(reverse("loans:loans"), {"status": "closed"})
    assert [loan.number for loan in response.context["page_obj"]] == [closed.number]
    response = client.get(reverse("loans:loans"), {"status": ""})
    assert len(response.context["page_obj"]) == 3


@pytest.mark.parametrize(
    "text",
    [
        lambda loan: "Guillou",
        lambda loan: "inès guillou",
        lambda loan: loan.number,
        lambda loan: loan.laptop.asset_tag,
    ],
    ids=["last name", "full name", "number", "asset tag"],
)
def test_it_finds_a_loan_by_number_trainee_or_asset_tag(client, alice, active, closed, text):
    client.force_login(alice)
    response = client.get(reverse("loans:loans"), {"q": text(closed), "status": ""})
    assert [loan.number for loan in response.context["page_obj"]] == [closed.number]


def test_it_filters_by_course_body_and_territory(client, alice, active, askoria_loan, askoria):
    askoria.territory = TerritoryFactory(name="Pays de Vannes")
    askoria.save()
    client.force_login(alice)
    url = reverse("loans:loans")
    by_body = client.get(url, {"training_body": askoria.pk}).context["page_obj"]
    assert [loan.number for loan in by_body] == [askoria_loan.number]
    by_territory = client.get(url, {"territory": askoria.territory_id}).context["page_obj"]
    assert [loan.number for loan in by_territory] == [askoria_loan.number]
    by_course = client.get(url, {"course": active.course_id}).context["page_obj"]
    assert [loan.number for loan in by_course] == [active.number]


def test_it_flags_overdue_loans_and_those_ending_soon(client, alice, course):
    soon = make_loan(
        TraineeFactory(course=course),
        by=alice,
        status=Status.ACTIVE,
        planned_end_date=timezone.localdate() + timedelta(days=20),
    )
    late = make_loan(
        TraineeFactory(course=course),
        by=alice,
        status=Status.ACTIVE,
        planned_end_date=timezone.localdate() + timedelta(days=2),
    )
    make_loan(TraineeFactory(course=course), by=alice, status=Status.ACTIVE)  # course end
    url = reverse("loans:loans")
    with time_machine.travel(later(10), tick=False):
        client.force_login(alice)
        overdue = client.get(url, {"end": "overdue"})
        ending = client.get(url, {"end": "ending_soon"})
        everything = client.get(url)
    assert [loan.number for loan in overdue.context["page_obj"]] == [late.number]
    assert [loan.number for loan in ending.context["page_obj"]] == [soon.number]
    assert page(everything).count("data-overdue") == 1
    assert "en retard" in page(everything)
    due = {pill["key"]: pill["count"] for pill in everything.context["due"]}
    assert due == {"overdue": 1, "ending_soon": 1}


def test_the_list_query_count_does_not_grow(client, alice, course):
    client.force_login(alice)
    for _ in range(3):
        make_loan(TraineeFactory(course=course), by=alice, status=Status.ACTIVE)
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("loans:loans"))
    for _ in range(27):
        make_loan(TraineeFactory(course=course), by=alice, status=Status.ACTIVE)
    with CaptureQueriesContext(connection) as large:
        response = client.get(reverse("loans:loans"))
    assert len(response.context["page_obj"]) == 30
    assert len(small) == len(large), [q["sql"] for q in large.captured_queries]


def test_a_coordinator_lists_only_their_trainees_loans(client, bob, active, askoria_loan):
    client.force_login(bob)
    response = client.get(reverse("loans:loans"))
    assert [loan.number for loan in response.context["page_obj"]] == [active.number]
    content = page(response)
    assert askoria_loan.number not in content
    assert set(response.context["filter"].filters) == {"q", "status", "end", "course"}
    assert reverse("inventory:laptop", args=[active.laptop_id]) not in content


def test_a_coordinators_course_choices_are_their_own(client, bob, active, askoria_loan):
    client.force_login(bob)
    response = client.get(reverse("loans:loans"), {"course": askoria_loan.course_id})
    assert not response.context["filter"].is_valid()
    assert list(response.context["page_obj"]) == []


# --- The loan page --------------------------------------------------------------------------


def test_a_prepared_loan_offers_the_handover_and_the_agreement_to_sign(client, alice, prepared):
    client.force_login(alice)
    response = client.get(prepared.get_absolute_url())
    assert response.status_code == 200
    assert response.context["actions"] == ["hand_over", "cancel"]
    content = page(response)
    assert "Convention à signer" in content
    assert reverse("loans:loan_agreement", args=[prepared.pk]) in content
    assert reverse("loans:loan_hand_over", args=[prepared.pk]) in content
    assert reverse("inventory:laptop", args=[prepared.laptop_id]) in content
    assert "data-scan-upload" not in content


def test_an_active_loan_shows_its_timeline_and_signed_agreement(client, alice, active):
    client.force_login(alice)
    response = client.get(active.get_absolute_url())
    assert response.context["actions"] == ["extend", "return", "loss", "departure"]
    content = page(response)
    assert "Convention signée (version 1)" in content
    assert 'data-event="prepared"' in content and 'data-event="handed_over"' in content
    assert "data-scan-upload" in content
    assert f"{active.months} mois à 7,00\xa0€" in content
    assert format_euros(active.planned_total) in content


def test_a_closed_loan_offers_the_return_record_and_no_action(client, alice, closed):
    client.force_login(alice)
    response = client.get(closed.get_absolute_url())
    assert response.context["actions"] == []
    content = page(response)
    assert reverse("loans:loan_return_record", args=[closed.pk]) in content
    assert 'data-event="returned"' in content
    assert "data-wipe-needed" in content


def test_a_coordinator_reads_their_loan_without_staff_actions(client, bob, active):
    client.force_login(bob)
    response = client.get(active.get_absolute_url())
    assert response.status_code == 200
    assert response.context["actions"] == ["departure"]
    content = page(response)
    assert reverse("inventory:laptop", args=[active.laptop_id]) not in content
    assert reverse("loans:loan_return", args=[active.pk]) not in content
    assert "data-scan-upload" not in content
    assert reverse("loans:loan_agreement", args=[active.pk]) in content


def test_another_bodys_loan_answers_404(client, charlie, active):
    client.force_login(charlie)
    assert client.get(active.get_absolute_url()).status_code == 404
    assert client.get(reverse("loans:loan_agreement", args=[active.pk])).status_code == 404


@pytest.mark.parametrize(
    "name", ["loan_hand_over", "loan_extend", "loan_return", "loan_loss", "loan_cancel"]
)
def test_coordinators_are_refused_staff_actions(client, bob, active, name):
    client.force_login(bob)
    assert client.get(reverse(f"loans:{name}", args=[active.pk])).status_code == 403
    assert client.post(reverse(f"loans:{name}", args=[active.pk]), {}).status_code == 403
    assert status_of(active) == Status.ACTIVE


# --- Preparing ------------------------------------------------------------------------------


@pytest.fixture
def approved(alice, trainee):
    laptop = make_laptop(by=alice, status=Laptop.Status.READY, has_charger=True, has_mouse=True)
    return make_request(trainee, by=alice, status=LoanRequest.Status.APPROVED, laptop=laptop)


def test_the_prepare_form_starts_from_the_request(client, alice, approved, course):
    client.force_login(alice)
    form = client.get(reverse("loans:loan_prepare", args=[approved.pk])).context["form"]
    assert form["start_date"].initial == timezone.localdate()
    assert form["planned_end_date"].initial == course.end_date
    assert form["accessories"].initial == ["charger", "mouse"]
    assert form["condition"].initial == approved.laptop.get_grade_display()


def test_staff_prepare_a_loan_from_an_approved_request(client, alice, approved, course):
    client.force_login(alice)
    response = client.post(
        reverse("loans:loan_prepare", args=[approved.pk]),
        {
            "start_date": day(timezone.localdate() + timedelta(days=2)),
            "planned_end_date": day(course.end_date),
            "accessories": ["charger"],
            "condition": "Bon état",
            "notes": "Distribution du mardi",
        },
        follow=True,
    )
    loan = Loan.objects.get()
    assert response.redirect_chain[-1][0] == loan.get_absolute_url()
    assert shown(response) == [
        f"Le prêt {loan.number} est préparé : imprimez la convention pour la remise."
    ]
    assert loan.accessories_out == ["charger"] and loan.condition_out == "Bon état"
    approved.refresh_from_db()
    assert approved.status == LoanRequest.Status.FULFILLED
    request_page = page(client.get(approved.get_absolute_url()))
    assert loan.get_absolute_url() in request_page


def test_a_refused_preparation_shows_why_and_makes_no_loan(client, alice, approved, course):
    client.force_login(alice)
    response = client.post(
        reverse("loans:loan_prepare", args=[approved.pk]),
        {
            "start_date": day(timezone.localdate() - timedelta(days=1)),
            "planned_end_date": day(course.end_date),
        },
    )
    assert response.status_code == 200
    assert "ne peut pas être dans le passé" in page(response)
    assert not Loan.objects.exists()


def test_only_an_approved_request_can_be_prepared(client, alice, bob, trainee):
    request = make_request(trainee, by=bob)
    client.force_login(alice)
    response = client.get(reverse("loans:loan_prepare", args=[request.pk]), follow=True)
    assert response.redirect_chain[-1][0] == request.get_absolute_url()
    assert "seule une demande acceptée devient un prêt" in shown(response)[0]


def test_the_request_page_offers_staff_to_prepare_the_loan(client, alice, bob, approved):
    client.force_login(alice)
    prepare = reverse("loans:loan_prepare", args=[approved.pk])
    assert prepare in page(client.get(approved.get_absolute_url()))
    client.force_login(bob)
    assert prepare not in page(client.get(approved.get_absolute_url()))


# --- Handing over ---------------------------------------------------------------------------


def test_the_handover_form_is_filled_from_the_loan(client, alice, prepared):
    client.force_login(alice)
    response = client.get(reverse("loans:loan_hand_over", args=[prepared.pk]))
    form = response.context["form"]
    assert form["accessories"].initial == prepared.accessories_out
    assert form["condition"].initial == prepared.condition_out
    assert "réimprimez la convention" in page(response)


def test_staff_hand_a_loan_over(client, alice, prepared):
    client.force_login(alice)
    response = client.post(
        reverse("loans:loan_hand_over", args=[prepared.pk]),
        {"on": day(timezone.localdate()), "accessories": ["charger"], "condition": "Comme neuf"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == prepared.get_absolute_url()
    assert shown(response) == [
        f"Le prêt {prepared.number} est remis. Ajoutez le scan de la convention signée dès "
        "que vous l’avez."
    ]
    prepared.refresh_from_db()
    assert prepared.status == Status.ACTIVE
    assert prepared.accessories_out == ["charger"]
    assert prepared.agreement_pdf


def test_a_handover_in_the_future_is_refused(client, alice, prepared):
    client.force_login(alice)
    response = client.post(
        reverse("loans:loan_hand_over", args=[prepared.pk]),
        {"on": day(timezone.localdate() + timedelta(days=1)), "accessories": ["charger"]},
    )
    assert response.status_code == 200
    assert "ne peut pas être dans le futur" in page(response)
    assert status_of(prepared) == Status.PREPARED


def test_an_action_not_possible_now_sends_back_to_the_loan(client, alice, active):
    client.force_login(alice)
    response = client.get(reverse("loans:loan_hand_over", args=[active.pk]), follow=True)
    assert response.redirect_chain[-1][0] == active.get_absolute_url()
    assert "n’est pas possible maintenant" in shown(response)[0]


def test_handing_over_twice_is_refused(client, alice, active):
    client.force_login(alice)
    response = client.post(
        reverse("loans:loan_hand_over", args=[active.pk]), {"on": day(timezone.localdate())}
    )
    assert response.status_code == 200
    assert f"Le prêt {active.number} a déjà été remis" in page(response)
    assert LoanEvent.objects.filter(loan=active, kind="handed_over").count() == 1


# --- Extending ------------------------------------------------------------------------------


def test_staff_extend_a_loan(client, alice, active):
    client.force_login(alice)
    until = active.planned_end_date + timedelta(days=30)
    response = client.post(
        reverse("loans:loan_extend", args=[active.pk]),
        {"until": day(until), "reason": "Formation prolongée"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == active.get_absolute_url()
    active.refresh_from_db()
    assert active.planned_end_date == until
    assert 'data-event="extended"' in page(response)


def test_an_extension_to_an_earlier_day_is_refused(client, alice, active):
    client.force_login(alice)
    end = active.planned_end_date
    response = client.post(
        reverse("loans:loan_extend", args=[active.pk]),
        {"until": day(end - timedelta(days=3)), "reason": "Erreur"},
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    active.refresh_from_db()
    assert active.planned_end_date == end


# --- Returning ------------------------------------------------------------------------------


def test_the_return_form_expects_the_accessories_handed_over(client, alice, active):
    client.force_login(alice)
    form = client.get(reverse("loans:loan_return", args=[active.pk])).context["form"]
    assert form["accessories"].initial == active.accessories_out


def test_staff_record_a_return_and_are_told_to_wipe(client, alice, active):
    client.force_login(alice)
    response = client.post(
        reverse("loans:loan_return", args=[active.pk]),
        {"on": day(timezone.localdate()), "accessories": [], "damage": "Écran rayé"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == active.get_absolute_url()
    content = page(response)
    assert f'<a href="{reverse("loans:loan_return_record", args=[active.pk])}">' in content
    assert f'<a href="{active.laptop.get_absolute_url()}">sa page</a>' in content
    (message,) = shown(response)
    assert f"L’ordinateur {active.laptop.asset_tag} doit être effacé" in message
    active.refresh_from_db()
    assert active.outcome == Loan.Outcome.RETURNED and active.damage == "Écran rayé"
    assert active.laptop.status == Laptop.Status.RETURNED


def test_a_return_in_the_future_is_refused(client, alice, active):
    client.force_login(alice)
    response = client.post(
        reverse("loans:loan_return", args=[active.pk]),
        {"on": day(timezone.localdate() + timedelta(days=2))},
    )
    assert response.status_code == 200
    assert "ne peut pas être dans le futur" in page(response)
    assert status_of(active) == Status.ACTIVE


# --- Lost, stolen, written off ----------------------------------------------------------------


def test_staff_report_a_lost_laptop(client, alice, active):
    client.force_login(alice)
    response = client.post(
        reverse("loans:loan_loss", args=[active.pk]),
        {"outcome": "lost", "on": day(timezone.localdate()), "note": "Perdu dans le bus"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == active.get_absolute_url()
    active.refresh_from_db()
    assert active.outcome == Loan.Outcome.LOST
    assert active.laptop.status == Laptop.Status.LOST


def test_a_theft_without_a_police_report_is_refused(client, alice, active):
    client.force_login(alice)
    response = client.post(
        reverse("loans:loan_loss", args=[active.pk]),
        {"outcome": "stolen", "on": day(timezone.localdate())},
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Un vol s’enregistre avec la référence du dépôt de plainte."
    ]
    assert status_of(active) == Status.ACTIVE


# --- Cancelling -----------------------------------------------------------------------------


def test_staff_cancel_a_prepared_loan(client, alice, prepared):
    client.force_login(alice)
    response = client.post(
        reverse("loans:loan_cancel", args=[prepared.pk]),
        {"reason": "Ne vient plus"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == prepared.get_absolute_url()
    assert status_of(prepared) == Status.CANCELLED
    assert prepared.laptop.status == Laptop.Status.READY


def test_a_cancellation_needs_a_reason(client, alice, prepared):
    client.force_login(alice)
    response = client.post(reverse("loans:loan_cancel", args=[prepared.pk]), {"reason": " "})
    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["Indiquez le motif de l’annulation."]}
    assert status_of(prepared) == Status.PREPARED


def test_an_active_loan_cannot_be_cancelled(client, alice, active):
    client.force_login(alice)
    response = client.post(reverse("loans:loan_cancel", args=[active.pk]), {"reason": "Erreur"})
    assert response.status_code == 200
    assert active.number in str(response.context["form"].non_field_errors())
    assert status_of(active) == Status.ACTIVE


# --- A departure from the course ------------------------------------------------------------


def test_a_coordinator_reports_a_departure_and_staff_are_told(
    client, alice, bob, active, django_capture_on_commit_callbacks
):
    alice.email = "alice@defis.example"
    alice.save()
    client.force_login(bob)
    left_on = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("loans:loan_departure", args=[active.pk]),
            {"left_on": day(left_on), "note": "A trouvé un emploi"},
            follow=True,
        )
    assert response.redirect_chain[-1][0] == active.get_absolute_url()
    assert shown(response) == ["Le départ de Noé Tanguy est enregistré."]
    active.refresh_from_db()
    assert active.left_course_on == left_on and active.planned_end_date == left_on
    assert [message.to for message in mail.outbox] == [["alice@defis.example"]]
    assert response.context["actions"] == []


def test_a_departure_in_the_future_is_refused(client, bob, active):
    client.force_login(bob)
    response = client.post(
        reverse("loans:loan_departure", args=[active.pk]),
        {"left_on": day(timezone.localdate() + timedelta(days=5))},
    )
    assert response.status_code == 200
    assert "ne peut pas être dans le futur" in page(response)
    active.refresh_from_db()
    assert active.left_course_on is None


def test_a_departure_before_the_handover_cancels_the_prepared_loan(client, bob, prepared):
    client.force_login(bob)
    response = client.post(
        reverse("loans:loan_departure", args=[prepared.pk]),
        {"left_on": day(timezone.localdate())},
    )
    assert response.status_code == 302
    assert status_of(prepared) == Status.CANCELLED


def test_a_coordinator_cannot_report_for_another_body(client, charlie, active):
    client.force_login(charlie)
    response = client.post(
        reverse("loans:loan_departure", args=[active.pk]), {"left_on": day(timezone.localdate())}
    )
    assert response.status_code == 404
    active.refresh_from_db()
    assert active.left_course_on is None


# --- Documents ------------------------------------------------------------------------------


def test_the_agreement_is_a_pdf_for_staff_and_the_coordinator(client, alice, bob, prepared):
    url = reverse("loans:loan_agreement", args=[prepared.pk])
    for user in (alice, bob):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert f"convention-{prepared.number}.pdf" in response["Content-Disposition"]
        assert response.content.startswith(b"%PDF-")


def test_the_signed_agreement_is_the_frozen_copy(client, alice, active):
    client.force_login(alice)
    response = client.get(reverse("loans:loan_agreement", args=[active.pk]))
    with active.agreement_pdf.open("rb") as frozen:
        assert response.content == frozen.read()


def test_the_return_record_is_served_once_returned(client, alice, bob, active, closed):
    client.force_login(alice)
    assert client.get(reverse("loans:loan_return_record", args=[active.pk])).status_code == 404
    client.force_login(bob)
    response = client.get(reverse("loans:loan_return_record", args=[closed.pk]))
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")


def upload(name="scan.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def test_staff_upload_the_signed_scan_under_a_random_name(client, alice, active):
    client.force_login(alice)
    response = client.post(
        reverse("loans:loan_scan_upload", args=[active.pk]),
        {"scan": upload("Convention Noé Tanguy.pdf")},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == active.get_absolute_url()
    active.refresh_from_db()
    assert active.signed_scan
    assert "Tanguy" not in active.signed_scan.name and "Convention" not in active.signed_scan.name
    assert reverse("loans:loan_scan", args=[active.pk]) in page(response)


@pytest.mark.parametrize(
    "content, words",
    [(b"GIF89a\x01\x00\x01\x00", "pas un PDF"), (PDF + b"x" * 200, "10 Mo")],
)
def test_a_bad_scan_is_refused(client, alice, active, monkeypatch, content, words):
    monkeypatch.setattr(lending, "MAX_SCAN_BYTES", 100)
    client.force_login(alice)
    response = client.post(
        reverse("loans:loan_scan_upload", args=[active.pk]),
        {"scan": upload(content=content)},
        follow=True,
    )
    assert response.status_code == 200
    assert words in shown(response)[0]
    active.refresh_from_db()
    assert not active.signed_scan


def test_a_scan_before_the_handover_is_refused(client, alice, prepared):
    client.force_login(alice)
    response = client.post(
        reverse("loans:loan_scan_upload", args=[prepared.pk]), {"scan": upload()}, follow=True
    )
    assert prepared.number in shown(response)[0]
    prepared.refresh_from_db()
    assert not prepared.signed_scan


def test_a_missing_file_is_refused_with_a_message(client, alice, active):
    client.force_login(alice)
    response = client.post(reverse("loans:loan_scan_upload", args=[active.pk]), {}, follow=True)
    assert shown(response) == ["Choisissez le PDF de la convention signée."]


def test_only_staff_upload_a_scan(client, bob, active):
    client.force_login(bob)
    response = client.post(reverse("loans:loan_scan_upload", args=[active.pk]), {"scan": upload()})
    assert response.status_code == 403
    active.refresh_from_db()
    assert not active.signed_scan


def test_a_scan_for_no_loan_answers_404(client, alice):
    client.force_login(alice)
    response = client.post(reverse("loans:loan_scan_upload", args=[999999]), {"scan": upload()})
    assert response.status_code == 404


def test_the_scan_is_served_only_to_those_who_see_the_loan(client, alice, bob, charlie, active):
    url = reverse("loans:loan_scan", args=[active.pk])
    client.force_login(alice)
    assert client.get(url).status_code == 404  # none yet
    lending.loan_attach_scan(loan=active, upload=upload(), by=alice)
    for user in (alice, bob):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PDF
        assert "no-store" in response["Cache-Control"]
    client.force_login(charlie)
    assert client.get(url).status_code == 404


# --- The laptop, trainee and navigation --------------------------------------------------------


def test_the_laptop_page_shows_its_current_and_past_holders(client, alice, closed, course):
    laptop = inventory_services.laptop_change_status(
        laptop=closed.laptop, to_status="refurbishing", by=alice
    )
    wipe(laptop, by=alice)
    inventory_services.laptop_change_status(laptop=laptop, to_status="ready", by=alice)
    current = make_loan(
        TraineeFactory(course=course, first_name="Yann", last_name="Le Bihan"),
        by=alice,
        status=Status.ACTIVE,
        laptop=laptop,
    )
    client.force_login(alice)
    content = page(client.get(laptop.get_absolute_url()))
    assert "data-current-holder" in content and "Prêté à Yann Le Bihan" in content
    assert content.index(current.number) < content.index(f'data-loan="{closed.number}"')
    assert closed.get_absolute_url() in content


def test_the_trainee_page_lists_their_loans(client, bob, active):
    client.force_login(bob)
    content = page(client.get(active.trainee.get_absolute_url()))
    assert active.get_absolute_url() in content
    assert reverse("inventory:laptop", args=[active.laptop_id]) not in content
    # No new request while the laptop is on loan: the service would refuse it.
    assert f"{reverse('loans:request_new')}?trainee=" not in content


def test_a_trainee_whose_loan_is_closed_can_ask_again(client, bob, closed):
    client.force_login(bob)
    content = page(client.get(closed.trainee.get_absolute_url()))
    assert closed.get_absolute_url() in content
    assert f"{reverse('loans:request_new')}?trainee={closed.trainee_id}" in content


def test_staff_and_coordinators_find_the_loans_in_the_menu(client, alice, bob):
    for user in (alice, bob):
        client.force_login(user)
        content = page(client.get(reverse("loans:requests")))
        assert f'href="{reverse("loans:loans")}"' in content


def test_an_account_without_a_role_sees_no_loan(client):
    client.force_login(UserFactory(username="nobody"))
    assert client.get(reverse("loans:loans")).status_code == 403


def test_another_body_never_appears_in_the_counts(client, charlie, active):
    TrainingBodyFactory()
    client.force_login(charlie)
    response = client.get(reverse("loans:loans"))
    assert {pill["key"]: pill["count"] for pill in response.context["pills"]}[""] == 0


def test_a_cancelled_loan_has_no_agreement_to_download(client, alice, bob, prepared):
    lending.loan_cancel(loan=prepared, reason="Stagiaire absent", by=alice)
    for user in (alice, bob):
        client.force_login(user)
        assert client.get(reverse("loans:loan_agreement", args=[prepared.pk])).status_code == 404


def test_a_missing_kept_agreement_answers_404_not_500(client, alice, active):
    active.agreement_pdf.storage.delete(active.agreement_pdf.name)
    client.force_login(alice)
    assert client.get(reverse("loans:loan_agreement", args=[active.pk])).status_code == 404


def test_the_trainee_page_lists_only_the_loans_the_user_may_see(
    client, alice, charlie, askoria, askoria_loan
):
    from trainees.models import Trainee

    trainee = Trainee.objects.get(pk=askoria_loan.trainee_id)
    # A loan left on another body's course (as it was before a course change was refused).
    Loan.objects.filter(pk=askoria_loan.pk).update(course=CourseFactory())
    client.force_login(charlie)
    page = client.get(reverse("trainees:trainee", args=[trainee.pk])).content.decode()
    assert askoria_loan.number not in page
