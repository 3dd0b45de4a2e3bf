"""Budget envelope pages: the list and an envelope's page with their figures, the change of a
prepared loan's envelope, and the envelope's guard as staff meet it on the preparation and
extension forms (refused with the figures, then accepted with a reason, which is recorded)."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from defis.money import format_euros
from defis.periods import add_months
from inventory.models import Laptop
from loans import envelopes, ledger
from loans.envelope_stats import envelope_stats
from loans.models import BudgetEnvelope, Loan, LoanEvent, LoanRequest
from tests.factories import (
    BudgetEnvelopeFactory,
    CourseFactory,
    TerritoryFactory,
    TraineeFactory,
    TrainingBodyFactory,
    make_laptop,
    make_loan,
    make_request,
)

pytestmark = pytest.mark.django_db

Status = Loan.Status
PARIS = ZoneInfo("Europe/Paris")


def noon(day):
    return datetime(day.year, day.month, day.day, 12, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def tuesday_10_march_2026():
    """The figures depend on the day of the month loans start: a fixed day. The courses start
    a month before, the loans today, and end with the course on 8 July (four months)."""
    with time_machine.travel(noon(date(2026, 3, 10))):
        yield


@pytest.fixture
def course(agora):
    return CourseFactory(training_body=agora, title="PRÉPA Avenir Jeunes")


@pytest.fixture
def askoria_course(askoria):
    return CourseFactory(training_body=askoria, title="Cap Emploi")


def active_loans(count, *, by, course):
    return [
        make_loan(TraineeFactory(course=course), by=by, status=Status.ACTIVE) for _ in range(count)
    ]


def tiny_envelope(body, amount="100.00", **fields):
    """An envelope naming the body: more specific than the test envelope, so it funds the
    body's new loans."""
    fields.setdefault("name", "Petite enveloppe")
    envelope = BudgetEnvelopeFactory(amount=Decimal(amount), **fields)
    envelope.training_bodies.set([body])
    return envelope


def page(response):
    return response.content.decode()


def shown(response):
    return [str(m) for m in response.context["messages"]]


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


# --- The list ----------------------------------------------------------------------------------


def test_it_lists_the_envelopes_with_their_figures(client, alice, funding, course):
    loans = active_loans(2, by=alice, course=course)
    client.force_login(alice)
    response = client.get(reverse("loans:envelopes"))
    # The handover charged the first month of each loan: 2 x 30 € drawn.
    planned = sum(loan.planned_periods for loan in loans)
    row = next(row for row in response.context["rows"] if row["envelope"] == funding)
    figures = row["figures"]
    assert figures.consumed == Decimal("60.00")
    assert figures.committed == Decimal("30.00") * (planned - 2)
    assert figures.available == Decimal("1000000.00") - 60 - 30 * (planned - 2)
    reference = envelopes.figures(funding)
    assert (figures.consumed, figures.committed) == (reference.consumed, reference.committed)
    html = page(response)
    assert format_euros(figures.available) in html
    assert funding.get_absolute_url() in html


def test_the_list_costs_the_same_queries_for_any_number_of_envelopes(client, alice, agora, lorient):
    client.force_login(alice)
    course = CourseFactory(training_body=agora)
    active_loans(1, by=alice, course=course)
    few = count_queries(client, reverse("loans:envelopes"))
    for index in range(6):
        envelope = tiny_envelope(agora, amount="100000.00", name=f"Enveloppe {index}")
        envelope.territories.set([lorient])
        active_loans(1, by=alice, course=course)
    # session, user, coordinator profile, the page's count and its envelopes with figures.
    assert count_queries(client, reverse("loans:envelopes")) == few


# --- The envelope's page -----------------------------------------------------------------------


