"""Demo laptop requests and loans for `seed_demo`, in every state, through the real services.

`seed_waitlist` runs before the inventory exists, when no laptop is ready, as the service
requires for a waitlist; `seed_requests` runs once laptops are ready; `seed_loans` then lends
laptops, returns some and loses others; `seed_money` bills the months begun and records what
the trainees paid. All are dated relative to today: the services are given the past moment
each step happened (`now=`), so every history reads in order.
"""

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import partial

from django.utils import timezone

from defis.periods import add_months
from inventory import services as inventory_services
from inventory.models import Laptop, WipeRecord
from trainees.models import Territory

from . import ledger, lending, services
from .models import BudgetEnvelope, FeeEntry, Loan, LoanRequest

JUSTIFICATION = {
    "agora": "Pas d’ordinateur à la maison ; formation en partie à distance.",
    "agora-spring": "Aucun équipement informatique ; démarches en ligne pendant la formation.",
    "askoria": "Cours théoriques en ligne entre les stages ; n’a qu’un téléphone.",
    "sauvegarde": "Pas d’ordinateur au foyer, recherche de stage en ligne.",
    "afpa": "Doit suivre des modules en e-learning ; pas d’équipement personnel.",
    "amisep": "Recherche d’emploi en ligne et ateliers numériques ; aucun ordinateur.",
}


def _at(today, days_ago: int, hour: int = 10) -> datetime:
    return _on(today - timedelta(days=days_ago), hour)


