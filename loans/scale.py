"""The design-scale dataset (issue 6, "Speed"): 60 training bodies over 10 territories, 25,000
trainees, 10,000 laptops, 30,000 loans and 150,000 ledger lines, three years of the programme
up to `today`, written in bulk into the configured database.

This is not the demo: no service runs and nothing is checked row by row. Every table is
filled by `bulk_create` in batches, from plans worked out in Python first, so that the
figures hold together the way the services would have left them:

- a loan lies within its trainee's course, is tied to the envelope that covers its start,
  counts `planned_periods = months_started(start, planned end)`, and has its request
  (fulfilled); a laptop is on one loan at a time, and its status follows its last loan;
- every month begun of a handed-over loan is charged once (so `ledger.bill_fees(until=today)`
  afterwards writes nothing), and draws the envelope's funder share;
- payments settle the months in order, a few days after each began (some trainees are
  behind, a few months in arrears, some months waived); a few payments typed twice are
  reversed the next day.

Left out: the agreement PDFs, the laptops' status history and the loans' timelines.

`generate(today=..., by=...)` writes it all in one transaction and returns what it wrote;
`progress(step, done, total)`, when given, is called after every batch (issue 8's
`seed_scale` shows a progress bar with it).
"""

import heapq
import random
from collections import Counter as Tally
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from defis.models import Counter, User
from defis.periods import add_months, months_started
from inventory.models import ASSET_TAG_COUNTER, Laptop, format_asset_tag
from trainees.models import Coordinator, Course, Territory, Trainee, TrainingBody

from .models import AgreementTemplate, BudgetEnvelope, FeeEntry, Loan, LoanRequest

BATCH = 2000
FEE = Decimal("7.00")
FUNDER_SHARE = Decimal("30.00")
# `progress(step, done, total)`: called after every batch, for these steps in this order.
Progress = Callable[[str, int, int], None]
STEPS = ("training bodies", "courses", "trainees", "laptops", "requests", "loans", "ledger lines")


@dataclass(frozen=True)
class Counts:
    """How much to make. The defaults are the design scale of DESIGN.md."""

    territories: int = 10
    training_bodies: int = 60
    trainees: int = 25_000
    laptops: int = 10_000
    loans: int = 30_000
    ledger_lines: int = 150_000
    years: int = 3
    trainees_per_course: int = 16


DESIGN_SCALE = Counts()


def add_fraction_argument(parser) -> None:
    """The `--fraction` option of the commands that make this dataset (`seed_scale`,
    `bench_money`, `bench_pages`), read with `fraction_of_design`."""
    parser.add_argument(
        "--fraction",
        type=float,
        default=1.0,
        help="Make that fraction of the design scale (1 = 30,000 loans), for a quick look.",
    )


def fraction_of_design(fraction: float) -> Counts:
    """`fraction` of the design scale (1 = the design scale itself), never below a handful of
    each, for a quick look (`seed_scale --fraction`, `bench_money --fraction`)."""
    design = DESIGN_SCALE
    if fraction == 1:
        return design

    def part(value, least=1):
        return max(least, round(value * fraction))

    return Counts(
        territories=design.territories,
        training_bodies=part(design.training_bodies, 2),
        trainees=part(design.trainees, 20),
        laptops=part(design.laptops, 20),
        loans=part(design.loans, 20),
        ledger_lines=part(design.ledger_lines, 50),
    )


class ScaleError(Exception):
    """The dataset cannot be made as asked (already there, too few laptops…)."""