def test_the_envelope_page_shows_its_figures_chart_and_breakdowns(
    client, alice, funding, course, askoria_course
):
    agora_loans = active_loans(2, by=alice, course=course)
    askoria_loan = make_loan(TraineeFactory(course=askoria_course), by=alice, status=Status.ACTIVE)
    make_loan(TraineeFactory(course=course), by=alice)  # prepared: committed, nothing drawn
    make_loan(TraineeFactory(course=course), by=alice, status=Status.CANCELLED)
    later = timezone.localdate() + timedelta(days=40)
    with time_machine.travel(noon(later)):
        ledger.bill_fees(until=later)
        client.force_login(alice)
        response = client.get(funding.get_absolute_url())
    assert response.status_code == 200
    reference = envelopes.figures(funding)
    figures = response.context["figures"]
    assert (figures.consumed, figures.committed) == (reference.consumed, reference.committed)
    charged = 2 * len(agora_loans) + 2  # two months begun for each active loan
    assert figures.consumed == Decimal("30.00") * charged
    stats = response.context["stats"]
    bodies = {row.name: row for row in stats.by_training_body}
    assert bodies["Agora Services"].loans_total == 3  # the cancelled one is not counted
    assert bodies["Agora Services"].loans_open == 3
    assert bodies["Agora Services"].months_charged == 4
    assert bodies["Agora Services"].consumed == Decimal("120.00")
    assert bodies["ASKORIA"].consumed == Decimal("60.00")
    assert bodies["ASKORIA"].committed == Decimal("30.00") * (askoria_loan.planned_periods - 2)
    (territory,) = stats.by_territory
    assert territory.name == "Pays de Lorient"
    assert territory.consumed == figures.consumed
    assert territory.committed == figures.committed
    html = page(response)
    assert "<svg" in html and 'class="burndown-chart"' in html
    assert reverse("loans:reconciliation", args=[funding.pk]) in html
    assert f"envelope={funding.pk}" in html
    assert format_euros(figures.available) in html
    assert "Agora Services" in html and "ASKORIA" in html


def test_the_page_says_the_committed_loans_fit_and_the_pace_lasts(client, alice, course):
    envelope = tiny_envelope(
        course.training_body, amount="100000.00", end_date=timezone.localdate().replace(year=2027)
    )
    active_loans(5, by=alice, course=course)
    later = timezone.localdate() + timedelta(days=75)  # 24 May: three months drawn
    with time_machine.travel(noon(later)):
        ledger.bill_fees(until=later)
        client.force_login(alice)
        response = client.get(envelope.get_absolute_url())
    stats = response.context["stats"]
    # March, April and May charged for five loans; the pace over February to April.
    assert stats.pace == Decimal("100.00")
    assert stats.committed_runs_out_in is None
    assert not stats.pace_runs_out_before_end
    html = page(response)
    assert 'data-forecast="covered"' in html
    assert 'data-forecast="pace-lasts"' in html


def test_the_page_says_when_the_pace_would_empty_the_envelope(client, alice, course):
    envelope = tiny_envelope(course.training_body, amount="1000.00")
    active_loans(5, by=alice, course=course)  # 5 x 4 months x 30 € = 600 €: it fits
    later = timezone.localdate() + timedelta(days=75)
    with time_machine.travel(noon(later)):
        ledger.bill_fees(until=later)
        client.force_login(alice)
        response = client.get(envelope.get_absolute_url())
    stats = response.context["stats"]
    assert stats.figures.consumed == Decimal("450.00")
    # 550 € left at 100 € a month: past the amount in the sixth month after May.
    assert stats.pace_runs_out_in == date(2026, 11, 1)
    assert stats.pace_runs_out_before_end
    assert 'data-forecast="pace-runs-out"' in page(response)
    assert "novembre 2026" in page(response)


def test_the_page_says_when_the_committed_loans_overrun_the_envelope(
    client, alice, approved, course
):
    envelope = tiny_envelope(course.training_body)
    client.force_login(alice)
    client.post(
        reverse("loans:loan_prepare", args=[approved.pk]),
        prepare_data(course, override_reason="Accord du financeur."),
    )
    response = client.get(envelope.get_absolute_url())
    stats = response.context["stats"]
    # 30 € a month from March: past 100 € with the fourth month, in June.
    assert stats.committed_runs_out_in == date(2026, 6, 1)
    assert stats.figures.available == Decimal("-20.00")
    assert 'data-forecast="committed-overrun"' in page(response)


def test_the_committed_periods_fall_in_the_months_they_start(alice, course):
    envelope = tiny_envelope(course.training_body, amount="10000.00")
    today = timezone.localdate()
    loan = make_loan(TraineeFactory(course=course), by=alice, status=Status.ACTIVE)
    stats = envelope_stats(envelope, today=today)
    by_month = {line.month: line for line in stats.months}
    this_month = today.replace(day=1)
    assert by_month[this_month].consumed == Decimal("30.00")  # the first month, charged
    for period in range(2, loan.planned_periods + 1):
        month = add_months(loan.start_date, period - 1).replace(day=1)
        assert by_month[month].committed == Decimal("30.00"), month
    last = stats.months[-1]
    assert last.forecast == Decimal("30.00") * loan.planned_periods
    assert stats.figures.committed == envelopes.figures(envelope).committed


