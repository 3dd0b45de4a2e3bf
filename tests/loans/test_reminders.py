"""The daily reminders (loans.reminders, `manage.py send_reminders`): each one goes once, on
its day or late, never early, never twice; the digest for the team; rollbacks, races, a mail
server that is down."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from loans import lending, reminders
from loans.management.commands.send_reminders import Command
from loans.models import Loan, ReminderLog
from loans.notifications import absolute_url
from tests.factories import (
    CoordinatorFactory,
    CourseFactory,
    StaffFactory,
    TraineeFactory,
    TrainingBodyFactory,
    make_loan,
    make_request,
)

pytestmark = pytest.mark.django_db

Kind = ReminderLog.Kind


def today():
    return timezone.localdate()


@pytest.fixture
def course(agora):
    return CourseFactory(training_body=agora, title="PRÉPA Avenir Jeunes Lanester")


def loan_ending(alice, course, *, in_days, **trainee_fields):
    """A loan handed over today whose planned end is `in_days` from today."""
    trainee = TraineeFactory(course=course, **trainee_fields)
    return make_loan(
        trainee,
        by=alice,
        status=Loan.Status.ACTIVE,
        planned_end_date=today() + timedelta(days=in_days),
    )


def days_before_end(loan, days):
    return loan.planned_end_date - timedelta(days=days)


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run the reminders for `day`, sending what the run commits."""

    def run(day):
        with django_capture_on_commit_callbacks(execute=True):
            return reminders.send_reminders(today=day)

    return run


def url(obj):
    return absolute_url(obj.get_absolute_url())


def sent_to(address):
    return [message for message in mail.outbox if address in message.to]


def rows(kind=None):
    logs = ReminderLog.objects.order_by("pk")
    if kind:
        logs = logs.filter(kind=kind)
    return list(logs.values_list("kind", "key"))


# --- Coordinator reminders before the end -----------------------------------------------------


def test_the_14_day_reminder_tells_the_coordinators_what_to_do(run, alice, bob, course):
    loan = loan_ending(alice, course, in_days=20, first_name="Léa", last_name="Le Gall")

    report = run(days_before_end(loan, 14))

    assert report.sent(Kind.ENDS_IN_14_DAYS) == 1
    (message,) = sent_to(bob.email)
    end = loan.planned_end_date.strftime("%d/%m/%Y")
    assert message.subject == f"Fin du prêt d’ordinateur le {end} : Léa Le Gall"
    assert f"se termine dans 14 jours, le {end}" in message.body
    assert loan.number in message.body
    assert "PRÉPA Avenir Jeunes Lanester" in message.body
    assert loan.laptop.asset_tag in message.body
    assert "rapportez l’ordinateur" in message.body
    assert "prolongée" in message.body
    assert url(loan) in message.body
    html = message.alternatives[0][0]
    assert f'href="{url(loan)}"' in html
    assert rows(Kind.ENDS_IN_14_DAYS) == [
        (Kind.ENDS_IN_14_DAYS, f"loan:{loan.pk}:{loan.planned_end_date.isoformat()}")
    ]
    assert ReminderLog.objects.get(kind=Kind.ENDS_IN_14_DAYS).recipients == bob.email


def test_no_reminder_goes_early(run, alice, bob, course):
    loan = loan_ending(alice, course, in_days=20)

    run(days_before_end(loan, 15))

    assert mail.outbox == []
    assert rows() == []


def test_each_reminder_goes_once_however_often_the_command_runs(run, alice, bob, course):
    loan = loan_ending(alice, course, in_days=20)

    day = days_before_end(loan, 14)
    run(day)
    run(day)
    run(day + timedelta(days=1))
    assert len(sent_to(bob.email)) == 1

    day = days_before_end(loan, 3)
    run(day)
    run(day)
    run(day + timedelta(days=1))
    assert len(sent_to(bob.email)) == 2

    assert [kind for kind, _key in rows() if kind != Kind.STAFF_DIGEST] == [
        Kind.ENDS_IN_14_DAYS,
        Kind.ENDS_IN_3_DAYS,
    ]


def test_the_3_day_reminder_is_the_last_call(run, alice, bob, course):
    loan = loan_ending(alice, course, in_days=10, first_name="Léa", last_name="Le Gall")

    run(days_before_end(loan, 3))

    (message,) = sent_to(bob.email)
    end = loan.planned_end_date.strftime("%d/%m/%Y")
    assert message.subject == f"Dernier rappel, retour de l’ordinateur le {end} : Léa Le Gall"
    assert f"se termine dans 3 jours, le {end}" in message.body


