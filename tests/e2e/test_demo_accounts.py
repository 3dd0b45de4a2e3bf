"""Each demo account logs in through the real login page and sees its own navigation."""

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# username: (role marker, a link it must see, a link it must not see, links of its user menu)
ACCOUNTS = {
    "admin": (
        "staff",
        "Tableau de bord",
        "Mon organisme",
        {"Administration", "Comptes utilisateurs"},
    ),
    "equipe": ("staff", "Tableau de bord", "Mon organisme", {"Administration"}),
    "agora": ("coordinator", "Mon organisme", "Tableau de bord", set()),
    "askoria": ("coordinator", "Mon organisme", "Tableau de bord", set()),
}
MENU_LINKS = {"Administration", "Comptes utilisateurs"}


@pytest.fixture
def demo_data(transactional_db):
    call_command("seed_demo")


def _log_in(page, base_url, username):
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Nom d’utilisateur").fill(username)
    page.get_by_label("Mot de passe").fill("defis-demo")
    page.get_by_role("button", name="Se connecter").click()


@pytest.mark.parametrize("username", ACCOUNTS)
def test_each_demo_account_sees_its_own_navigation(
    page, live_server, demo_data, screenshot, username
):
    role, expected, unexpected, menu = ACCOUNTS[username]
    page.set_viewport_size({"width": 1280, "height": 800})
    _log_in(page, live_server.url, username)

    navigation = page.locator("[data-role-nav]")
    assert navigation.get_attribute("data-role-nav") == role
    assert navigation.get_by_role("link", name=expected).is_visible()
    assert navigation.get_by_role("link", name=unexpected).count() == 0
    screenshot(f"home-{username}")

    page.locator("#user-menu").click()
    user_menu = page.locator("#user-menu + .dropdown-menu")
    for name in MENU_LINKS:
        assert user_menu.get_by_role("link", name=name).count() == (name in menu), name
    page.get_by_role("button", name="Se déconnecter").click()
    assert page.get_by_text("Déconnexion effectuée").is_visible()


def test_the_login_page_speaks_french_and_english(page, live_server, screenshot):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.locator("html").get_attribute("lang") == "fr"
    screenshot("login-fr")
    page.get_by_role("button", name="Langue").click()
    page.get_by_role("button", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Log in").is_visible()


def test_the_navigation_collapses_on_a_phone(page, live_server, demo_data, screenshot):
    page.set_viewport_size({"width": 390, "height": 844})
    _log_in(page, live_server.url, "agora")
    link = page.get_by_role("link", name="Mon organisme")
    assert not link.is_visible()
    page.get_by_role("button", name="Afficher ou masquer le menu").click()
    link.wait_for(state="visible")
    screenshot("portal-agora-phone")
