"""Hardening: the security headers on every kind of response, the cookies of production, and
the end of a session (logout, a deactivated account, a password-reset link used once)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.decorators import login_not_required
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client, override_settings
from django.urls import path, reverse

from defis import urls as project_urls
from defis.models import User
from tests.factories import make_loan

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


@login_not_required
def boom(request):
    raise RuntimeError("something broke")


urlpatterns = [*project_urls.urlpatterns, path("boom/", boom)]


def _policy(response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as {directive: [sources]}."""
    header = response.headers.get("Content-Security-Policy")
    assert header, "no Content-Security-Policy header"
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def _assert_security_headers(response):
    policy = _policy(response)
    header = response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in header
    assert "'unsafe-eval'" not in header
    assert "Content-Security-Policy-Report-Only" not in response.headers
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    features = dict(
        item.strip().split("=", 1) for item in response.headers["Permissions-Policy"].split(",")
    )
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert features[feature] == "()", feature


def _session_cookie(client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _log_in(client, user, password) -> None:
    """Through the login page, as a person would."""
    response = client.post(reverse("login"), {"username": user.username, "password": password})
    assert response.status_code == 302, "login refused"


def _sessions_of(user) -> list[str]:
    return [
        session.session_key
        for session in Session.objects.all()
        if session.get_decoded().get(SESSION_KEY) == str(user.pk)
    ]


# Headers


def test_a_page_has_the_security_headers(client, alice):
    client.force_login(alice)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    _assert_security_headers(response)


def test_the_login_page_has_them_before_logging_in(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    _assert_security_headers(response)


def test_a_redirect_has_them(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    _assert_security_headers(response)


def test_an_error_page_has_them(client, alice):
    client.force_login(alice)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    _assert_security_headers(response)


def test_a_refusal_has_them(client, bob):
    client.force_login(bob)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 403
    _assert_security_headers(response)


@override_settings(ROOT_URLCONF=__name__)
def test_the_server_error_page_has_them():
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    _assert_security_headers(response)


def test_a_pdf_has_them(client, alice):
    loan = make_loan(by=alice)
    client.force_login(alice)
    response = client.get(reverse("loans:loan_agreement", args=[loan.pk]))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    _assert_security_headers(response)


# Production settings

PRODUCTION_PROBE = """
import json, django
django.setup()
from django.core.management import call_command
from django.test import Client, override_settings
from defis.models import User

call_command("migrate", verbosity=0)
User.objects.create_user("probe", password="correct horse battery staple")
plain_static = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# No collectstatic here: the pages find their static files without the manifest.
with override_settings(STORAGES=plain_static):
    client = Client(HTTP_HOST="prets.defis.info")
    page = client.get("/accounts/login/", secure=True)
    login = client.post(
        "/accounts/login/",
        {"username": "probe", "password": "correct horse battery staple"},
        secure=True,
    )
    plain_http = Client(HTTP_HOST="prets.defis.info").get("/accounts/login/")

def cookie(response, name):
    morsel = response.cookies[name]
    return {"secure": bool(morsel["secure"]), "httponly": bool(morsel["httponly"]),
            "samesite": morsel["samesite"]}

print(json.dumps({
    "status": [page.status_code, login.status_code, plain_http.status_code],
    "location": plain_http.headers.get("Location"),
    "hsts": page.headers.get("Strict-Transport-Security"),
    "csp": page.headers.get("Content-Security-Policy"),
    "csrf": cookie(page, "csrftoken"),
    "session": cookie(login, "sessionid"),
}))
"""


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    """What the login page and a login answer with the production settings (DJANGO_DEBUG=0),
    loaded from the environment in a process of their own, on a database of their own."""
    database = tmp_path_factory.mktemp("production") / "db.sqlite3"
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "EMAIL_"))
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="defis.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="k8Gq2v9xP4mZ7tR1wY6uE3sN5bH0jL8cA2fD9gK4hQ7pV1xZ3nM6",
        DJANGO_ALLOWED_HOSTS="prets.defis.info",
        DATABASE_URL=f"sqlite:///{database}",
    )
    result = subprocess.run(
        [sys.executable, "-c", PRODUCTION_PROBE],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_sends_its_cookies_over_https_only_and_out_of_scripts_reach(production):
    assert production["status"][:2] == [200, 302]
    assert production["session"] == {"secure": True, "httponly": True, "samesite": "Lax"}
    assert production["csrf"] == {"secure": True, "httponly": True, "samesite": "Lax"}


def test_production_asks_browsers_for_https_only(production):
    assert production["hsts"], "no Strict-Transport-Security header"
    max_age = re.search(r"max-age=(\d+)", production["hsts"]).group(1)
    assert int(max_age) >= 60 * 60 * 24 * 365
    assert "includeSubDomains" in production["hsts"]
    assert production["status"][2] == 301
    assert production["location"] == "https://prets.defis.info/accounts/login/"


def test_production_has_the_content_security_policy(production):
    assert "default-src 'self'" in production["csp"]
    assert "'unsafe-inline'" not in production["csp"]


# The end of a session


def test_a_session_ends_at_logout_even_for_a_copy_of_its_cookie(client, alice, password):
    _log_in(client, alice, password)
    old_cookie = _session_cookie(client)
    assert client.get(reverse("dashboard")).status_code == 200

    client.post(reverse("logout"))

    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = old_cookie
    response = thief.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert not Session.objects.filter(session_key=old_cookie).exists()


def test_a_deactivated_account_is_logged_out_on_its_next_request(client, bob, password):
    _log_in(client, bob, password)
    assert client.get(reverse("trainees:portal")).status_code == 200

    bob.is_active = False
    bob.save()

    response = client.get(reverse("trainees:portal"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert _sessions_of(bob) == []


def test_an_account_deactivated_in_the_admin_is_logged_out_everywhere(
    client, root, bob, alice, password
):
    laptop_browser, phone = Client(), Client()
    _log_in(laptop_browser, bob, password)
    _log_in(phone, bob, password)
    alices_browser = Client()
    _log_in(alices_browser, alice, password)
    assert len(_sessions_of(bob)) == 2

    _log_in(client, root, password)
    response = client.post(
        reverse("admin:defis_user_change", args=[bob.pk]),
        {
            "username": bob.username,
            "first_name": bob.first_name,
            "last_name": bob.last_name,
            "email": bob.email,
            # "is_active" unticked
            "date_joined_0": bob.date_joined.strftime("%d/%m/%Y"),
            "date_joined_1": bob.date_joined.strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    bob.refresh_from_db()
    assert not bob.is_active

    assert _sessions_of(bob) == []
    for browser in (laptop_browser, phone):
        response = browser.get(reverse("trainees:portal"))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
    # Nobody else is logged out.
    assert alices_browser.get(reverse("dashboard")).status_code == 200
    assert client.get(reverse("admin:index")).status_code == 200


@override_settings(
    AUTHENTICATION_BACKENDS=[
        "axes.backends.AxesStandaloneBackend",
        "django.contrib.auth.backends.AllowAllUsersModelBackend",
    ]
)
def test_the_session_ends_even_with_a_backend_that_lets_inactive_accounts_in(client, bob, password):
    _log_in(client, bob, password)
    account = User.objects.get(pk=bob.pk)
    account.is_active = False
    account.save(update_fields=["is_active"])

    response = client.get(reverse("trainees:portal"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_saving_an_active_account_keeps_its_sessions(client, bob, password):
    _log_in(client, bob, password)
    bob.first_name = "Robert"
    bob.save()
    assert client.get(reverse("trainees:portal")).status_code == 200
    assert len(_sessions_of(bob)) == 1


def _reset_link(message) -> str:
    return re.search(r"https?://testserver(/accounts/reset/\S+/)", message.body).group(1)


def test_a_password_reset_link_works_once(client, alice):
    client.post(reverse("password_reset"), {"email": alice.email})
    link = _reset_link(mail.outbox[-1])

    response = client.get(link)
    assert response.status_code == 302
    form_url = response.url  # Django swaps the token for one kept in the session
    first = "Ria d'Étel, marée haute"
    response = client.post(form_url, {"new_password1": first, "new_password2": first})
    assert response.status_code == 302
    assert response.url == reverse("password_reset_complete")

    # The same link again, in the same browser and in another one.
    for browser in (client, Client()):
        page = browser.get(link, follow=True)
        assert "Ce lien ne fonctionne plus" in page.content.decode()
        assert not page.context["validlink"]
    second = "Gâvres, grande marée"
    page = client.post(form_url, {"new_password1": second, "new_password2": second}, follow=True)
    assert "Ce lien ne fonctionne plus" in page.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(first)
    assert not alice.check_password(second)
    refused = Client().post(reverse("login"), {"username": "alice", "password": second})
    assert refused.status_code == 200
    assert not refused.context["user"].is_authenticated
