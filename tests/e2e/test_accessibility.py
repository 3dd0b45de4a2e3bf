"""The main pages pass axe-core's checks with no serious or critical violation, for staff,
for a coordinator and before logging in. The pages are those of the demo data, full of
records in every state (badges, tables, the envelope's chart, forms)."""

import pytest
from django.core.management import call_command
from django.db.models import Count, Q
from django.urls import reverse

from inventory.models import Laptop
from loans.models import BudgetEnvelope, Loan, LoanRequest
from trainees.models import Course, Trainee, Workshop

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DEMO_PASSWORD = "defis-demo"
BLOCKING = {"serious", "critical"}


@pytest.fixture
def demo_data(transactional_db):
    call_command("seed_demo")


def _check(page, axe, screenshot, pages: dict[str, str], base: str, prefix: str) -> list[str]:
    """Open each page, run axe on it and return its serious and critical violations, described
    for the assertion message."""
    found = []
    for name, path in pages.items():
        response = page.goto(base + path)
        assert response.status == 200, f"{name} ({path}) answered {response.status}"
        screenshot(f"a11y/{prefix}-{name}")
        for violation in axe():
            if violation["impact"] in BLOCKING:
                targets = ", ".join(violation["targets"][:5])
                found.append(
                    f"{name} ({path}): [{violation['impact']}] {violation['id']}: "
                    f"{violation['help']} → {targets}\n    {violation['summary']}"
                )
    return found


def _staff_pages() -> dict[str, str]:
    laptop = Laptop.objects.filter(status=Laptop.Status.ON_LOAN).order_by("pk").first()
    request = LoanRequest.objects.filter(status=LoanRequest.Status.SUBMITTED).order_by("pk").first()
    loan = (
        Loan.objects.filter(status=Loan.Status.ACTIVE)
        .annotate(entries=Count("fee_entries"))
        .order_by("-entries", "pk")
        .first()
    )
    envelope = BudgetEnvelope.objects.order_by("pk").first()
    trainee = Trainee.objects.filter(loans__isnull=False).order_by("pk").first()
    # The course with the most loans still to hand over: its distribution day is full.
    course = (
        Course.objects.annotate(
            prepared=Count("loans", filter=Q(loans__status=Loan.Status.PREPARED)),
            loan_count=Count("loans"),
        )
        .order_by("-prepared", "-loan_count", "pk")
        .first()
    )
    workshop = Workshop.objects.order_by("pk").first()
    assert all([laptop, request, loan, envelope, trainee, course, workshop]), "demo data"
    return {
        "dashboard": reverse("dashboard"),
        "laptops": reverse("inventory:laptops"),
        "laptop": laptop.get_absolute_url(),
        "requests": reverse("loans:requests"),
        "request": request.get_absolute_url(),
        "loans": reverse("loans:loans"),
        "loan": loan.get_absolute_url(),
        "payment": reverse("loans:payment_new", args=[loan.pk]),
        "arrears": reverse("loans:arrears"),
        "envelopes": reverse("loans:envelopes"),
        "envelope": reverse("loans:envelope", args=[envelope.pk]),
        "reconciliation": reverse("loans:reconciliation", args=[envelope.pk]),
        "trainees": reverse("trainees:trainees"),
        "trainee": reverse("trainees:trainee", args=[trainee.pk]),
        "course": reverse("trainees:course", args=[course.pk]),
        "workshops": reverse("trainees:workshops"),
        "workshop": reverse("trainees:workshop", args=[workshop.pk]),
        "distribution": reverse("loans:distribution", args=[course.pk]),
        # A few forms besides the payment's: fieldsets, checkboxes, selects, help texts.
        "return-form": reverse("loans:loan_return", args=[loan.pk]),
        "wipe-form": reverse("inventory:wipe_add", args=[laptop.pk]),
        "trainee-form": reverse("trainees:trainee_new"),
    }


def _coordinator_pages(username: str) -> dict[str, str]:
    trainee = (
        Trainee.objects.filter(course__training_body__coordinators__user__username=username)
        .exclude(loan_requests__status__in=LoanRequest.OPEN)
        .order_by("pk")
        .first()
    )
    assert trainee, "demo data"
    return {
        "portal": reverse("trainees:portal"),
        "trainees": reverse("trainees:trainees"),
        "request-form": reverse("loans:request_new") + f"?trainee={trainee.pk}",
        "trainee-form": reverse("trainees:trainee_new"),
    }


def test_the_staff_pages_have_no_serious_accessibility_violation(
    page, live_server, demo_data, log_in, axe, screenshot
):
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in("equipe", DEMO_PASSWORD)
    found = _check(page, axe, screenshot, _staff_pages(), live_server.url, "staff")
    assert not found, "\n".join(["axe-core violations:", *found])


def test_the_coordinator_pages_have_no_serious_accessibility_violation(
    page, live_server, demo_data, log_in, axe, screenshot
):
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in("agora", DEMO_PASSWORD)
    pages = _coordinator_pages("agora")
    found = _check(page, axe, screenshot, pages, live_server.url, "coordinator")
    assert not found, "\n".join(["axe-core violations:", *found])


def test_the_public_pages_have_no_serious_accessibility_violation(
    page, live_server, axe, screenshot
):
    page.set_viewport_size({"width": 1280, "height": 900})
    pages = {"login": reverse("login"), "privacy": reverse("privacy")}
    found = _check(page, axe, screenshot, pages, live_server.url, "public")
    assert not found, "\n".join(["axe-core violations:", *found])
