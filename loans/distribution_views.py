"""Distribution day pages (being written)."""

from django.http import Http404

from defis.permissions import staff_required


def _todo(request, **kwargs):
    raise Http404


distribution = staff_required(_todo)
distribution_agreements = staff_required(_todo)
distribution_hand_over = staff_required(_todo)
