"""Workshops: staff pages (being written)."""

from django.http import HttpResponse

from defis.permissions import staff_required


@staff_required
def _todo(request, *args, **kwargs):
    return HttpResponse(status=501)


workshop_list = workshop_new = workshop_hours = workshop_detail = workshop_edit = _todo
workshop_attendance = _todo
