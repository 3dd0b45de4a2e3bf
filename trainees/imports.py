"""Import of trainees from a spreadsheet (being written)."""

from django.http import HttpResponse

from defis.permissions import staff_or_coordinator_required


@staff_or_coordinator_required
def trainee_import(request, pk):
    return HttpResponse(status=501)
