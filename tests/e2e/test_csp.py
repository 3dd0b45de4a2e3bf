"""The pages work under the Content Security Policy: Chromium reports no violation (no inline
style or script refused) and no script error on the main pages, for staff, for a coordinator,
before logging in and in the admin; Bootstrap's and the admin's scripts still run."""

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.urls import reverse
from playwright.sync_api import expect

from inventory.models import Laptop
from loans.models import BudgetEnvelope, Loan, LoanRequest
from trainees.models import Course, Trainee, Workshop

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DEMO_PASSWORD = "defis-demo"

# Runs in every document before its own scripts; DevTools injects it, so the policy does not
# apply to it.
COLLECT_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile || "?"}:${event.lineNumber}`;
  const what = event.blockedURI || "inline";
  window.__csp.push(`${event.violatedDirective} refused ${what} at ${where} ${event.sample}`);
});
"""


@pytest.fixture
def demo_data(transactional_db):
    call_command("seed_demo")


class Watcher:
    """The violations, script errors and failed loads of the pages a test visits."""

    def __init__(self, page, base):
        self.page = page
        self.base = base
        self.problems: list[str] = []
        self.current = ""
        page.context.add_init_script(COLLECT_VIOLATIONS)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"{self.current}: {error}"))
        page.on("response", self._response)

    def _console(self, message):
        # A failed load is reported with its address by _response.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"{self.current}: console error: {message.text}")

    def _response(self, response):
        if response.status < 400 or response.request.resource_type == "document":
            return
        if response.url.endswith("/favicon.ico"):
            return  # Chromium asks for it on the admin's pages, which name no icon.
        self.problems.append(f"{self.current}: {response.status} for {response.url}")

    def visit(self, name: str, path: str):
        self.current = f"{name} ({path})"
        response = self.page.goto(self.base + path)
        assert response.status == 200, f"{self.current} answered {response.status}"
        assert response.headers.get("content-security-policy"), f"{self.current}: no CSP"
        self.page.wait_for_load_state("load")
        self.collect()

    def collect(self):
        for violation in self.page.evaluate("window.__csp || []"):
            self.problems.append(f"{self.current}: {violation}")
        self.page.evaluate("window.__csp = []")

    def assert_clean(self):
        assert not self.problems, "\n".join(["Under the CSP:", *self.problems])


def _log_in(page, base, username):
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Nom d’utilisateur").fill(username)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def _staff_pages() -> dict[str, str]:
    laptop = Laptop.objects.filter(status=Laptop.Status.ON_LOAN).order_by("pk").first()
    request = LoanRequest.objects.order_by("pk").first()
    loan = (
        Loan.objects.filter(status=Loan.Status.ACTIVE)
        .annotate(entries=Count("fee_entries"))
        .order_by("-entries", "pk")
        .first()
    )
    envelope = BudgetEnvelope.objects.order_by("pk").first()
    trainee = Trainee.objects.filter(loans__isnull=False).order_by("pk").first()
    workshop = Workshop.objects.order_by("pk").first()
    course = Course.objects.order_by("pk").first()
    assert all([laptop, request, loan, envelope, trainee, workshop, course]), "demo data"
    return {
        "dashboard": reverse("dashboard"),
        "laptops": reverse("inventory:laptops"),
        "laptop": laptop.get_absolute_url(),
        "requests": reverse("loans:requests"),
        "request": request.get_absolute_url(),
        "loans": reverse("loans:loans"),
        "loan": loan.get_absolute_url(),
        "envelope": reverse("loans:envelope", args=[envelope.pk]),
        "reconciliation": reverse("loans:reconciliation", args=[envelope.pk]),
        "trainees": reverse("trainees:trainees"),
        "trainee": reverse("trainees:trainee", args=[trainee.pk]),
        "arrears": reverse("loans:arrears"),
        "workshops": reverse("trainees:workshops"),
        "workshop": reverse("trainees:workshop", args=[workshop.pk]),
        "attendance": reverse("trainees:workshop_attendance", args=[workshop.pk]),
        "course": reverse("trainees:course", args=[course.pk]),
        "distribution": reverse("loans:distribution", args=[course.pk]),
        "trainee import": reverse("trainees:trainee_import", args=[course.pk]),
        "payment": reverse("loans:payment_new", args=[loan.pk]),
        "envelopes": reverse("loans:envelopes"),
        "donations": reverse("inventory:donations"),
        "password change": reverse("password_change"),
        "privacy": reverse("privacy"),
    }


def test_the_staff_pages_break_no_rule_of_the_policy(page, live_server, demo_data):
    page.set_viewport_size({"width": 1280, "height": 900})
    watcher = Watcher(page, live_server.url)
    watcher.current = "login"
    _log_in(page, live_server.url, "equipe")
    watcher.collect()
    for name, path in _staff_pages().items():
        watcher.visit(name, path)

    # The intake form's script copies its row template (no inline script or style in it).
    watcher.visit("donation form", reverse("inventory:donation_new"))
    rows = page.locator("#intake-rows > *")
    before = rows.count()
    page.locator("[data-add-row]").click()
    expect(rows).to_have_count(before + 1)
    # The envelope's chart is inline SVG, drawn with presentation attributes only.
    watcher.visit("envelope", reverse("loans:envelope", args=[BudgetEnvelope.objects.first().pk]))
    expect(page.locator("[data-chart] svg")).to_be_visible()
    # Bootstrap's script runs: the user menu opens.
    page.locator("#user-menu").click()
    expect(page.locator("#user-menu + .dropdown-menu")).to_be_visible()
    watcher.collect()
    watcher.assert_clean()


def test_the_coordinator_pages_break_no_rule_of_the_policy(page, live_server, demo_data):
    page.set_viewport_size({"width": 1280, "height": 900})
    watcher = Watcher(page, live_server.url)
    _log_in(page, live_server.url, "agora")
    for name, path in {
        "portal": reverse("trainees:portal"),
        "trainees": reverse("trainees:trainees"),
        "requests": reverse("loans:requests"),
        "loans": reverse("loans:loans"),
    }.items():
        watcher.visit(name, path)
    page.locator("#user-menu").click()
    expect(page.locator("#user-menu + .dropdown-menu")).to_be_visible()
    watcher.collect()
    watcher.assert_clean()


def test_the_pages_before_logging_in_break_no_rule_of_the_policy(page, live_server):
    page.set_viewport_size({"width": 1280, "height": 900})
    watcher = Watcher(page, live_server.url)
    watcher.visit("login", reverse("login"))
    watcher.visit("privacy", reverse("privacy"))
    watcher.visit("password reset", reverse("password_reset"))
    # The language menu is a Bootstrap dropdown too.
    page.locator(".dropdown-toggle").first.click()
    expect(page.locator(".dropdown-menu.show")).to_be_visible()
    watcher.collect()
    watcher.assert_clean()


def test_the_admin_breaks_no_rule_of_the_policy(page, live_server, demo_data):
    page.set_viewport_size({"width": 1280, "height": 900})
    watcher = Watcher(page, live_server.url)
    _log_in(page, live_server.url, "admin")
    laptop = Laptop.objects.order_by("pk").first()
    pages = {
        "index": reverse("admin:index"),
        "laptop changelist": reverse("admin:inventory_laptop_changelist"),
        "laptop change form": reverse("admin:inventory_laptop_change", args=[laptop.pk]),
        "laptop history": reverse("admin:inventory_laptop_history", args=[laptop.pk]),
        "laptop past version": reverse(
            "admin:inventory_laptop_simple_history",
            args=[laptop.pk, laptop.history.order_by("history_id").first().history_id],
        ),
        "loan history": reverse("admin:loans_loan_history", args=[Loan.objects.first().pk]),
        "laptop import": reverse("admin:inventory_laptop_import"),
        "laptop export": reverse("admin:inventory_laptop_export"),
        "trainee import": reverse("admin:trainees_trainee_import"),
        "user changelist": reverse("admin:defis_user_changelist"),
        "loan changelist": reverse("admin:loans_loan_changelist"),
        "envelope change form": reverse(
            "admin:loans_budgetenvelope_change", args=[BudgetEnvelope.objects.first().pk]
        ),
    }
    for name, path in pages.items():
        watcher.visit(name, path)

    # The admin's scripts run: the box above the list ticks every row...
    watcher.visit("laptop changelist", pages["laptop changelist"])
    page.locator("#action-toggle").check()
    expect(page.locator("input.action-select").first).to_be_checked()
    # ... and the export page's "Select all" box, wired without an inline handler, unticks the
    # fields.
    watcher.visit("laptop export", pages["laptop export"])
    fields = page.locator(
        '.selectable-field-export-row input[type="checkbox"]:not(.select-toggle):visible'
    )
    expect(fields.first).to_be_checked()
    page.locator("input.select-toggle").uncheck()
    expect(fields.first).not_to_be_checked()
    page.locator("input.select-toggle").check()
    expect(fields.first).to_be_checked()
    watcher.collect()
    watcher.assert_clean()
