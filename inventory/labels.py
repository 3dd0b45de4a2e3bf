"""Asset labels: an A4 sheet of labels with QR codes (to be written)."""

from django.http import HttpResponse

from defis.permissions import staff_required


@staff_required
def labels_pdf(request):
    return HttpResponse(status=501)
