"""Demo inventory for `seed_demo`: about a hundred laptops, in the workshop statuses. The
others (reserved, on loan, returned, lost, stolen) come from the demo requests and loans
(loans.demo), so that every laptop out of the workshop has the request or loan that took it.

Donors are fictional. Everything is dated relative to today and goes through the real
services, so every laptop has the history, wipes and repairs its status implies.
"""

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from . import services
from .models import Donor, Laptop, Location, WipeRecord

Status = Laptop.Status

LOCATIONS = ["Atelier de Lanester", "Réserve de Lanester", "Antenne de Vannes"]

DONORS = [
    ("Kerhoël Logistique", Donor.Kind.COMPANY, "Nolwenn Tanguy", "Hennebont"),
    ("Océlia Assurances", Donor.Kind.COMPANY, "Pierre Jaffré", "Vannes"),
    ("Breizh Numérique Services", Donor.Kind.COMPANY, "Soizic Le Roux", "Lorient"),
    (
        "Communauté de communes de Ster-Blavet",
        Donor.Kind.LOCAL_AUTHORITY,
        "Service informatique",
        "Pont-Scorff",
    ),
    ("Yves Le Corre", Donor.Kind.INDIVIDUAL, "", "Auray"),
]

# brand, model, processor, RAM, storage, storage type, screen, replacement value, serial prefix
MODELS = [
    ("Lenovo", "ThinkPad T470", "Intel Core i5-7300U", 8, 256, "ssd", "14.0", 220, "PF0"),
    ("Lenovo", "ThinkPad T480", "Intel Core i5-8350U", 8, 256, "nvme", "14.0", 260, "PF1"),
    ("Lenovo", "ThinkPad L480", "Intel Core i5-8250U", 8, 256, "ssd", "14.0", 230, "PF2"),
    ("Lenovo", "ThinkPad X270", "Intel Core i5-7200U", 8, 240, "ssd", "12.5", 190, "PR0"),
    ("Dell", "Latitude 5490", "Intel Core i5-8250U", 8, 256, "nvme", "14.0", 240, ""),
    ("Dell", "Latitude 7480", "Intel Core i5-7300U", 8, 256, "ssd", "14.0", 230, ""),
    ("Dell", "Latitude E5570", "Intel Core i5-6300U", 8, 240, "ssd", "15.6", 180, ""),
    ("HP", "EliteBook 840 G5", "Intel Core i5-8350U", 16, 256, "nvme", "14.0", 280, "5CG"),
    ("HP", "ProBook 650 G4", "Intel Core i5-8250U", 8, 256, "ssd", "15.6", 240, "5CD"),
    ("HP", "EliteBook 820 G4", "Intel Core i5-7200U", 8, 256, "ssd", "12.5", 200, "5CG"),
    ("Fujitsu", "LIFEBOOK E548", "Intel Core i5-8250U", 8, 256, "ssd", "14.0", 220, "DSAC"),
    ("Acer", "TravelMate P259", "Intel Core i3-7100U", 8, 256, "ssd", "15.6", 160, "NXVE"),
]

# days ago the batch came in, donor index, then how many of its laptops end in each status
BATCHES = [
    (330, 0, {Status.READY: 16, Status.RETIRED: 2}),
    (240, 1, {Status.READY: 20, Status.RETIRED: 1}),
    (150, 3, {Status.READY: 24}),
    (75, 2, {Status.READY: 12, Status.IN_REPAIR: 2, Status.RETIRED: 1}),
    (21, 4, {Status.READY: 2, Status.REFURBISHING: 6, Status.IN_REPAIR: 2}),
    (6, 0, {Status.REFURBISHING: 4, Status.INTAKE: 8}),
]

# The way from intake to each final status, with the days each step takes.
PATHS = {
    Status.INTAKE: [],
    Status.REFURBISHING: [("refurbishing", 2)],
    Status.IN_REPAIR: [("refurbishing", 2), ("in_repair", 2)],
    Status.READY: [("refurbishing", 2), ("wipe", 2), ("ready", 1)],
    Status.RETIRED: [("refurbishing", 2), ("retired", 3)],
}

