"""A trainee deleted in the admin is erased: the change history of their record goes, and the
admin's log no longer names them (trainees.models.trainee_erased, GDPR article 17)."""

import json
from datetime import timedelta

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from tests.factories import CourseFactory, TraineeFactory
from trainees.models import Trainee, Workshop

pytestmark = pytest.mark.django_db

TRAINEES = reverse("admin:trainees_trainee_changelist")


def deleted_label(pk: int) -> str:
    """ "Stagiaire n° 12 (supprimé)": in the site's language, whoever deleted."""
    with translation.override("fr"):
        return gettext("Trainee no. %(pk)s (deleted)") % {"pk": pk}


@pytest.fixture
def course(agora):
    return CourseFactory(training_body=agora)


def enrolled(client, root, course, **names) -> Trainee:
    """A trainee with two versions in the history (a change of address), logged in the
    admin, and added to a workshop through the admin (whose log names her)."""
    trainee = TraineeFactory(course=course, email="lea@example.org", **names)
    trainee.street = "2 rue de la Gare"
    trainee.save()
    LogEntry.objects.create(
        user=root,
        content_type=ContentType.objects.get_for_model(Trainee),
        object_id=str(trainee.pk),
        object_repr=str(trainee),
        action_flag=CHANGE,
        change_message='[{"changed": {"fields": ["Adresse"]}}]',
    )
    day = timezone.localdate() - timedelta(days=3)
    workshop = Workshop.objects.create(
        date=day, duration_minutes=60, topic="Premiers pas", place="Lanester", facilitator="X"
    )
    client.force_login(root)
    response = client.post(
        reverse("admin:trainees_workshop_change", args=[workshop.pk]),
        {
            "topic": workshop.topic,
            "date": day.strftime("%d/%m/%Y"),
            "start_time": "",
            "duration_minutes": "60",
            "place": workshop.place,
            "facilitator": workshop.facilitator,
            "notes": "",
            "course": "",
            "attendances-TOTAL_FORMS": "1",
            "attendances-INITIAL_FORMS": "0",
            "attendances-MIN_NUM_FORMS": "0",
            "attendances-MAX_NUM_FORMS": "1000",
            "attendances-0-trainee": str(trainee.pk),
            "attendances-0-present": "on",
            "attendances-0-workshop": str(workshop.pk),
        },
    )
    assert response.status_code == 302
    assert Trainee.history.filter(id=trainee.pk).count() == 2
    return trainee


def named(text: str) -> list:
    """The log entries that still hold `text`, as typed or as JSON writes it."""
    escaped = json.dumps(text)[1:-1]  # "L\\u00e9a"
    return [
        entry
        for entry in LogEntry.objects.values_list("object_repr", "change_message")
        if text in entry[0] or text in entry[1] or escaped in entry[1]
    ]


def test_deleting_a_trainee_in_the_admin_erases_their_history(client, root, course):
    lea = enrolled(client, root, course, first_name="Léa", last_name="Kerbrat")
    kept = TraineeFactory(course=course, first_name="Yann", last_name="Le Bihan")
    assert named("Léa Kerbrat")

    response = client.post(reverse("admin:trainees_trainee_delete", args=[lea.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not Trainee.objects.filter(pk=lea.pk).exists()
    # The "deleted" row django-simple-history writes goes with the others.
    assert not Trainee.history.filter(id=lea.pk).exists()
    assert Trainee.history.filter(id=kept.pk).count() == 1
    assert not named("Léa Kerbrat")
    about_her = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Trainee), object_id=str(lea.pk)
    )
    assert sorted(about_her.values_list("action_flag", flat=True)) == [CHANGE, DELETION]
    assert set(about_her.values_list("object_repr", flat=True)) == {deleted_label(lea.pk)}
    workshop_entry = LogEntry.objects.get(content_type__model="workshop")
    assert deleted_label(lea.pk) in workshop_entry.get_change_message()


def test_deleting_trainees_from_the_list_erases_each(client, root, course):
    lea = enrolled(client, root, course, first_name="Léa", last_name="Kerbrat")
    gwen = TraineeFactory(course=course, first_name="Gwen", last_name="Le Roux")
    # Named another way than "first last" (by an older version of the application): the
    # entry is about her all the same.
    LogEntry.objects.create(
        user=root,
        content_type=ContentType.objects.get_for_model(Trainee),
        object_id=str(gwen.pk),
        object_repr="LE ROUX Gwen",
        action_flag=ADDITION,
        change_message="[]",
    )
    client.force_login(root)
    response = client.post(
        TRAINEES,
        {"action": "delete_selected", "_selected_action": [lea.pk, gwen.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Trainee.objects.filter(pk__in=[lea.pk, gwen.pk]).exists()
    assert not Trainee.history.filter(id__in=[lea.pk, gwen.pk]).exists()
    assert not named("Léa Kerbrat") and not named("Gwen Le Roux") and not named("LE ROUX")
    assert set(
        LogEntry.objects.filter(object_id=str(gwen.pk), content_type__model="trainee").values_list(
            "object_repr", flat=True
        )
    ) == {deleted_label(gwen.pk)}
