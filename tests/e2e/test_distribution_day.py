"""A distribution day: staff open a course's distribution page, prepare the loans still
missing, print every agreement in one PDF, and hand the three laptops over in one go."""

import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from defis.models import Association
from inventory.models import Laptop
from loans import lending
from loans.models import Loan, LoanRequest
from tests.factories import (
    PASSWORD,
    CourseFactory,
    StaffFactory,
    TerritoryFactory,
    TraineeFactory,
    TrainingBodyFactory,
    make_request,
    minor_trainee,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _log_in(page, base_url, username):
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Nom d’utilisateur").fill(username)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


@pytest.fixture
def course():
    """A course of Agora Services with three approved requests; one loan already prepared."""
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
    trainees = [
        TraineeFactory(course=course, first_name="Léa", last_name="Le Gall"),
        TraineeFactory(course=course, first_name="Noah", last_name="Guillou"),
        minor_trainee(course=course, first_name="Maël", last_name="Le Floch"),
    ]
    requests = [
        make_request(trainee, by=staff, status=LoanRequest.Status.APPROVED) for trainee in trainees
    ]
    lending.loan_prepare(request=requests[0], by=staff)
    return course


def test_staff_prepare_print_and_hand_over_a_whole_course(page, live_server, course, screenshot):
    page.set_viewport_size({"width": 1280, "height": 900})
    base = live_server.url
    _log_in(page, base, "morgane")

    # From the course page to its distribution day.
    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Formations"
    ).click()
    page.get_by_role("link", name="PRÉPA Avenir Jeunes Lanester").click()
    page.get_by_role("link", name="Journée de remise").click()
    expect(
        page.get_by_role("heading", name="Journée de remise · PRÉPA Avenir Jeunes Lanester")
    ).to_be_visible()
    expect(page.locator("[data-to-prepare]")).to_have_attribute("data-to-prepare", "2")
    expect(page.locator("tr[data-loan]")).to_have_count(1)
    screenshot("distribution-to-prepare")
    distribution_url = page.url

    # Prepare the two loans still missing, each from its approved request.
    for name in ("Noah Guillou", "Maël Le Floch"):
        page.get_by_role("link", name=f"Préparer le prêt de {name}").click()
        page.wait_for_url(re.compile(r"/requests/\d+/prepare/$"))
        expect(page.get_by_role("heading", level=1)).to_contain_text(name)
        if name == "Noah Guillou":
            screenshot("distribution-prepare-form")
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(re.compile(r"/loans/\d+/$"))
        page.goto(distribution_url)

    rows = page.locator("tr[data-loan]")
    expect(rows).to_have_count(3)
    expect(page.locator("[data-to-prepare]")).to_have_count(0)
    expect(page.locator("input[name='loan']:checked")).to_have_count(3)
    # The minor's guardian co-signs: the row says so.
    expect(rows.filter(has_text="Le Floch Maël").locator("[data-minor]")).to_be_visible()
    screenshot("distribution-ready")

    # One PDF with the three agreements.
    numbers = list(
        Loan.objects.filter(course=course).order_by("pk").values_list("number", flat=True)
    )
    print_all = page.get_by_role("link", name="Imprimer toutes les conventions")
    pdf_url = base + print_all.get_attribute("href")
    print_all.click()
    page.wait_for_url(pdf_url)
    page.wait_for_timeout(500)  # the PDF viewer draws the first page
    screenshot("distribution-agreements-pdf")
    response = page.request.get(pdf_url)
    assert response.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages)
    for number in numbers:
        assert number in text
    page.goto(distribution_url)

    # The three sign; they are handed over in one go.
    page.get_by_role("button", name="Remettre les prêts cochés").click()
    expect(page.get_by_text("3 prêts remis.")).to_be_visible()
    expect(page.locator("[data-no-prepared]")).to_be_visible()
    expect(page.locator("[data-handed-over-today] li")).to_have_count(3)
    screenshot("distribution-handed-over")

    loans = Loan.objects.filter(course=course).select_related("laptop")
    assert sorted(loan.status for loan in loans) == [Loan.Status.ACTIVE] * 3
    assert {loan.laptop.status for loan in loans} == {Laptop.Status.ON_LOAN}
    assert all(loan.agreement_pdf and loan.start_date == timezone.localdate() for loan in loans)

    # Each loan is a click away, and says it is on loan.
    page.locator("[data-handed-over-today]").get_by_role("link", name=numbers[1]).click()
    page.wait_for_url(re.compile(r"/loans/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(numbers[1])
    screenshot("distribution-loan-active")
