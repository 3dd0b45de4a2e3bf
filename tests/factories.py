"""factory_boy factories. Roles are built the way the application builds them."""

import factory
from django.contrib.auth.models import Group

from defis.models import User
from defis.permissions import STAFF_GROUP_NAME
from trainees.models import Coordinator, Territory, TrainingBody

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