REPAIRS = [
    ("Batterie remplacée (capacité mesurée à 41 %)", "Batterie compatible 48 Wh", "39.90"),
    ("Clavier remplacé, touches manquantes", "Clavier AZERTY", "24.50"),
    ("Disque dur remplacé par un SSD", "SSD SATA 240 Go", "22.00"),
    ("Charnière d’écran resserrée", "", "0.00"),
]


def _serial(rng: random.Random, prefix: str) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    length = 7 if not prefix else 10 - len(prefix)
    return prefix + "".join(rng.choice(alphabet) for _ in range(length))


def seed_inventory(*, by, today=None) -> int:
    """Create the demo inventory once; return how many laptops were created (0 if present)."""
    if Donor.objects.filter(name=DONORS[0][0], donations__isnull=False).exists():
        return 0
    today = today or timezone.localdate()
    rng = random.Random(56600)
    locations = [Location.objects.get_or_create(name=name)[0] for name in LOCATIONS]
    donors = [
        Donor.objects.update_or_create(
            name=name, defaults={"kind": kind, "contact_name": contact, "town": town}
        )[0]
        for name, kind, contact, town in DONORS
    ]
    created = 0
    for days_ago, donor_index, statuses in BATCHES:
        received = timezone.make_aware(datetime.combine(today - timedelta(days=days_ago), time(10)))
        laptops = []
        model = MODELS[rng.randrange(len(MODELS))]
        for status, count in statuses.items():
            for _i in range(count):
                # A batch holds two or three models, as a company's fleet does.
                if rng.random() < 0.3:
                    model = MODELS[rng.randrange(len(MODELS))]
                laptops.append((status, _laptop(rng, model, locations)))
        services.donation_record(
            donor=donors[donor_index],
            received_on=received.date(),
            laptops=[laptop for _status, laptop in laptops],
            by=by,
            now=received,
        )
        for index, (status, laptop) in enumerate(laptops):
            _walk(
                laptop, status, start=received, by=by, repair=REPAIRS[index % len(REPAIRS)], rng=rng
            )
        created += len(laptops)
    return created


def _laptop(rng, model, locations) -> Laptop:
    brand, name, cpu, ram, storage, storage_type, screen, value, prefix = model
    return Laptop(
        brand=brand,
        model=name,
        serial_number=_serial(rng, prefix),
        processor=cpu,
        ram_gb=ram,
        storage_gb=storage,
        storage_type=storage_type,
        screen_inches=Decimal(screen),
        operating_system=rng.choice(
            [Laptop.OperatingSystem.LINUX_MINT] * 3 + [Laptop.OperatingSystem.WINDOWS_10]
        ),
        grade=rng.choice(["A", "B", "B", "B", "C"]),
        has_charger=True,
        has_bag=rng.random() < 0.4,
        has_mouse=rng.random() < 0.3,
        replacement_value=Decimal(value),
        location=locations[0] if rng.random() < 0.8 else locations[2],
    )


def _walk(laptop, status, *, start, by, repair, rng) -> None:
    now = start
    for step, days in PATHS[status]:
        now += timedelta(days=days, hours=rng.randrange(0, 6))
        if step == "wipe":
            services.wipe_record(
                laptop=laptop,
                wiped_on=timezone.localdate(now),
                method=rng.choice([WipeRecord.Method.NWIPE_ZERO, WipeRecord.Method.NVME_SANITIZE]),
                operator=by,
                verified=True,
                certificate_reference=f"NW-{timezone.localdate(now):%Y%m%d}-{laptop.pk:04d}",
                now=now,
            )
        elif step == "in_repair":
            services.laptop_change_status(laptop=laptop, to_status=step, by=by, now=now)
            _repair(laptop, repair, by=by, now=now)
        elif step == "retired":
            services.laptop_retire(
                laptop=laptop,
                reason=rng.choice(list(Laptop.RetirementReason.values)),
                by=by,
                note="Carte mère hors service",
                now=now,
            )
        else:
            services.laptop_change_status(laptop=laptop, to_status=step, by=by, now=now)
        if step == "refurbishing" and status == Status.READY and rng.random() < 0.2:
            _repair(laptop, repair, by=by, now=now)


def _repair(laptop, repair, *, by, now) -> None:
    work, parts, cost = repair
    services.repair_record(
        laptop=laptop,
        repaired_on=timezone.localdate(now),
        work_done=work,
        parts=parts,
        cost=Decimal(cost),
        repaired_by=by,
        now=now,
    )