@pytest.mark.parametrize(
    ("days_left", "wording"), [(1, "se termine demain"), (0, "se termine aujourd’hui")]
)
def test_the_last_call_says_tomorrow_or_today(run, alice, bob, course, days_left, wording):
    loan = loan_ending(alice, course, in_days=10)

    run(days_before_end(loan, days_left))

    assert wording in sent_to(bob.email)[0].body


def test_a_missed_14_day_reminder_is_sent_late(run, alice, bob, course):
    loan = loan_ending(alice, course, in_days=30)

    # The command did not run 14 days before the end; it runs 9 days before.
    report = run(days_before_end(loan, 9))

    assert report.sent(Kind.ENDS_IN_14_DAYS) == 1
    assert "se termine dans 9 jours" in sent_to(bob.email)[0].body


def test_when_the_3_day_reminder_is_due_the_14_day_one_is_no_longer_sent(run, alice, bob, course):
    loan = loan_ending(alice, course, in_days=30)

    report = run(days_before_end(loan, 2))
    run(days_before_end(loan, 1))

    assert report.sent(Kind.ENDS_IN_14_DAYS) == 0
    assert report.sent(Kind.ENDS_IN_3_DAYS) == 1
    assert len(sent_to(bob.email)) == 1
    assert rows(Kind.ENDS_IN_14_DAYS) == []


def test_an_extension_rearms_the_reminders(run, alice, bob, course):
    loan = loan_ending(alice, course, in_days=20)
    run(days_before_end(loan, 14))
    run(days_before_end(loan, 3))
    assert len(sent_to(bob.email)) == 2

    first_end = loan.planned_end_date
    loan = lending.loan_extend(
        loan=loan, until=first_end + timedelta(days=30), reason="Formation prolongée", by=alice
    )
    run(days_before_end(loan, 14))
    run(days_before_end(loan, 3))

    assert len(sent_to(bob.email)) == 4
    new_end = loan.planned_end_date.strftime("%d/%m/%Y")
    assert new_end in sent_to(bob.email)[3].subject
    assert sorted(key for kind, key in rows() if kind == Kind.ENDS_IN_3_DAYS) == [
        f"loan:{loan.pk}:{first_end.isoformat()}",
        f"loan:{loan.pk}:{loan.planned_end_date.isoformat()}",
    ]


def test_the_coordinators_of_another_body_are_not_told(run, alice, bob, charlie, course):
    loan = loan_ending(alice, course, in_days=20)

    run(days_before_end(loan, 14))

    assert sent_to(charlie.email) == []


def test_every_active_coordinator_of_the_body_is_told(run, alice, bob, agora, course):
    colleague = CoordinatorFactory(training_body=agora).user
    gone = CoordinatorFactory(training_body=agora).user
    gone.is_active = False
    gone.save()
    loan = loan_ending(alice, course, in_days=20)

    run(days_before_end(loan, 14))

    (message,) = [m for m in mail.outbox if bob.email in m.to]
    assert message.to == sorted([bob.email, colleague.email])


def test_a_closed_or_prepared_loan_gets_no_reminder(run, alice, bob, course):
    make_loan(
        TraineeFactory(course=course),
        by=alice,
        status=Loan.Status.CLOSED,
        planned_end_date=today() + timedelta(days=5),
    )
    make_loan(
        TraineeFactory(course=course),
        by=alice,
        planned_end_date=today() + timedelta(days=5),
    )

    run(today() + timedelta(days=10))

    assert sent_to(bob.email) == []


# --- Overdue ----------------------------------------------------------------------------------


def test_an_overdue_laptop_is_reported_to_the_coordinators_and_the_team_once(
    run, alice, bob, course
):
    loan = loan_ending(alice, course, in_days=5, first_name="Léa", last_name="Le Gall")
    late = loan.planned_end_date + timedelta(days=2)

    report = run(late)
    run(late)
    run(late + timedelta(days=1))

    assert report.sent(Kind.OVERDUE) == 1
    (to_bob,) = sent_to(bob.email)
    assert to_bob.subject == f"Ordinateur non rendu : Léa Le Gall ({loan.number})"
    assert "il y a 2 jours" in to_bob.body
    assert "vol" in to_bob.body
    (to_alice,) = [m for m in sent_to(alice.email) if "synthèse" not in m.subject]
    assert to_alice.subject == f"Retour en retard : {loan.number}, Léa Le Gall (Agora)"
    assert f"Rappel envoyé ce jour à : {bob.email}." in to_alice.body
    log = ReminderLog.objects.get(kind=Kind.OVERDUE)
    assert log.loan == loan
    assert log.recipients == f"{bob.email}, {alice.email}"


