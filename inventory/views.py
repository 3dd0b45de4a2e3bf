"""Staff pages of the inventory. Coordinators never see them (403)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST
from django.views.generic import ListView, UpdateView
from django_filters.views import FilterView

from defis.forms import is_id
from defis.permissions import StaffRequiredMixin, staff_required

from . import services
from .filters import LaptopFilter
from .forms import (
    BulkForm,
    DonationForm,
    DonorForm,
    IntakeFormSet,
    LaptopForm,
    MoveForm,
    RepairForm,
    RetireForm,
    WipeForm,
)
from .models import Donation, Laptop

Status = Laptop.Status

# The words on the buttons of the laptop page, one per workshop move.
MOVE_ACTIONS = {
    Status.REFURBISHING: gettext_lazy("Start refurbishing"),
    Status.READY: gettext_lazy("Mark as ready to lend"),
    Status.IN_REPAIR: gettext_lazy("Send to repair"),
}


def _laptops():
    return Laptop.objects.select_related("location", "donation__donor")


def _safe_next(request, fallback):
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _show_errors(request, error: ValidationError):
    for message in error.messages:
        messages.error(request, message)


class LaptopListView(StaffRequiredMixin, FilterView):
    filterset_class = LaptopFilter
    template_name = "inventory/laptop_list.html"
    paginate_by = 50
    context_object_name = "laptops"

    def get_queryset(self):
        return _laptops().order_by("asset_tag")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        counts = dict(
            Laptop.objects.order_by()
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        query = self.request.GET.copy()
        query.pop("page", None)
        query.pop("status", None)
        context["status_counts"] = [
            {
                "status": status,
                "label": status.label,
                "count": counts.get(status, 0),
                "query": urlencode({**query.dict(), "status": status}),
            }
            for status in Status
        ]
        context["total_count"] = sum(counts.values())
        context["all_statuses_query"] = query.urlencode()
        page_query = self.request.GET.copy()
        page_query.pop("page", None)
        context["page_query"] = page_query.urlencode()
        context["bulk_form"] = BulkForm()
        return context


@staff_required
@require_POST
def laptops_bulk(request):
    """The form under the laptop list: labels for the ticked laptops, or a move of them all."""
    form = BulkForm(request.POST)
    back = _safe_next(request, reverse("inventory:laptops"))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    laptops = sorted(form.cleaned_data["laptops"], key=lambda laptop: laptop.asset_tag)
    action = form.cleaned_data["action"]
    if action == BulkForm.LABELS:
        pairs = [("laptop", laptop.pk) for laptop in laptops]
        if form.cleaned_data["skip"]:
            pairs.append(("skip", form.cleaned_data["skip"]))
        query = urlencode(pairs)
        return redirect(f"{reverse('inventory:labels')}?{query}")
    try:
        services.laptops_change_status(laptops=laptops, to_status=action, by=request.user)
    except ValidationError as error:
        messages.error(request, _("Nothing was changed:"))
        _show_errors(request, error)
    else:
        messages.success(
            request,
            ngettext(
                "%(count)d laptop moved to “%(status)s”.",
                "%(count)d laptops moved to “%(status)s”.",
                len(laptops),
            )
            % {"count": len(laptops), "status": Status(action).label},
        )
    return redirect(back)


@staff_required
def laptop_detail(request, pk):
    laptop = get_object_or_404(_laptops(), pk=pk)
    history = laptop.status_changes.select_related("changed_by")
    # Through the reverse relation: inventory does not import the loans app.
    loans = list(laptop.loans.select_related("trainee", "course"))
    context = {
        "laptop": laptop,
        "loans": loans,
        "current_loan": next((loan for loan in loans if loan.is_open), None),
        "history": history,
        "wipes": laptop.wipes.select_related("operator"),
        "repairs": laptop.repairs.select_related("repaired_by"),
        "moves": [(status, MOVE_ACTIONS[status]) for status in laptop.workshop_moves()],
        "wipe_pending": laptop.is_in_workshop and services.wipe_is_pending(laptop),
    }
    return render(request, "inventory/laptop_detail.html", context)


class LaptopUpdateView(StaffRequiredMixin, UpdateView):
    model = Laptop
    form_class = LaptopForm
    template_name = "inventory/laptop_form.html"

    def form_valid(self, form):
        # The form's columns only: a status changed meanwhile (a reservation) stays.
        self.object = form.save(commit=False)
        self.object.save(update_fields=list(form.fields))
        messages.success(self.request, _("The laptop’s details are saved."))
        return redirect(self.object)


@staff_required
@require_POST
def laptop_move(request, pk):
    laptop = get_object_or_404(Laptop, pk=pk)
    form = MoveForm(request.POST)
    if not form.is_valid() or form.cleaned_data["to_status"] not in laptop.workshop_moves():
        messages.error(request, _("This move is not possible for this laptop now."))
        return redirect(laptop)
    to_status = form.cleaned_data["to_status"]
    try:
        services.laptop_change_status(
            laptop=laptop, to_status=to_status, by=request.user, note=form.cleaned_data["note"]
        )
    except ValidationError as error:
        _show_errors(request, error)
    else:
        messages.success(
            request,
            _("%(tag)s is now “%(status)s”.")
            % {"tag": laptop.asset_tag, "status": Status(to_status).label},
        )
    return redirect(laptop)


def _action_page(request, laptop, form, *, title, submit, intro=""):
    return render(
        request,
        "inventory/laptop_action.html",
        {"laptop": laptop, "form": form, "title": title, "submit": submit, "intro": intro},
    )


@staff_required
def laptop_retire(request, pk):
    laptop = get_object_or_404(Laptop, pk=pk)
    if not laptop.can_be_retired:
        messages.error(
            request,
            _("%(tag)s is “%(status)s”: it cannot be retired now.")
            % {"tag": laptop.asset_tag, "status": laptop.get_status_display()},
        )
        return redirect(laptop)
    form = RetireForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.laptop_retire(laptop=laptop, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _show_errors(request, error)
        else:
            messages.success(request, _("%(tag)s is retired.") % {"tag": laptop.asset_tag})
            return redirect(laptop)
    return _action_page(
        request,
        laptop,
        form,
        title=_("Retire %(tag)s") % {"tag": laptop.asset_tag},
        submit=_("Retire this laptop"),
        intro=_("A retired laptop leaves the stock for good; its history is kept."),
    )


@staff_required
def wipe_add(request, pk):
    laptop = get_object_or_404(Laptop, pk=pk)
    form = WipeForm(request.POST or None, initial={"operator": request.user})
    if request.method == "POST" and form.is_valid():
        try:
            services.wipe_record(laptop=laptop, **form.cleaned_data)
        except ValidationError as error:
            _show_errors(request, error)
        else:
            messages.success(request, _("The data wipe is recorded."))
            return redirect(laptop)
    return _action_page(
        request,
        laptop,
        form,
        title=_("Record a data wipe of %(tag)s") % {"tag": laptop.asset_tag},
        submit=_("Record the wipe"),
        intro=_(
            "A laptop becomes ready to lend only after a verified wipe recorded since it came "
            "in or came back."
        ),
    )


@staff_required
def repair_add(request, pk):
    laptop = get_object_or_404(Laptop, pk=pk)
    form = RepairForm(request.POST or None, initial={"repaired_by": request.user})
    if request.method == "POST" and form.is_valid():
        try:
            services.repair_record(laptop=laptop, **form.cleaned_data)
        except ValidationError as error:
            _show_errors(request, error)
        else:
            messages.success(request, _("The repair is recorded."))
            return redirect(laptop)
    return _action_page(
        request,
        laptop,
        form,
        title=_("Record a repair of %(tag)s") % {"tag": laptop.asset_tag},
        submit=_("Record the repair"),
    )


class DonationListView(StaffRequiredMixin, ListView):
    template_name = "inventory/donation_list.html"
    context_object_name = "donations"
    paginate_by = 50

    def get_queryset(self):
        return (
            Donation.objects.select_related("donor")
            .annotate(laptop_count=Count("laptops"))
            .order_by("-received_on", "-id")
        )


@staff_required
def donation_detail(request, pk):
    donation = get_object_or_404(Donation.objects.select_related("donor", "recorded_by"), pk=pk)
    laptops = donation.laptops.select_related("location").order_by("asset_tag")
    return render(
        request,
        "inventory/donation_detail.html",
        {"donation": donation, "laptops": laptops, "bulk_form": BulkForm()},
    )


@staff_required
def donation_new(request):
    """Intake: a donation and its laptops, in one form, saved all together or not at all."""
    form = DonationForm(request.POST or None, initial=_initial_donor(request))
    formset = IntakeFormSet(request.POST or None, prefix="laptops")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        location = form.cleaned_data["location"]
        laptops = [
            laptop
            for row in formset.forms
            if row.has_changed()
            for laptop in row.build_laptops(location=location)
        ]
        try:
            donation = services.donation_record(
                donor=form.cleaned_data["donor"],
                received_on=form.cleaned_data["received_on"],
                laptops_announced=form.cleaned_data["laptops_announced"],
                notes=form.cleaned_data["notes"],
                laptops=laptops,
                by=request.user,
            )
        except ValidationError as error:
            messages.error(request, _("Nothing was saved:"))
            _show_errors(request, error)
        else:
            messages.success(
                request,
                ngettext(
                    "Donation recorded: %(count)d laptop registered.",
                    "Donation recorded: %(count)d laptops registered.",
                    len(laptops),
                )
                % {"count": len(laptops)},
            )
            return redirect(donation)
    return render(request, "inventory/donation_form.html", {"form": form, "formset": formset})


def _initial_donor(request):
    donor = request.GET.get("donor", "")
    return {"donor": donor} if is_id(donor) else {}


@staff_required
def donor_new(request):
    form = DonorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        donor = form.save()
        messages.success(request, _("Donor “%(name)s” added.") % {"name": donor.name})
        return redirect(f"{reverse('inventory:donation_new')}?donor={donor.pk}")
    return render(request, "inventory/donor_form.html", {"form": form})
