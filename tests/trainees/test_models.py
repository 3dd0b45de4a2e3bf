import pytest
from django.core.exceptions import ValidationError

from tests.factories import CoordinatorFactory, StaffFactory, TrainingBodyFactory
from trainees.models import Coordinator

pytestmark = pytest.mark.django_db


def test_a_coordinator_cannot_be_staff(agora):
    coordinator = Coordinator(user=StaffFactory(), training_body=agora)
    with pytest.raises(ValidationError) as error:
        coordinator.full_clean()
    assert "ne peut pas être coordinateur" in str(error.value)


def test_a_training_body_formats_its_address():
    body = TrainingBodyFactory(street="8 rue du Port", postal_code="56100", town="Lorient")
    assert body.address_lines == ["8 rue du Port", "56100 Lorient"]


def test_a_coordinator_reads_as_name_and_body(agora):
    coordinator = CoordinatorFactory(
        training_body=agora, user__first_name="Anne", user__last_name="Le Roux"
    )
    assert str(coordinator) == "Anne Le Roux (Agora)"