def test_periods_not_billed_yet_count_in_the_current_month(alice, course):
    envelope = tiny_envelope(course.training_body, amount="10000.00")
    make_loan(TraineeFactory(course=course), by=alice, status=Status.ACTIVE)
    # 19 May: April's period was not billed (late), May's begins this month.
    later = timezone.localdate() + timedelta(days=70)
    stats = envelope_stats(envelope, today=later)
    current = next(line for line in stats.months if line.month == later.replace(day=1))
    assert current.committed == Decimal("60.00")
    assert current.forecast == Decimal("90.00")
    assert current.consumed == Decimal("30.00")


def test_the_page_costs_the_same_queries_for_3_or_30_loans(client, alice, funding, course):
    client.force_login(alice)
    active_loans(3, by=alice, course=course)
    few = count_queries(client, funding.get_absolute_url())
    bodies = [TrainingBodyFactory(territory=TerritoryFactory()) for _ in range(3)]
    for index in range(27):
        other = CourseFactory(training_body=bodies[index % 3])
        make_loan(TraineeFactory(course=other), by=alice, status=Status.ACTIVE)
    ledger.bill_fees(until=timezone.localdate())
    # session, user, coordinator profile, the envelope, its territories and training bodies,
    # then the drawings per month, the open loans, the ledger and the loans per training body,
    # the training bodies' names.
    assert count_queries(client, funding.get_absolute_url()) == few


def test_an_unknown_envelope_answers_404(client, alice):
    client.force_login(alice)
    assert client.get(reverse("loans:envelope", args=[999999])).status_code == 404


def test_the_loan_list_filters_by_envelope(client, alice, funding, course):
    on_test = make_loan(TraineeFactory(course=course), by=alice)
    tiny = tiny_envelope(course.training_body, amount="10000.00")
    on_tiny = make_loan(TraineeFactory(course=course), by=alice)
    assert (on_test.envelope, on_tiny.envelope) == (funding, tiny)
    client.force_login(alice)
    response = client.get(reverse("loans:loans"), {"envelope": tiny.pk})
    assert [loan.number for loan in response.context["page_obj"]] == [on_tiny.number]


# --- The guard on the preparation and extension forms -------------------------------------------


@pytest.fixture
def approved(alice, course):
    trainee = TraineeFactory(course=course, first_name="Léa", last_name="Le Gall")
    laptop = make_laptop(by=alice, status=Laptop.Status.READY)
    return make_request(trainee, by=alice, status=LoanRequest.Status.APPROVED, laptop=laptop)


def prepare_data(course, **more):
    return {
        "start_date": timezone.localdate().isoformat(),
        "planned_end_date": course.end_date.isoformat(),
        **more,
    }


def test_the_prepare_form_offers_the_envelopes_that_fund_the_body(
    client, alice, funding, approved, course, askoria
):
    tiny = tiny_envelope(course.training_body, amount="10000.00")
    elsewhere = tiny_envelope(askoria, amount="10000.00")
    client.force_login(alice)
    form = client.get(reverse("loans:loan_prepare", args=[approved.pk])).context["form"]
    offered = set(form.fields["envelope"].queryset)
    assert offered == {funding, tiny}
    assert elsewhere not in offered
    assert form.fields["envelope"].initial is None  # automatic: envelope_for on the day
    assert "Petite enveloppe" in form.fields["envelope"].help_text
    assert form.fields["override_reason"].widget.input_type == "hidden"


def test_a_preparation_over_the_envelope_is_refused_with_the_figures(
    client, alice, approved, course
):
    tiny = tiny_envelope(course.training_body)
    client.force_login(alice)
    url = reverse("loans:loan_prepare", args=[approved.pk])
    response = client.post(url, prepare_data(course))
    assert response.status_code == 200
    assert not Loan.objects.exists()
    errors = response.context["form"].non_field_errors()
    months = Loan(
        start_date=timezone.localdate(), planned_end_date=course.end_date
    ).count_planned_periods()
    assert months == 4
    hundred, nothing = format_euros(100), format_euros(0)
    assert errors == [
        f"Il reste {hundred} sur l’enveloppe « {tiny} » ({hundred}, moins {nothing} consommés "
        f"et {nothing} engagés) : le prêt à Léa Le Gall demande {format_euros(30 * months)} "
        f"({months} mois). Indiquez un motif pour dépasser l’enveloppe."
    ]
    # The reason's field now shows.
    html = page(response)
    assert '<textarea name="override_reason"' in html
    assert "Motif pour dépasser l’enveloppe" in html
    assert "le motif est enregistré sur le prêt et dans son historique" in html


