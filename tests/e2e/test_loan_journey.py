"""A loan from start to finish, in the browser: staff prepare it from an approved request,
print the agreement, hand the laptop over, extend the loan, take the laptop back with a
missing bag and a damaged key, print the return record, wipe the laptop and put it back in
the ready stock."""

import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from defis.models import Association
from inventory.models import Laptop
from loans.models import Loan, LoanRequest
from tests.factories import (
    PASSWORD,
    CourseFactory,
    StaffFactory,
    TerritoryFactory,
    TraineeFactory,
    TrainingBodyFactory,
    make_laptop,
    make_request,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LOAN_PAGE = re.compile(r"/loans/\d+/$")


def _log_in(page, base_url, username):
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Nom d’utilisateur").fill(username)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


def _pdf_text(page, url) -> str:
    """The PDF behind a link, read with the browser's session."""
    response = page.request.get(url)
    assert response.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages)
    return re.sub(r"\s+", " ", text)


def _open_document(page, base, name, screenshot, shot):
    """Open a document of the loan page in the browser's PDF viewer, then come back."""
    link = page.locator(f"[data-document='{name}']")
    url = base + link.get_attribute("href")
    link.click()
    page.wait_for_url(url)
    page.wait_for_timeout(500)  # the PDF viewer draws the first page
    screenshot(shot)
    text = _pdf_text(page, url)
    page.go_back()
    page.wait_for_url(LOAN_PAGE)
    return text


@pytest.fixture
def approved_request():
    staff = StaffFactory(username="morgane", first_name="Morgane", last_name="Le Bihan")
    Association.objects.create(
        name="Association Défis",
        street="8 rue du Général Leclerc",
        postal_code="56600",
        town="Lanester",
        director="Mickaël Leblond",
    )
    agora = TrainingBodyFactory(
        name="Agora Services",
        short_name="Agora",
        territory=TerritoryFactory(name="Pays de Lorient"),
    )
    course = CourseFactory(
        training_body=agora,
        title="PRÉPA Avenir Jeunes Lanester",
        start_date=timezone.localdate() - timedelta(days=2),
        end_date=timezone.localdate() + timedelta(days=150),
    )
    laptop = make_laptop(
        by=staff,
        status=Laptop.Status.READY,
        brand="Dell",
        model="Latitude 5490",
        serial_number="7XK2P12",
        has_charger=True,
        has_bag=True,
    )
    trainee = TraineeFactory(course=course, first_name="Léa", last_name="Le Gall")
    return make_request(trainee, by=staff, status=LoanRequest.Status.APPROVED, laptop=laptop)


def test_a_loan_from_approval_to_the_laptop_ready_again(
    page, live_server, approved_request, screenshot
):
    page.set_viewport_size({"width": 1280, "height": 900})
    base = live_server.url
    _log_in(page, base, "morgane")
    status = page.locator("[data-loan-status]").first

    # Prepare the loan from the approved request.
    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Demandes"
    ).click()
    page.get_by_role("link", name=approved_request.number).click()
    page.locator("[data-prepare-loan]").click()
    page.wait_for_url(re.compile(r"/requests/\d+/prepare/$"))
    screenshot("journey-prepare")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(LOAN_PAGE)
    expect(status).to_have_attribute("data-loan-status", "prepared")
    loan = Loan.objects.get(request=approved_request)
    screenshot("journey-prepared")

    # The agreement to sign.
    text = _open_document(page, base, "agreement", screenshot, "journey-agreement")
    assert loan.number in text
    assert "Léa Le Gall" in text

    # The handover: the trainee signs and takes the laptop today.
    page.locator("[data-action='hand_over']").click()
    screenshot("journey-hand-over")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(LOAN_PAGE)
    expect(status).to_have_attribute("data-loan-status", "active")
    screenshot("journey-active")

    # The course is extended by a month: so is the loan.
    loan.refresh_from_db()
    until = loan.planned_end_date + timedelta(days=30)
    page.locator("[data-action='extend']").click()
    page.locator("input[name='until']").fill(until.isoformat())
    page.locator("textarea[name='reason']").fill("Session d’examen reportée d’un mois.")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(LOAN_PAGE)
    expect(page.locator("[data-event='extended']")).to_have_count(1)
    screenshot("journey-extended")
    loan.refresh_from_db()
    assert loan.planned_end_date == until

    # The laptop comes back without its bag, with a damaged key.
    page.locator("[data-action='return']").click()
    page.get_by_label("sacoche").uncheck()
    page.locator("input[name='condition']").fill("Rayures sur le capot")
    page.locator("textarea[name='damage']").fill("Touche Entrée décollée")
    screenshot("journey-return-form")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(LOAN_PAGE)
    expect(status).to_have_attribute("data-loan-status", "closed")
    screenshot("journey-returned")

    # The return record says what is missing and what is damaged.
    text = _open_document(page, base, "return_record", screenshot, "journey-return-record")
    assert "Constat de restitution" in text
    assert "Accessoires manquants : sacoche" in text
    assert "Touche Entrée décollée" in text

    # No trainee's data reaches the next one: the laptop is wiped, then ready to lend.
    page.locator("[data-wipe-needed] a").click()
    expect(page.locator("[data-laptop-status]")).to_have_attribute("data-laptop-status", "returned")
    page.get_by_role("link", name="Enregistrer un effacement des données").click()
    page.get_by_label("Méthode").select_option("nwipe_zero")
    page.get_by_label("Vérifié").check()
    page.get_by_label("Référence du certificat").fill("NW-DEF-0001-2")
    screenshot("journey-wipe")
    page.get_by_role("button", name="Enregistrer l’effacement").click()
    expect(page.get_by_text("L’effacement des données est enregistré.")).to_be_visible()
    page.locator("[data-move='ready']").click()
    expect(page.locator("[data-laptop-status]")).to_have_attribute("data-laptop-status", "ready")
    screenshot("journey-laptop-ready")

    loan.refresh_from_db()
    assert (loan.status, loan.outcome) == (Loan.Status.CLOSED, Loan.Outcome.RETURNED)
    assert (loan.accessories_out, loan.accessories_back) == (["charger", "bag"], ["charger"])
    assert Laptop.objects.get(pk=loan.laptop_id).status == Laptop.Status.READY
