"""The loan agreement (convention de prêt), read back from the PDF."""

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from pypdf import PdfReader

from defis.models import Association
from loans import agreements, lending
from loans.models import AgreementTemplate, Loan
from tests.factories import CourseFactory, TraineeFactory, make_laptop, make_loan, minor_trainee

pytestmark = pytest.mark.django_db


def pages(pdf: bytes) -> list[str]:
    # pypdf breaks lines where the PDF does: compare with single spaces.
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def text(pdf: bytes) -> str:
    return " ".join(pages(pdf))


@pytest.fixture
def association(db):
    return Association.objects.current()


def test_it_states_the_parties_the_laptop_the_dates_and_the_fee(alice, association):
    today = timezone.localdate()
    course = CourseFactory(
        title="PRÉPA Avenir Jeunes", start_date=today, end_date=today + timedelta(days=150)
    )
    trainee = TraineeFactory(course=course, first_name="Maëlys", last_name="Le Floch")
    laptop = make_laptop(
        by=alice,
        status="ready",
        brand="Dell",
        model="Latitude 5490",
        serial_number="CN0ABC123",
        replacement_value=Decimal("320.00"),
    )
    loan = make_loan(trainee, by=alice, laptop=laptop, accessories=["charger", "bag"])

    content = text(agreements.render_agreement(loan))

    for expected in [
        association.name,
        association.street,
        "Maëlys Le Floch",
        "3 rue des Lilas",
        course.training_body.name,
        "PRÉPA Avenir Jeunes",
        laptop.asset_tag,
        "Dell Latitude 5490",
        "CN0ABC123",
        "chargeur, sacoche",
        "320,00 €",
        "7,00 € par mois",
        "Tout mois commencé est dû",
        "5 mois × 7,00 €, soit 35,00 € au total",
        f"Du {course.start_date:%d/%m/%Y} au {course.end_date:%d/%m/%Y}",
        "dans les 48 heures",  # loss and theft reported within 48 hours
        "porter plainte",
        "Ne pas vendre, louer, prêter",
        "Restituer l’ordinateur",
        "CNIL",  # the data-protection notice
        "Le ou la stagiaire",
    ]:
        assert expected in content, expected


def test_every_page_carries_the_loan_number_the_version_and_its_number(alice):
    loan = make_loan(by=alice)
    document = pages(agreements.render_agreement(loan))
    assert len(document) >= 2
    for number, page in enumerate(document, start=1):
        assert f"Convention {loan.number} · modèle version 1" in page
        assert f"Page {number} / {len(document)}" in page


def test_a_minors_agreement_has_the_guardian_block_and_an_adults_has_none(alice):
    minor = make_loan(minor_trainee(guardian_name="Anne Le Goff"), by=alice)
    adult = make_loan(by=alice)

    minor_text = text(agreements.render_agreement(minor))
    adult_text = text(agreements.render_agreement(adult))

    assert "Représentant légal du ou de la stagiaire" in minor_text
    assert "Le représentant légal" in minor_text  # the signature block
    assert minor_text.count("Anne Le Goff") == 2
    assert "Représentant légal" not in adult_text
    assert "représentant légal Anne" not in adult_text
    assert adult_text.count("lu et approuvé") == 1
    assert minor_text.count("lu et approuvé") == 2


def test_the_signature_blocks_name_defis_the_trainee_and_the_referent(
    alice, bob, agora, association
):
    from loans import services

    trainee = TraineeFactory(course=CourseFactory(training_body=agora))
    request = services.request_submit(
        trainee=trainee, needed_by=timezone.localdate(), justification="Rien", by=bob
    )
    services.request_approve(
        request=request, laptop=make_laptop(by=alice, status="ready"), by=alice
    )
    loan = lending.loan_prepare(request=request, by=alice)

    content = text(agreements.render_agreement(loan))

    assert f"Pour le prêteur {association.name}" in content
    assert "Le ou la stagiaire" in content
    assert "Pour l’organisme de formation Agora Services, Bob Le Gall" in content


