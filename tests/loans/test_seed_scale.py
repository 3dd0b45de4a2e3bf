"""`manage.py seed_scale`: the design-scale dataset in the configured database, with accounts
to log in with; refused where demo data is not allowed, and refused a second time."""

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from defis.models import User
from defis.permissions import is_staff_member
from inventory.models import Laptop
from loans import scale
from loans.models import FeeEntry, Loan
from trainees.models import Coordinator, Trainee, TrainingBody

pytestmark = pytest.mark.django_db

SMALL = ["--fraction", "0.002"]  # 2 bodies, 50 trainees, 20 laptops, 60 loans, 300 lines


def seed(*args):
    out, err = StringIO(), StringIO()
    call_command("seed_scale", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def log_in(client, username) -> bool:
    response = client.post(
        "/accounts/login/", {"username": username, "password": settings.DEFIS_DEMO_PASSWORD}
    )
    return response.status_code == 302 and "_auth_user_id" in client.session


def test_it_fills_the_database_with_the_fraction_asked_and_accounts_that_log_in(client, no_funding):
    out, err = seed(*SMALL)
    counts = scale.fraction_of_design(0.002)
    assert TrainingBody.objects.count() == counts.training_bodies == 2
    assert Trainee.objects.count() == counts.trainees
    assert Laptop.objects.count() == counts.laptops
    assert Loan.objects.count() == counts.loans
    lines = FeeEntry.objects.count()
    assert 0 < lines <= counts.ledger_lines  # about: each month begun is charged once
    assert "Design-scale dataset ready" in out and "coordination-of-02" in out
    # Outside a terminal, one line per step instead of a bar.
    assert "  trainees: 50" in err and f"  ledger lines: {lines}" in err
    staff = User.objects.get(username="equipe")
    assert is_staff_member(staff) and User.objects.get(username="admin").is_superuser
    assert log_in(client, "equipe")
    coordinator = Coordinator.objects.select_related("user").get(
        user__username="coordination-of-01"
    )
    assert log_in(client, coordinator.user.username)
    response = client.get("/trainees/")
    assert response.status_code == 200
    assert (
        response.context["page_obj"].paginator.count
        == Trainee.objects.filter(course__training_body=coordinator.training_body).count()
        > 0
    )


def test_a_second_run_is_refused_and_adds_nothing(no_funding):
    seed(*SMALL)
    loans = Loan.objects.count()
    with pytest.raises(CommandError, match="already in this database"):
        seed(*SMALL)
    assert Loan.objects.count() == loans


def test_it_is_refused_where_demo_data_is_not_allowed(settings, no_funding):
    settings.DEFIS_DEMO_DATA_ALLOWED = False
    with pytest.raises(CommandError, match="DJANGO_ALLOW_DEMO_DATA=1"):
        seed(*SMALL)
    assert not Loan.objects.exists() and not User.objects.filter(username="equipe").exists()


@pytest.mark.parametrize("fraction", ["0", "-1", "1.5"])
def test_a_fraction_outside_zero_to_one_is_refused(fraction, no_funding):
    with pytest.raises(CommandError, match="--fraction"):
        seed("--fraction", fraction)
    assert not TrainingBody.objects.exists()
