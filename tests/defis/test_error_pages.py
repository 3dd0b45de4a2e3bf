import pytest
from django.contrib.auth.decorators import login_not_required
from django.test import Client, override_settings
from django.urls import path

from defis import urls as project_urls


@login_not_required
def boom(request):
    raise RuntimeError("something broke")


urlpatterns = [*project_urls.urlpatterns, path("boom/", boom)]

pytestmark = pytest.mark.django_db


def test_it_shows_a_french_404_in_the_site_layout(client, alice):
    client.force_login(alice)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Page introuvable" in page
    assert 'data-role-nav="staff"' in page


@override_settings(ROOT_URLCONF=__name__)
def test_it_shows_a_french_500_page_in_the_site_layout():
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    page = response.content.decode()
    assert "Un problème est survenu de notre côté" in page
    assert "bootstrap.min.css" in page


def test_it_shows_a_french_page_when_a_form_has_expired(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post("/accounts/logout/")
    assert response.status_code == 403
    assert "Ce formulaire a expiré" in response.content.decode()
