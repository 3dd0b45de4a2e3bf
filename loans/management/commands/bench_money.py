"""Time the money at the design scale: `python manage.py bench_money` (with DJANGO_DEBUG=1 on a
development machine).

It makes the design-scale dataset (loans.scale: 60 training bodies, 25,000 trainees, 10,000
laptops, 30,000 loans, 150,000 ledger lines) in a throwaway test database, then measures:
(a) `ledger.bill_fees` with "today" a month ahead, so that every loan on loan has a month to
    charge (issue 6: at most 30 s), and a second run, which must write nothing;
(b) `envelopes.figures(envelope)`: its queries and the median of `--runs` calls (at most
    300 ms);
(c) `envelope_stats.envelope_stats` and `reconciliation.reconcile`, and the envelope pages
    and the reconciliation report through the test client as a member of staff (at most
    300 ms each, a constant number of queries); the exports for information. What is not
    there yet is reported as such.
(b) and (c) are measured first, on the dataset as made; (a) last, since it adds a month of
charges. `--check` makes the command fail when a target is missed.

Nothing is written to the configured database: the dataset goes into a throwaway test
database (in memory with SQLite; `test_<name>` with PostgreSQL, which needs the right to
create a database), dropped at the end.
"""

import importlib
import logging
import platform
import statistics
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field

import django
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone, translation

from defis.models import User
from defis.periods import add_months
from defis.permissions import STAFF_GROUP_NAME
from loans import envelopes, ledger, scale
from loans.management.commands.bench_documents import machine, timed
from loans.models import Loan

BILLING_TARGET_SECONDS = 30.0
PAGE_TARGET_MS = 300.0


@dataclass
class Measure:
    label: str
    queries: int | None = None
    median_ms: float | None = None
    target_ms: float | None = None
    note: str = ""
    timings: list[float] = field(default_factory=list)

    @property
    def missed(self) -> bool:
        return (
            self.target_ms is not None
            and self.median_ms is not None
            and self.median_ms > self.target_ms
        )


@contextmanager
def throwaway_database(suffix: str = "bench_money"):
    """A test database for the run, dropped at the end: in memory with SQLite; with
    PostgreSQL `test_<name>_<suffix>`, so that a test run going on at the same time
    (in `test_<name>`) or another benchmark is left alone."""
    connection = connections[DEFAULT_DB_ALIAS]
    old_name = connection.settings_dict["NAME"]
    if connection.vendor == "postgresql":
        connection.settings_dict["TEST"] = {
            **connection.settings_dict.get("TEST", {}),
            "NAME": f"test_{old_name}_{suffix}",
        }
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def database_name() -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            (version,) = cursor.fetchone()
        return f"PostgreSQL {version.split()[0]}"
    if connection.vendor == "sqlite":
        return f"SQLite {connection.Database.sqlite_version} (in memory)"
    return connection.vendor


