"""The reconciliation report as files: CSV and XLSX for the accountant, and the PDF funder
report (compte rendu financier, in the spirit of the Cerfa 15059 form).

Files are written in the site's language (French), whoever asks for them: they leave Défis.
Amounts stay `Decimal`: numbers with a euro format in the XLSX, "1234,50" text in the CSV
(";" separated, as the other CSV exports, with the byte-order mark Excel needs for accents).
"""

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.http import HttpResponse
from django.utils import translation
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from defis.importing import spreadsheet_text
from defis.models import Association
from defis.money import format_euros
from defis.pdf import render_pdf
from trainees.models import Attendance

from .charts import burndown_svg
from .models import BudgetEnvelope, Loan
from .reconciliation import Report, month_label

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EURO_FORMAT = '#,##0.00 "€";-#,##0.00 "€"'
FUNDER_REPORT_TEMPLATE = "pdf/loans/funder_report.html"
FUNDER_REPORT_STYLESHEET = "pdf/loans/funder_report.css"


def in_site_language():
    return translation.override(settings.LANGUAGE_CODE)


# --- The monthly table ------------------------------------------------------------------------

MONEY, COUNT = "money", "count"


def columns() -> list[tuple[str, str, str]]:
    """(header, attribute of a month line, kind) of every column after the month."""
    return [(title, name, kind) for title, _short, name, kind in _columns()]


def page_columns() -> list[tuple[str, str]]:
    """(short header, full header) for the page, where the table must fit the screen."""
    return [(short, title) for title, short, _name, _kind in _columns()]


def _columns():
    return [
        (_("Loans active"), _("Loans active"), "loans_active", COUNT),
        (_("Months begun (charged)"), _("Months charged"), "periods_started", COUNT),
        (
            _("Months begun (from the loans’ dates)"),
            _("Months due"),
            "periods_expected",
            COUNT,
        ),
        (_("Fees charged"), pgettext("reconciliation column", "Charged"), "charged", MONEY),
        (_("Payments"), pgettext("reconciliation column", "Paid"), "paid", MONEY),
        (_("Waivers"), pgettext("reconciliation column", "Waived"), "waived", MONEY),
        (_("Outstanding at the month’s end"), _("Outstanding"), "outstanding", MONEY),
        (_("Drawn from the envelope"), _("Drawn"), "drawn", MONEY),
        (_("Drawn, cumulative"), _("Drawn to date"), "cumulative_drawn", MONEY),
        (_("Left in the envelope"), _("Left"), "remaining", MONEY),
    ]


def table(report: Report) -> tuple[list[str], list[tuple], tuple]:
    """The header, the months and the totals as plain values (month as a date, amounts as
    Decimal)."""
    cols = columns()
    header = [_("Month"), *(title for title, _name, _kind in cols)]
    rows = [
        (month.month, *(getattr(month, name) for _title, name, _kind in cols))
        for month in report.months
    ]
    totals = (_("Total"), *(getattr(report.totals, name) for _title, name, _kind in cols))
    return header, rows, totals


def _filename(report: Report, stem: str, extension: str) -> str:
    name = slugify(report.envelope.name) or str(report.envelope.pk)
    return f"{stem}-{name}-{report.today.isoformat()}.{extension}"


