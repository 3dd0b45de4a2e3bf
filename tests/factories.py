"""factory_boy factories. Roles are built the way the application builds them."""

from datetime import date, timedelta
from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from defis.models import User
from defis.permissions import STAFF_GROUP_NAME
from inventory import services
from inventory.models import Donation, Donor, Laptop, Location, WipeRecord
from loans import lending
from loans import services as loan_services
from loans.models import BudgetEnvelope, Loan, LoanRequest
from trainees.models import Coordinator, Course, Territory, Trainee, TrainingBody

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password(PASSWORD)


class StaffFactory(UserFactory):
    is_staff = True

    @factory.post_generation
    def staff_group(user, create, extracted, **kwargs):
        if create:
            user.groups.add(Group.objects.get(name=STAFF_GROUP_NAME))


class SuperuserFactory(UserFactory):
    is_staff = True
    is_superuser = True


class TerritoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Territory
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Territoire {n}")


class TrainingBodyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingBody
        django_get_or_create = ("short_name",)

    name = factory.LazyAttribute(lambda b: f"Organisme {b.short_name}")
    short_name = factory.Sequence(lambda n: f"OF{n}")
    town = "Lorient"
    postal_code = "56100"
    territory = factory.SubFactory(TerritoryFactory)
    contact_email = factory.LazyAttribute(lambda b: f"contact@{b.short_name.lower()}.example")


class CoordinatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coordinator

    user = factory.SubFactory(UserFactory)
    training_body = factory.SubFactory(TrainingBodyFactory)


class DonorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Donor
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Entreprise {n}")
    kind = Donor.Kind.COMPANY


class DonationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Donation

    donor = factory.SubFactory(DonorFactory)
    received_on = factory.LazyFunction(timezone.localdate)
    laptops_announced = 1


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ("name",)

    name = "Atelier de Lanester"


def make_laptop(*, by=None, status=Laptop.Status.INTAKE, **fields) -> Laptop:
    """A laptop registered at intake and moved to `status` the way staff would move it,
    through the services (wiping it when the way goes through "ready")."""
    by = by or StaffFactory()
    fields.setdefault("brand", "Lenovo")
    fields.setdefault("model", "ThinkPad T480")
    fields.setdefault("grade", Laptop.Grade.B)
    fields.setdefault("operating_system", Laptop.OperatingSystem.LINUX_MINT)
    fields.setdefault("replacement_value", Decimal("250.00"))
    (laptop,) = services.laptops_register(laptops=[Laptop(**fields)], by=by)
    path = {
        Laptop.Status.INTAKE: [],
        Laptop.Status.REFURBISHING: ["refurbishing"],
        Laptop.Status.IN_REPAIR: ["in_repair"],
        Laptop.Status.READY: ["refurbishing", "wipe", "ready"],
        Laptop.Status.RESERVED: ["refurbishing", "wipe", "ready", "reserved"],
        Laptop.Status.ON_LOAN: ["refurbishing", "wipe", "ready", "reserved", "on_loan"],
        Laptop.Status.RETURNED: [
            "refurbishing",
            "wipe",
            "ready",
            "reserved",
            "on_loan",
            "returned",
        ],
        Laptop.Status.LOST: ["refurbishing", "wipe", "ready", "reserved", "on_loan", "lost"],
        Laptop.Status.STOLEN: ["refurbishing", "wipe", "ready", "reserved", "on_loan", "stolen"],
        Laptop.Status.RETIRED: ["retired"],
    }[status]
    for step in path:
        if step == "wipe":
            wipe(laptop, by=by)
        elif step == "retired":
            services.laptop_retire(laptop=laptop, reason="recycled", by=by)
        else:
            services.laptop_change_status(laptop=laptop, to_status=step, by=by)
    laptop.refresh_from_db()
    return laptop


def wipe(laptop, *, by=None, verified=True, **fields):
    fields.setdefault("wiped_on", timezone.localdate())
    fields.setdefault("method", WipeRecord.Method.NWIPE_ZERO)
    return services.wipe_record(
        laptop=laptop, operator=by or StaffFactory(), verified=verified, **fields
    )


