"""Time the key pages at the design scale: `make bench` (or `python manage.py bench_pages`).

In one run, in a throwaway database filled with the design-scale dataset (loans.scale:
60 training bodies, 25,000 trainees, 10,000 laptops, 30,000 loans, 150,000 ledger lines):

(a) each key page of issue 8 through the Django test client (the server's time: middleware,
    view, queries, template), logged in as its user: the number of queries of one request,
    then p50 and p95 over `--runs` requests after a warm-up, the requests of all the pages
    interleaved so that a busy moment of the machine weighs on all alike;
(b) the floor: a login-protected page rendering the site's layout after one query
    (defis/bench_urls.py), measured the same way, and each page's ratio to it (p50 / p50);
(c) a loan agreement against a plain WeasyPrint document of the same page count (the
    yardstick of bench_documents), median of `--renders` interleaved renders;
(d) the billing run over every open loan: `ledger.bill_fees` with "today" a month ahead, so
    that every loan on loan has a month to charge.

Targets (issue 8, on a 2-core machine): each key page at most 150 ms p95, at most 5 times the
floor and at most 12 queries; the agreement at most 1.5 times the plain document. `--write`
puts the table into docs/benchmarks.md (its section for the database in use), `--check` fails
when a target is missed. Nothing is written to the configured database: in memory with
SQLite; `test_<name>_bench_pages` with PostgreSQL (the role needs the right to create a
database).
"""

import gc
import platform
import statistics
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import django
import weasyprint
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Case, Count, When
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone, translation

from defis import pdf
from defis.models import User
from defis.periods import add_months
from defis.permissions import STAFF_GROUP_NAME
from loans import agreements, ledger, scale
from loans.management.commands.bench_documents import PLAIN_TEMPLATE, full_pages, machine, timed
from loans.management.commands.bench_money import database_name, throwaway_database
from loans.models import AgreementTemplate, Loan
from trainees.models import Coordinator

PAGE_P95_TARGET_MS = 150.0
FLOOR_RATIO_TARGET = 5.0
QUERY_TARGET = 12
AGREEMENT_RATIO_TARGET = 1.5
DOCUMENT = Path(settings.BASE_DIR) / "docs" / "benchmarks.md"
SECTION_TITLE = "## Key pages at the design scale (issue 8)"


@dataclass
class Page:
    label: str
    url: str
    user: User
    key: bool = True  # one of the pages of issue 8, with its targets
    status: int | None = None
    queries: int | None = None
    size: int = 0
    timings: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return statistics.median(self.timings)

    @property
    def p95(self) -> float:
        return percentile(self.timings, 95)


