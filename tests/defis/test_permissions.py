"""The access rules: what each role may see, and the staff group's permissions."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ImproperlyConfigured

from defis.permissions import (
    STAFF_GROUP_NAME,
    Role,
    VisibleToQuerySet,
    role_of,
    sync_staff_group,
)
from tests.factories import CoordinatorFactory, TrainingBodyFactory, UserFactory
from trainees.models import Coordinator, TrainingBody

pytestmark = pytest.mark.django_db


def test_it_gives_each_user_a_role(alice, bob, root):
    from django.contrib.auth.models import AnonymousUser

    assert role_of(alice) is Role.STAFF
    assert role_of(root) is Role.STAFF
    assert role_of(bob) is Role.COORDINATOR
    assert role_of(UserFactory()) is Role.NONE
    assert role_of(AnonymousUser()) is Role.ANONYMOUS


def test_it_treats_a_deactivated_account_as_anonymous(alice):
    alice.is_active = False
    assert role_of(alice) is Role.ANONYMOUS


def test_it_gives_the_narrower_view_to_an_account_that_is_both(bob):
    # Forbidden by validation, but should it ever happen the account sees less, not more.
    bob.is_staff = True
    assert role_of(bob) is Role.COORDINATOR


def test_it_shows_staff_every_training_body(alice, agora, askoria):
    assert set(TrainingBody.objects.visible_to(alice)) == {agora, askoria}


def test_it_shows_a_coordinator_their_own_training_body_only(bob, agora, askoria):
    assert list(TrainingBody.objects.visible_to(bob)) == [agora]


def test_it_shows_a_coordinator_their_own_colleagues_only(bob, charlie, agora):
    colleague = CoordinatorFactory(training_body=agora)
    assert set(Coordinator.objects.visible_to(bob)) == {bob.coordinator, colleague}
    assert list(Coordinator.objects.visible_to(charlie)) == [charlie.coordinator]


def test_it_shows_nothing_to_a_user_without_a_role(agora):
    assert not TrainingBody.objects.visible_to(UserFactory()).exists()


def test_it_insists_that_a_scoped_queryset_names_its_path(bob):
    class Unscoped(VisibleToQuerySet):
        pass

    with pytest.raises(ImproperlyConfigured):
        Unscoped(model=TrainingBody).visible_to(bob)


def test_it_gives_the_staff_group_the_permissions_of_the_domain_apps():
    group = Group.objects.get(name=STAFF_GROUP_NAME)
    codenames = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert ("trainees", "change_trainingbody") in codenames
    assert ("trainees", "add_coordinator") in codenames
    assert ("defis", "view_user") in codenames
    # Staff never manage accounts: that would let them grant themselves more rights.
    assert ("defis", "change_user") not in codenames
    assert ("auth", "change_group") not in codenames


def test_it_restores_the_staff_group_when_it_drifts():
    group = Group.objects.get(name=STAFF_GROUP_NAME)
    group.permissions.add(Permission.objects.get(codename="change_user"))
    group.permissions.remove(Permission.objects.get(codename="view_trainingbody"))

    from django.apps import apps

    sync_staff_group(sender=apps.get_app_config("defis"))
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert "change_user" not in codenames
    assert "view_trainingbody" in codenames


def test_it_lets_staff_in_the_admin_but_not_change_accounts(client, alice, bob):
    client.force_login(alice)
    assert client.get("/admin/trainees/trainingbody/").status_code == 200
    assert client.get(f"/admin/defis/user/{bob.pk}/change/").status_code == 200  # view only
    response = client.post(f"/admin/defis/user/{bob.pk}/change/", {"is_staff": "on"})
    assert response.status_code == 403
    bob.refresh_from_db()
    assert not bob.is_staff


def test_a_factory_training_body_is_visible_to_its_new_coordinator():
    body = TrainingBodyFactory()
    coordinator = CoordinatorFactory(training_body=body)
    assert list(TrainingBody.objects.visible_to(coordinator.user)) == [body]