def test_a_departure_makes_the_laptop_due_back_at_once(run, alice, bob, course):
    loan = loan_ending(alice, course, in_days=60)
    with time_machine.travel(timezone.now() + timedelta(days=10)):
        lending.loan_end_early(loan=loan, left_on=today() - timedelta(days=1), by=bob)
        report = run(today())

    assert report.sent(Kind.OVERDUE) == 1
    digest = next(m for m in sent_to(alice.email) if "synthèse" in m.subject)
    assert "1 départ signalé, ordinateur pas encore rendu" in digest.body


# --- Nobody to tell ---------------------------------------------------------------------------


def test_a_body_without_a_coordinator_is_named_in_the_output_and_the_digest(run, alice):
    lonely = CourseFactory(training_body=TrainingBodyFactory(name="Organisme sans référent"))
    loan = loan_ending(alice, lonely, in_days=20)

    report = run(days_before_end(loan, 14))
    again = run(days_before_end(loan, 13))

    assert report.unreachable == [loan]
    assert again.unreachable == []
    log = ReminderLog.objects.get(kind=Kind.ENDS_IN_14_DAYS)
    assert log.recipients == ""
    digest = sent_to(alice.email)[0]
    assert "aucun coordinateur à prévenir" in digest.body


def test_the_team_is_told_of_an_overdue_laptop_even_without_a_coordinator(run, alice):
    loan = loan_ending(alice, CourseFactory(), in_days=5)

    run(loan.planned_end_date + timedelta(days=1))

    (overdue,) = [m for m in sent_to(alice.email) if "Retour en retard" in m.subject]
    assert "personne n’y a été prévenu" in overdue.body


# --- The digest -------------------------------------------------------------------------------


def test_the_digest_lists_every_section(run, alice, bob, course):
    overdue = loan_ending(alice, course, in_days=1)
    ending = loan_ending(alice, course, in_days=10)
    far = loan_ending(alice, course, in_days=60)
    prepared = make_loan(TraineeFactory(course=course), by=alice)
    request = make_request(TraineeFactory(course=course), by=bob)
    departed = loan_ending(alice, course, in_days=90)
    lending.loan_end_early(loan=departed, left_on=today(), by=bob)

    run(today() + timedelta(days=2))

    (digest,) = [m for m in sent_to(alice.email) if "synthèse" in m.subject]
    day = (today() + timedelta(days=2)).strftime("%d/%m/%Y")
    assert digest.subject == f"Prêts : synthèse du {day}"
    body = digest.body
    assert "2 prêts en retard" in body  # the overdue one and the departure
    assert f"{overdue.number} · " in body
    assert "1 jour de retard" in body
    assert "1 prêt se terminant dans les 14 jours" in body
    assert f"{ending.number} · " in body
    assert far.number not in body
    assert "1 prêt préparé en attente de remise" in body
    assert f"{prepared.number} · " in body
    assert "1 demande en attente de décision" in body
    assert f"{request.number} · " in body
    assert "1 départ signalé" in body
    assert f"{departed.number} · " in body
    assert url(ending) in body
    assert url(request) in body
    assert digest.alternatives[0][0].count("<li>") == 6


def test_the_digest_goes_once_a_day(run, alice, bob, course):
    make_request(TraineeFactory(course=course), by=bob)

    first = run(today())
    second = run(today())
    next_day = run(today() + timedelta(days=1))

    assert (first.digest, second.digest, next_day.digest) == ("sent", "already_sent", "sent")
    assert len(sent_to(alice.email)) == 2
    assert rows() == [
        (Kind.STAFF_DIGEST, today().isoformat()),
        (Kind.STAFF_DIGEST, (today() + timedelta(days=1)).isoformat()),
    ]


def test_no_digest_when_nothing_needs_the_team(run, alice, bob, course):
    loan_ending(alice, course, in_days=60)

    report = run(today())

    assert report.digest == "nothing_due"
    assert mail.outbox == []
    assert rows() == []


def test_a_long_section_is_cut_with_a_link_to_the_list(run, alice, bob, course, monkeypatch):
    monkeypatch.setattr(reminders, "DIGEST_LIMIT", 2)
    requests = [make_request(TraineeFactory(course=course), by=bob) for _ in range(3)]

    run(today())

    (digest,) = mail.outbox
    assert "3 demandes en attente de décision" in digest.body
    assert requests[2].number not in digest.body
    assert f"…et 1 autre : {absolute_url(reverse('loans:requests'))}" in digest.body


