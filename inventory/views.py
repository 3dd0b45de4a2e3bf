"""Staff pages of the inventory (being written)."""

from django.http import HttpResponse
from django.views.generic import ListView, UpdateView

from defis.permissions import StaffRequiredMixin, staff_required

from .models import Donation, Laptop


class LaptopListView(StaffRequiredMixin, ListView):
    model = Laptop


class LaptopUpdateView(StaffRequiredMixin, UpdateView):
    model = Laptop
    fields = ["brand"]


class DonationListView(StaffRequiredMixin, ListView):
    model = Donation


@staff_required
def _todo(request, *args, **kwargs):
    return HttpResponse(status=501)


laptops_bulk = laptop_detail = laptop_move = laptop_retire = wipe_add = repair_add = _todo
donation_new = donation_detail = donor_new = _todo
