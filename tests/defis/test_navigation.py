"""Each role gets its own navigation and only its own pages."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _nav(response) -> str:
    page = response.content.decode()
    return page[page.index("<nav") : page.index("</nav>")]


def test_it_shows_staff_the_dashboard_and_administration(client, alice):
    client.force_login(alice)
    nav = _nav(client.get(reverse("dashboard")))
    assert 'data-role-nav="staff"' in nav
    assert "Tableau de bord" in nav
    assert reverse("admin:index") in nav
    for name in ("loans:requests", "trainees:trainees", "trainees:courses", "inventory:laptops"):
        assert f'href="{reverse(name)}"' in nav
    assert "Comptes utilisateurs" not in nav
    assert "Mon organisme" not in nav


def test_it_shows_a_superuser_the_user_accounts_too(client, root):
    client.force_login(root)
    nav = _nav(client.get(reverse("dashboard")))
    assert 'data-role-nav="staff"' in nav
    assert reverse("admin:defis_user_changelist") in nav


def test_it_shows_a_coordinator_their_portal_only(client, bob):
    client.force_login(bob)
    nav = _nav(client.get(reverse("trainees:portal")))
    assert 'data-role-nav="coordinator"' in nav
    assert "Mon organisme" in nav
    for name in ("loans:requests", "trainees:trainees", "trainees:courses"):
        assert f'href="{reverse(name)}"' in nav
    assert "Tableau de bord" not in nav
    assert reverse("admin:index") not in nav
    assert reverse("inventory:laptops") not in nav


def test_it_refuses_a_coordinator_on_staff_pages(client, bob):
    client.force_login(bob)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 403
    assert "Accès refusé" in response.content.decode()


def test_it_keeps_coordinators_out_of_the_admin(client, bob):
    client.force_login(bob)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
    assert client.get(reverse("admin:trainees_trainingbody_changelist")).status_code == 302


def test_it_refuses_staff_on_the_coordinator_portal(client, alice):
    client.force_login(alice)
    assert client.get(reverse("trainees:portal")).status_code == 403


def test_it_sends_each_role_home(client, alice, bob):
    client.force_login(alice)
    assert client.get(reverse("home")).url == reverse("dashboard")
    client.force_login(bob)
    assert client.get(reverse("home")).url == reverse("trainees:portal")


def test_it_tells_a_user_without_a_role_to_ask_defis(client):
    client.force_login(UserFactory(username="newcomer"))
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "pas encore configuré" in response.content.decode()
    assert 'data-role-nav="none"' in _nav(response)
    assert client.get(reverse("dashboard")).status_code == 403
    assert client.get(reverse("trainees:portal")).status_code == 403


def test_it_shows_the_privacy_notice_to_anyone(client):
    response = client.get(reverse("privacy"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Politique de confidentialité" in page
    assert "CNIL" in page
