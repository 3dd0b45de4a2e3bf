"""Every URL of the project, walked for every role.

Each named URL is listed in ACCESS with who may use it. For every one: an anonymous visitor
is sent to log in (unless the page is public), an account without a role is refused, a
coordinator never reaches a staff page, and a URL that names another training body's record
answers 404 to a coordinator. A URL added without an entry here makes the test fail.
"""

import re
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLResolver, get_resolver, reverse

from inventory.models import Donation, Laptop
from loans import ledger, lending
from loans.models import Loan, LoanRequest
from tests.factories import (
    CourseFactory,
    DonorFactory,
    TraineeFactory,
    UserFactory,
    make_laptop,
    make_loan,
    make_request,
)
from trainees.models import Workshop

pytestmark = pytest.mark.django_db

PUBLIC, ANY_USER, STAFF, COORDINATOR, SHARED = "public", "any", "staff", "coordinator", "shared"


@dataclass(frozen=True)
class Rule:
    who: str
    record: str = ""  # the kind of record the URL names: its pk goes in the path
    query: str = ""  # or in the query string, as "name=<record>"
    post_only: bool = False


ACCESS = {
    "home": Rule(ANY_USER),
    "dashboard": Rule(STAFF),
    "privacy": Rule(PUBLIC),
    "healthz": Rule(PUBLIC),
    "logout": Rule(ANY_USER, post_only=True),
    "login": Rule(PUBLIC),
    "password_change": Rule(ANY_USER),
    "password_change_done": Rule(ANY_USER),
    "password_reset": Rule(PUBLIC),
    "password_reset_done": Rule(PUBLIC),
    "password_reset_confirm": Rule(PUBLIC),
    "password_reset_complete": Rule(PUBLIC),
    "set_language": Rule(PUBLIC),
    "trainees:portal": Rule(COORDINATOR),
    "trainees:courses": Rule(SHARED),
    "trainees:course_new": Rule(SHARED),
    "trainees:course": Rule(SHARED, "course"),
    "trainees:course_edit": Rule(SHARED, "course"),
    "trainees:trainee_import": Rule(SHARED, "course"),
    "trainees:trainees": Rule(SHARED),
    "trainees:trainee_new": Rule(SHARED),
    "trainees:trainee": Rule(SHARED, "trainee"),
    "trainees:trainee_edit": Rule(SHARED, "trainee"),
    "trainees:workshops": Rule(STAFF),
    "trainees:workshop_new": Rule(STAFF),
    "trainees:workshop_hours": Rule(STAFF),
    "trainees:workshop": Rule(STAFF, "workshop"),
    "trainees:workshop_edit": Rule(STAFF, "workshop"),
    "trainees:workshop_attendance": Rule(STAFF, "workshop"),
    "inventory:laptops": Rule(STAFF),
    "inventory:laptops_bulk": Rule(STAFF, post_only=True),
    "inventory:labels": Rule(STAFF, query="laptop=laptop"),
    "inventory:laptop": Rule(STAFF, "laptop"),
    "inventory:laptop_edit": Rule(STAFF, "laptop"),
    "inventory:laptop_move": Rule(STAFF, "laptop", post_only=True),
    "inventory:laptop_retire": Rule(STAFF, "laptop"),
    "inventory:wipe_add": Rule(STAFF, "laptop"),
    "inventory:repair_add": Rule(STAFF, "laptop"),
    "inventory:donations": Rule(STAFF),
    "inventory:donation_new": Rule(STAFF),
    "inventory:donation": Rule(STAFF, "donation"),
    "inventory:donor_new": Rule(STAFF),
    "loans:requests": Rule(SHARED),
    "loans:request_new": Rule(SHARED, query="trainee=trainee"),
    "loans:approve_in_order": Rule(STAFF, post_only=True),
    "loans:requests_for_course": Rule(SHARED, "course"),
    "loans:request": Rule(SHARED, "request"),
    "loans:request_approve": Rule(STAFF, "request", post_only=True),
    "loans:request_waitlist": Rule(STAFF, "request", post_only=True),
    "loans:request_reject": Rule(STAFF, "request", post_only=True),
    "loans:request_cancel": Rule(SHARED, "request", post_only=True),
    "loans:loan_prepare": Rule(STAFF, "approved_request"),
    "loans:loans": Rule(SHARED),
    "loans:loan": Rule(SHARED, "loan"),
    "loans:loan_agreement": Rule(SHARED, "loan"),
    "loans:loan_return_record": Rule(SHARED, "closed_loan"),
    "loans:loan_scan": Rule(SHARED, "loan"),
    "loans:loan_scan_upload": Rule(STAFF, "loan", post_only=True),
    "loans:loan_hand_over": Rule(STAFF, "prepared_loan"),
    "loans:loan_extend": Rule(STAFF, "loan"),
    "loans:loan_return": Rule(STAFF, "loan"),
    "loans:loan_loss": Rule(STAFF, "loan"),
    "loans:loan_cancel": Rule(STAFF, "prepared_loan"),
    "loans:loan_departure": Rule(SHARED, "loan"),
    "loans:loan_envelope": Rule(STAFF, "prepared_loan"),
    "loans:payment_new": Rule(STAFF, "loan"),
    "loans:waiver_new": Rule(STAFF, "loan"),
    "loans:entry_reverse": Rule(STAFF, "payment"),
    "loans:payment_receipt": Rule(SHARED, "payment"),
    "loans:trainee_export_json": Rule(STAFF, "trainee"),
    "loans:trainee_export_pdf": Rule(STAFF, "trainee"),
    "loans:arrears": Rule(SHARED),
    "loans:arrears_csv": Rule(SHARED),
    "loans:envelopes": Rule(STAFF),
    "loans:envelope": Rule(STAFF, "envelope"),
    "loans:reconciliation": Rule(STAFF, "envelope"),
    "loans:reconciliation_csv": Rule(STAFF, "envelope"),
    "loans:reconciliation_xlsx": Rule(STAFF, "envelope"),
    "loans:funder_report": Rule(STAFF, "envelope"),
    "loans:distribution": Rule(STAFF, "course"),
    "loans:distribution_agreements": Rule(STAFF, "course"),
    "loans:distribution_hand_over": Rule(STAFF, "course", post_only=True),
}

