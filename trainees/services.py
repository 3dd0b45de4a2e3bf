"""Writes that touch several rows of the trainees app."""

from django.db import transaction

from .models import Attendance, Workshop


@transaction.atomic
def attendance_replace(*, workshop: Workshop, expected, present) -> None:
    """Make `expected` the trainees expected at `workshop` and `present` those who came.

    The whole set is replaced at once. The workshop row is locked first, so that two people
    saving its list at the same moment leave one list or the other, never a mix of both.
    """
    Workshop.objects.select_for_update().get(pk=workshop.pk)
    present_ids = {trainee.pk for trainee in present}
    expected_ids = {trainee.pk for trainee in expected} | present_ids
    Attendance.objects.filter(workshop=workshop).delete()
    Attendance.objects.bulk_create(
        Attendance(workshop=workshop, trainee_id=pk, present=pk in present_ids)
        for pk in sorted(expected_ids)
    )