def test_with_a_reason_the_preparation_goes_over_the_envelope(client, alice, approved, course):
    tiny = tiny_envelope(course.training_body)
    client.force_login(alice)
    response = client.post(
        reverse("loans:loan_prepare", args=[approved.pk]),
        prepare_data(course, override_reason="Rallonge votée par la Région en juin."),
        follow=True,
    )
    loan = Loan.objects.get()
    assert response.redirect_chain[-1][0] == loan.get_absolute_url()
    assert loan.envelope == tiny
    assert loan.envelope_override_reason == "Rallonge votée par la Région en juin."
    event = loan.events.get(kind=LoanEvent.Kind.PREPARED)
    assert "Rallonge votée par la Région en juin." in event.note
    assert "Dépassement de l’enveloppe" in event.note
    html = page(response)
    assert "data-envelope-override" in html
    assert tiny.get_absolute_url() in html


def test_staff_may_pick_another_envelope_when_preparing(client, alice, funding, approved, course):
    tiny_envelope(course.training_body)  # the automatic choice, too small
    client.force_login(alice)
    client.post(
        reverse("loans:loan_prepare", args=[approved.pk]),
        prepare_data(course, envelope=funding.pk),
    )
    assert Loan.objects.get().envelope == funding


def test_an_extension_over_the_envelope_is_refused_then_accepted_with_a_reason(
    client, alice, course
):
    planned = Loan(
        start_date=timezone.localdate(), planned_end_date=course.end_date
    ).count_planned_periods()
    tiny = tiny_envelope(course.training_body, amount=str(30 * planned))
    loan = make_loan(TraineeFactory(course=course), by=alice, status=Status.ACTIVE)
    assert loan.envelope == tiny
    client.force_login(alice)
    url = reverse("loans:loan_extend", args=[loan.pk])
    until = add_months(loan.planned_end_date, 1)
    data = {"until": until.isoformat(), "reason": "Examen repoussé."}
    response = client.post(url, data)
    assert response.status_code == 200
    (error,) = response.context["form"].non_field_errors()
    assert error.startswith(f"Il reste {format_euros(0)} sur l’enveloppe « {tiny} »")
    assert "la prolongation du prêt" in error
    assert '<textarea name="override_reason"' in page(response)
    loan.refresh_from_db()
    assert loan.planned_end_date == course.end_date
    response = client.post(url, {**data, "override_reason": "Accord du financeur."})
    assert response.status_code == 302
    loan.refresh_from_db()
    assert loan.planned_end_date == until
    assert loan.envelope_override_reason == "Accord du financeur."
    assert "Accord du financeur." in loan.events.get(kind=LoanEvent.Kind.EXTENDED).note


def test_the_extend_form_hides_the_reason_until_the_envelope_refuses(client, alice, course):
    loan = make_loan(TraineeFactory(course=course), by=alice, status=Status.ACTIVE)
    client.force_login(alice)
    html = page(client.get(reverse("loans:loan_extend", args=[loan.pk])))
    assert 'type="hidden" name="override_reason"' in html
    assert '<textarea name="override_reason"' not in html


# --- Changing a prepared loan's envelope ---------------------------------------------------------


def test_the_loan_page_shows_the_envelope_and_offers_to_change_it_while_prepared(
    client, alice, bob, funding, course
):
    prepared = make_loan(TraineeFactory(course=course), by=alice)
    active = make_loan(TraineeFactory(course=course), by=alice, status=Status.ACTIVE)
    client.force_login(alice)
    html = page(client.get(prepared.get_absolute_url()))
    assert funding.get_absolute_url() in html
    assert reverse("loans:loan_envelope", args=[prepared.pk]) in html
    html = page(client.get(active.get_absolute_url()))
    assert funding.get_absolute_url() in html
    assert reverse("loans:loan_envelope", args=[active.pk]) not in html
    client.force_login(bob)
    html = page(client.get(prepared.get_absolute_url()))
    assert str(funding) in html
    assert funding.get_absolute_url() not in html


