"""A coordinator enrols a trainee and requests a laptop; staff approve it, and waitlist the
next one when no laptop is left; the coordinator sees both outcomes."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from inventory.models import Laptop
from loans.models import LoanRequest
from tests.factories import (
    PASSWORD,
    CoordinatorFactory,
    CourseFactory,
    StaffFactory,
    TerritoryFactory,
    TraineeFactory,
    TrainingBodyFactory,
    UserFactory,
    make_laptop,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _log_in(page, base_url, username):
    page.context.clear_cookies()
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Nom d’utilisateur").fill(username)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


def _nav(page, name):
    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name=name, exact=True
    ).click()


@pytest.fixture
def setting():
    lorient = TerritoryFactory(name="Pays de Lorient")
    agora = TrainingBodyFactory(name="Agora Services", short_name="Agora", territory=lorient)
    CoordinatorFactory(
        user=UserFactory(username="claire", first_name="Claire", last_name="Le Goff"),
        training_body=agora,
    )
    StaffFactory(username="morgane", first_name="Morgane", last_name="Le Bihan")
    course = CourseFactory(
        training_body=agora,
        title="PRÉPA Avenir Jeunes Lanester",
        start_date=timezone.localdate() - timedelta(days=3),
        end_date=timezone.localdate() + timedelta(days=150),
    )
    TraineeFactory(course=course, first_name="Noah", last_name="Guillou")
    make_laptop(status=Laptop.Status.READY, brand="Lenovo", model="ThinkPad T480")
    return course


def test_the_coordinators_request_journey(page, live_server, setting, screenshot):
    page.set_viewport_size({"width": 1280, "height": 900})
    base = live_server.url

    # The coordinator enrols a trainee on her course and asks for a laptop.
    _log_in(page, base, "claire")
    page.get_by_role("link", name="PRÉPA Avenir Jeunes Lanester").click()
    page.get_by_role("link", name="Inscrire un stagiaire").click()
    page.get_by_label("Prénom").fill("Léa")
    page.get_by_label("Nom*", exact=True).fill("Le Gall")
    birth = setting.start_date.replace(year=setting.start_date.year - 20)
    page.get_by_label("Date de naissance").fill(birth.isoformat())
    page.get_by_label("Téléphone", exact=True).fill("06 12 34 56 78")
    page.get_by_label("Adresse*", exact=True).fill("3 rue des Lilas")
    page.get_by_label("Code postal*", exact=True).fill("56600")
    page.get_by_label("Commune*", exact=True).fill("Lanester")
    screenshot("request-enrol")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("La fiche de Léa Le Gall est enregistrée.")).to_be_visible()

    page.get_by_role("link", name="Demander un ordinateur").click()
    page.get_by_label("Justification").fill("Pas d’ordinateur à la maison.")
    page.get_by_role("button", name="Déposer la demande").click()
    expect(page.get_by_text("est déposée.")).to_be_visible()
    screenshot("request-submitted")

    # And for Noah, from the course page.
    page.get_by_role("link", name="PRÉPA Avenir Jeunes Lanester").click()
    page.get_by_role("link", name="Demander des ordinateurs pour plusieurs stagiaires").click()
    page.get_by_label("Guillou Noah").check()
    page.get_by_label("Justification").fill("Formation en partie à distance.")
    page.get_by_role("button", name="Déposer les demandes").click()
    expect(page.get_by_text("1 demande déposée.")).to_be_visible()

    lea = LoanRequest.objects.get(trainee__first_name="Léa")
    noah = LoanRequest.objects.get(trainee__first_name="Noah")

    # Staff approve Léa's request with the suggested laptop...
    _log_in(page, base, "morgane")
    _nav(page, "Demandes")
    screenshot("request-queue")
    page.get_by_role("link", name=lea.number).click()
    page.get_by_role("button", name="Approuver", exact=True).click()
    expect(page.get_by_text(f"La demande {lea.number} est approuvée")).to_be_visible()

    # ... and, no laptop being left, put Noah's on the waitlist.
    _nav(page, "Demandes")
    page.get_by_role("link", name=noah.number).click()
    page.get_by_role("button", name="Approuver", exact=True).click()
    expect(page.get_by_text("Aucun ordinateur n’est prêt à prêter")).to_be_visible()
    page.get_by_role("button", name="Mettre en liste d’attente").click()
    expect(page.get_by_text("est en liste d’attente, en position 1.")).to_be_visible()
    screenshot("request-waitlisted-staff")

    # The coordinator sees both outcomes.
    _log_in(page, base, "claire")
    _nav(page, "Mes demandes")
    expect(page.locator(f"[data-request='{lea.number}']")).to_contain_text("Approuvée")
    expect(page.locator(f"[data-request='{noah.number}']")).to_contain_text("En liste d’attente")
    expect(page.locator(f"[data-request='{noah.number}'] [data-position]")).to_have_text(
        "position 1"
    )
    screenshot("request-outcomes-coordinator")
    page.get_by_role("link", name=lea.number).click()
    expect(page.get_by_text("Approuvée : l’ordinateur DEF-0001")).to_be_visible()

    lea.refresh_from_db()
    noah.refresh_from_db()
    assert (lea.status, noah.status) == ("approved", "waitlisted")
    assert Laptop.objects.get().status == "reserved"
