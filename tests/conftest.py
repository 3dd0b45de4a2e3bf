"""Named users, as in the rest of the suite:

- alice: a member of the Défis team (staff);
- bob: coordinator of Agora Services;
- charlie: coordinator of ASKORIA, the outsider to Bob's records;
- root: a superuser.
"""

import importlib

import pytest
from django.apps import apps as django_apps

from tests.factories import (
    PASSWORD,
    CoordinatorFactory,
    StaffFactory,
    SuperuserFactory,
    TerritoryFactory,
    TrainingBodyFactory,
    UserFactory,
)


@pytest.fixture
def lorient(db):
    return TerritoryFactory(name="Pays de Lorient")


@pytest.fixture
def agora(lorient):
    return TrainingBodyFactory(
        name="Agora Services", short_name="Agora", town="Lanester", territory=lorient
    )


@pytest.fixture
def askoria(lorient):
    return TrainingBodyFactory(name="ASKORIA", short_name="ASKORIA", territory=lorient)


@pytest.fixture
def alice(db):
    return StaffFactory(username="alice", first_name="Alice", last_name="Martin")


@pytest.fixture
def bob(agora):
    return CoordinatorFactory(
        user=UserFactory(username="bob", first_name="Bob", last_name="Le Gall"),
        training_body=agora,
    ).user


@pytest.fixture
def charlie(askoria):
    return CoordinatorFactory(
        user=UserFactory(username="charlie", first_name="Charlie", last_name="Kerleau"),
        training_body=askoria,
    ).user


@pytest.fixture
def root(db):
    return SuperuserFactory(username="root", first_name="Root", last_name="Admin")


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture(autouse=True)
def agreement_text(request):
    """The first agreement version, as its migration makes it. A transactional test (real
    commits, browser tests) empties the tables when it ends, so the next one would find no
    template: those get it back. Other tests roll back and keep the migration's row."""
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and (
        marker.kwargs.get("transaction") or (len(marker.args) > 0 and marker.args[0])
    )
    if not (transactional or "live_server" in request.fixturenames):
        return
    request.getfixturevalue("transactional_db")
    migration = importlib.import_module("loans.migrations.0003_first_agreement_template")
    migration.create_first_version(django_apps, None)


# The name of the envelope every database test gets (see `funding`).
TEST_ENVELOPE = "Enveloppe de test (toute la période)"


@pytest.fixture(autouse=True)
def funding(request):
    """Every loan is funded by a budget envelope: database tests get one that covers every
    training body from 2000 to 2100, so that a test about something else can prepare loans.
    Tests about envelopes make their own and may delete this one (`no_funding`)."""
    marker = request.node.get_closest_marker("django_db")
    uses_db = marker is not None or {"db", "transactional_db", "live_server"} & set(
        request.fixturenames
    )
    if not uses_db or "no_funding" in request.fixturenames:
        return None
    if "live_server" in request.fixturenames or (marker and marker.kwargs.get("transaction")):
        request.getfixturevalue("transactional_db")
    else:
        request.getfixturevalue("db")
    from tests.factories import BudgetEnvelopeFactory

    return BudgetEnvelopeFactory(name=TEST_ENVELOPE)


@pytest.fixture
def no_funding():
    """For tests that set up their own envelopes."""