# URLs whose record is a course named "course_pk" in the path.
COURSE_PK_URLS = {
    "loans:requests_for_course",
    "loans:distribution",
    "loans:distribution_agreements",
    "loans:distribution_hand_over",
}

# Paths that need more than a pk: (args for reverse)
SPECIAL_ARGS = {"password_reset_confirm": ["MQ", "set-password"]}


def url_names():
    def walk(patterns, namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.app_name == "admin":
                    continue  # the admin has its own access rules, tested with it
                yield from walk(pattern.url_patterns, pattern.namespace or namespace)
            elif pattern.name:
                yield f"{namespace}:{pattern.name}" if namespace else pattern.name

    return sorted(set(walk(get_resolver().url_patterns)))


def test_every_url_has_an_access_rule():
    missing = [name for name in url_names() if name not in ACCESS]
    assert missing == [], "add these URLs to ACCESS, with who may use them"
    assert sorted(set(ACCESS) - set(url_names())) == []


@pytest.fixture
def agora_records(alice, bob, agora, funding):
    """One record of each kind, belonging to Agora Services (Bob's body)."""
    course = CourseFactory(training_body=agora)
    trainee = TraineeFactory(course=course)
    loan = make_loan(TraineeFactory(course=course), by=alice, status=Loan.Status.ACTIVE)
    lending.loan_attach_scan(
        loan=loan, upload=SimpleUploadedFile("scan.pdf", b"%PDF-1.4 signed"), by=alice
    )
    return {
        "course": course,
        "trainee": trainee,
        "request": make_request(trainee, by=bob),
        "approved_request": make_request(
            TraineeFactory(course=course), by=alice, status=LoanRequest.Status.APPROVED
        ),
        "loan": loan,
        "prepared_loan": make_loan(TraineeFactory(course=course), by=alice),
        "closed_loan": make_loan(
            TraineeFactory(course=course), by=alice, status=Loan.Status.CLOSED
        ),
        "payment": ledger.payment_record(
            loan=loan, amount="7.00", method="cash", paid_on=loan.start_date, by=alice
        ),
        "envelope": funding,
        "laptop": make_laptop(by=alice),
        "donation": Donation.objects.create(donor=DonorFactory(), received_on=course.start_date),
        "workshop": Workshop.objects.create(
            course=course,
            date=course.start_date,
            duration_minutes=60,
            topic="Prise en main",
            place="Lanester",
            facilitator="Erwan",
        ),
    }


def url_for(name, rule, records):
    if name in SPECIAL_ARGS:
        return reverse(name, args=SPECIAL_ARGS[name])
    kwargs = {}
    if rule.record:
        key = "course_pk" if name in COURSE_PK_URLS else "pk"
        kwargs[key] = records[rule.record].pk
    url = reverse(name, kwargs=kwargs)
    if rule.query:
        param, record = rule.query.split("=")
        url += f"?{param}={records[record].pk}"
    return url


def call(client, url, rule):
    return client.post(url, {}) if rule.post_only else client.get(url)


@pytest.mark.parametrize("name", sorted(ACCESS))
def test_anonymous_visitors_are_sent_to_log_in(client, agora_records, name):
    rule = ACCESS[name]
    response = call(client, url_for(name, rule, agora_records), rule)
    if rule.who == PUBLIC:
        assert response.status_code in (200, 302), name
        if response.status_code == 302:
            assert not response["Location"].startswith(reverse("login")), name
    else:
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("login")), name