def test_a_signed_agreement_never_changes_when_the_template_is_edited(alice):
    signed = make_loan(by=alice, status=Loan.Status.ACTIVE)
    prepared = make_loan(by=alice)
    before = agreements.agreement_pdf(signed)
    first = AgreementTemplate.objects.current()

    AgreementTemplate.objects.create(
        version=2,
        title=first.title,
        preamble="Un tout nouveau préambule.",
        obligations="Une seule obligation nouvelle.",
        data_protection=first.data_protection,
        created_at=timezone.now(),
    )

    signed.refresh_from_db()
    assert agreements.agreement_pdf(signed) == before
    assert signed.agreement_template == first
    assert "Un tout nouveau préambule" not in text(before)
    # A loan prepared before the edit keeps the version it was printed with, up to the
    # handover: what the trainee signs is what is kept.
    printed = agreements.agreement_pdf(prepared)
    assert "Un tout nouveau préambule" not in text(printed)
    lending.loan_hand_over(loan=prepared, on=prepared.start_date, by=alice)
    prepared.refresh_from_db()
    assert prepared.agreement_template == first
    assert "modèle version 1" in text(agreements.agreement_pdf(prepared))
    # A loan prepared after the edit gets the new text.
    later = make_loan(by=alice)
    assert later.agreement_template.version == 2
    assert "Un tout nouveau préambule" in text(agreements.agreement_pdf(later))


def test_a_cancelled_loan_has_no_agreement_to_print(alice):
    loan = make_loan(by=alice, status=Loan.Status.CANCELLED)
    with pytest.raises(agreements.NoAgreement):
        agreements.agreement_pdf(loan)


def test_a_missing_kept_copy_is_reported_not_rendered_again(alice, caplog):
    loan = make_loan(by=alice, status=Loan.Status.ACTIVE)
    loan.agreement_pdf.storage.delete(loan.agreement_pdf.name)
    with pytest.raises(agreements.NoAgreement):
        agreements.agreement_pdf(loan)
    assert loan.number in caplog.text


def test_the_frozen_copy_is_the_one_served(alice):
    loan = make_loan(by=alice, status=Loan.Status.ACTIVE)
    with loan.agreement_pdf.open("rb") as file:
        stored = file.read()
    assert agreements.agreement_pdf(loan) == stored
    import hashlib

    assert hashlib.sha256(stored).hexdigest() == loan.agreement_sha256


def test_combined_agreements_restart_their_page_numbers(alice):
    course = CourseFactory()
    loans = [make_loan(TraineeFactory(course=course), by=alice) for _ in range(3)]

    document = pages(agreements.combined_agreements(loans))

    numbers = [re.search(r"PRET-\d{4}-\d{4}", page).group() for page in document]
    assert sorted(set(numbers)) == sorted(loan.number for loan in loans)
    per_loan = len(document) // 3
    assert all(f"Page 1 / {per_loan}" in document[i * per_loan] for i in range(3))


def test_the_agreement_is_printed_in_french_whatever_the_users_language(alice):
    from django.utils import translation

    loan = make_loan(by=alice)
    with translation.override("en"):
        content = text(agreements.render_agreement(loan))
    assert "Tout mois commencé est dû" in content


def test_combined_agreements_cost_the_same_queries_for_any_number_of_loans(alice, agora):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import CoordinatorFactory

    CoordinatorFactory(training_body=agora)  # the referent of loans asked by staff
    course = CourseFactory(training_body=agora)
    made = [make_loan(TraineeFactory(course=course), by=alice) for _ in range(6)]

    def queries(count):
        loans = list(
            agreements.loans_for_documents(Loan.objects.filter(pk__in=[m.pk for m in made[:count]]))
        )
        with CaptureQueriesContext(connection) as captured:
            agreements.combined_agreements(loans)
        return len(captured)

    assert queries(2) == queries(6)