def test_staff_change_a_prepared_loans_envelope(client, alice, funding, course):
    loan = make_loan(TraineeFactory(course=course), by=alice)
    other = BudgetEnvelopeFactory(name="Fonds départemental", funder="Département")
    client.force_login(alice)
    url = reverse("loans:loan_envelope", args=[loan.pk])
    form = client.get(url).context["form"]
    assert set(form.fields["envelope"].queryset) == {funding, other}
    assert form["envelope"].value() == funding.pk
    response = client.post(url, {"envelope": other.pk}, follow=True)
    assert response.redirect_chain[-1][0] == loan.get_absolute_url()
    assert shown(response) == [f"Le prêt {loan.number} est maintenant financé par « {other} »."]
    loan.refresh_from_db()
    assert loan.envelope == other
    event = loan.events.get(kind=LoanEvent.Kind.ENVELOPE_CHANGED)
    assert event.note == f"De « {funding} » à « {other} »."


def test_a_change_to_a_full_envelope_needs_a_reason(client, alice, funding, course):
    loan = make_loan(TraineeFactory(course=course), by=alice)
    tiny = tiny_envelope(course.training_body)
    client.force_login(alice)
    url = reverse("loans:loan_envelope", args=[loan.pk])
    response = client.post(url, {"envelope": tiny.pk})
    assert response.status_code == 200
    (error,) = response.context["form"].non_field_errors()
    assert error.startswith(f"Il reste {format_euros(100)} sur l’enveloppe « {tiny} »")
    assert '<textarea name="override_reason"' in page(response)
    loan.refresh_from_db()
    assert loan.envelope == funding
    response = client.post(url, {"envelope": tiny.pk, "override_reason": "Décision du bureau."})
    assert response.status_code == 302
    loan.refresh_from_db()
    assert loan.envelope == tiny
    assert loan.envelope_override_reason == "Décision du bureau."
    assert "Décision du bureau." in loan.events.get(kind=LoanEvent.Kind.ENVELOPE_CHANGED).note


def test_an_envelope_that_does_not_fund_the_body_is_not_offered(
    client, alice, funding, course, askoria
):
    loan = make_loan(TraineeFactory(course=course), by=alice)
    elsewhere = tiny_envelope(askoria, amount="10000.00")
    client.force_login(alice)
    response = client.post(
        reverse("loans:loan_envelope", args=[loan.pk]), {"envelope": elsewhere.pk}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["envelope"]
    loan.refresh_from_db()
    assert loan.envelope == funding


def test_a_handed_over_loan_keeps_its_envelope(client, alice, funding, course):
    loan = make_loan(TraineeFactory(course=course), by=alice, status=Status.ACTIVE)
    other = BudgetEnvelopeFactory(name="Fonds départemental")
    client.force_login(alice)
    url = reverse("loans:loan_envelope", args=[loan.pk])
    response = client.post(url, {"envelope": other.pk}, follow=True)
    assert response.redirect_chain[-1][0] == loan.get_absolute_url()
    assert "ne change que jusqu’à la remise" in shown(response)[0]
    loan.refresh_from_db()
    assert loan.envelope == funding


# --- Dashboard and navigation ---------------------------------------------------------------------


def test_the_dashboard_shows_each_running_envelope(client, alice, funding, course):
    active_loans(1, by=alice, course=course)
    ended = BudgetEnvelopeFactory(
        name="Ancienne enveloppe", end_date=timezone.localdate().replace(year=2001)
    )
    client.force_login(alice)
    response = client.get(reverse("dashboard"))
    shown_envelopes = [figures.envelope for figures in response.context["envelope_figures"]]
    assert shown_envelopes == [funding]
    assert ended not in shown_envelopes
    html = page(response)
    assert f'data-envelope-figure="{funding.pk}"' in html
    assert funding.get_absolute_url() in html


def test_staff_find_the_envelopes_in_the_menu(client, alice, bob):
    client.force_login(alice)
    assert f'href="{reverse("loans:envelopes")}"' in page(client.get(reverse("dashboard")))
    client.force_login(bob)
    assert reverse("loans:envelopes") not in page(client.get(reverse("trainees:portal")))


def test_no_envelope_at_all_is_said_plainly(client, alice, no_funding):
    assert not BudgetEnvelope.objects.exists()
    client.force_login(alice)
    response = client.get(reverse("loans:envelopes"))
    assert response.context["rows"] == []
