"""Budget envelope pages (staff): the list with each envelope's figures, an envelope's page
with its burn-down chart and breakdowns, and the change of a prepared loan's envelope.

The figures are SQL aggregates (loans.envelope_stats): the same few queries whatever the
number of envelopes, loans and ledger lines.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from defis.permissions import staff_required

from . import lending
from .charts import burndown_svg, share_bar_svg
from .envelope_forms import LoanEnvelopeForm, refused_by_envelope
from .envelope_stats import envelope_stats, figures_of, percent, with_figures
from .loan_filters import OPEN
from .models import BudgetEnvelope, Loan

PAGE_SIZE = 50


def _bar(figures) -> str:
    return share_bar_svg(
        amount=figures.amount, consumed=figures.consumed, committed=figures.committed
    )


@staff_required
def envelope_list(request):
    today = timezone.localdate()
    queryset = with_figures(BudgetEnvelope.objects.all())
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for envelope in page:
        figures = figures_of(envelope)
        rows.append(
            {
                "envelope": envelope,
                "figures": figures,
                "available_percent": percent(figures.available, figures.amount),
                "bar": _bar(figures),
                "active": envelope.start_date <= today <= envelope.end_date,
            }
        )
    return render(request, "loans/envelope_list.html", {"page_obj": page, "rows": rows})


@staff_required
def envelope_detail(request, pk):
    envelope = get_object_or_404(BudgetEnvelope, pk=pk)
    today = timezone.localdate()
    stats = envelope_stats(envelope, today=today)
    figures = stats.figures
    chart = burndown_svg(
        stats.chart_points(),
        amount=envelope.amount,
        today=today,
        pace=stats.pace,
        title=_("Burn-down of the envelope “%(envelope)s”") % {"envelope": envelope},
    )
    context = {
        "envelope": envelope,
        "stats": stats,
        "figures": figures,
        "available_percent": percent(figures.available, figures.amount),
        "bar": _bar(figures),
        "chart": chart,
        "open_status": OPEN,
        "months": [line for line in stats.months if line.drawn or line.committed],
    }
    return render(request, "loans/envelope_detail.html", context)


@staff_required
def loan_envelope(request, pk):
    """Tie a prepared loan to another envelope among those that fund it."""
    loan = get_object_or_404(
        Loan.objects.visible_to(request.user).select_related(
            "envelope", "course__training_body", "trainee", "laptop"
        ),
        pk=pk,
    )
    if loan.status != Loan.Status.PREPARED:
        messages.error(
            request,
            _("Loan %(number)s is “%(status)s”: its envelope changes only until the handover.")
            % {"number": loan.number, "status": loan.get_status_display()},
        )
        return redirect(loan)
    form = LoanEnvelopeForm(request.POST or None, loan=loan)
    if request.method == "POST" and form.is_valid():
        envelope = form.cleaned_data["envelope"]
        try:
            lending.loan_change_envelope(
                loan=loan,
                envelope=envelope,
                by=request.user,
                override_reason=form.cleaned_data["override_reason"],
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
            if refused_by_envelope(error):
                form.ask_override_reason()
        else:
            if envelope.pk == loan.envelope_id:
                messages.info(request, _("The envelope is unchanged."))
            else:
                messages.success(
                    request,
                    _("Loan %(number)s is now funded by “%(envelope)s”.")
                    % {"number": loan.number, "envelope": envelope},
                )
            return redirect(loan)
    return render(request, "loans/envelope_change.html", {"loan": loan, "form": form})
