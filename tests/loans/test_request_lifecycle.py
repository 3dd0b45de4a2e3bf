"""The LoanRequest lifecycle of DESIGN.md, as loans.services enforces it."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.models import Laptop
from loans import services
from loans.models import LoanRequest
from tests.factories import (
    CoordinatorFactory,
    CourseFactory,
    TraineeFactory,
    make_laptop,
    make_request,
)

Status = LoanRequest.Status


@pytest.fixture
def course(agora):
    return CourseFactory(training_body=agora, title="PRÉPA Avenir Jeunes")


@pytest.fixture
def trainee(course):
    return TraineeFactory(course=course, first_name="Léa", last_name="Le Gall")


def submit(trainee, by, **fields):
    fields.setdefault("needed_by", timezone.localdate() + timedelta(days=7))
    fields.setdefault("justification", "Pas d’ordinateur à la maison.")
    return services.request_submit(trainee=trainee, by=by, **fields)


def messages(error):
    return " ".join(error.value.messages)


# --- Submission ---------------------------------------------------------------------------


def test_a_coordinator_submits_a_request_for_their_trainee(bob, trainee):
    request = submit(trainee, bob)
    assert (request.status, request.submitted_by, request.laptop) == ("submitted", bob, None)
    event = request.events.get()
    assert (event.from_status, event.to_status, event.by) == ("", "submitted", bob)
    assert request.number == f"D-{request.pk:05d}"


def test_a_second_open_request_is_refused(bob, trainee):
    first = submit(trainee, bob)
    with pytest.raises(services.RequestError) as refused:
        submit(trainee, bob)
    assert messages(refused) == (
        f"Léa Le Gall a déjà une demande en cours ({first.number}, « Déposée »)."
    )
    assert LoanRequest.objects.count() == 1


def test_the_database_refuses_two_open_requests_even_without_the_service(bob, trainee):
    first = submit(trainee, bob)
    with pytest.raises(IntegrityError), transaction.atomic():
        LoanRequest.objects.create(
            trainee=trainee,
            needed_by=first.needed_by,
            justification="x",
            submitted_at=timezone.now(),
        )


def test_a_new_request_is_possible_once_the_last_one_is_closed(alice, bob, trainee):
    make_request(trainee, by=bob, status=Status.REJECTED)
    assert submit(trainee, bob).status == Status.SUBMITTED


def test_a_finished_course_takes_no_request(bob, agora):
    past = CourseFactory(
        training_body=agora,
        start_date=timezone.localdate() - timedelta(days=200),
        end_date=timezone.localdate() - timedelta(days=1),
    )
    trainee = TraineeFactory(course=past, first_name="Tom", last_name="Huet")
    with pytest.raises(services.RequestError) as refused:
        submit(trainee, bob)
    assert "La formation de Tom Huet s’est terminée le" in messages(refused)


def test_a_coming_course_takes_requests(bob, agora):
    coming = CourseFactory(
        training_body=agora,
        start_date=timezone.localdate() + timedelta(days=20),
        end_date=timezone.localdate() + timedelta(days=170),
    )
    request = submit(TraineeFactory(course=coming), bob, needed_by=coming.start_date)
    assert request.status == Status.SUBMITTED


@pytest.mark.parametrize(
    ("days", "expected"),
    [(-1, "ne peut pas être dans le passé"), (400, "après la fin de la formation")],
)
def test_the_needed_by_date_is_checked(bob, trainee, days, expected):
    with pytest.raises(services.RequestError) as refused:
        submit(trainee, bob, needed_by=timezone.localdate() + timedelta(days=days))
    assert expected in messages(refused)


def test_a_justification_is_required(bob, trainee):
    with pytest.raises(services.RequestError) as refused:
        submit(trainee, bob, justification="  ")
    assert messages(refused) == "Indiquez pourquoi un ordinateur est nécessaire."


def test_an_inactive_training_body_takes_no_request(bob, trainee, agora):
    agora.active = False
    agora.save()
    with pytest.raises(services.RequestError) as refused:
        submit(trainee, bob)
    assert "n’est plus actif" in messages(refused)


def test_a_coordinator_cannot_ask_for_another_bodys_trainee(charlie, trainee):
    with pytest.raises(PermissionDenied):
        submit(trainee, charlie)
    assert not LoanRequest.objects.exists()


def test_requests_for_a_whole_course_are_all_or_nothing(bob, course):
    ready = TraineeFactory(course=course, first_name="Inès", last_name="Morvan")
    busy = TraineeFactory(course=course, first_name="Noé", last_name="Riou")
    submit(busy, bob)

    with pytest.raises(services.RequestError) as refused:
        services.requests_submit(
            trainees=[ready, busy],
            needed_by=timezone.localdate() + timedelta(days=3),
            justification="Distribution de rentrée",
            by=bob,
        )
    assert "Noé Riou a déjà une demande en cours" in messages(refused)
    assert not ready.loan_requests.exists()

    other = TraineeFactory(course=course, first_name="Zoé", last_name="Allain")
    made = services.requests_submit(
        trainees=[ready, other],
        needed_by=timezone.localdate() + timedelta(days=3),
        justification="Distribution de rentrée",
        by=bob,
    )
    assert [r.trainee for r in made] == [other, ready]


# --- Approval -----------------------------------------------------------------------------


def test_approval_reserves_the_suggested_laptop(alice, bob, trainee):
    older = make_laptop(by=alice, status=Laptop.Status.READY)
    make_laptop(by=alice, status=Laptop.Status.READY)
    request = submit(trainee, bob)
    assert services.suggested_laptop() == older

    services.request_approve(request=request, by=alice)

    request.refresh_from_db()
    older.refresh_from_db()
    assert (request.status, request.laptop, older.status) == ("approved", older, "reserved")
    assert (
        older.status_changes.first().note == f"Réservé pour Léa Le Gall (demande {request.number})"
    )
    assert request.events.first().to_status == "approved"


def test_staff_may_pick_another_ready_laptop(alice, bob, trainee):
    make_laptop(by=alice, status=Laptop.Status.READY)
    chosen = make_laptop(by=alice, status=Laptop.Status.READY)
    request = services.request_approve(request=submit(trainee, bob), laptop=chosen, by=alice)
    assert request.laptop == chosen


def test_a_laptop_that_is_not_ready_cannot_be_reserved(alice, bob, trainee):
    make_laptop(by=alice, status=Laptop.Status.READY)
    refurbishing = make_laptop(by=alice, status=Laptop.Status.REFURBISHING)
    request = submit(trainee, bob)
    with pytest.raises(services.RequestError) as refused:
        services.request_approve(request=request, laptop=refurbishing, by=alice)
    assert "ne peut pas passer de « En reconditionnement » à « Réservé »" in messages(refused)
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED


def test_approval_without_a_ready_laptop_points_to_the_waitlist(alice, bob, trainee):
    request = submit(trainee, bob)
    with pytest.raises(services.RequestError) as refused:
        services.request_approve(request=request, by=alice)
    assert "Aucun ordinateur n’est prêt à prêter" in messages(refused)


def test_the_waitlist_is_served_first_come_first_served(alice, bob, course):
    first = make_request(TraineeFactory(course=course), by=bob, status=Status.WAITLISTED)
    second = make_request(TraineeFactory(course=course), by=bob, status=Status.WAITLISTED)
    newcomer = submit(TraineeFactory(course=course), bob)
    assert [services.waitlist_position(r) for r in (first, second, newcomer)] == [1, 2, None]
    make_laptop(by=alice, status=Laptop.Status.READY)

    for jumper in (second, newcomer):
        with pytest.raises(services.RequestError) as refused:
            services.request_approve(request=jumper, by=alice)
        assert f"servez d’abord la liste d’attente (prochaine : {first.number}" in messages(refused)

    services.request_approve(request=first, by=alice)
    second.refresh_from_db()
    assert services.waitlist_position(second) == 1


def test_bulk_approval_goes_in_waitlist_order_up_to_the_stock(alice, bob, course):
    waiting = [
        make_request(TraineeFactory(course=course), by=bob, status=Status.WAITLISTED)
        for _ in range(3)
    ]
    submitted = submit(TraineeFactory(course=course), bob)
    make_laptop(by=alice, status=Laptop.Status.READY)
    make_laptop(by=alice, status=Laptop.Status.READY)

    result = services.requests_approve_in_order(requests=[submitted, *reversed(waiting)], by=alice)

    assert result.approved == [waiting[0], waiting[1]]
    assert [r for r, _reason in result.left] == [waiting[2], submitted]
    assert Laptop.objects.filter(status="reserved").count() == 2


# --- Waitlist, rejection, cancellation ----------------------------------------------------


def test_waitlisting_is_refused_while_a_laptop_is_free(alice, bob, trainee):
    make_laptop(by=alice, status=Laptop.Status.READY)
    request = submit(trainee, bob)
    with pytest.raises(services.RequestError) as refused:
        services.request_waitlist(request=request, by=alice)
    assert "approuvez plutôt la demande" in messages(refused)


def test_waitlisting_when_no_laptop_is_ready(alice, bob, trainee):
    request = services.request_waitlist(request=submit(trainee, bob), by=alice)
    assert request.status == Status.WAITLISTED
    assert services.waitlist_position(request) == 1


def test_rejection_needs_a_reason_and_frees_a_reserved_laptop(alice, bob, trainee):
    request = make_request(trainee, by=bob, status=Status.APPROVED)
    laptop = request.laptop

    with pytest.raises(services.RequestError) as refused:
        services.request_reject(request=request, reason=" ", by=alice)
    assert messages(refused) == "Indiquez la raison du refus."

    services.request_reject(request=request, reason="Hors critères", by=alice)
    request.refresh_from_db()
    laptop.refresh_from_db()
    assert (request.status, request.decision_reason) == ("rejected", "Hors critères")
    assert laptop.status == Laptop.Status.READY


def test_cancellation_from_every_open_state(alice, bob, course):
    for status in (Status.SUBMITTED, Status.WAITLISTED, Status.APPROVED):
        request = make_request(TraineeFactory(course=course), by=bob, status=status)
        services.request_cancel(request=request, by=bob, reason="A trouvé un ordinateur")
        request.refresh_from_db()
        assert request.status == Status.CANCELLED
    assert not Laptop.objects.filter(status="reserved").exists()


@pytest.mark.parametrize("closed", [Status.REJECTED, Status.CANCELLED])
def test_a_closed_request_does_not_move_again(alice, bob, trainee, closed):
    request = make_request(trainee, by=bob, status=closed)
    make_laptop(by=alice, status=Laptop.Status.READY)
    moves = [
        lambda: services.request_approve(request=request, by=alice),
        lambda: services.request_waitlist(request=request, by=alice),
        lambda: services.request_reject(request=request, reason="x", by=alice),
        lambda: services.request_cancel(request=request, by=alice),
    ]
    for move in moves:
        with pytest.raises(services.RequestError) as refused:
            move()
        assert "elle ne peut pas devenir" in messages(refused)
    assert request.events.count() == 2


# --- Notifications ------------------------------------------------------------------------


def test_each_decision_mails_the_coordinator_once_after_commit(
    alice, bob, trainee, django_capture_on_commit_callbacks
):
    request = submit(trainee, bob)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.request_waitlist(request=request, by=alice)
    assert mail.outbox == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [bob.email]
    assert (
        message.subject
        == f"Demande d’ordinateur {request.number} pour Léa Le Gall : en liste d’attente"
    )
    assert "en position 1" in message.body
    assert "en position 1" in message.alternatives[0][0]

    make_laptop(by=alice, status=Laptop.Status.READY)
    with django_capture_on_commit_callbacks(execute=True):
        request = services.request_approve(request=request, by=alice)
    assert len(mail.outbox) == 2
    assert "approuvée" in mail.outbox[1].subject
    assert request.laptop.asset_tag in mail.outbox[1].body


def test_a_rolled_back_decision_mails_nobody(
    alice, bob, trainee, django_capture_on_commit_callbacks
):
    request = submit(trainee, bob)
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                services.request_reject(request=request, reason="Hors critères", by=alice)
                raise RuntimeError("something failed after the decision")
        except RuntimeError:
            pass
    assert mail.outbox == []
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED


def test_the_rejection_mail_gives_the_reason(
    alice, bob, trainee, django_capture_on_commit_callbacks
):
    request = submit(trainee, bob)
    with django_capture_on_commit_callbacks(execute=True):
        services.request_reject(request=request, reason="Formation hors dispositif", by=alice)
    assert "Formation hors dispositif" in mail.outbox[0].body


def test_when_the_requester_has_left_the_other_coordinators_are_told(
    alice, bob, trainee, agora, django_capture_on_commit_callbacks
):
    colleague = CoordinatorFactory(training_body=agora).user
    request = submit(trainee, bob)
    bob.is_active = False
    bob.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.request_waitlist(request=request, by=alice)
    assert mail.outbox[0].to == [colleague.email]


def test_a_mail_server_that_fails_does_not_undo_or_hide_the_decision(
    alice, bob, trainee, django_capture_on_commit_callbacks, settings, caplog
):
    settings.EMAIL_BACKEND = "tests.loans.failing_mail.Backend"
    request = submit(trainee, bob)
    with django_capture_on_commit_callbacks(execute=True):
        services.request_reject(request=request, reason="Hors critères", by=alice)
    request.refresh_from_db()
    assert request.status == Status.REJECTED
    assert "the mail server is down" in caplog.text


def test_plain_text_mails_keep_apostrophes_and_ampersands_as_typed(
    alice, bob, trainee, django_capture_on_commit_callbacks
):
    trainee.last_name = "N'Diaye & Fils"
    trainee.save()
    request = submit(trainee, bob)
    with django_capture_on_commit_callbacks(execute=True):
        services.request_reject(request=request, reason="Dossier « incomplet » & <daté>", by=alice)
    message = mail.outbox[0]
    assert "N'Diaye & Fils" in message.subject
    assert "N'Diaye & Fils" in message.body
    assert "Dossier « incomplet » & <daté>" in message.body
    # The HTML part stays escaped.
    assert "&lt;daté&gt;" in message.alternatives[0][0]
