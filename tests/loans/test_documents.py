"""The return record (constat de restitution): what came back, what did not, and the
signatures, read back from the PDF."""

import io
import re

import pytest
from django.utils import timezone, translation
from pypdf import PdfReader

from defis.models import Association
from inventory.models import Laptop
from loans import agreements, lending
from loans.models import Loan
from tests.factories import (
    CourseFactory,
    TraineeFactory,
    make_laptop,
    make_loan,
    minor_trainee,
)

pytestmark = pytest.mark.django_db


def pdf_pages(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def pdf_text(content: bytes) -> str:
    # Words a line break split in two come back joined by a space.
    return re.sub(r"\s+", " ", "\n".join(pdf_pages(content)))


@pytest.fixture
def association(db):
    return Association.objects.create(
        name="Défis",
        street="2 rue Jean Jaurès",
        postal_code="56600",
        town="Lanester",
        email="contact@defis.example",
    )


@pytest.fixture
def course(agora):
    return CourseFactory(training_body=agora, title="PRÉPA Avenir Jeunes Lanester")


def returned_loan(trainee, *, by, accessories, condition="", damage=""):
    laptop = make_laptop(
        by=by,
        status=Laptop.Status.READY,
        brand="Dell",
        model="Latitude 5490",
        serial_number="7XK2P12",
        has_charger=True,
        has_bag=True,
        has_mouse=False,
    )
    loan = make_loan(trainee, by=by, status=Loan.Status.ACTIVE, laptop=laptop)
    return lending.loan_return(
        loan=loan,
        on=timezone.localdate(),
        by=by,
        accessories=accessories,
        condition=condition,
        damage=damage,
    )


@pytest.fixture
def loan(alice, association, course):
    trainee = TraineeFactory(course=course, first_name="Léa", last_name="Le Gall")
    return returned_loan(
        trainee,
        by=alice,
        accessories=["charger"],
        condition="Rayures sur le capot",
        damage="Écran fêlé dans le coin gauche",
    )


def test_it_names_the_loan_the_trainee_the_course_and_the_laptop(loan, association):
    text = pdf_text(agreements.render_return_record(loan))

    assert "Constat de restitution" in text
    assert "Défis" in text
    assert "2 rue Jean Jaurès" in text
    assert loan.number in text
    assert "Léa Le Gall" in text
    assert "PRÉPA Avenir Jeunes Lanester" in text
    assert "Agora Services" in text
    assert loan.laptop.asset_tag in text
    assert "Dell Latitude 5490" in text
    assert "7XK2P12" in text


def test_it_gives_the_handover_and_the_return_dates(loan):
    text = pdf_text(agreements.render_return_record(loan))

    assert f"Remis le {loan.start_date:%d/%m/%Y}" in text
    assert f"Rendu le {loan.return_date:%d/%m/%Y}" in text


def test_it_flags_the_missing_accessory(loan):
    text = pdf_text(agreements.render_return_record(loan))

    assert "Accessoires manquants : sacoche" in text
    # Handed over, then returned, side by side.
    assert "chargeur, sacoche" in text


def test_it_says_when_every_accessory_came_back(alice, association, course):
    loan = returned_loan(TraineeFactory(course=course), by=alice, accessories=["charger", "bag"])

    text = pdf_text(agreements.render_return_record(loan))

    assert "Tous les accessoires remis ont été rendus." in text
    assert "manquants" not in text
    assert "Aucun dégât constaté au retour." in text


def test_it_shows_the_condition_at_handover_and_at_return_and_the_damage(loan):
    text = pdf_text(agreements.render_return_record(loan))

    assert loan.condition_out in text
    assert "Rayures sur le capot" in text
    assert "Écran fêlé dans le coin gauche" in text


def test_it_says_the_laptop_is_wiped_before_any_new_loan(loan):
    text = pdf_text(agreements.render_return_record(loan))

    assert "Avant tout nouveau prêt de l’ordinateur, Défis efface toutes les données" in text


def test_the_trainee_and_defis_sign_and_who_received_the_laptop_is_named(loan):
    text = pdf_text(agreements.render_return_record(loan))

    assert "Pour Défis" in text
    assert "Reçu par Alice Martin" in text
    assert "Le stagiaire" in text
    assert "Le représentant légal" not in text


def test_the_guardian_signs_for_a_trainee_still_under_18(alice, association, course):
    loan = returned_loan(minor_trainee(course=course), by=alice, accessories=["charger", "bag"])

    text = pdf_text(agreements.render_return_record(loan))

    assert "Le représentant légal" in text
    assert "Anne Le Goff" in text


def test_it_puts_the_loan_number_and_the_page_number_on_every_page(loan):
    pages = pdf_pages(agreements.render_return_record(loan))

    for number, page in enumerate(pages, start=1):
        assert f"Constat de restitution · prêt {loan.number}" in page
        assert f"Page {number} / {len(pages)}" in page


def test_it_is_printed_in_french_whatever_the_language_of_the_reader(loan):
    with translation.override("en"):
        text = pdf_text(agreements.render_return_record(loan))

    assert "Constat de restitution" in text
    assert "Return record" not in text


def test_it_reads_well_before_the_associations_identity_is_entered(alice, course):
    loan = returned_loan(TraineeFactory(course=course), by=alice, accessories=["charger"])

    text = pdf_text(agreements.render_return_record(loan))

    assert "Fait le ____ / ____ / ________, en deux exemplaires." in text
    assert "Pour Défis" in text
