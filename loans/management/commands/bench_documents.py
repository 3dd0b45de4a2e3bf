"""Time the loan documents: `python manage.py bench_documents` (with DJANGO_DEBUG=1 on a
development machine).

It measures, in one process and after a warm-up:
(a) one loan agreement, the median of `--renders` renders;
(b) a plain document of as many pages and about as much text (paragraphs only), through the
    same helper (defis.pdf.render_pdf), print stylesheet and fonts: what any PDF costs here;
(c) the agreements of `--combined` prepared loans in one PDF, as on a distribution day;
(d) how many times the stylesheets were parsed (defis.pdf.stylesheet's cache).

The ratio (a) / (b) is what the agreement's own layout costs on top of any PDF; issue 5 asks
for at most 1.5, and at most 30 s for (c). `--check` makes the command fail when a target is
missed.

Nothing is written to the configured database: the command builds its loans, through the
real services, in a throwaway test database (in memory with SQLite; `test_<name>` with
PostgreSQL, which needs the right to create a database), dropped at the end.
"""

import platform
import re
import statistics
import time
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import django
import weasyprint
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.template.loader import render_to_string
from django.test.utils import override_settings
from django.utils import timezone, translation
from django.utils.html import strip_tags

from defis import pdf
from defis.models import Association, User
from inventory import services as inventory_services
from inventory.models import Laptop, WipeRecord
from loans import agreements, lending
from loans import services as request_services
from loans.models import AgreementTemplate, Loan
from trainees.models import Course, Territory, Trainee, TrainingBody

RATIO_TARGET = 1.5
COMBINED_TARGET_SECONDS = 30.0
PLAIN_TEMPLATE = "pdf/bench_plain.html"
TEXT = (
    "le stagiaire reçoit un ordinateur portable reconditionné pour la durée de sa formation "
    "et s’engage à en prendre soin, à le rendre avec ses accessoires à la fin du prêt et à "
    "prévenir l’association de toute panne, perte ou vol dans les meilleurs délais"
)
WORDS = TEXT.split(" ")


@contextmanager
def throwaway_database():
    connection = connections[DEFAULT_DB_ALIAS]
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def build_loans(count: int) -> list[Loan]:
    """`count` prepared loans of one course, made the way staff make them; one trainee in
    four is a minor, whose guardian co-signs."""
    today = timezone.localdate()
    staff = User.objects.create_user("bench", is_staff=True, first_name="Morgane")
    Association.objects.create(
        name="Association Défis",
        street="8 rue du Général Leclerc",
        postal_code="56600",
        town="Lanester",
        email="contact@defis.example",
        director="Yann Le Bihan",
    )
    body = TrainingBody.objects.create(
        name="Agora Services",
        short_name="Agora",
        town="Lanester",
        territory=Territory.objects.create(name="Pays de Lorient"),
    )
    course = Course.objects.create(
        training_body=body,
        title="PRÉPA Avenir Jeunes Lanester",
        programme="PRÉPA Avenir Jeunes",
        town="Lanester",
        start_date=today,
        end_date=today + timedelta(days=150),
    )
    laptops = inventory_services.laptops_register(
        laptops=[
            Laptop(
                brand="Lenovo",
                model="ThinkPad T480",
                serial_number=f"PF1B{index:04d}",
                grade=Laptop.Grade.B,
                replacement_value=Decimal("250.00"),
            )
            for index in range(count)
        ],
        by=staff,
    )
    loans = []
    for index, laptop in enumerate(laptops):
        inventory_services.laptop_change_status(laptop=laptop, to_status="refurbishing", by=staff)
        inventory_services.wipe_record(
            laptop=laptop,
            wiped_on=today,
            method=WipeRecord.Method.NWIPE_ZERO,
            operator=staff,
            verified=True,
        )
        inventory_services.laptop_change_status(laptop=laptop, to_status="ready", by=staff)
        minor = index % 4 == 3
        trainee = Trainee.objects.create(
            course=course,
            first_name=f"Prénom{index}",
            last_name=f"Nom{index}",
            birth_date=today - timedelta(days=365 * (16 if minor else 21) + 30),
            email=f"stagiaire{index}@example.org",
            phone="06 12 34 56 78",
            street="3 rue des Lilas",
            postal_code="56600",
            town="Lanester",
            **(
                {
                    "guardian_name": "Anne Le Goff",
                    "guardian_relationship": "Mère",
                    "guardian_phone": "06 98 76 54 32",
                    "guardian_email": "anne.legoff@example.org",
                    "guardian_street": "12 rue de la Paix",
                    "guardian_postal_code": "56600",
                    "guardian_town": "Lanester",
                }
                if minor
                else {}
            ),
        )
        request = request_services.request_submit(
            trainee=trainee, needed_by=today, justification="Pas d’ordinateur.", by=staff
        )
        request_services.request_approve(request=request, laptop=laptop, by=staff)
        loans.append(lending.loan_prepare(request=request, by=staff))
    return loans


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def paragraph(index: int) -> str:
    start = (index * 7) % len(WORDS)
    words = (WORDS[start:] + WORDS[:start]) * 3
    return " ".join(words)[:480].capitalize() + "."


def full_pages(page_count: int) -> list[list[str]]:
    """`page_count` pages filled with paragraphs: as many as fit without a page more."""
    best = [[paragraph(0)]] * page_count
    for per_page in range(2, 40):
        pages = [[paragraph(page + n) for n in range(per_page)] for page in range(page_count)]
        if len(pdf.render_document(PLAIN_TEMPLATE, {"pages": pages}).pages) > page_count:
            break
        best = pages
    return best


