"""Fill the configured database with the design-scale dataset: `python manage.py seed_scale`.

60 training bodies, 25,000 trainees, 10,000 laptops, 30,000 loans and about 150,000 ledger
lines (loans.scale), three years of the programme up to today, written in bulk with a progress
bar in a terminal. For trying the software at the size of a regional network and for the load
test (`make loadtest`): like the demo, it is refused on a production database unless
DJANGO_ALLOW_DEMO_DATA=1, and it adds the demo staff accounts and gives the training bodies'
coordinators (coordination-of-01 to -60) the demo password.
"""

import sys
import time

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from defis.models import Association, User
from defis.permissions import STAFF_GROUP_NAME
from loans import scale

# The demo's staff accounts, with the same names (see seed_demo).
STAFF_ACCOUNTS = {
    "admin": ("Gwenaël", "Le Floch", True),
    "equipe": ("Morgane", "Le Bihan", False),
}
COORDINATOR_PREFIX = "coordination-of-"


class Command(BaseCommand):
    help = (
        "Fill the configured database with the design-scale dataset (10,000 laptops, "
        "25,000 trainees, 30,000 loans, about 150,000 ledger lines, 60 training bodies)."
    )

    def add_arguments(self, parser):
        scale.add_fraction_argument(parser)
        parser.add_argument(
            "--seed", type=int, default=56600, help="Seed of the random choices (same data)."
        )

    def handle(self, *args, fraction, seed, **options):
        if not settings.DEFIS_DEMO_DATA_ALLOWED:
            raise CommandError(
                "Refused: the design-scale dataset is made-up data with published passwords. "
                "Set DJANGO_ALLOW_DEMO_DATA=1 to fill a database outside development."
            )
        if not 0 < fraction <= 1:
            raise CommandError("--fraction must be between 0 (excluded) and 1.")
        counts = scale.fraction_of_design(fraction)
        self.bars: dict[str, tqdm] = {}
        started = time.perf_counter()
        with transaction.atomic():
            Association.objects.get_or_create(
                singleton=True,
                defaults={"name": "Association Défis", "town": "Lanester", "postal_code": "56600"},
            )
            staff = self.staff_accounts()
            try:
                summary = scale.generate(
                    today=timezone.localdate(),
                    by=staff,
                    counts=counts,
                    seed=seed,
                    progress=self.progress,
                )
            except scale.ScaleError as error:
                raise CommandError(str(error)) from None
            finally:
                for bar in self.bars.values():
                    bar.close()
            User.objects.filter(username__startswith=COORDINATOR_PREFIX).update(
                password=make_password(settings.DEFIS_DEMO_PASSWORD)
            )
        scale.analyze()
        seconds = time.perf_counter() - started
        self.stdout.write(self.style.SUCCESS(f"Design-scale dataset ready in {seconds:.0f} s."))
        for model, rows in summary.rows.items():
            self.stdout.write(f"  {model:<16} {rows:>8,}")
        statuses = ", ".join(f"{n:,} {s}" for s, n in sorted(summary.loans_by_status.items()))
        self.stdout.write(f"  loans by status: {statuses}")
        password = settings.DEFIS_DEMO_PASSWORD
        self.stdout.write(
            f"  accounts: admin, equipe (staff) and {COORDINATOR_PREFIX}01 to "
            f"{COORDINATOR_PREFIX}{counts.training_bodies:02d} (coordinators), "
            f"password {password}"
        )

    def staff_accounts(self) -> User:
        group = Group.objects.get(name=STAFF_GROUP_NAME)
        password = make_password(settings.DEFIS_DEMO_PASSWORD)
        for username, (first, last, superuser) in STAFF_ACCOUNTS.items():
            user, _created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@defis-demo.example",
                    "is_staff": True,
                    "is_superuser": superuser,
                    "password": password,
                },
            )
            if not superuser:
                user.groups.add(group)
        return User.objects.get(username="equipe")

    def progress(self, step: str, done: int, total: int):
        """One bar per step, drawn only in a terminal; a line per finished step otherwise."""
        bar = self.bars.get(step)
        if bar is None:
            bar = self.bars[step] = tqdm(
                total=total, desc=f"{step:<15}", unit=" rows", disable=None, file=sys.stderr
            )
        bar.update(done - bar.n)
        if done >= total:
            drawn = not bar.disable  # close() turns `disable` on
            bar.close()
            if not drawn:
                self.stderr.write(f"  {step}: {total:,}")