TERRITORIES = [
    "Pays de Brest",
    "Pays de Quimper",
    "Pays de Morlaix",
    "Pays de Saint-Brieuc",
    "Pays de Lannion",
    "Pays de Rennes",
    "Pays de Saint-Malo",
    "Pays de Fougères",
    "Pays de Redon",
    "Pays de Pontivy",
]
TOWNS = {
    "Pays de Brest": ("Brest", "29200"),
    "Pays de Quimper": ("Quimper", "29000"),
    "Pays de Morlaix": ("Morlaix", "29600"),
    "Pays de Saint-Brieuc": ("Saint-Brieuc", "22000"),
    "Pays de Lannion": ("Lannion", "22300"),
    "Pays de Rennes": ("Rennes", "35000"),
    "Pays de Saint-Malo": ("Saint-Malo", "35400"),
    "Pays de Fougères": ("Fougères", "35300"),
    "Pays de Redon": ("Redon", "35600"),
    "Pays de Pontivy": ("Pontivy", "56300"),
}
BODY_KINDS = ["Centre de formation", "Institut", "Atelier", "École de la deuxième chance"]
PROGRAMMES = ["PRÉPA Avenir Jeunes", "PRÉPA Projet", "PRÉPA Clés", "Qualif Emploi"]
COURSE_MONTHS = [2, 3, 3, 4, 4, 4, 5, 6]
FIRST_NAMES = [
    "Léa", "Noah", "Inès", "Lucas", "Manon", "Enzo", "Jade", "Théo", "Chloé", "Yanis",
    "Emma", "Mathis", "Louna", "Kylian", "Sarah", "Gaël", "Céline", "Patrick", "Sylvie",
    "Mehdi", "Fatima", "Kevin", "Nadia", "Julien", "Aurélie", "Sandrine", "Erwan", "Nolwenn",
]  # fmt: skip
LAST_NAMES = [
    "Le Gall", "Le Floch", "Morvan", "Guillou", "Le Bris", "Tanguy", "Kerbrat", "Le Moal",
    "Riou", "Allain", "Cadiou", "Benali", "Le Goff", "Jégo", "Hamon", "Le Corre", "Perrot",
    "Le Texier", "Jouan", "Le Roux", "Daniel", "Le Dantec", "Éven", "Saïdi", "Nicolas",
]  # fmt: skip
MODELS = [
    ("Lenovo", "ThinkPad T480"),
    ("Lenovo", "ThinkPad L390"),
    ("Dell", "Latitude 5490"),
    ("Dell", "Latitude 7400"),
    ("HP", "EliteBook 840 G5"),
    ("HP", "ProBook 450 G6"),
    ("Fujitsu", "Lifebook U748"),
]
METHODS = [
    (FeeEntry.Method.CASH, 35),
    (FeeEntry.Method.CHEQUE, 20),
    (FeeEntry.Method.TRANSFER, 20),
    (FeeEntry.Method.CARD, 20),
    (FeeEntry.Method.TRAINING_BODY, 5),
]
WAIVER_REASONS = [
    "Situation financière difficile, accord de la directrice.",
    "Ordinateur en panne pendant trois semaines.",
    "Stagiaire sortie de formation, accord du comité.",
]


@dataclass
class _LoanPlan:
    trainee: int  # index into the trainees
    course: int  # index into the courses
    start: date
    planned_end: date
    status: str = Loan.Status.ACTIVE
    outcome: str = ""
    return_date: date | None = None
    left_course_on: date | None = None
    notes: str = ""
    laptop: int = -1
    loan: Loan | None = None


@dataclass
class Summary:
    """What `generate` wrote, by model, and the loans by status."""

    rows: dict[str, int] = field(default_factory=dict)
    loans_by_status: dict[str, int] = field(default_factory=dict)
    envelopes: list[BudgetEnvelope] = field(default_factory=list)

    @property
    def ledger_lines(self) -> int:
        return self.rows.get("FeeEntry", 0)


def generate(
    *,
    today: date,
    by,
    counts: Counts = DESIGN_SCALE,
    seed: int = 56600,
    progress: Progress | None = None,
) -> Summary:
    """Write the dataset, in one transaction; `by` (a staff account) prepared the loans and
    received the payments. Refused when it is already there."""
    if TrainingBody.objects.filter(short_name=_short_name(0)).exists():
        raise ScaleError("The design-scale dataset is already in this database.")
    with transaction.atomic():
        return _Builder(today=today, by=by, counts=counts, seed=seed, progress=progress).run()


def analyze() -> None:
    """On PostgreSQL, give the planner its statistics, as autovacuum would some time after a
    bulk load (SQLite needs nothing)."""
    if connection.vendor != "postgresql":
        return
    tables = connection.introspection.django_table_names(only_existing=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(map(connection.ops.quote_name, tables)))


def _short_name(index: int) -> str:
    return f"OF-{index + 1:02d}"


