from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from defis.models import Association, User
from defis.permissions import STAFF_GROUP_NAME
from inventory.demo import seed_inventory
from loans.demo import seed_envelope, seed_loans, seed_money, seed_requests, seed_waitlist
from trainees.demo import seed_courses, seed_training_bodies
from trainees.models import Coordinator

SILENT_EMAIL = "django.core.mail.backends.dummy.EmailBackend"

ASSOCIATION = {
    "name": "Association Défis",
    "street": "8 rue du Général Leclerc",
    "postal_code": "56600",
    "town": "Lanester",
    "phone": "02 97 76 34 91",
    "website": "https://www.defis.info",
    "director": "Mickaël Leblond",
}

# username: (first name, last name, kind, training body short name, job title)
DEMO_ACCOUNTS = {
    "admin": ("Gwenaël", "Le Floch", "superuser", None, ""),
    "equipe": ("Morgane", "Le Bihan", "staff", None, ""),
    "agora": ("Claire", "Le Goff", "coordinator", "Agora", "Coordinatrice PRÉPA Avenir Jeunes"),
    "askoria": ("Yann", "Guégan", "coordinator", "ASKORIA", "Référent formation"),
}


class Command(BaseCommand):
    help = "Create or refresh the demo data and the demo accounts. Safe to run again."

    def handle(self, *args, **options):
        if not settings.DEFIS_DEMO_DATA_ALLOWED:
            raise CommandError(
                "Refused: demo accounts have a published password. Set "
                "DJANGO_ALLOW_DEMO_DATA=1 to seed demo data outside development."
            )
        # Demo decisions would mail the demo coordinators: nothing leaves.
        with override_settings(EMAIL_BACKEND=SILENT_EMAIL), transaction.atomic():
            Association.objects.update_or_create(singleton=True, defaults=ASSOCIATION)
            bodies = seed_training_bodies()
            self._seed_accounts(bodies)
            laptops, loans, ledger_lines = self._seed_programme(bodies)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        if laptops:
            self.stdout.write(f"  {laptops} demo laptops added to the inventory.")
        if loans:
            self.stdout.write(f"  {loans} demo loans added (handed over, returned, lost…).")
        if ledger_lines:
            self.stdout.write(
                f"  {ledger_lines} ledger lines (charges, payments, a waiver, a reversal)."
            )
        for username, (_first, _last, kind, body, _title) in DEMO_ACCOUNTS.items():
            where = f", {bodies[body].name}" if body else ""
            self.stdout.write(f"  {username:<8} / {settings.DEFIS_DEMO_PASSWORD}  ({kind}{where})")

    def _seed_programme(self, bodies) -> tuple[int, int, int]:
        """Courses, trainees, workshops, laptops, requests, loans and their fees, once; return
        how many laptops, loans and ledger lines were added. The waitlist comes before the
        laptops: a request is waitlisted only when no laptop is ready."""
        today = timezone.localdate()
        staff = User.objects.get(username="equipe")
        trainees = seed_courses(bodies=bodies, today=today)
        coordinators = {
            "agora": User.objects.get(username="agora"),
            "agora-spring": User.objects.get(username="agora"),
            "askoria": User.objects.get(username="askoria"),
        }
        if trainees:
            seed_waitlist(trainees=trainees, coordinators=coordinators, staff=staff, today=today)
        laptops = seed_inventory(by=staff, today=today)
        seed_envelope(today=today)
        loans = ledger_lines = 0
        if trainees:
            seed_requests(trainees=trainees, coordinators=coordinators, staff=staff, today=today)
            loans = seed_loans(
                trainees=trainees, coordinators=coordinators, staff=staff, today=today
            )
            ledger_lines = seed_money(staff=staff, today=today)
        return laptops, loans, ledger_lines

    def _seed_accounts(self, bodies):
        staff_group = Group.objects.get(name=STAFF_GROUP_NAME)
        for username, (first, last, kind, body, job_title) in DEMO_ACCOUNTS.items():
            user, _created = User.objects.update_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@defis-demo.example",
                    "is_active": True,
                    "is_staff": kind in ("staff", "superuser"),
                    "is_superuser": kind == "superuser",
                },
            )
            user.set_password(settings.DEFIS_DEMO_PASSWORD)
            user.save(update_fields=["password"])
            if kind == "staff":
                user.groups.add(staff_group)
            if kind == "coordinator":
                Coordinator.objects.update_or_create(
                    user=user,
                    defaults={"training_body": bodies[body], "job_title": job_title},
                )