@pytest.mark.parametrize(
    "name", sorted(n for n, rule in ACCESS.items() if rule.who in (STAFF, COORDINATOR, SHARED))
)
def test_an_account_without_a_role_is_refused(client, agora_records, name):
    rule = ACCESS[name]
    client.force_login(UserFactory(username="nobody"))
    assert call(client, url_for(name, rule, agora_records), rule).status_code == 403, name


@pytest.mark.parametrize("name", sorted(n for n, rule in ACCESS.items() if rule.who == STAFF))
def test_coordinators_never_reach_staff_pages(client, bob, agora_records, name):
    rule = ACCESS[name]
    client.force_login(bob)
    assert call(client, url_for(name, rule, agora_records), rule).status_code == 403, name
    agora_records["laptop"].refresh_from_db()
    assert agora_records["laptop"].status == Laptop.Status.INTAKE


@pytest.mark.parametrize(
    "name", sorted(n for n, rule in ACCESS.items() if rule.who == SHARED and rule.record)
)
def test_another_bodys_record_answers_404_and_is_left_alone(client, charlie, agora_records, name):
    rule = ACCESS[name]
    request = agora_records["request"]
    client.force_login(charlie)
    assert call(client, url_for(name, rule, agora_records), rule).status_code == 404, name
    request.refresh_from_db()
    assert request.status == LoanRequest.Status.SUBMITTED
    loans = {key: agora_records[key] for key in ("loan", "prepared_loan", "closed_loan")}
    for key, loan in loans.items():
        status = loan.status
        loan.refresh_from_db()
        assert loan.status == status, (name, key)


@pytest.mark.parametrize(
    "name", sorted(n for n, rule in ACCESS.items() if rule.who == SHARED and rule.query)
)
def test_another_bodys_record_in_the_query_answers_404(client, charlie, agora_records, name):
    rule = ACCESS[name]
    client.force_login(charlie)
    assert call(client, url_for(name, rule, agora_records), rule).status_code == 404, name