# --- Transactions, races, failures ------------------------------------------------------------


def test_a_run_rolled_back_sends_nothing_and_records_nothing(
    alice, bob, course, django_capture_on_commit_callbacks
):
    loan = loan_ending(alice, course, in_days=20)

    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                reminders.send_reminders(today=days_before_end(loan, 14))
                raise RuntimeError("something failed after the run")
        except RuntimeError:
            pass

    assert mail.outbox == []
    assert rows() == []


def test_nothing_leaves_before_the_commit(alice, bob, course, django_capture_on_commit_callbacks):
    loan = loan_ending(alice, course, in_days=20)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reminders.send_reminders(today=days_before_end(loan, 14))

    assert mail.outbox == []
    assert len(callbacks) == 2  # the reminder and the digest
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == 2


def test_a_mail_server_that_fails_leaves_the_reminders_for_the_next_run(
    run, alice, bob, course, settings, caplog
):
    loan_ending(alice, course, in_days=10)
    loan_ending(alice, course, in_days=11)
    settings.EMAIL_BACKEND = "tests.loans.failing_mail.Backend"

    report = run(today())

    assert "the mail server is down" in caplog.text
    assert sum(report.failed.values()) == 3  # two reminders and the digest
    assert rows() == []

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    run(today())
    assert len(sent_to(bob.email)) == 2
    assert len(rows()) == 3


@pytest.mark.django_db(transaction=True)
def test_the_command_stops_at_the_first_refusal_and_fails(agreement_text, settings):
    # Real commits: each reminder is sent as soon as its row is committed.
    staff = StaffFactory()
    coordinator = CoordinatorFactory()
    course = CourseFactory(training_body=coordinator.training_body)
    loan_ending(staff, course, in_days=10)
    loan_ending(staff, course, in_days=11)
    settings.EMAIL_BACKEND = "tests.loans.failing_mail.Backend"
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError, match="Le serveur de messagerie a refusé certains e-mails"):
        call_command("send_reminders", stdout=out, stderr=err)

    assert out.getvalue().splitlines() == [
        "Rappels J-14 : 0, J-3 : 0, retards : 0, synthèse : reportée au prochain passage"
    ]
    assert err.getvalue().splitlines() == [
        "Le serveur de messagerie a refusé 1 e-mail : il partira au prochain passage.",
        "1 rappel laissé pour le prochain passage.",
    ]
    assert rows() == []


# --- Queries ----------------------------------------------------------------------------------


def test_the_query_count_grows_only_by_a_constant_per_email(
    alice, bob, course, django_capture_on_commit_callbacks
):
    def measure(loans):
        day = days_before_end(loans[0], 14)
        ReminderLog.objects.all().delete()
        with (
            CaptureQueriesContext(connection) as first,
            django_capture_on_commit_callbacks(execute=True),
        ):
            reminders.send_reminders(today=day)
        with (
            CaptureQueriesContext(connection) as second,
            django_capture_on_commit_callbacks(execute=True),
        ):
            reminders.send_reminders(today=day)
        return len(first), len(second)

    loans = [loan_ending(alice, course, in_days=20) for _ in range(3)]
    small_first, small_second = measure(loans)
    loans += [loan_ending(alice, course, in_days=20) for _ in range(12)]
    large_first, large_second = measure(loans)

    # A run that sends nothing new: the same queries whatever the number of loans.
    assert small_second == large_second
    # A run that sends: a constant part, and the same few queries per reminder.
    assert large_first - small_first == 12 * reminders.QUERIES_PER_EMAIL


# --- Two servers at once (PostgreSQL) ---------------------------------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent transactions on one unique key need PostgreSQL (CI runs it)",
)
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_the_same_moment_send_each_reminder_once(agreement_text):
    staff = StaffFactory()
    coordinator = CoordinatorFactory()
    course = CourseFactory(training_body=coordinator.training_body)
    loans = [loan_ending(staff, course, in_days=in_days) for in_days in (5, 10, 12, 20)]
    day = today() + timedelta(days=8)  # 2, 4 and 12 days left, one overdue by 3 days
    mail.outbox.clear()
    runs = 4
    start = threading.Barrier(runs)
    errors, reports = [], []

    def run():
        try:
            connection.ensure_connection()
            start.wait()
            reports.append(reminders.send_reminders(today=day))
        except Exception as error:  # reported below, with the thread's own error
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert ReminderLog.objects.count() == len(loans) + 1
    assert sum(sum(report.claimed.values()) for report in reports) == len(loans) + 1
    # The overdue reminder sends two emails (coordinators, team); each other reminder one.
    assert len(mail.outbox) == len(loans) + 2
    assert sorted(message.subject for message in mail.outbox) == sorted(
        {message.subject for message in mail.outbox}
    )