def percentile(values: list[float], rank: int) -> float:
    """The `rank`-th percentile, interpolated between the two nearest values."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[rank - 1]


@contextmanager
def counting_queries():
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield queries


class Command(BaseCommand):
    help = "Time the key pages, an agreement and billing on the design-scale dataset."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=30, help="Requests per page.")
        parser.add_argument("--renders", type=int, default=20, help="Agreement renders.")
        scale.add_fraction_argument(parser)
        parser.add_argument(
            "--write", action="store_true", help="Put the table into docs/benchmarks.md."
        )
        parser.add_argument(
            "--output", type=Path, default=DOCUMENT, help="The document --write writes into."
        )
        parser.add_argument(
            "--check", action="store_true", help="Fail when a target of issue 8 is missed."
        )

    def handle(self, *args, runs, renders, fraction, write, output, check, **options):
        if runs < 2 or renders < 1 or not 0 < fraction <= 1:
            raise CommandError(
                "--runs must be at least 2, --renders at least 1, --fraction between 0 and 1."
            )
        counts = scale.fraction_of_design(fraction)
        self.stderr.write(
            f"Making {counts.loans:,} loans and {counts.ledger_lines:,} ledger lines in a "
            "throwaway database…"
        )
        with (
            override_settings(
                EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
                ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"],
                ROOT_URLCONF="defis.bench_urls",
            ),
            throwaway_database(suffix="bench_pages"),
            translation.override(settings.LANGUAGE_CODE),
        ):
            self.database = database_name()
            staff = User.objects.create_user("bench", is_staff=True, first_name="Morgane")
            staff.groups.add(Group.objects.get(name=STAFF_GROUP_NAME))
            today = timezone.localdate()
            seconds, summary = timed(
                lambda: scale.generate(today=today, by=staff, counts=counts, progress=self.progress)
            )
            self.stderr.write("")
            scale.analyze()
            self.stderr.write(f"Dataset made in {seconds:.0f} s. Timing the pages…")
            pages = self.pages(staff, summary)
            # As gunicorn.conf.py does once the application is loaded: what is there now
            # stays out of the garbage collector's full passes.
            gc.freeze()
            floor = self.measure_pages(pages, runs=runs)
            self.stderr.write("Timing an agreement against a plain document…")
            agreement = self.measure_agreement(renders=renders)
            self.stderr.write("Billing every open loan a month ahead…")
            billing = self.measure_billing(today)
        report = self.report(
            summary=summary,
            seconds=seconds,
            pages=pages,
            floor=floor,
            agreement=agreement,
            billing=billing,
            runs=runs,
            renders=renders,
            today=today,
        )
        self.stdout.write(report)
        if write:
            write_section(output, report, vendor=connection.vendor, title=self.database)
            self.stderr.write(f"Written into {output}.")
        missed = self.missed(pages, floor, agreement)
        if check and missed:
            raise CommandError("Targets of issue 8 missed: " + "; ".join(missed) + ".")

    def progress(self, step: str, done: int, total: int):
        sys.stderr.write(f"\r  {step}: {done:,}/{total:,}\033[K")
        sys.stderr.flush()

    # --- What to measure ---------------------------------------------------------------------

    def pages(self, staff, summary) -> list[Page]:
        envelope = summary.envelopes[-1]  # the current one: most loans, every open loan
        # The loan on loan (any, in a tiny dataset) with the most ledger lines; the
        # coordinator of the body with the most trainees.
        loan = (
            Loan.objects.annotate(
                lines=Count("fee_entries"),
                on_loan=Case(When(status=Loan.Status.ACTIVE, then=0), default=1),
            )
            .order_by("on_loan", "-lines", "pk")
            .first()
        )
        coordinator = (
            Coordinator.objects.annotate(
                trainees=Count("training_body__courses__trainees", distinct=True)
            )
            .order_by("-trainees", "pk")
            .select_related("user")
            .first()
            .user
        )
        return [
            Page("floor: layout after one query", reverse("bench_floor"), staff, key=False),
            Page("staff dashboard", reverse("dashboard"), staff),
            Page("laptop list", reverse("inventory:laptops"), staff),
            Page("request queue", reverse("loans:requests"), staff),
            Page("loan list", reverse("loans:loans"), staff),
            Page(f"loan page ({loan.fee_entries.count()} ledger lines)", loan_url(loan), staff),
            Page("coordinator's trainee list", reverse("trainees:trainees"), coordinator),
            Page("arrears", reverse("loans:arrears"), staff),
            Page("envelope page", reverse("loans:envelope", args=[envelope.pk]), staff),
            Page(
                "reconciliation report",
                reverse("loans:reconciliation", args=[envelope.pk]),
                staff,
            ),
            Page("staff trainee list", reverse("trainees:trainees"), staff, key=False),
            Page("coordinator's portal", reverse("trainees:portal"), coordinator, key=False),
            Page("coordinator's requests", reverse("loans:requests"), coordinator, key=False),
        ]

    def measure_pages(self, pages: list[Page], *, runs: int) -> Page:
        clients = {}
        for page in pages:
            if page.user.pk not in clients:
                clients[page.user.pk] = Client()
                clients[page.user.pk].force_login(page.user)
            client = clients[page.user.pk]
            for _warm_up in range(2):
                client.get(page.url, secure=True)
            with counting_queries() as queries:
                response = client.get(page.url, secure=True)
            page.status, page.queries, page.size = (
                response.status_code,
                len(queries),
                len(response.content),
            )
            if response.status_code != 200:
                raise CommandError(f"{page.label} ({page.url}) answered {response.status_code}.")
        for run in range(runs):
            self.progress("requests", run + 1, runs)
            for page in pages:
                get = clients[page.user.pk].get
                seconds, _response = timed(lambda get=get, url=page.url: get(url, secure=True))
                page.timings.append(seconds * 1000)
        self.stderr.write("")
        return pages[0]

    def measure_agreement(self, *, renders: int) -> dict:
        loan = (
            agreements.loans_for_documents(Loan.objects.filter(status=Loan.Status.PREPARED))
            .order_by("pk")
            .first()
        )
        template = AgreementTemplate.objects.current()
        page_count = len(agreements._agreement_document(loan, template).pages)
        plain = full_pages(page_count)
        documents = {
            "agreement": lambda: agreements.render_agreement(loan),
            "plain": lambda: pdf.render_pdf(PLAIN_TEMPLATE, {"pages": plain}),
        }
        for _warm_up in range(3):
            for render in documents.values():
                render()
        timings = {name: [] for name in documents}
        for _run in range(renders):
            for name, render in documents.items():
                timings[name].append(timed(render)[0] * 1000)
        medians = {name: statistics.median(values) for name, values in timings.items()}
        return {
            **medians,
            "pages": page_count,
            "paragraphs": sum(len(page) for page in plain),
            "ratio": medians["agreement"] / medians["plain"],
        }

    def measure_billing(self, today: date) -> dict:
        until = add_months(today, 1)
        open_loans = Loan.objects.active().count()
        with counting_queries() as queries:
            first, written = timed(lambda: ledger.bill_fees(until=until))
        second, second_written = timed(lambda: ledger.bill_fees(until=until))
        return {
            "until": until,
            "open": open_loans,
            "first": first,
            "written": written,
            "queries": len(queries),
            "second": second,
            "second_written": second_written,
        }

    # --- Report ------------------------------------------------------------------------------

    def missed(self, pages: list[Page], floor: Page, agreement: dict) -> list[str]:
        missed = []
        for page in pages:
            if not page.key:
                continue
            if page.p95 > PAGE_P95_TARGET_MS:
                missed.append(f"{page.label}: p95 {page.p95:.0f} ms")
            if page.p50 / floor.p50 > FLOOR_RATIO_TARGET:
                missed.append(f"{page.label}: {page.p50 / floor.p50:.1f} × the floor")
            if page.queries > QUERY_TARGET:
                missed.append(f"{page.label}: {page.queries} queries")
        if agreement["ratio"] > AGREEMENT_RATIO_TARGET:
            missed.append(f"agreement: {agreement['ratio']:.2f} × the plain document")
        return missed

    def report(self, *, summary, seconds, pages, floor, agreement, billing, runs, renders, today):
        rows, by_status = summary.rows, summary.loans_by_status

        def verdict(value, target, unit=""):
            if value <= target:
                return "met"
            return f"**missed by {value - target:.1f}{unit}**"

        lines = [
            f"Measured on {today:%d/%m/%Y} with `make bench` "
            f"({'production settings' if not settings.DEBUG else 'DJANGO_DEBUG=1'}); "
            f"machine: {machine()}, load average {load_average()} at the end of the run; "
            f"Python {platform.python_version()}, Django {django.get_version()}, "
            f"WeasyPrint {weasyprint.__version__}, {self.database}.",
            "",
            f"Dataset, made in {seconds:.0f} s: {rows['TrainingBody']} training bodies, "
            f"{rows['Trainee']:,} trainees, {rows['Laptop']:,} laptops, {rows['Loan']:,} loans "
            f"({by_status.get('active', 0):,} on loan, {by_status.get('prepared', 0):,} "
            f"prepared), {rows['FeeEntry']:,} ledger lines.",
            "",
            f"Server time through the test client, {runs} requests per page after a warm-up, "
            "all pages interleaved; the ratio is the page's p50 over the floor's p50. "
            f"Targets: p95 ≤ {PAGE_P95_TARGET_MS:.0f} ms, ≤ {FLOOR_RATIO_TARGET:.0f}× the floor, "
            f"≤ {QUERY_TARGET} queries. Pages in italics are given for information.",
            "",
            "| Page | Queries | p50 | p95 | × floor | Size | Verdict |",
            "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for page in pages:
            ratio = page.p50 / floor.p50
            if page is floor or not page.key:
                label, verdict_text = f"*{page.label}*", ""
            else:
                label = page.label
                parts = [
                    verdict(page.p95, PAGE_P95_TARGET_MS, " ms"),
                    verdict(ratio, FLOOR_RATIO_TARGET, "×"),
                    verdict(page.queries, QUERY_TARGET, " queries"),
                ]
                missed = [part for part in parts if part != "met"]
                verdict_text = "met" if not missed else ", ".join(missed)
            lines.append(
                f"| {label} (`{page.url}`) | {page.queries} | {page.p50:.1f} ms | "
                f"{page.p95:.1f} ms | {ratio:.1f} | {page.size / 1024:.0f} KB | {verdict_text} |"
            )
        lines += [
            "",
            "| Document and billing | Result | Target |",
            "| --- | ---: | --- |",
            f"| agreement of a prepared loan, {agreement['pages']} pages: median of {renders} "
            f"| {agreement['agreement']:.1f} ms | |",
            f"| plain WeasyPrint document, {agreement['pages']} full pages "
            f"({agreement['paragraphs']} paragraphs), same helper and stylesheet "
            f"| {agreement['plain']:.1f} ms | |",
            f"| ratio agreement / plain | **{agreement['ratio']:.2f}** "
            f"| ≤ {AGREEMENT_RATIO_TARGET}: "
            f"{verdict(agreement['ratio'], AGREEMENT_RATIO_TARGET, '×')} |",
            f"| billing run, every open loan ({billing['open']:,}) a month ahead "
            f"(`bill_fees(until={billing['until']:%d/%m/%Y})`): {billing['written']:,} charges, "
            f"{billing['queries']} queries | **{billing['first']:.2f} s** | |",
            f"| the same again ({billing['second_written']} charges written) "
            f"| {billing['second']:.2f} s | writes nothing |",
        ]
        return "\n".join(lines) + "\n"


def write_section(document: Path, report: str, *, vendor: str, title: str) -> None:
    """Replace this database's part of the generated section, keeping everything else."""
    start, end = f"<!-- bench:pages:{vendor}:start -->", f"<!-- bench:pages:{vendor}:end -->"
    text = document.read_text(encoding="utf-8") if document.exists() else "# Benchmarks\n"
    block = f"{start}\n### {title}\n\n{report}{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    elif SECTION_TITLE in text:
        head, tail = text.split(SECTION_TITLE, 1)
        intro, sep, rest = tail.partition("\n## ")
        text = f"{head}{SECTION_TITLE}{intro.rstrip()}\n\n{block}\n{sep}{rest}"
    else:
        text = f"{text.rstrip()}\n\n{SECTION_TITLE}\n\n{block}\n"
    document.write_text(text, encoding="utf-8")


def loan_url(loan: Loan) -> str:
    return reverse("loans:loan", args=[loan.pk])


def load_average() -> str:
    try:
        with open("/proc/loadavg", encoding="utf-8") as loadavg:
            return loadavg.read().split()[0]
    except OSError:
        return "?"