def same_text_pages(text_length: int, page_count: int) -> list[list[str]]:
    """About `text_length` characters of paragraphs, spread over `page_count` pages."""
    per_page = text_length // page_count
    pages = []
    for page in range(page_count):
        paragraphs, length = [], 0
        while length < per_page:
            text = paragraph(page + len(paragraphs))[: per_page - length]
            paragraphs.append(text)
            length += len(text)
        pages.append(paragraphs)
    return pages


def text_length(template_name: str, context: dict) -> int:
    html = render_to_string(template_name, context)
    html = re.sub(r"<style.*?</style>", "", html, flags=re.DOTALL)
    return len(re.sub(r"\s+", " ", strip_tags(html)).strip())


def machine() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            names = [line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line]
    except OSError:
        names = []
    cpu = names[0] if names else platform.processor() or platform.machine()
    return f"{cpu} ({len(names) or '?'} CPU)"


class Command(BaseCommand):
    help = "Time the loan agreement PDF against a plain PDF, and a combined PDF of agreements."

    def add_arguments(self, parser):
        parser.add_argument(
            "--renders", type=int, default=20, help="Renders to take the median of."
        )
        parser.add_argument(
            "--combined", type=int, default=100, help="Agreements in the combined PDF."
        )
        parser.add_argument(
            "--check", action="store_true", help="Fail when a target of issue 5 is missed."
        )

    def handle(self, *args, renders, combined, check, **options):
        if renders < 1 or combined < 1:
            raise CommandError("--renders and --combined must be at least 1.")
        self.stderr.write(f"Building {combined} prepared loans in a throwaway database…")
        # Mail from the services (approvals) stays in memory.
        with (
            override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"),
            throwaway_database(),
            translation.override(settings.LANGUAGE_CODE),
        ):
            build_loans(combined)
            results = self.measure(renders=renders, combined=combined)
        self.stdout.write(self.report(results, renders=renders, combined=combined))
        missed = results["ratio"] > RATIO_TARGET or results["combined"] > COMBINED_TARGET_SECONDS
        if check and missed:
            raise CommandError("A target of issue 5 is missed (see the table).")

    def measure(self, *, renders: int, combined: int) -> dict:
        queryset = agreements.loans_for_documents(
            Loan.objects.filter(status=Loan.Status.PREPARED)
        ).order_by("pk")
        loan = queryset.first()  # an adult trainee: the common case
        template = AgreementTemplate.objects.current()
        page_count = len(agreements._agreement_document(loan, template).pages)
        context = agreements.agreement_context(loan, template)
        plain = full_pages(page_count)
        same_text = same_text_pages(text_length(agreements.AGREEMENT_TEMPLATE, context), page_count)
        documents = {
            "agreement": lambda: agreements.render_agreement(loan),
            "plain": lambda: pdf.render_pdf(PLAIN_TEMPLATE, {"pages": plain}),
            "same_text": lambda: pdf.render_pdf(PLAIN_TEMPLATE, {"pages": same_text}),
        }
        for _ in range(3):  # warm-up: fonts, templates, the stylesheet
            for render in documents.values():
                render()
        timings = {name: [] for name in documents}
        for _ in range(renders):
            # Interleaved, so that a busy moment of the machine weighs on all alike.
            for name, render in documents.items():
                timings[name].append(timed(render)[0])
        medians = {name: statistics.median(values) for name, values in timings.items()}

        seconds, content = timed(lambda: agreements.combined_agreements(list(queryset[:combined])))
        cache = pdf.stylesheet.cache_info()
        return {
            **medians,
            "pages": page_count,
            "plain_paragraphs": sum(len(page) for page in plain),
            "same_text_paragraphs": sum(len(page) for page in same_text),
            "ratio": medians["agreement"] / medians["plain"],
            "same_text_ratio": medians["agreement"] / medians["same_text"],
            "combined": seconds,
            "combined_bytes": len(content),
            "stylesheet_misses": cache.misses,
            "stylesheet_hits": cache.hits,
        }

    def report(self, r: dict, *, renders: int, combined: int) -> str:
        def s(value):
            return f"{value:.3f} s"

        pages = r["pages"]
        rows = [
            ("Measure", "Result", "Target"),
            ("---", "---:", "---:"),
            (f"(a) one agreement, {pages} pages: median of {renders}", s(r["agreement"]), ""),
            (
                f"(b) plain document, {pages} full pages ({r['plain_paragraphs']} paragraphs)",
                s(r["plain"]),
                "",
            ),
            ("ratio (a) / (b)", f"{r['ratio']:.2f}", f"≤ {RATIO_TARGET}"),
            (
                f"(b′) plain document, {pages} pages of the agreement’s amount of text "
                f"({r['same_text_paragraphs']} paragraphs)",
                s(r["same_text"]),
                "",
            ),
            ("ratio (a) / (b′)", f"{r['same_text_ratio']:.2f}", ""),
            (
                f"(c) {combined} agreements in one PDF ({r['combined_bytes'] / 1e6:.1f} MB)",
                f"{r['combined']:.1f} s ({r['combined'] / combined:.3f} s each)",
                f"≤ {COMBINED_TARGET_SECONDS:.0f} s",
            ),
            (
                "(d) stylesheets parsed / reused (print and agreement)",
                f"{r['stylesheet_misses']} / {r['stylesheet_hits']}",
                "parsed once",
            ),
        ]
        lines = ["| " + " | ".join(row) + " |" for row in rows]
        lines += [
            "",
            f"Machine: {machine()}; Python {platform.python_version()}, "
            f"Django {django.get_version()}, WeasyPrint {weasyprint.__version__}; "
            f"{timezone.localdate():%Y-%m-%d}.",
        ]
        return "\n".join(lines)