class CourseFactory(factory.django.DjangoModelFactory):
    """A five-month course that started a month ago."""

    class Meta:
        model = Course

    training_body = factory.SubFactory(TrainingBodyFactory)
    title = factory.Sequence(lambda n: f"Formation {n}")
    programme = "PRÉPA Avenir Jeunes"
    town = "Lanester"
    start_date = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=30))
    end_date = factory.LazyAttribute(lambda c: c.start_date + timedelta(days=150))


class TraineeFactory(factory.django.DjangoModelFactory):
    """An adult trainee (a minor needs the guardian fields: see `minor_trainee`)."""

    class Meta:
        model = Trainee

    course = factory.SubFactory(CourseFactory)
    first_name = factory.Sequence(lambda n: f"Prénom{n}")
    last_name = factory.Sequence(lambda n: f"Nom{n}")
    birth_date = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=365 * 21))
    email = factory.LazyAttribute(lambda t: f"{t.first_name.lower()}@example.org")
    street = "3 rue des Lilas"
    postal_code = "56600"
    town = "Lanester"


def make_request(trainee, *, by, status=LoanRequest.Status.SUBMITTED, laptop=None, **fields):
    """A request moved to `status` through the services (approval needs a ready laptop:
    one is made when none is given)."""
    fields.setdefault("needed_by", timezone.localdate() + timedelta(days=7))
    fields.setdefault("justification", "Pas d’ordinateur à la maison.")
    request = loan_services.request_submit(trainee=trainee, by=by, **fields)
    Status = LoanRequest.Status
    if status == Status.APPROVED:
        laptop = laptop or make_laptop(by=by, status=Laptop.Status.READY)
        loan_services.request_approve(request=request, laptop=laptop, by=by)
    elif status == Status.WAITLISTED:
        # Through the service: create the ready laptops after the waitlisted requests.
        loan_services.request_waitlist(request=request, by=by)
    elif status == Status.REJECTED:
        loan_services.request_reject(request=request, reason="Hors critères", by=by)
    elif status == Status.CANCELLED:
        loan_services.request_cancel(request=request, by=by)
    request.refresh_from_db()
    return request


class BudgetEnvelopeFactory(factory.django.DjangoModelFactory):
    """An envelope for every training body, from 2000 to 2100, large enough for any test."""

    class Meta:
        model = BudgetEnvelope

    funder = "Région Bretagne"
    name = factory.Sequence(lambda n: f"Enveloppe de test {n}")
    amount = Decimal("1000000.00")
    start_date = date(2000, 1, 1)
    end_date = date(2100, 12, 31)
    trainee_fee = Decimal("7.00")
    funder_share = Decimal("30.00")


GUARDIAN = {
    "guardian_name": "Anne Le Goff",
    "guardian_relationship": "Mère",
    "guardian_phone": "06 12 34 56 78",
    "guardian_email": "anne.legoff@example.org",
    "guardian_street": "12 rue de la Paix",
    "guardian_postal_code": "56600",
    "guardian_town": "Lanester",
}


def minor_trainee(**fields) -> Trainee:
    """A trainee of 16 on the first day of the course, with the legal guardian filled in."""
    course = fields.pop("course", None) or CourseFactory()
    fields.setdefault("birth_date", course.start_date - timedelta(days=365 * 16 + 10))
    return TraineeFactory(course=course, **{**GUARDIAN, **fields})


def make_loan(trainee=None, *, by, status=Loan.Status.PREPARED, laptop=None, **fields) -> Loan:
    """A loan moved to `status` through the services: prepared from an approved request,
    handed over today ("active"), then returned ("closed") or cancelled."""
    trainee = trainee or TraineeFactory()
    request = make_request(trainee, by=by, status=LoanRequest.Status.APPROVED, laptop=laptop)
    loan = lending.loan_prepare(request=request, by=by, **fields)
    if status in (Loan.Status.ACTIVE, Loan.Status.CLOSED):
        lending.loan_hand_over(loan=loan, on=loan.start_date, by=by)
    if status == Loan.Status.CLOSED:
        lending.loan_return(
            loan=loan, on=timezone.localdate(), by=by, accessories=loan.accessories_out
        )
    elif status == Loan.Status.CANCELLED:
        lending.loan_cancel(loan=loan, reason="Le stagiaire ne vient plus.", by=by)
    loan.refresh_from_db()
    return loan
