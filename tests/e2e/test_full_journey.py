"""The whole programme in one journey, in the browser, as its users click through it.

Bob, coordinator of Agora Services, asks for a laptop for his trainee; Alice, of the Défis
team, approves the request and prepares the loan; on the course's distribution day she prints
the agreements and hands the laptop over; later the laptop comes back (its return record
printed), is wiped and is ready to lend again. The trainee pays the month begun (a receipt is
printed) and the envelope funding the loan shows its burn-down chart.

Each step leaves a screenshot in test-output/e2e/journey/, numbered in order."""

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from defis.models import Association
from inventory.models import Laptop
from loans.models import FeeEntry, Loan, LoanRequest
from tests.factories import BudgetEnvelopeFactory, CourseFactory, TraineeFactory, make_laptop

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

COURSE = "PRÉPA Avenir Jeunes Lanester"
LOAN_PAGE = re.compile(r"/loans/\d+/$")


ENVELOPE = "Région Bretagne, programme de l’année"


@pytest.fixture
def setting(alice, bob, agora, no_funding):
    """Bob's course has begun; one of its trainees has no laptop; one is ready to lend; the
    Région's envelope of the year funds it."""
    today = timezone.localdate()
    BudgetEnvelopeFactory(
        name=ENVELOPE,
        amount=Decimal("15000.00"),
        start_date=today - timedelta(days=120),
        end_date=today + timedelta(days=240),
    )
    Association.objects.create(
        name="Association Défis",
        street="8 rue du Général Leclerc",
        postal_code="56600",
        town="Lanester",
        director="Mickaël Leblond",
    )
    course = CourseFactory(
        training_body=agora,
        title=COURSE,
        start_date=today - timedelta(days=2),
        end_date=today + timedelta(days=150),
    )
    TraineeFactory(course=course, first_name="Noah", last_name="Guillou")
    make_laptop(
        by=alice,
        status=Laptop.Status.READY,
        brand="Dell",
        model="Latitude 5490",
        serial_number="7XK2P12",
        has_charger=True,
        has_bag=True,
    )
    return course


class Journey:
    """Numbered screenshots, and the PDFs behind links read with the browser's session."""

    def __init__(self, page, base_url, screenshot):
        self.page = page
        self.base_url = base_url
        self.screenshot = screenshot
        self.step = 0

    def shot(self, name: str):
        self.step += 1
        self.screenshot(f"journey/{self.step:02d}-{name}")

    def nav(self, name: str):
        self.page.get_by_role("navigation", name="Navigation principale").get_by_role(
            "link", name=name, exact=True
        ).click()

    def open_pdf(self, link, name: str) -> str:
        """Follow a link to a PDF: the browser shows it; its text is read and returned."""
        url = self.base_url + link.get_attribute("href")
        link.click()
        self.page.wait_for_url(url)
        self.page.wait_for_timeout(1500)  # the PDF viewer starts, then draws the first page
        self.shot(name)
        response = self.page.request.get(url)
        assert response.status == 200
        assert response.headers["content-type"] == "application/pdf"
        body = response.body()
        assert body.startswith(b"%PDF")
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
        self.page.go_back()
        return re.sub(r"\s+", " ", text)


