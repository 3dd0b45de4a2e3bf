"""Named users, as in the rest of the suite:

- alice: a member of the Défis team (staff);
- bob: coordinator of Agora Services;
- charlie: coordinator of ASKORIA, the outsider to Bob's records;
- root: a superuser.
"""

import pytest

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
