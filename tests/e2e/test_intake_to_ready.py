"""A member of staff takes a donated batch of two laptops from intake to ready, in the browser."""

import re

import pytest
from playwright.sync_api import expect

from inventory.models import Laptop
from tests.factories import PASSWORD, StaffFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _log_in(page, base_url, username):
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Nom d’utilisateur").fill(username)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


def test_a_batch_goes_from_intake_to_ready_with_its_wipes(page, live_server, screenshot):
    StaffFactory(username="morgane", first_name="Morgane", last_name="Le Bihan")
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, live_server.url, "morgane")

    # Intake: a new donor, then the batch and its two laptops.
    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Ordinateurs"
    ).click()
    page.get_by_role("link", name="Enregistrer un don").click()
    page.get_by_role("link", name="Ajouter un donateur").click()
    page.get_by_label("Nom").fill("Kerhoël Logistique")
    page.get_by_role("button", name="Ajouter le donateur").click()
    expect(page.get_by_text("Donateur « Kerhoël Logistique » ajouté.")).to_be_visible()

    rows = page.locator(".intake-row")
    for index, (brand, model, serial) in enumerate(
        [("Lenovo", "ThinkPad T480", "PF1AB2C3"), ("Dell", "Latitude 5490", "7XK2P12")]
    ):
        row = rows.nth(index)
        row.get_by_label("Marque").fill(brand)
        row.get_by_label("Modèle").fill(model)
        row.get_by_label("Numéro de série").fill(serial)
        row.get_by_label("Grade").select_option("B")
    screenshot("intake-form")
    page.get_by_role("button", name="Enregistrer le don et ses ordinateurs").click()
    expect(page.get_by_text("Don enregistré : 2 ordinateurs")).to_be_visible()
    expect(page.get_by_role("heading", name="Don de Kerhoël Logistique")).to_be_visible()
    screenshot("intake-donation")

    # The whole batch goes to refurbishing in one move.
    page.get_by_label("Cocher tous les ordinateurs de la page").check()
    page.get_by_label("Avec les ordinateurs cochés").select_option("refurbishing")
    page.get_by_role("button", name="Appliquer").click()
    expect(page.get_by_text("2 ordinateurs passés en « En reconditionnement »")).to_be_visible()

    for tag in ("DEF-0001", "DEF-0002"):
        page.get_by_role("link", name=tag).click()
        # Ready is refused until the wipe is recorded.
        page.get_by_role("button", name="Marquer prêt à prêter").click()
        expect(page.get_by_text("aucun effacement vérifié")).to_be_visible()

        page.get_by_role("link", name="Enregistrer un effacement des données").click()
        page.get_by_label("Méthode").select_option("nwipe_zero")
        page.get_by_label("Vérifié").check()
        page.get_by_label("Référence du certificat").fill(f"NW-{tag}")
        if tag == "DEF-0001":
            screenshot("intake-wipe-form")
        page.get_by_role("button", name="Enregistrer l’effacement").click()
        expect(page.get_by_text("L’effacement des données est enregistré.")).to_be_visible()

        page.get_by_role("button", name="Marquer prêt à prêter").click()
        expect(page.get_by_text(f"{tag} est maintenant « Prêt à prêter ».")).to_be_visible()
        expect(page.locator("[data-laptop-status]")).to_have_attribute(
            "data-laptop-status", "ready"
        )
        expect(page.locator(".history li")).to_have_count(3)
        if tag == "DEF-0001":
            screenshot("intake-laptop-ready")
        # Back to the batch, through the laptop's donation.
        page.get_by_role("link", name=re.compile("Kerhoël Logistique")).click()

    assert sorted(Laptop.objects.values_list("asset_tag", "status")) == [
        ("DEF-0001", "ready"),
        ("DEF-0002", "ready"),
    ]

    # The batch's labels, fetched with the session of the page.
    link = page.get_by_role("link", name="Imprimer les étiquettes de ce lot")
    response = page.request.get(live_server.url + link.get_attribute("href"))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")

    # One machine is retired, with its reason.
    page.get_by_role("link", name="DEF-0002").click()
    page.get_by_role("link", name="Réformer").click()
    page.get_by_label("Gardé pour pièces").check()
    page.get_by_label("Note").fill("Écran fêlé")
    page.get_by_role("button", name="Réformer cet ordinateur").click()
    expect(page.get_by_text("DEF-0002 est réformé.")).to_be_visible()
    expect(page.get_by_text("Réformé le")).to_be_visible()
    screenshot("intake-laptop-retired")
    assert Laptop.objects.get(asset_tag="DEF-0002").status_changes.count() == 4