@pytest.mark.parametrize(
    "name",
    sorted(
        n for n, r in ACCESS.items() if r.who == SHARED and not (r.post_only or r.record or r.query)
    ),
)
def test_lists_show_a_coordinator_nothing_of_another_body(client, charlie, agora_records, name):
    rule = ACCESS[name]
    client.force_login(charlie)
    response = call(client, url_for(name, rule, agora_records), rule)
    assert response.status_code == 200, name
    page = response.content.decode()
    assert agora_records["trainee"].last_name not in page, name
    assert agora_records["course"].title not in page, name
    assert agora_records["request"].number not in page, name
    assert agora_records["loan"].number not in page, name


@pytest.mark.parametrize(
    "name",
    sorted(n for n, rule in ACCESS.items() if rule.who in (SHARED, COORDINATOR)),
)
def test_the_owning_coordinator_is_let_in(client, bob, agora_records, name):
    rule = ACCESS[name]
    client.force_login(bob)
    response = call(client, url_for(name, rule, agora_records), rule)
    assert response.status_code in (200, 302), name


@pytest.mark.parametrize(
    "name", sorted(n for n, rule in ACCESS.items() if rule.who in (STAFF, SHARED))
)
def test_staff_are_let_in(client, alice, agora_records, name):
    rule = ACCESS[name]
    client.force_login(alice)
    response = call(client, url_for(name, rule, agora_records), rule)
    assert response.status_code in (200, 302), name


@pytest.mark.parametrize("value", ["²", "٣", "-1", "0", "1e3", "99999999999999999999999", ""])
def test_ids_that_are_not_plain_numbers_never_answer_500(client, alice, bob, value):
    client.force_login(bob)
    assert client.get(f"{reverse('loans:request_new')}?trainee={value}").status_code == 404
    assert client.get(f"{reverse('trainees:trainee_new')}?course={value}").status_code == 200
    client.force_login(alice)
    response = client.post(
        reverse("inventory:laptops_bulk"), {"laptops": [value], "action": "labels"}
    )
    assert response.status_code == 302
    response = client.post(reverse("loans:approve_in_order"), {"requests": [value]})
    assert response.status_code == 302
    assert client.get(f"{reverse('inventory:labels')}?laptop={value}").status_code == 302


def admin_urls():
    """Every named URL of the admin site (models, import/export, history, autocomplete…), with
    "1" for each parameter: the site refuses before it looks for the record."""
    from django.contrib import admin

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif pattern.name:
                route = prefix + str(pattern.pattern)
                for converter in pattern.pattern.converters:
                    route = route.replace(f"<{converter}>", "1")
                route = re.sub(r"<(?:\w+:)?\w+>", "1", route)
                yield pattern.name, route.lstrip("^").rstrip("$")

    base = reverse("admin:index")
    return sorted({(name, base + route) for name, route in walk(admin.site.get_urls(), "")})


# The admin's own door: its login page answers everyone, and logging out is harmless.
ADMIN_DOORS = {"login", "logout"}
ADMIN_URLS = [(name, url) for name, url in admin_urls() if name not in ADMIN_DOORS]


def test_the_admin_walk_sees_every_registered_model():
    from django.contrib import admin

    names = {name for name, _url in admin_urls()}
    for model in admin.site._registry:
        info = model._meta.app_label, model._meta.model_name
        assert "{}_{}_changelist".format(*info) in names
    assert len(ADMIN_URLS) > 50


@pytest.mark.parametrize(("name", "url"), ADMIN_URLS, ids=[name for name, _url in ADMIN_URLS])
def test_coordinators_have_no_admin_access(client, bob, agora_records, name, url):
    client.force_login(bob)
    for response in (client.get(url), client.post(url, {})):
        assert response.status_code in (302, 404), (name, url, response.status_code)
        if response.status_code == 302:
            assert response["Location"].startswith(reverse("admin:login")), (name, url)


def test_the_admin_login_page_does_not_let_a_coordinator_in(client, bob):
    client.force_login(bob)
    response = client.get(reverse("admin:login"))
    assert response.status_code == 200
    assert reverse("admin:loans_loan_changelist") not in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302
