import re

import pytest
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_serves_the_login_page_in_french(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert 'lang="fr"' in response.content.decode()
    assert "Se connecter" in response.content.decode()


def test_it_sends_anonymous_visitors_to_the_login_page(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response.url == reverse("login") + "?next=" + reverse("dashboard")


def test_it_logs_staff_in_to_the_dashboard(client, alice, password):
    response = client.post(reverse("login"), {"username": "alice", "password": password})
    assert response.status_code == 302
    assert client.get(response.url).url == reverse("dashboard")


def test_it_logs_a_coordinator_in_to_the_portal(client, bob, password):
    response = client.post(reverse("login"), {"username": "bob", "password": password}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("trainees:portal")
    assert response.context["user"] == bob


def test_it_refuses_a_wrong_password_with_a_french_message(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert not response.context["user"].is_authenticated
    assert "Saisissez un nom d’utilisateur et un mot de passe valides" in response.content.decode()


def test_it_refuses_an_inactive_account(client, alice, password):
    alice.is_active = False
    alice.save()
    response = client.post(reverse("login"), {"username": "alice", "password": password})
    assert response.status_code == 200
    assert not response.context["user"].is_authenticated


def test_it_logs_out_on_post_only(client, alice):
    client.force_login(alice)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert "Déconnexion effectuée" in response.content.decode()
    assert client.get(reverse("dashboard")).status_code == 302


def test_it_asks_for_twelve_characters_in_a_new_password(client, alice, password):
    client.force_login(alice)
    response = client.post(
        reverse("password_change"),
        {"old_password": password, "new_password1": "Xy7#short", "new_password2": "Xy7#short"},
    )
    assert response.status_code == 200
    assert "au minimum 12 caractères" in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(password)


def test_it_changes_a_password(client, alice, password):
    client.force_login(alice)
    new = "Presqu'île de Quiberon 56"
    response = client.post(
        reverse("password_change"),
        {"old_password": password, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(new)


def _reset_link(message) -> str:
    return re.search(r"https?://testserver(/accounts/reset/\S+/)", message.body).group(1)


def test_it_resets_a_password_by_email_with_a_link_that_works_once(client, alice):
    response = client.post(reverse("password_reset"), {"email": alice.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [alice.email]
    assert message.subject == "Défis : choisissez un nouveau mot de passe"
    assert "alice" in message.body

    link = _reset_link(message)
    form_url = client.get(link).url  # Django swaps the token for a session key
    new = "Ria d'Étel, marée haute"
    response = client.post(form_url, {"new_password1": new, "new_password2": new})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(new)

    client.logout()
    reused = client.get(link, follow=True)
    assert "Ce lien ne fonctionne plus" in reused.content.decode()


def test_it_does_not_reveal_whether_an_email_has_an_account(client, alice):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    assert mail.outbox == []


def test_it_switches_to_english_and_back(client):
    response = client.post(
        reverse("set_language"), {"language": "en", "next": reverse("login")}, follow=True
    )
    assert 'lang="en"' in response.content.decode()
    assert "Log in" in response.content.decode()
    response = client.post(
        reverse("set_language"), {"language": "fr", "next": reverse("login")}, follow=True
    )
    assert "Se connecter" in response.content.decode()


def test_it_speaks_french_to_a_browser_set_to_english(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert 'lang="fr"' in response.content.decode()


def test_it_ends_the_session_of_a_deactivated_account(client, bob):
    client.force_login(bob)
    assert client.get(reverse("trainees:portal")).status_code == 200
    bob.is_active = False
    bob.save()
    response = client.get(reverse("trainees:portal"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_sessions_user_comes_with_their_role_in_one_query(
    client, alice, bob, password, django_assert_num_queries
):
    from defis.accounts import UserBackend
    from defis.permissions import Role, role_of

    backend = UserBackend()
    for user, role in ((alice, Role.STAFF), (bob, Role.COORDINATOR)):
        with django_assert_num_queries(1):
            loaded = backend.get_user(user.pk)
            assert role_of(loaded) is role
    # A login through the form keeps this backend in the session.
    assert client.post(reverse("login"), {"username": "bob", "password": password}).status_code
    assert client.session["_auth_user_backend"] == "defis.accounts.UserBackend"
    bob.is_active = False
    bob.save(update_fields=["is_active"])
    assert backend.get_user(bob.pk) is None and backend.get_user(10**9) is None