def _on(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def _submit(trainee, key, *, by, now):
    return services.request_submit(
        trainee=trainee,
        needed_by=max(trainee.course.start_date, timezone.localdate(now)),
        justification=JUSTIFICATION[key],
        by=by,
        now=now,
    )


def seed_waitlist(*, trainees: dict, coordinators: dict, staff, today) -> None:
    """Three requests waiting for a laptop, first come first served."""
    for offset, (key, index) in enumerate([("askoria", 0), ("askoria", 1), ("sauvegarde", 0)]):
        requester = coordinators.get(key, staff)
        request = _submit(trainees[key][index], key, by=requester, now=_at(today, 9 - offset))
        services.request_waitlist(request=request, by=staff, now=_at(today, 8 - offset, 15))


def seed_requests(*, trainees: dict, coordinators: dict, staff, today) -> None:
    """Approved (laptops reserved), submitted, rejected and cancelled requests."""
    agora = coordinators["agora"]
    # The first distribution: the eight trainees of PRÉPA Avenir Jeunes at Agora Services,
    # approved before the course starts (45 days ago); seed_loans hands the laptops over.
    for index, trainee in enumerate(trainees["agora"]):
        request = _submit(trainee, "agora", by=agora, now=_at(today, 60, 9 + index % 3))
        services.request_approve(request=request, by=staff, now=_at(today, 58, 14))

    def submit(key, index, days_ago):
        return _submit(
            trainees[key][index],
            key,
            by=coordinators.get(key, staff),
            now=_at(today, days_ago),
        )

    for key, index in [("askoria", 2), ("sauvegarde", 2), ("afpa", 0)]:
        services.request_approve(request=submit(key, index, 6), by=staff, now=_at(today, 5))
    services.request_reject(
        request=submit("askoria", 3, 7),
        reason="Dispose déjà d’un ordinateur portable personnel en état de marche.",
        by=staff,
        now=_at(today, 6),
    )
    services.request_cancel(
        request=submit("askoria", 4, 7),
        reason="La stagiaire a reçu un ordinateur de sa famille.",
        by=coordinators["askoria"],
        now=_at(today, 3),
    )
    for key, index, days_ago in [
        ("askoria", 5, 2),
        ("agora-spring", 0, 1),
        ("agora-spring", 1, 1),
        ("sauvegarde", 1, 2),
    ]:
        submit(key, index, days_ago)


# --- The Région's envelope ----------------------------------------------------------------------

ENVELOPE_NAME = "Prêts d’ordinateurs aux stagiaires"


def seed_envelope(*, today: date) -> BudgetEnvelope:
    """The Région Bretagne's 15,000 € for the programme (DESIGN.md: 15,000 / (100 laptops x
    5 months) = 30 € a loan month), over two years that began some ten months ago, for the
    three territories of the demo."""
    start = (today - timedelta(days=300)).replace(day=1)
    envelope, created = BudgetEnvelope.objects.get_or_create(
        name=ENVELOPE_NAME,
        defaults={
            "funder": "Région Bretagne",
            "amount": Decimal("15000.00"),
            "start_date": start,
            "end_date": add_months(start, 24) - timedelta(days=1),
            "trainee_fee": Decimal("7.00"),
            "funder_share": Decimal("30.00"),
            "notes": "Convention de financement Région Bretagne, programme de prêt aux "
            "stagiaires de la formation continue.",
        },
    )
    if created:
        envelope.territories.set(Territory.objects.all())
    return envelope


# --- Loans ----------------------------------------------------------------------------------


def tuesday_on_or_before(day: date) -> date:
    """Défis hands laptops over on Tuesdays."""
    return day - timedelta(days=(day.weekday() - 1) % 7)


def first_week_tuesday(course, today: date) -> date:
    """The Tuesday of the course's first week (so that a five-month course is a five-month
    loan), or the Tuesday before when that one is still to come."""
    tuesday = course.start_date + timedelta(days=(1 - course.start_date.weekday()) % 7)
    return tuesday if tuesday <= today else tuesday_on_or_before(course.start_date)


def _next_tuesday_after(day: date) -> date:
    return day + timedelta(days=(1 - day.weekday()) % 7 or 7)


def _ready_since(moment: datetime) -> Laptop | None:
    """A laptop that was already ready at `moment`, the one ready the longest first, so that
    its history reads in order."""
    return (
        Laptop.objects.in_stock()
        .filter(status_changed_at__lt=moment)
        .order_by("status_changed_at", "asset_tag")
        .first()
    )


def _approved_request(trainee, key, *, requester, staff, on: date) -> LoanRequest:
    """The trainee's approved request; one is made, a week before `on`, when there is none."""
    request = LoanRequest.objects.filter(
        trainee=trainee, status=LoanRequest.Status.APPROVED
    ).first()
    if request is not None:
        return request
    request = _submit(trainee, key, by=requester, now=_on(on - timedelta(days=8)))
    approved_at = _on(on - timedelta(days=6), 14)
    return services.request_approve(
        request=request, by=staff, laptop=_ready_since(approved_at), now=approved_at
    )


def _lend(trainee, key, *, on: date, requester, staff) -> Loan:
    """Prepared three days before `on`, handed over on `on` in the afternoon."""
    request = _approved_request(trainee, key, requester=requester, staff=staff, on=on)
    loan = lending.loan_prepare(
        request=request, by=staff, start_date=on, now=_on(on - timedelta(days=3), 16)
    )
    return lending.loan_hand_over(loan=loan, on=on, by=staff, now=_on(on, 14))


def seed_loans(*, trainees: dict, coordinators: dict, staff, today: date) -> int:
    """The loans of the demo, made in the order they happened; return how many.

    - AMISEP, a course that ended months ago: one laptop returned at the end, wiped and ready
      again; one extended and never brought back, now overdue;
    - AFPA: a trainee who found a job, left the course and brought the laptop back (waiting
      for its wipe); a laptop stolen, with the police report's reference; a laptop lent for
      the weeks in the training centre only, due back within 14 days;
    - the eight trainees of PRÉPA Avenir Jeunes at Agora Services (Lanester), handed over on
      the Tuesday of the course's first week; one loan extended;
    - Sauvegarde 56: a laptop lost; another prepared for next Tuesday's distribution day.
    """
    loans = []

    def lend(key, index):
        # On the Tuesday of the course's first week.
        trainee = trainees[key][index]
        loan = _lend(
            trainee,
            key,
            on=first_week_tuesday(trainee.course, today),
            requester=coordinators.get(key, staff),
            staff=staff,
        )
        loans.append(loan)
        return loan

    returned, overdue = lend("amisep", 0), lend("amisep", 1)
    left, stolen = lend("afpa", 1), lend("afpa", 2)
    first_distribution = [lend("agora", index) for index in range(len(trainees["agora"]))]
    lost = lend("sauvegarde", 3)
    # Reserved five days ago; lent until the internship, where the company provides a computer.
    request = LoanRequest.objects.get(
        trainee=trainees["afpa"][0], status=LoanRequest.Status.APPROVED
    )
    handed_on = today - timedelta(days=3)
    short = lending.loan_prepare(
        request=request,
        by=staff,
        start_date=handed_on,
        planned_end_date=today + timedelta(days=10),
        notes="Prêté pour les semaines en centre : l’entreprise d’accueil fournit un poste "
        "pendant le stage.",
        now=_on(handed_on - timedelta(days=1), 16),
    )
    loans.append(lending.loan_hand_over(loan=short, on=handed_on, by=staff, now=_on(handed_on, 14)))
    # The next distribution day: a laptop reserved five days ago, to hand over next Tuesday.
    request = LoanRequest.objects.get(
        trainee=trainees["sauvegarde"][2], status=LoanRequest.Status.APPROVED
    )
    loans.append(
        lending.loan_prepare(
            request=request, by=staff, start_date=_next_tuesday_after(today), now=_at(today, 1)
        )
    )

    # AMISEP: back at the end of the course, wiped, ready again; or kept past an extension.
    end = returned.course.end_date
    lending.loan_return(
        loan=returned,
        on=end,
        by=staff,
        accessories=returned.accessories_out,
        condition="Bon état, quelques rayures sur le capot.",
        now=_on(end, 16),
    )
    wiped_at = _on(end + timedelta(days=3), 11)
    inventory_services.wipe_record(
        laptop=returned.laptop,
        wiped_on=wiped_at.date(),
        method=WipeRecord.Method.NWIPE_ZERO,
        operator=staff,
        verified=True,
        certificate_reference=f"NW-{wiped_at:%Y%m%d}-{returned.laptop.pk:04d}",
        now=wiped_at,
    )
    inventory_services.laptop_change_status(
        laptop=returned.laptop,
        to_status=Laptop.Status.READY,
        by=staff,
        now=wiped_at + timedelta(hours=4),
    )
    lending.loan_extend(
        loan=overdue,
        until=today - timedelta(days=18),
        reason="Accompagnement vers l’emploi prolongé par l’AMISEP après la formation.",
        by=staff,
        now=_on(end - timedelta(days=7)),
    )

    # AFPA: a departure for a job, then the laptop back; a theft.
    left_on = today - timedelta(days=30)
    lending.loan_end_early(
        loan=left,
        left_on=left_on,
        by=staff,
        note="A trouvé un emploi d’agente d’entretien.",
        now=_on(left_on + timedelta(days=1)),
    )
    back_on = left_on + timedelta(days=3)
    lending.loan_return(
        loan=left,
        on=back_on,
        by=staff,
        accessories=left.accessories_out,
        condition="Bon état.",
        now=_on(back_on, 15),
    )
    stolen_on = today - timedelta(days=24)
    lending.loan_report_loss(
        loan=stolen,
        outcome=Loan.Outcome.STOLEN,
        on=stolen_on,
        by=staff,
        police_report_reference=f"Plainte n° {stolen_on:%Y}/000417, gendarmerie d’Auray",
        note="Volé dans sa voiture, sur le parking de la gare d’Auray.",
        now=_on(stolen_on + timedelta(days=1)),
    )

    # Agora: an internship that goes on two more weeks.
    extended = first_distribution[4]
    lending.loan_extend(
        loan=extended,
        until=extended.planned_end_date + timedelta(days=14),
        reason="Stage en entreprise prolongé de deux semaines à la demande de l’employeur.",
        by=staff,
        now=_at(today, 6, 15),
    )

    # Sauvegarde 56: lost on the bus.
    lost_on = today - timedelta(days=4)
    lending.loan_report_loss(
        loan=lost,
        outcome=Loan.Outcome.LOST,
        on=lost_on,
        by=staff,
        note="Oublié dans le car entre Vannes et Theix-Noyalo, pas retrouvé par la compagnie.",
        now=_on(lost_on + timedelta(days=1)),
    )
    return len(loans)


# --- The trainees' fees ---------------------------------------------------------------------

Method = FeeEntry.Method

# How each borrower pays, by last name; anyone else pays cash, month by month.
# - a method: every month, a few days after it began;
# - "arrears": the first three months in cash, then nothing (the AMISEP laptop kept too long);
# - "behind": every month in cash but the last one begun;
# - "at_return": the whole loan by one transfer, after the laptop came back;
# - "training_body": the training body pays all the planned months at once;
# - "waiver": by card, the last month waived (the stolen laptop, a hard time);
# - "cheque_twice": by cheque, the first cheque recorded twice by mistake, reversed next day.
PAYMENT_PLANS = {
    "Nicolas": Method.CASH,
    "Ropert": "arrears",
    "Éven": "at_return",
    "Saïdi": "waiver",
    "Le Gall": "training_body",
    "Le Floch": Method.CASH,
    "Morvan": Method.CARD,
    "Guillou": "cheque_twice",
    "Le Bris": Method.TRANSFER,
    "Tanguy": Method.CHEQUE,
    "Kerbrat": "behind",
    "Le Moal": Method.CARD,
    "Daniel": Method.CASH,
    "Le Dantec": Method.CARD,
}
PLAN_METHODS = {
    "arrears": Method.CASH,
    "behind": Method.CASH,
    "waiver": Method.CARD,
    "cheque_twice": Method.CHEQUE,
}
MONTHS_PAID_IN_ARREARS = 3
WAIVER_REASON = "Situation financière difficile, accord de la directrice."


def _reference(method: str, loan: Loan, period: int, paid_on: date) -> str:
    if method == Method.CHEQUE:
        return f"n° {4512300 + loan.pk * 10 + period} (Crédit Mutuel de Bretagne)"
    if method == Method.TRANSFER:
        return f"réf. VIR-{paid_on:%Y%m%d}-{loan.number}"
    if method == Method.CARD:
        return f"ticket n° {paid_on:%m%d}{loan.pk:03d}"
    return ""


def seed_money(*, staff, today: date) -> int:
    """The demo's ledger, as it reads after months of use; return how many lines it has.

    The nightly billing (`bill_fees`) runs on every day a month of a loan began; the
    trainees pay a few days later (cash, cheque, transfer, card; one training body pays
    several months at once); one waiver for hardship; a cheque recorded twice, reversed the
    next day; one trainee several months behind. Every step runs through the real services,
    in the order it happened and at its own past moment (`now=`); the staff account
    (`equipe`) receives every payment.
    """
    latest = timezone.now()
    yesterday = today - timedelta(days=1)
    loans = Loan.objects.filter(handed_over_at__isnull=False).select_related(
        "trainee", "course__training_body"
    )
    steps: list[tuple[datetime, Callable]] = []

    def at(day: date, hour: int, minutes: int = 0) -> datetime:
        return min(_on(day, hour) + timedelta(minutes=minutes), latest)

    def payment(loan, day, amount, method, *, reference="", hour=11, minutes=0):
        moment = at(day, hour, minutes)
        return moment, partial(
            ledger.payment_record,
            loan=loan,
            amount=amount,
            method=method,
            paid_on=day,
            by=staff,
            received_by=staff,
            reference=reference,
            now=moment,
        )

    # The nightly billing, on every day a month began.
    for day in sorted(
        {
            ledger.period_start(loan, period)
            for loan in loans
            for period in range(1, loan.periods_due(until=today) + 1)
        }
    ):
        steps.append((at(day, 6), partial(ledger.bill_fees, until=day, now=at(day, 6))))

    for index, loan in enumerate(loans.order_by("pk")):
        plan = PAYMENT_PLANS.get(loan.trainee.last_name, Method.CASH)
        method = PLAN_METHODS.get(plan, plan)
        fee = loan.monthly_fee
        # The months begun, each with the day it was paid: a few days after it began, by
        # yesterday at the latest (a month that begins today is not paid yet).
        days_after = 2 + index % 6
        months = [
            (period, min(start + timedelta(days=days_after), yesterday))
            for period in range(1, loan.periods_due(until=today) + 1)
            if (start := ledger.period_start(loan, period)) <= yesterday
        ]
        if not months:
            continue
        if plan == "training_body":
            day = months[0][1]
            reference = (
                f"Facture Défis n° {day:%Y}-{loan.pk:03d}, "
                f"réglée par {loan.course.training_body.name}"
            )
            steps.append(
                payment(loan, day, fee * loan.planned_periods, method, reference=reference)
            )
            continue
        if plan == "at_return":
            day = min(loan.return_date + timedelta(days=days_after), yesterday)
            reference = _reference(Method.TRANSFER, loan, 0, day)
            steps.append(
                payment(loan, day, fee * len(months), Method.TRANSFER, reference=reference)
            )
            continue
        unpaid = []
        if plan == "arrears":
            months, unpaid = months[:MONTHS_PAID_IN_ARREARS], months[MONTHS_PAID_IN_ARREARS:]
        elif plan in ("behind", "waiver"):
            months, unpaid = months[:-1], months[-1:]
        for period, day in months:
            reference = _reference(method, loan, period, day)
            steps.append(payment(loan, day, fee, method, reference=reference, hour=10 + period % 7))
        if plan == "waiver" and unpaid:
            (_period, day), *_ = unpaid
            steps.append((at(day, 15), partial(_waive, loan, on=day, by=staff, now=at(day, 15))))
        if plan == "cheque_twice" and months:
            period, day = months[0]
            reference = _reference(method, loan, period, day)
            # The same cheque typed again a few minutes later; noticed and reversed next day.
            moment, typed_again = payment(
                loan, day, fee, method, reference=reference, hour=10 + period % 7, minutes=4
            )
            next_morning = at(day + timedelta(days=1), 9)
            steps.append((moment, typed_again))
            steps.append((next_morning, partial(_reverse_last, loan, by=staff, now=next_morning)))

    # In the order they happened; on one day, the night's billing before the payments.
    for _moment, step in sorted(steps, key=lambda pair: pair[0]):
        step()
    return FeeEntry.objects.count()


def _waive(loan: Loan, *, on: date, by, now: datetime) -> FeeEntry:
    """What is still owed on the loan, waived."""
    return ledger.waiver_record(
        loan=loan, amount=ledger.statement(loan).owed, reason=WAIVER_REASON, by=by, on=on, now=now
    )


def _reverse_last(loan: Loan, *, by, now: datetime) -> FeeEntry:
    """The loan's last payment was a cheque recorded twice: it is reversed."""
    entry = loan.fee_entries.filter(kind=FeeEntry.Kind.PAYMENT).latest("recorded_at", "pk")
    return ledger.entry_reverse(
        entry=entry,
        reason=f"Chèque {entry.reference} saisi deux fois par erreur : un seul chèque a été remis.",
        by=by,
        now=now,
    )
