import pytest
from django.urls import reverse

from defis.models import Association

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "admin:defis_user_changelist",
    "admin:defis_association_changelist",
    "admin:trainees_territory_changelist",
    "admin:trainees_trainingbody_changelist",
    "admin:trainees_coordinator_changelist",
]


@pytest.mark.parametrize("name", CHANGELISTS)
def test_it_lists_searches_and_filters(client, root, bob, charlie, name):
    client.force_login(root)
    assert client.get(reverse(name)).status_code == 200
    assert client.get(reverse(name), {"q": "Agora"}).status_code == 200


def test_it_filters_coordinators_by_training_body(client, root, bob, charlie, agora):
    client.force_login(root)
    response = client.get(
        reverse("admin:trainees_coordinator_changelist"), {"training_body__id__exact": agora.pk}
    )
    assert [c.user for c in response.context["cl"].result_list] == [bob]


def test_it_shows_the_defis_branding(client, root):
    client.force_login(root)
    page = client.get(reverse("admin:index")).content.decode()
    assert "Défis · administration" in page
    assert "css/admin.css" in page


def test_it_refuses_to_make_a_coordinator_staff(client, root, bob):
    client.force_login(root)
    url = reverse("admin:defis_user_change", args=[bob.pk])
    form = client.get(url).context["adminform"].form
    data = {
        key: value
        for key, value in form.initial.items()
        if value is not None and key not in ("groups", "user_permissions", "password")
    }
    data.update(
        is_staff="on",
        last_login_0="",
        last_login_1="",
        date_joined_0="2026-01-05",
        date_joined_1="09:00:00",
    )
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Ce compte est celui d’un coordinateur" in response.content.decode()
    bob.refresh_from_db()
    assert not bob.is_staff


def test_it_keeps_a_single_association_identity(client, root):
    Association.objects.create(
        name="Association Défis",
        street="8 rue du Général Leclerc",
        postal_code="56600",
        town="Lanester",
    )
    client.force_login(root)
    assert client.get(reverse("admin:defis_association_add")).status_code == 403
    identity = Association.objects.get()
    assert (
        client.get(reverse("admin:defis_association_delete", args=[identity.pk])).status_code == 403
    )


def test_every_admin_and_inline_reads_ids_as_the_site_does():
    """A tampered id in an admin form, autocomplete or action is refused, never a 500
    (defis.forms.AdminIdsMixin); a new admin without it fails here."""
    from django.contrib import admin

    from defis.forms import AdminIdsMixin

    missing = []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in ("defis", "inventory", "trainees", "loans"):
            continue
        for cls in (type(model_admin), *model_admin.inlines):
            if not issubclass(cls, AdminIdsMixin):
                missing.append(cls.__name__)
    assert missing == []