# --- The command ------------------------------------------------------------------------------


def test_the_command_prints_what_it_sent(alice, bob, course, django_capture_on_commit_callbacks):
    loan_ending(alice, course, in_days=14)
    loan_ending(alice, course, in_days=2)
    out = StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_reminders", stdout=out)

    assert out.getvalue() == "Rappels J-14 : 1, J-3 : 1, retards : 0, synthèse : envoyée\n"
    assert len(mail.outbox) == 3


def test_the_command_runs_for_an_earlier_day_and_says_when_nothing_was_due(
    alice, bob, course, django_capture_on_commit_callbacks
):
    loan_ending(alice, course, in_days=60)
    out = StringIO()
    yesterday = today() - timedelta(days=1)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_reminders", "--date", yesterday.isoformat(), stdout=out)

    assert out.getvalue().splitlines() == [
        "Rappels J-14 : 0, J-3 : 0, retards : 0, synthèse : rien à signaler, non envoyée",
        f"Rien n’était dû le {yesterday:%d/%m/%Y}.",
    ]


def test_the_command_reports_overdue_loans_on_their_day(
    alice, bob, course, django_capture_on_commit_callbacks
):
    loan_ending(alice, course, in_days=3)
    out = StringIO()

    with (
        time_machine.travel(timezone.now() + timedelta(days=4)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("send_reminders", stdout=out)
        call_command("send_reminders", stdout=out)

    assert out.getvalue().splitlines() == [
        "Rappels J-14 : 0, J-3 : 0, retards : 1, synthèse : envoyée",
        "Rappels J-14 : 0, J-3 : 0, retards : 0, synthèse : déjà envoyée ce jour",
    ]


def test_the_command_names_the_loans_nobody_could_be_told_about(
    alice, django_capture_on_commit_callbacks
):
    body = TrainingBodyFactory(name="Organisme sans référent")
    loan = loan_ending(alice, CourseFactory(training_body=body), in_days=10)
    out = StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_reminders", stdout=out)

    assert out.getvalue().splitlines()[1] == (
        f"{loan.number} ({loan.trainee.full_name}) : Organisme sans référent n’a aucun "
        "coordinateur avec une adresse e-mail ; le rappel est noté comme fait et la synthèse "
        "de l’équipe le signale."
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("14/03/2025", "Date invalide “14/03/2025” : attendue au format AAAA-MM-JJ"),
        ("2025-02-30", "Date invalide “2025-02-30”"),
        ("", None),
    ],
)
def test_a_bad_date_is_refused_with_a_clear_message(alice, bob, value, message):
    make_request(TraineeFactory(course=CourseFactory()), by=alice)
    if message is None:
        call_command("send_reminders", "--date", value, stdout=StringIO())
        return
    with pytest.raises(CommandError, match=message):
        call_command("send_reminders", "--date", value, stdout=StringIO())
    assert rows() == []


def test_a_day_in_the_future_is_refused(alice, bob):
    make_request(TraineeFactory(course=CourseFactory()), by=alice)
    tomorrow = today() + timedelta(days=1)

    with pytest.raises(CommandError, match="est dans le futur"):
        call_command("send_reminders", "--date", tomorrow.isoformat(), stdout=StringIO())
    assert rows() == []


def test_the_command_explains_itself_in_french():
    text = Command().create_parser("manage.py", "send_reminders").format_help()

    assert "chaque rappel part une seule fois" in text
    assert "--date YYYY-MM-DD" in text


# --- Rendering --------------------------------------------------------------------------------


def test_names_are_plain_in_the_text_and_escaped_in_the_html(run, alice, bob, course):
    loan = loan_ending(alice, course, in_days=10, first_name="Maël", last_name="N'Diaye <b>")

    run(days_before_end(loan, 3))

    (message,) = sent_to(bob.email)
    assert "N'Diaye <b>" in message.subject
    assert "N'Diaye <b>" in message.body
    assert "N&#x27;Diaye &lt;b&gt;" in message.alternatives[0][0]
