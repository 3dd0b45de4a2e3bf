"""The reconciliation report of a budget envelope (staff): the page, its CSV and XLSX exports
and the PDF funder report. The figures come from loans.reconciliation, the files from
loans.reconciliation_exports."""

from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _

from defis.pdf import pdf_response
from defis.permissions import staff_required

from . import reconciliation_exports as exports
from .charts import burndown_svg
from .models import BudgetEnvelope
from .reconciliation import reconcile


def _envelope(pk) -> BudgetEnvelope:
    return get_object_or_404(BudgetEnvelope, pk=pk)


@staff_required
def reconciliation(request, pk):
    envelope = _envelope(pk)
    today = timezone.localdate()
    report = reconcile(envelope, today=today)
    chart = burndown_svg(
        report.chart_points(),
        amount=envelope.amount,
        today=today,
        pace=report.pace,
        title=_("Burn-down of the envelope “%(envelope)s”") % {"envelope": envelope},
    )
    return render(
        request,
        "loans/reconciliation.html",
        {
            "envelope": envelope,
            "report": report,
            "figures": report.figures,
            "forecast": report.forecast,
            "chart": chart,
            "columns": exports.page_columns(),
        },
    )


def _report_in_site_language(pk):
    """The report as the files give it: in the site's language, whoever asks."""
    envelope = _envelope(pk)
    with exports.in_site_language():
        return reconcile(envelope, today=timezone.localdate())


@staff_required
def reconciliation_csv(request, pk):
    return exports.reconciliation_csv(_report_in_site_language(pk))


@staff_required
def reconciliation_xlsx(request, pk):
    return exports.reconciliation_xlsx(_report_in_site_language(pk))


@staff_required
def funder_report(request, pk):
    report = _report_in_site_language(pk)
    return pdf_response(exports.funder_report_pdf(report), exports.funder_report_filename(report))