def _moment(day: date, hour: int, latest: datetime) -> datetime:
    """`day` at `hour`, never later than `latest` (nothing is recorded in the future)."""
    return min(timezone.make_aware(datetime.combine(day, time(hour))), latest)


class _Builder:
    def __init__(self, *, today, by, counts: Counts, seed: int, progress: Progress | None):
        self.today = today
        self.now = timezone.now()
        self.by = by
        self.counts = counts
        self.rng = random.Random(seed)
        self.progress = progress or (lambda step, done, total: None)
        self.first_day = add_months(today, -12 * counts.years)
        self.summary = Summary()

    def run(self) -> Summary:
        self.territories()
        self.training_bodies()
        self.courses()
        self.trainees()
        self.laptops()
        self.envelopes()
        plans = self.plan_loans()
        self.assign_laptops(plans)
        self.requests_and_loans(plans)
        self.laptop_statuses(plans)
        self.ledger(plans)
        self.summary.loans_by_status = dict(Tally(plan.status for plan in plans))
        return self.summary

    # --- Helpers -----------------------------------------------------------------------------

    def insert(self, model, objects: list, step: str | None = None) -> list:
        """Bulk insert in batches (the primary keys come back on PostgreSQL and SQLite)."""
        total = len(objects)
        for start in range(0, total, BATCH):
            model.objects.bulk_create(objects[start : start + BATCH])
            if step:
                self.progress(step, min(start + BATCH, total), total)
        name = model.__name__
        self.summary.rows[name] = self.summary.rows.get(name, 0) + total
        return objects

    def at(self, day: date, hour: int = 10) -> datetime:
        return _moment(day, hour, self.now)

    def day_between(self, first: date, last: date) -> date:
        if last <= first:
            return first
        return first + timedelta(days=self.rng.randint(0, (last - first).days))

    # --- Partners and courses ----------------------------------------------------------------

    def territories(self):
        names = [
            TERRITORIES[i] if i < len(TERRITORIES) else f"Territoire {i + 1}"
            for i in range(self.counts.territories)
        ]
        existing = {t.name: t for t in Territory.objects.filter(name__in=names)}
        missing = [Territory(name=name) for name in names if name not in existing]
        self.insert(Territory, missing)
        existing.update({t.name: t for t in missing})
        self.territory_list = [existing[name] for name in names]

    def training_bodies(self):
        bodies = []
        for index in range(self.counts.training_bodies):
            territory = self.territory_list[index % len(self.territory_list)]
            town, postal_code = TOWNS.get(territory.name, ("Rennes", "35000"))
            kind = BODY_KINDS[index % len(BODY_KINDS)]
            bodies.append(
                TrainingBody(
                    name=f"{kind} {town} {index + 1:02d}",
                    short_name=_short_name(index),
                    street=f"{index + 1} rue de la Formation",
                    postal_code=postal_code,
                    town=town,
                    territory=territory,
                    contact_email=f"contact@of-{index + 1:02d}.example",
                )
            )
        self.bodies = self.insert(TrainingBody, bodies, "training bodies")
        # About one coordinator each, without a usable password.
        users = self.insert(
            User,
            [
                User(
                    username=f"coordination-of-{index + 1:02d}",
                    first_name="Coordination",
                    last_name=body.short_name,
                    email=f"coordination@of-{index + 1:02d}.example",
                    password=make_password(None),
                )
                for index, body in enumerate(bodies)
            ],
        )
        self.insert(
            Coordinator,
            [
                Coordinator(user=user, training_body=body, job_title="Coordinatrice")
                for user, body in zip(users, bodies, strict=True)
            ],
        )
        self.coordinator_users = users

    def courses(self):
        count = max(1, -(-self.counts.trainees // self.counts.trainees_per_course))
        # The courses begin over the whole programme, and up to three weeks ahead: the
        # loans of those are prepared, not handed over yet.
        span = (self.today + timedelta(days=20) - self.first_day).days
        courses = []
        for index in range(count):
            body = self.bodies[index % len(self.bodies)]
            start = self.first_day + timedelta(days=span * index // max(count - 1, 1))
            months = self.rng.choice(COURSE_MONTHS)
            courses.append(
                Course(
                    training_body=body,
                    title=f"{PROGRAMMES[index % len(PROGRAMMES)]} {body.town} {index + 1}",
                    programme=PROGRAMMES[index % len(PROGRAMMES)],
                    town=body.town,
                    start_date=start,
                    end_date=add_months(start, months) - timedelta(days=1),
                )
            )
        self.course_list = self.insert(Course, courses, "courses")

    def trainees(self):
        trainees = []
        courses = self.course_list
        for index in range(self.counts.trainees):
            course = courses[index % len(courses)]
            minor = index % 20 == 0
            age = 17 if minor else 18 + index % 40
            birth = add_months(course.start_date, -12 * age) - timedelta(days=1 + index % 300)
            first = FIRST_NAMES[index % len(FIRST_NAMES)]
            last = f"{LAST_NAMES[(index // len(FIRST_NAMES)) % len(LAST_NAMES)]}-{index + 1}"
            trainee = Trainee(
                course=course,
                first_name=first,
                last_name=last,
                birth_date=birth,
                street=f"{1 + index % 90} rue des Écoles",
                postal_code=course.training_body.postal_code or "35000",
                town=course.town,
            )
            if minor:
                trainee.guardian_name = f"Parent {last}"
                trainee.guardian_relationship = "Mère"
                trainee.guardian_street = trainee.street
                trainee.guardian_postal_code = trainee.postal_code
                trainee.guardian_town = trainee.town
            trainees.append(trainee)
        self.trainee_list = self.insert(Trainee, trainees, "trainees")

    # --- Laptops and envelopes ---------------------------------------------------------------

    def laptops(self):
        count = self.counts.laptops
        first_number = Counter.objects.take(ASSET_TAG_COUNTER, count)[0] if count else 0
        laptops = []
        for index in range(count):
            brand, model = MODELS[index % len(MODELS)]
            laptops.append(
                Laptop(
                    asset_tag=format_asset_tag(first_number + index),
                    brand=brand,
                    model=model,
                    serial_number=f"ECH{first_number + index:07d}",
                    ram_gb=8,
                    storage_gb=256,
                    storage_type=Laptop.StorageType.SSD,
                    operating_system=Laptop.OperatingSystem.LINUX_MINT,
                    grade=Laptop.Grade.B,
                    replacement_value=Decimal("250.00"),
                    status=Laptop.Status.READY,
                    status_changed_at=self.at(self.first_day - timedelta(days=7)),
                )
            )
        self.laptop_list = self.insert(Laptop, laptops, "laptops")

    def envelopes(self):
        """The programme's first 18 months funded by one envelope, the rest by another that
        names the territories. Their amounts are set once the ledger is known."""
        middle = add_months(self.first_day, 18)
        first = BudgetEnvelope(
            funder="Région Bretagne",
            name="Prêts aux stagiaires, première convention",
            amount=Decimal("1.00"),
            start_date=self.first_day,
            end_date=middle - timedelta(days=1),
            trainee_fee=FEE,
            funder_share=FUNDER_SHARE,
        )
        second = BudgetEnvelope(
            funder="Région Bretagne",
            name="Prêts aux stagiaires, deuxième convention",
            amount=Decimal("1.00"),
            start_date=middle,
            end_date=max(add_months(self.today, 12), middle),
            trainee_fee=FEE,
            funder_share=FUNDER_SHARE,
        )
        self.envelope_list = self.insert(BudgetEnvelope, [first, second])
        second.territories.set(self.territory_list)
        self.summary.envelopes = self.envelope_list

    def envelope_on(self, day: date) -> BudgetEnvelope:
        first, second = self.envelope_list
        return first if day <= first.end_date else second

    # --- Loans -------------------------------------------------------------------------------

    def loans_per_trainee(self) -> list[int]:
        """0, 1 or more loans per trainee, `counts.loans` in all: some never borrow, some
        have their laptop exchanged during the course (a loan returned, another one)."""
        total, count = self.counts.loans, len(self.trainee_list)
        per_trainee = [1] * count
        order = list(range(count))
        self.rng.shuffle(order)

        def room(index):  # how many loans the trainee's course can hold (one a month)
            course = self.course_list[index % len(self.course_list)]
            if course.start_date > self.today - timedelta(days=60):
                return 1
            elapsed = (min(course.end_date, self.today) - course.start_date).days
            return max(1, min(3, elapsed // 30))

        if total <= count:
            for index in order[: count - total]:
                per_trainee[index] = 0
            return per_trainee
        # One in fifteen never borrows; others have their laptop exchanged.
        for index in order[: count // 15]:
            per_trainee[index] = 0
        extra = total - sum(per_trainee)
        while extra > 0:
            added = 0
            for index in order:
                if extra and per_trainee[index] and per_trainee[index] < room(index):
                    per_trainee[index] += 1
                    extra -= 1
                    added += 1
            if not added:
                raise ScaleError(
                    f"{total} loans do not fit {count} trainees: add trainees or fewer loans."
                )
        return per_trainee

    def plan_loans(self) -> list[_LoanPlan]:
        plans = []
        today, rng = self.today, self.rng
        courses = self.course_list
        for trainee_index, count in enumerate(self.loans_per_trainee()):
            if not count:
                continue
            course_index = trainee_index % len(courses)
            course = courses[course_index]
            start = course.start_date
            if start <= today:
                start = min(start + timedelta(days=rng.randint(0, 6)), today)
            # Exchanges happen in the past: the course's time so far, split in `count` parts.
            last_day = min(course.end_date, today - timedelta(days=1))
            cuts = [
                start + timedelta(days=(last_day - start).days * part // count)
                for part in range(1, count)
            ]
            for begins, ends in zip([start, *cuts], [*cuts, None], strict=True):
                plan = _LoanPlan(
                    trainee=trainee_index,
                    course=course_index,
                    start=begins,
                    planned_end=course.end_date,
                )
                if ends is not None:  # exchanged: back on the day the next one began
                    self.close(plan, ends, notes="Ordinateur échangé : panne de l’écran.")
                else:
                    self.last_loan(plan, course)
                plans.append(plan)
        return plans

    def close(self, plan: _LoanPlan, day: date, *, outcome=Loan.Outcome.RETURNED, notes=""):
        plan.status = Loan.Status.CLOSED
        plan.outcome = outcome
        plan.return_date = max(day, plan.start)
        plan.notes = notes

    def last_loan(self, plan: _LoanPlan, course: Course):
        today, rng = self.today, self.rng
        luck = rng.random()
        if plan.start > today:
            plan.status = Loan.Status.PREPARED
        elif course.end_date < today:
            if luck < 0.02:
                lost_on = self.day_between(plan.start, course.end_date)
                outcome = Loan.Outcome.LOST if luck < 0.012 else Loan.Outcome.STOLEN
                self.close(plan, lost_on, outcome=outcome)
            elif luck < 0.04 and course.end_date > today - timedelta(days=120):
                pass  # never brought back: overdue, still charged
            else:
                back = course.end_date + timedelta(days=rng.randint(-3, 7))
                self.close(plan, min(max(back, plan.start), today))
        elif luck < 0.06 and plan.start < today:
            # Left the course (a job, a move): the planned end comes forward, laptop back.
            left_on = self.day_between(plan.start, today - timedelta(days=1))
            plan.left_course_on = left_on
            plan.planned_end = left_on
            self.close(plan, min(left_on + timedelta(days=rng.randint(0, 5)), today))
        elif luck < 0.07 and plan.start < today:
            lost_on = self.day_between(plan.start, today - timedelta(days=1))
            self.close(plan, lost_on, outcome=Loan.Outcome.STOLEN)

    def assign_laptops(self, plans: list[_LoanPlan]):
        """A laptop goes to one loan at a time: the loans in the order they began, each
        taking the laptop free the longest (back from its last loan, and wiped, two days
        later). Open loans and lost laptops keep theirs."""
        free = [
            (self.first_day - timedelta(days=7), index) for index in range(len(self.laptop_list))
        ]
        heapq.heapify(free)
        for plan in sorted(plans, key=lambda plan: (plan.start, plan.status != "closed")):
            if not free or free[0][0] > plan.start:
                raise ScaleError(
                    f"{len(self.laptop_list)} laptops are too few for the loans of "
                    f"{plan.start:%d/%m/%Y}: add laptops."
                )
            _free_since, plan.laptop = heapq.heappop(free)
            if plan.outcome == Loan.Outcome.RETURNED:
                heapq.heappush(free, (plan.return_date + timedelta(days=2), plan.laptop))

    def requests_and_loans(self, plans: list[_LoanPlan]):
        template = AgreementTemplate.objects.order_by("-version").first()
        plans.sort(key=lambda plan: (plan.start, plan.trainee))
        requests, loans = [], []
        coordinators = {
            body.pk: user for body, user in zip(self.bodies, self.coordinator_users, strict=True)
        }
        for plan in plans:
            trainee = self.trainee_list[plan.trainee]
            course = self.course_list[plan.course]
            coordinator = coordinators[course.training_body_id]
            prepared_on = plan.start - timedelta(days=3)
            if plan.status == Loan.Status.PREPARED:
                prepared_on = min(prepared_on, self.today)
            requests.append(
                LoanRequest(
                    trainee=trainee,
                    needed_by=plan.start,
                    justification="Pas d’ordinateur à la maison ; formation en partie à distance.",
                    status=LoanRequest.Status.FULFILLED,
                    laptop=self.laptop_list[plan.laptop],
                    submitted_at=self.at(prepared_on - timedelta(days=10), 9),
                    submitted_by=coordinator,
                    decided_at=self.at(prepared_on - timedelta(days=8), 14),
                )
            )
            envelope = self.envelope_on(plan.start)
            handed_over = plan.status != Loan.Status.PREPARED
            plan.loan = Loan(
                laptop=self.laptop_list[plan.laptop],
                trainee=trainee,
                course=course,
                status=plan.status,
                outcome=plan.outcome,
                start_date=plan.start,
                planned_end_date=plan.planned_end,
                return_date=plan.return_date,
                monthly_fee=envelope.trainee_fee,
                accessories_out=["charger"],
                condition_out=str(Laptop.Grade.B.label),
                accessories_back=["charger"] if plan.outcome == Loan.Outcome.RETURNED else [],
                condition_back="Bon état." if plan.outcome == Loan.Outcome.RETURNED else "",
                left_course_on=plan.left_course_on,
                police_report_reference="Plainte n° 2026/000000"
                if plan.outcome == Loan.Outcome.STOLEN
                else "",
                agreement_template=template,
                envelope=envelope,
                planned_periods=months_started(plan.start, plan.planned_end),
                notes=plan.notes,
                prepared_at=self.at(prepared_on, 16),
                prepared_by=self.by,
                handed_over_at=self.at(plan.start, 14) if handed_over else None,
                closed_at=self.at(plan.return_date, 16) if plan.return_date else None,
            )
            loans.append(plan.loan)
        self.insert(LoanRequest, requests, "requests")
        # Numbered as loans.lending numbers them: PRET-<year of the start>-<counter>.
        by_year = Tally(loan.start_date.year for loan in loans)
        numbers = {
            year: iter(Counter.objects.take(f"loan-{year}", n)) for year, n in by_year.items()
        }
        for loan, request in zip(loans, requests, strict=True):
            loan.request = request
            loan.number = f"PRET-{loan.start_date.year}-{next(numbers[loan.start_date.year]):04d}"
        self.insert(Loan, loans, "loans")

    def laptop_statuses(self, plans: list[_LoanPlan]):
        """Each laptop's status from its last loan; those never lent are ready or in the
        workshop."""
        last = {}
        for plan in plans:  # in the order they began
            last[plan.laptop] = plan
        changed = []
        for index, laptop in enumerate(self.laptop_list):
            plan = last.get(index)
            luck = self.rng.random()
            if plan is None:
                status = Laptop.Status.READY if luck < 0.8 else Laptop.Status.REFURBISHING
                since = self.first_day - timedelta(days=7)
            elif plan.status == Loan.Status.PREPARED:
                status, since = Laptop.Status.RESERVED, plan.start - timedelta(days=3)
            elif plan.status == Loan.Status.ACTIVE:
                status, since = Laptop.Status.ON_LOAN, plan.start
            elif plan.outcome in (Loan.Outcome.LOST, Loan.Outcome.STOLEN):
                status, since = Laptop.Status(plan.outcome), plan.return_date
            elif plan.return_date > self.today - timedelta(days=3):
                status, since = Laptop.Status.RETURNED, plan.return_date
            elif luck < 0.03:
                status, since = Laptop.Status.IN_REPAIR, plan.return_date + timedelta(days=1)
            elif luck < 0.06:
                status, since = Laptop.Status.RETIRED, plan.return_date + timedelta(days=2)
                laptop.retirement_reason = Laptop.RetirementReason.RECYCLED
            else:
                status, since = Laptop.Status.READY, plan.return_date + timedelta(days=2)
            laptop.status = status
            laptop.status_changed_at = self.at(min(since, self.today), 17)
            if status != Laptop.Status.READY or plan is not None:
                changed.append(laptop)
        for start in range(0, len(changed), BATCH):
            Laptop.objects.bulk_update(
                changed[start : start + BATCH],
                ["status", "status_changed_at", "retirement_reason"],
            )

    # --- The ledger --------------------------------------------------------------------------

    def ledger(self, plans: list[_LoanPlan]):
        """Charges for every month begun, payments, waivers and a few reversals, about
        `counts.ledger_lines` in all; then the envelopes' amounts, with room to spare."""
        today, rng = self.today, self.rng
        accounts = []  # (loan, months due, months paid, months waived)
        for plan in plans:
            loan = plan.loan
            due = loan.periods_due(until=today)
            if not due:
                continue
            luck = rng.random()
            waived = 0
            if luck < 0.03:  # in arrears: paid the first months only
                paid = due // 2
            elif luck < 0.13:  # behind by a month or two
                paid = max(0, due - rng.choice([1, 1, 2]))
            elif luck < 0.15:  # the last months waived
                waived = min(due, rng.choice([1, 1, 2]))
                paid = due - waived
            else:
                paid = due
                # The month just begun is not paid yet.
                if loan.status == Loan.Status.ACTIVE and _start(loan, due) > today - timedelta(
                    days=8
                ):
                    paid = due - 1
            # While the loan runs, no one pays beyond its planned months (ledger.payment_record).
            paid = min(paid, loan.months)
            accounts.append((loan, due, paid, waived))
        charges = sum(due for _loan, due, _paid, _waived in accounts)
        waivers = sum(1 for *_rest, waived in accounts if waived)
        paying = [account for account in accounts if account[2]]
        paying_index = {loan.pk: index for index, (loan, *_rest) in enumerate(paying)}
        typed_twice = set(rng.sample(range(len(paying)), k=len(paying) // 400))
        wanted = self.counts.ledger_lines - charges - waivers - 2 * len(typed_twice)
        payments = self.payment_counts([paid for _loan, _due, paid, _waived in paying], wanted)
        instalments = dict(zip((loan.pk for loan, *_rest in paying), payments, strict=True))

        total = charges + waivers + sum(payments) + 2 * len(typed_twice)
        written = 0
        for start in range(0, len(accounts), BATCH // 4):
            entries, twice = [], []
            for loan, due, paid, waived in accounts[start : start + BATCH // 4]:
                entries += self.charges(loan, due)
                if paid:
                    lines = self.payments(loan, paid, instalments[loan.pk])
                    entries += lines
                    if paying_index[loan.pk] in typed_twice:
                        twice.append(lines[0])
                if waived:
                    entries.append(self.waiver(loan, due, waived))
            copies = [self.copy(entry) for entry in twice]
            self.insert(FeeEntry, entries + copies)
            self.insert(FeeEntry, [self.reversal(copy) for copy in copies])
            written += len(entries) + 2 * len(copies)
            self.progress("ledger lines", written, total)
        self.envelope_amounts(plans)

    def payment_counts(self, months: list[int], wanted: int) -> list[int]:
        """How many payments each loan's paid months make: one a month when there is room,
        several months at once otherwise, `wanted` in all when it can be."""
        if not months:
            return []
        total = sum(months)
        if wanted >= total:
            return list(months)
        counts = [max(1, paid * wanted // total) for paid in months]
        short = wanted - sum(counts)
        order = list(range(len(months)))
        self.rng.shuffle(order)
        while short > 0:
            added = 0
            for index in order:
                if short and counts[index] < months[index]:
                    counts[index] += 1
                    short -= 1
                    added += 1
            if not added:
                break
        return counts

    def charges(self, loan: Loan, due: int) -> list[FeeEntry]:
        return [
            FeeEntry(
                loan=loan,
                kind=FeeEntry.Kind.CHARGE,
                amount=loan.monthly_fee,
                period=period,
                entry_date=_start(loan, period),
                envelope=loan.envelope,
                envelope_amount=loan.envelope.funder_share,
                recorded_at=self.at(_start(loan, period), 3),
            )
            for period in range(1, due + 1)
        ]

    def payments(self, loan: Loan, months: int, count: int) -> list[FeeEntry]:
        """`months` months paid in `count` payments, the oldest first; each a few days after
        the last month it pays began."""
        count = max(1, min(count, months))
        sizes = [months // count + (1 if part < months % count else 0) for part in range(count)]
        method = self.rng.choices(
            [method for method, _weight in METHODS], [weight for _m, weight in METHODS]
        )[0]
        lines, paid = [], 0
        for size in sizes:
            paid += size
            began = _start(loan, paid)
            day = min(began + timedelta(days=self.rng.randint(1, 9)), self.today)
            reference = ""
            if method == FeeEntry.Method.CHEQUE:
                reference = f"Chèque n° {self.rng.randint(1_000_000, 9_999_999)}"
            elif method == FeeEntry.Method.TRANSFER:
                reference = f"Virement réf. {loan.number}-{paid}"
            lines.append(
                FeeEntry(
                    loan=loan,
                    kind=FeeEntry.Kind.PAYMENT,
                    amount=-(loan.monthly_fee * size),
                    entry_date=day,
                    method=method,
                    reference=reference,
                    received_by=self.by,
                    recorded_by=self.by,
                    recorded_at=self.at(day, 11),
                )
            )
        return lines

    def waiver(self, loan: Loan, due: int, months: int) -> FeeEntry:
        day = min(_start(loan, due) + timedelta(days=self.rng.randint(3, 20)), self.today)
        return FeeEntry(
            loan=loan,
            kind=FeeEntry.Kind.WAIVER,
            amount=-(loan.monthly_fee * months),
            entry_date=day,
            reason=self.rng.choice(WAIVER_REASONS),
            recorded_by=self.by,
            recorded_at=self.at(day, 15),
        )

    def copy(self, payment: FeeEntry) -> FeeEntry:
        """The same payment typed again a few minutes later."""
        return FeeEntry(
            loan=payment.loan,
            kind=payment.kind,
            amount=payment.amount,
            entry_date=payment.entry_date,
            method=payment.method,
            reference=payment.reference,
            received_by=self.by,
            recorded_by=self.by,
            recorded_at=payment.recorded_at + timedelta(minutes=4),
        )

    def reversal(self, copy: FeeEntry) -> FeeEntry:
        day = min(copy.entry_date + timedelta(days=1), self.today)
        return FeeEntry(
            loan=copy.loan,
            kind=FeeEntry.Kind.REVERSAL,
            amount=-copy.amount,
            entry_date=day,
            reverses=copy,
            reason="Paiement saisi deux fois par erreur.",
            recorded_by=self.by,
            recorded_at=self.at(day, 9),
        )

    def envelope_amounts(self, plans: list[_LoanPlan]):
        """Each envelope's amount: what it funds (drawn and committed), plus a tenth, in
        thousands of euros."""
        changed = []
        for envelope in self.envelope_list:
            loans = [plan.loan for plan in plans if plan.loan.envelope is envelope]
            drawn = sum(loan.periods_due(until=self.today) for loan in loans)
            planned = sum(
                max(loan.planned_periods - loan.periods_due(until=self.today), 0)
                for loan in loans
                if loan.is_open
            )
            needed = envelope.funder_share * (drawn + planned) * Decimal("1.1")
            thousands = (needed / 1000).to_integral_value(rounding=ROUND_CEILING)
            envelope.amount = max(thousands, 1) * 1000
            changed.append(envelope)
        BudgetEnvelope.objects.bulk_update(changed, ["amount"])


def _start(loan: Loan, period: int) -> date:
    return add_months(loan.start_date, period - 1)
