import pytest
from django.urls import reverse

from tests.factories import CoordinatorFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_it_shows_a_coordinator_their_training_body_and_colleagues(client, bob, agora):
    colleague = CoordinatorFactory(
        training_body=agora, user=UserFactory(first_name="Nolwenn", last_name="Tanguy")
    )
    client.force_login(bob)
    response = client.get(reverse("trainees:portal"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Agora Services" in page
    assert "Nolwenn Tanguy" in page
    assert list(response.context["colleagues"]) == [colleague]


def test_it_never_shows_another_training_body(client, bob, charlie):
    client.force_login(bob)
    page = client.get(reverse("trainees:portal")).content.decode()
    assert "ASKORIA" not in page
    assert "Kerleau" not in page


def test_it_leaves_out_deactivated_colleagues(client, bob, agora):
    CoordinatorFactory(training_body=agora, user=UserFactory(last_name="Parti", is_active=False))
    client.force_login(bob)
    assert "Parti" not in client.get(reverse("trainees:portal")).content.decode()