class Command(BaseCommand):
    help = "Time billing, the envelope figures and the money pages on the design-scale dataset."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=20, help="Calls to take the median of.")
        scale.add_fraction_argument(parser)
        parser.add_argument(
            "--check", action="store_true", help="Fail when a target of issue 6 is missed."
        )

    def handle(self, *args, runs, fraction, check, **options):
        if runs < 1 or not 0 < fraction <= 1:
            raise CommandError("--runs must be at least 1, --fraction between 0 and 1.")
        counts = scale.fraction_of_design(fraction)
        self.stderr.write(
            f"Making {counts.loans} loans and {counts.ledger_lines} ledger lines in a "
            "throwaway database…"
        )
        with (
            override_settings(
                EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
                ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"],
            ),
            throwaway_database(),
            translation.override(settings.LANGUAGE_CODE),
        ):
            self.database = database_name()
            staff = User.objects.create_user("bench", is_staff=True, first_name="Morgane")
            staff.groups.add(Group.objects.get(name=STAFF_GROUP_NAME))
            seconds, summary = timed(
                lambda: scale.generate(
                    today=timezone.localdate(), by=staff, counts=counts, progress=self.progress
                )
            )
            self.stderr.write("")
            scale.analyze()  # as autovacuum would after a bulk load
            envelope = summary.envelopes[-1]  # the current one: most loans, every open loan
            measures = self.measure_reads(envelope, staff=staff, runs=runs)
            billing = self.measure_billing()
        self.stdout.write(self.report(summary, seconds, measures, billing, runs=runs))
        missed = [measure.label for measure in measures if measure.missed]
        if billing["first"] > BILLING_TARGET_SECONDS or billing["second_written"]:
            missed.append("billing")
        if check and missed:
            raise CommandError(f"Targets of issue 6 missed: {', '.join(missed)}.")

    def progress(self, step: str, done: int, total: int):
        sys.stderr.write(f"\r  {step}: {done}/{total}\033[K")
        sys.stderr.flush()

    # --- Measures ----------------------------------------------------------------------------

    def repeat(self, measure: Measure, call, runs: int) -> Measure:
        """The queries of one call, then the median of `runs` calls after a warm-up."""
        call()
        with CaptureQueriesContext(connection) as queries:
            call()
        measure.queries = len(queries)
        measure.timings = [timed(call)[0] * 1000 for _run in range(runs)]
        measure.median_ms = statistics.median(measure.timings)
        return measure

    def measure_reads(self, envelope, *, staff, runs: int) -> list[Measure]:
        today = timezone.localdate()
        measures = [
            self.repeat(
                Measure("`envelopes.figures(envelope)`", target_ms=PAGE_TARGET_MS),
                lambda: envelopes.figures(envelope),
                runs,
            )
        ]
        for module_name, function_name in (
            ("loans.envelope_stats", "envelope_stats"),
            ("loans.reconciliation", "reconcile"),
        ):
            label = f"`{module_name.split('.')[1]}.{function_name}(envelope, today=)`"
            try:
                function = getattr(importlib.import_module(module_name), function_name)
            except (ImportError, AttributeError):
                measures.append(Measure(label, note="not written yet"))
                continue
            measures.append(
                self.repeat(
                    Measure(label, target_ms=PAGE_TARGET_MS),
                    lambda function=function: function(envelope, today=today),
                    runs,
                )
            )
        client = Client()
        client.force_login(staff)
        pages = [
            ("envelope list", "loans:envelopes", [], PAGE_TARGET_MS),
            ("envelope page", "loans:envelope", [envelope.pk], PAGE_TARGET_MS),
            ("reconciliation report", "loans:reconciliation", [envelope.pk], PAGE_TARGET_MS),
            ("reconciliation CSV", "loans:reconciliation_csv", [envelope.pk], None),
            ("reconciliation XLSX", "loans:reconciliation_xlsx", [envelope.pk], None),
            ("funder report PDF", "loans:funder_report", [envelope.pk], None),
        ]
        for label, name, args, target in pages:
            url = reverse(name, args=args)
            measure = Measure(f"{label} (`GET {url}`)", target_ms=target)
            # A page not written yet answers 404: no need to log it.
            request_log = logging.getLogger("django.request")
            level = request_log.level
            request_log.setLevel(logging.CRITICAL)
            try:
                status = client.get(url).status_code
            finally:
                request_log.setLevel(level)
            if status != 200:
                measure.note = f"not there yet (HTTP {status})"
                measure.target_ms = None
                measures.append(measure)
                continue
            # A PDF takes seconds: a few renders are enough.
            count = runs if target is not None else min(runs, 5)
            measures.append(self.repeat(measure, lambda url=url: client.get(url), count))
        return measures

    def measure_billing(self) -> dict:
        """Billing with "today" a month ahead: every loan on loan has a month to charge."""
        today = timezone.localdate()
        until = add_months(today, 1)
        handed_over = ledger._billable(until).count()
        active = Loan.objects.active().count()
        with CaptureQueriesContext(connection) as queries:
            first, written = timed(lambda: ledger.bill_fees(until=until))
        second, second_written = timed(lambda: ledger.bill_fees(until=until))
        return {
            "until": until,
            "handed_over": handed_over,
            "active": active,
            "first": first,
            "written": written,
            "queries": len(queries),
            "second": second,
            "second_written": second_written,
        }

    # --- Report ------------------------------------------------------------------------------

    def report(self, summary, seconds: float, measures, billing, *, runs: int) -> str:
        rows = summary.rows
        by_status = summary.loans_by_status
        rows_out = [
            ("Measure", "Queries", "Result", "Target"),
            ("---", "---:", "---:", "---:"),
            (
                f"dataset: {rows['TrainingBody']} training bodies, {rows['Trainee']:,} trainees, "
                f"{rows['Laptop']:,} laptops, {rows['Loan']:,} loans "
                f"({by_status.get('active', 0):,} on loan, {by_status.get('prepared', 0):,} "
                f"prepared), {rows['FeeEntry']:,} ledger lines",
                "",
                f"{seconds:.1f} s to make",
                "",
            ),
            (
                f"(a) `ledger.bill_fees(until={billing['until']:%d/%m/%Y})`, a month ahead: "
                f"{billing['handed_over']:,} loans handed over, {billing['active']:,} on loan; "
                f"{billing['written']:,} charges written",
                str(billing["queries"]),
                f"**{billing['first']:.2f} s**",
                f"≤ {BILLING_TARGET_SECONDS:.0f} s",
            ),
            (
                f"(a′) the same again: {billing['second_written']} charges written",
                "",
                f"{billing['second']:.2f} s",
                "writes 0",
            ),
        ]
        for index, measure in enumerate(measures):
            letter = "(b)" if index == 0 else "(c)"
            if measure.median_ms is None:
                rows_out.append((f"{letter} {measure.label}", "", measure.note, ""))
                continue
            target = f"≤ {measure.target_ms:.0f} ms" if measure.target_ms else "(information)"
            result = f"{measure.median_ms:.0f} ms"
            if measure.target_ms:
                result = f"**{result}**"
            rows_out.append(
                (
                    f"{letter} {measure.label}: median of {len(measure.timings)}",
                    str(measure.queries),
                    result,
                    target,
                )
            )
        lines = ["| " + " | ".join(row) + " |" for row in rows_out]
        lines += [
            "",
            f"Machine: {machine()}; Python {platform.python_version()}, "
            f"Django {django.get_version()}, {self.database}; "
            f"{timezone.localdate():%Y-%m-%d}.",
        ]
        return "\n".join(lines)