def test_a_laptop_from_the_coordinators_request_to_ready_again(
    page, live_server, setting, log_in, screenshot
):
    page.set_viewport_size({"width": 1280, "height": 900})
    journey = Journey(page, live_server.url, screenshot)

    # 1. Bob asks for a laptop for Noah, from his course.
    log_in("bob")
    journey.shot("coordinator-portal")
    page.get_by_role("link", name=COURSE).click()
    page.get_by_role("link", name="Guillou Noah").click()
    page.get_by_role("link", name="Demander un ordinateur").click()
    page.get_by_label("Justification").fill("Pas d’ordinateur à la maison ; cours en ligne.")
    journey.shot("coordinator-request-form")
    page.get_by_role("button", name="Déposer la demande").click()
    expect(page.get_by_text("est déposée.")).to_be_visible()
    journey.shot("coordinator-request-submitted")
    loan_request = LoanRequest.objects.get()
    assert loan_request.status == LoanRequest.Status.SUBMITTED
    assert loan_request.submitted_by.username == "bob"

    # 2. Alice approves it with the laptop ready to lend, then prepares the loan.
    log_in("alice")
    journey.nav("Demandes")
    journey.shot("staff-request-queue")
    page.get_by_role("link", name=loan_request.number).click()
    page.get_by_role("button", name="Approuver", exact=True).click()
    expect(page.get_by_text(f"La demande {loan_request.number} est approuvée")).to_be_visible()
    journey.shot("staff-request-approved")
    page.get_by_role("link", name="Préparer le prêt").click()
    page.wait_for_url(re.compile(r"/requests/\d+/prepare/$"))
    journey.shot("staff-prepare-form")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(LOAN_PAGE)
    expect(page.locator("[data-loan-status]").first).to_have_attribute(
        "data-loan-status", "prepared"
    )
    loan = Loan.objects.get(request=loan_request)
    journey.shot("staff-loan-prepared")

    # 3. Distribution day: the agreements printed in one PDF, the laptop handed over.
    journey.nav("Formations")
    page.get_by_role("link", name=COURSE).click()
    page.get_by_role("link", name="Journée de remise").click()
    expect(page.locator(f"tr[data-loan='{loan.number}']")).to_be_visible()
    journey.shot("distribution-day")
    distribution_url = page.url
    text = journey.open_pdf(
        page.get_by_role("link", name="Imprimer toutes les conventions"), "distribution-agreements"
    )
    assert loan.number in text
    assert "Noah Guillou" in text
    page.wait_for_url(distribution_url)
    page.get_by_role("button", name="Remettre les prêts cochés").click()
    expect(page.get_by_text("1 prêt remis.")).to_be_visible()
    journey.shot("distribution-handed-over")
    page.locator("[data-handed-over-today]").get_by_role("link", name=loan.number).click()
    page.wait_for_url(LOAN_PAGE)
    expect(page.locator("[data-loan-status]").first).to_have_attribute("data-loan-status", "active")
    journey.shot("loan-active")

    # 4. Later, the laptop comes back with its charger and bag; the return record is printed.
    page.locator("[data-action='return']").click()
    page.get_by_label("État à la restitution").fill("Bon état, quelques traces d’usure")
    journey.shot("return-form")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(LOAN_PAGE)
    expect(page.locator("[data-loan-status]").first).to_have_attribute("data-loan-status", "closed")
    journey.shot("loan-returned")
    text = journey.open_pdf(page.locator("[data-document='return_record']"), "return-record")
    assert "Constat de restitution" in text
    assert loan.number in text
    page.wait_for_url(LOAN_PAGE)

    # 5. The wipe is recorded; the laptop is ready to lend again.
    page.locator("[data-wipe-needed]").get_by_role("link").click()
    expect(page.locator("[data-laptop-status]")).to_have_attribute("data-laptop-status", "returned")
    page.get_by_role("link", name="Enregistrer un effacement des données").click()
    page.get_by_label("Méthode").select_option("nwipe_zero")
    page.get_by_label("Vérifié").check()
    page.get_by_label("Référence du certificat").fill("NW-DEF-0001-2")
    journey.shot("wipe-form")
    page.get_by_role("button", name="Enregistrer l’effacement").click()
    expect(page.get_by_text("L’effacement des données est enregistré.")).to_be_visible()
    page.get_by_role("button", name="Marquer prêt à prêter").click()
    expect(page.locator("[data-laptop-status]")).to_have_attribute("data-laptop-status", "ready")
    journey.shot("laptop-ready-again")

    # 6. The trainee pays the month begun, in cash; the receipt is printed.
    # Back to the loan, now closed, from the laptop's past loans.
    page.locator("[data-loan-history]").get_by_role("link", name=loan.number).click()
    page.wait_for_url(LOAN_PAGE)
    page.locator("[data-action='payment']").click()
    page.get_by_label("Montant").fill("7,00")
    page.get_by_label("Espèces").check()
    journey.shot("payment-form")
    page.get_by_role("button", name="Enregistrer le paiement").click()
    expect(
        page.get_by_text(f"Paiement de 7,00 € enregistré pour le prêt {loan.number}")
    ).to_be_visible()
    journey.shot("payment-recorded")
    text = journey.open_pdf(page.get_by_role("link", name="Imprimer le reçu"), "receipt")
    assert loan.number in text
    assert "7,00" in text
    page.wait_for_url(LOAN_PAGE)

    # 7. The envelope funding the loan, with its burn-down chart.
    page.locator("[data-envelope]").get_by_role("link", name=ENVELOPE).click()
    expect(page.get_by_role("heading", level=1, name=ENVELOPE)).to_be_visible()
    chart = page.locator("[data-chart] svg")
    expect(chart).to_be_visible()
    chart.scroll_into_view_if_needed()
    journey.shot("envelope-chart")

    loan.refresh_from_db()
    assert (loan.status, loan.outcome) == (Loan.Status.CLOSED, Loan.Outcome.RETURNED)
    assert Laptop.objects.get().status == Laptop.Status.READY
    payment = FeeEntry.objects.get(loan=loan, kind=FeeEntry.Kind.PAYMENT)
    assert (payment.amount, payment.method) == (-7, FeeEntry.Method.CASH)