def _attachment(content, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "private, no-store"
    return response


def csv_amount(value: Decimal) -> str:
    """ "1234,50": what a French spreadsheet reads as a number (no thousands separator)."""
    return f"{value:.2f}".replace(".", ",")


def reconciliation_csv(report: Report) -> HttpResponse:
    with in_site_language():
        header, rows, totals = table(report)
        kinds = [kind for _title, _name, kind in columns()]
        out = io.StringIO()
        out.write("\ufeff")  # the byte-order mark tells Excel the file is UTF-8
        writer = csv.writer(out, delimiter=";")
        writer.writerow(header)

        def cells(values):
            return [
                csv_amount(value) if kind == MONEY else value
                for value, kind in zip(values, kinds, strict=True)
            ]

        for month, *values in rows:
            writer.writerow([spreadsheet_text(month_label(month)), *cells(values)])
        writer.writerow([totals[0], *cells(totals[1:])])
        filename = _filename(report, _("reconciliation"), "csv")
    return _attachment(out.getvalue(), "text/csv; charset=utf-8", filename)


# --- XLSX ---------------------------------------------------------------------------------------

BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DCE6F0")


def _sheet_header(sheet, titles, widths):
    sheet.append(titles)
    for index, width in enumerate(widths, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = BOLD
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "B2"


def reconciliation_workbook(report: Report) -> Workbook:
    with in_site_language():
        header, rows, totals = table(report)
        kinds = [kind for _title, _name, kind in columns()]
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = _("Reconciliation")
        _sheet_header(sheet, header, [16] + [14] * len(kinds))
        for values in [*rows, totals]:
            sheet.append(list(values))
            row = sheet.max_row
            first = sheet.cell(row=row, column=1)
            if isinstance(first.value, date):
                first.number_format = "mm/yyyy"
            for index, kind in enumerate(kinds, start=2):
                if kind == MONEY:
                    sheet.cell(row=row, column=index).number_format = EURO_FORMAT
        for cell in sheet[sheet.max_row]:
            cell.font = BOLD

        checks = workbook.create_sheet(_("Checks"))
        _sheet_header(checks, [_("Check"), _("Result"), _("Loan"), _("Detail")], [38, 16, 18, 90])
        checks.freeze_panes = "A2"
        for check in report.checks:
            result = _("OK") if check.ok else _("%(count)s to look at") % {"count": check.count}
            checks.append([check.title, result, "", spreadsheet_text(check.description)])
            checks.cell(row=checks.max_row, column=1).font = BOLD
            for problem in check.problems:
                checks.append(["", "", problem.loan_number, spreadsheet_text(problem.text)])
            if check.not_shown:
                checks.append(["", "", "", _("… and %(count)s more.") % {"count": check.not_shown}])

        forecast = workbook.create_sheet(_("Forecast"))
        _sheet_header(
            forecast,
            [
                _("Month"),
                _("Committed loans"),
                _("New loans at the recent pace"),
                _("Drawn and committed, cumulative"),
                _("With new loans, cumulative"),
            ],
            [16, 18, 18, 22, 22],
        )
        for month in report.forecast.months:
            forecast.append(
                [
                    month.month,
                    month.committed,
                    month.new_loans,
                    month.cumulative_committed,
                    month.cumulative_with_new,
                ]
            )
            row = forecast.max_row
            forecast.cell(row=row, column=1).number_format = "mm/yyyy"
            for column in range(2, 6):
                forecast.cell(row=row, column=column).number_format = EURO_FORMAT
    return workbook


def reconciliation_xlsx(report: Report) -> HttpResponse:
    out = io.BytesIO()
    reconciliation_workbook(report).save(out)
    with in_site_language():
        filename = _filename(report, _("reconciliation"), "xlsx")
    return _attachment(out.getvalue(), XLSX_TYPE, filename)


# --- The funder report --------------------------------------------------------------------------


@dataclass
class BudgetLine:
    """A line of "Budget prévisionnel / Réalisé / Écart"."""

    label: str
    budget: Decimal
    actual: Decimal
    money: bool = True
    note: str = ""

    @property
    def gap(self) -> Decimal:
        return self.actual - self.budget

    @property
    def gap_percent(self) -> Decimal | None:
        if not self.budget:
            return None
        return (self.gap * 100 / self.budget).quantize(Decimal("0.1"))


def _beneficiaries_and_hours(envelope: BudgetEnvelope, *, today: date) -> dict:
    """The trainees with a loan handed over in the envelope, and the hours of workshops they
    attended during its period (summed as trainees.workshops sums them: minutes of the
    workshops attended, present ticked)."""
    handed_over = Loan.objects.filter(
        envelope=envelope, status__in=[Loan.Status.ACTIVE, Loan.Status.CLOSED]
    )
    beneficiaries = handed_over.values("trainee_id").distinct().count()
    attended = Attendance.objects.filter(
        present=True,
        trainee_id__in=handed_over.values("trainee_id"),
        workshop__date__gte=envelope.start_date,
        workshop__date__lte=min(today, envelope.end_date),
    ).aggregate(
        minutes=Sum("workshop__duration_minutes"),
        workshops=Count("workshop", distinct=True),
        attendees=Count("trainee", distinct=True, filter=Q(present=True)),
    )
    minutes = attended["minutes"] or 0
    return {
        "beneficiaries": beneficiaries,
        "workshop_hours": (Decimal(minutes) / 60).quantize(Decimal("0.1")),
        "workshops": attended["workshops"],
        "workshop_attendees": attended["attendees"],
    }


def budget_lines(report: Report) -> list[BudgetLine]:
    envelope, totals = report.envelope, report.totals
    planned_months = (
        (envelope.amount / envelope.funder_share).quantize(Decimal("1"))
        if envelope.funder_share
        else Decimal(0)
    )
    return [
        BudgetLine(
            _("Grant: amount granted and drawn"),
            envelope.amount,
            report.figures.consumed,
            note=_("%(share)s per loan month charged")
            % {"share": format_euros(envelope.funder_share)},
        ),
        BudgetLine(
            _("Loan months: planned at the grant and charged"),
            planned_months,
            Decimal(totals.periods_started),
            money=False,
            note=_("amount ÷ funder share per month"),
        ),
        BudgetLine(
            _("Trainees’ participation: planned and charged"),
            planned_months * envelope.trainee_fee,
            totals.charged,
            note=_("%(fee)s per month begun") % {"fee": format_euros(envelope.trainee_fee)},
        ),
        BudgetLine(
            _("Trainees’ participation: charged and collected"),
            totals.charged,
            totals.paid,
            note=_("%(waived)s waived, %(outstanding)s still owed")
            % {
                "waived": format_euros(totals.waived),
                "outstanding": format_euros(totals.outstanding),
            },
        ),
    ]


def funder_report_context(report: Report) -> dict:
    envelope = report.envelope
    association = Association.objects.current()
    chart = burndown_svg(
        report.chart_points(),
        amount=envelope.amount,
        today=report.today,
        pace=report.pace,
        title=_("Burn-down of the envelope “%(envelope)s”") % {"envelope": envelope.name},
        chart_id="funder-burndown",
        width=680,
        height=260,
    )
    return {
        "association": association,
        "envelope": envelope,
        "report": report,
        "forecast": report.forecast,
        "lines": budget_lines(report),
        "chart": chart,
        "period_end": min(report.today, envelope.end_date),
        **_beneficiaries_and_hours(envelope, today=report.today),
    }


def funder_report_pdf(report: Report) -> bytes:
    with in_site_language():
        return render_pdf(
            FUNDER_REPORT_TEMPLATE,
            funder_report_context(report),
            stylesheets=(FUNDER_REPORT_STYLESHEET,),
        )


def funder_report_filename(report: Report) -> str:
    with in_site_language():
        return _filename(report, _("funder-report"), "pdf")
