"""Loan pages (being written)."""

from django.http import Http404

from defis.permissions import staff_or_coordinator_required, staff_required


def _todo(request, **kwargs):
    raise Http404


loan_list = staff_or_coordinator_required(_todo)
loan_detail = staff_or_coordinator_required(_todo)
loan_agreement = staff_or_coordinator_required(_todo)
loan_return_record = staff_or_coordinator_required(_todo)
loan_scan = staff_or_coordinator_required(_todo)
loan_departure = staff_or_coordinator_required(_todo)
loan_scan_upload = staff_required(_todo)
loan_hand_over = staff_required(_todo)
loan_extend = staff_required(_todo)
loan_return = staff_required(_todo)
loan_loss = staff_required(_todo)
loan_cancel = staff_required(_todo)
loan_prepare = staff_required(_todo)
