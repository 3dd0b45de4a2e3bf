"""Loans, agreement versions and reminders in the admin; the requests' "Prepare loans"
action. Loans are read, their notes edited, their agreements printed and prepared ones
cancelled, always through loans.lending; never added or deleted."""

import io
from datetime import timedelta

import pytest
import time_machine
from django.contrib import admin, messages
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from inventory.models import Laptop
from loans import agreements
from loans.models import AgreementTemplate, Loan, LoanEvent, LoanRequest, ReminderLog
from tests.factories import CourseFactory, TraineeFactory, make_loan, make_request

pytestmark = pytest.mark.django_db

Status = Loan.Status
CHANGELIST = reverse("admin:loans_loan_changelist")
REQUESTS = reverse("admin:loans_loanrequest_changelist")
VERSIONS = reverse("admin:loans_agreementtemplate_changelist")


def change_url(loan):
    return reverse("admin:loans_loan_change", args=[loan.pk])


def version_url(template):
    return reverse("admin:loans_agreementtemplate_change", args=[template.pk])


def act(client, url, action, objects, **data):
    return client.post(url, {"action": action, "_selected_action": [o.pk for o in objects], **data})


def sent(response):
    return [(m.level, str(m)) for m in get_messages(response.wsgi_request)]


def pdf_text(pdf: bytes) -> str:
    # pypdf breaks lines where the PDF does: compare with single spaces.
    return " ".join(
        " ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages
    )


def trainee(agora, **fields):
    return TraineeFactory(course=CourseFactory(training_body=agora), **fields)


def overdue_loan(alice, agora, **fields):
    """Handed over 200 days ago for a course that ended 80 days ago."""
    with time_machine.travel(timezone.now() - timedelta(days=200)):
        return make_loan(trainee(agora, **fields), by=alice, status=Status.ACTIVE)


def _inline_management_data(response):
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[f"{inline.formset.prefix}-{name}"] = management.initial.get(name, "")
    return data


# --- Loan pages -----------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["alice", "root"])
def test_it_shows_the_loan_list_and_page_to_staff_and_superusers(
    client, request, alice, agora, username
):
    loan = make_loan(
        trainee(agora, first_name="Jade", last_name="Kerbrat"),
        by=alice,
        status=Status.ACTIVE,
        laptop=None,
    )
    make_loan(trainee(agora, last_name="Morvan"), by=alice)
    client.force_login(request.getfixturevalue(username))
    assert client.get(CHANGELIST).status_code == 200
    page = client.get(change_url(loan))
    assert page.status_code == 200
    assert reverse("loans:loan_agreement", args=[loan.pk]) in page.content.decode()
    for term in ("kerbrat", "Jade Kerbrat", loan.number, loan.laptop.asset_tag):
        found = client.get(CHANGELIST, {"q": term}).context["cl"].result_list
        assert list(found) == [loan], term
    Laptop.objects.filter(pk=loan.laptop_id).update(serial_number="PF1ZX81Q")
    found = client.get(CHANGELIST, {"q": "pf1zx81q"}).context["cl"].result_list
    assert list(found) == [loan]


def test_it_keeps_coordinators_out(client, alice, bob, agora):
    loan = make_loan(trainee(agora), by=alice)
    client.force_login(bob)
    response = client.get(change_url(loan))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_loans_are_never_added_or_deleted_in_the_admin(client, root, alice, agora):
    loan = make_loan(trainee(agora), by=alice)
    client.force_login(root)
    assert client.get(reverse("admin:loans_loan_add")).status_code == 403
    delete = reverse("admin:loans_loan_delete", args=[loan.pk])
    assert client.get(delete).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    actions = dict(client.get(CHANGELIST).context["action_form"].fields["action"].choices)
    assert "delete_selected" not in actions
    assert {"print_agreements", "cancel_prepared"} <= set(actions)
    assert Loan.objects.filter(pk=loan.pk).exists()


def test_the_loan_page_edits_the_notes_and_nothing_else(client, alice, agora):
    loan = make_loan(trainee(agora), by=alice, status=Status.ACTIVE)
    before = Loan.objects.get(pk=loan.pk)
    client.force_login(alice)
    response = client.get(change_url(loan))
    assert set(response.context["adminform"].form.fields) == {"notes"}
    (events,) = response.context["inline_admin_formsets"]
    assert not (events.has_add_permission or events.has_change_permission)
    assert not events.has_delete_permission
    assert [form.instance.kind for form in events.formset.forms] == ["prepared", "handed_over"]

    data = {
        "notes": "Rappeler la mission locale en mars.",
        # Sent by hand: the form has no such fields and ignores them.
        "status": Status.CLOSED,
        "outcome": Loan.Outcome.LOST,
        "planned_end_date": "2020-01-01",
        "monthly_fee": "0",
        "_save": "Enregistrer",
        **_inline_management_data(response),
    }
    response = client.post(change_url(loan), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    loan.refresh_from_db()
    assert loan.notes == "Rappeler la mission locale en mars."
    assert (loan.status, loan.outcome, loan.planned_end_date, loan.monthly_fee) == (
        before.status,
        before.outcome,
        before.planned_end_date,
        before.monthly_fee,
    )
    assert loan.events.count() == 2
    assert Laptop.objects.get(pk=loan.laptop_id).status == Laptop.Status.ON_LOAN


def test_it_filters_overdue_loans_and_loans_ending_within_14_days(client, alice, agora):
    today = timezone.localdate()
    overdue = overdue_loan(alice, agora)
    ending = make_loan(
        trainee(agora), by=alice, status=Status.ACTIVE, planned_end_date=today + timedelta(days=14)
    )
    later = make_loan(
        trainee(agora), by=alice, status=Status.ACTIVE, planned_end_date=today + timedelta(days=15)
    )
    # Prepared, or closed: nothing to chase.
    make_loan(trainee(agora), by=alice, planned_end_date=today + timedelta(days=3))
    client.force_login(alice)

    def shown(**query):
        return set(client.get(CHANGELIST, query).context["cl"].result_list)

    assert shown(planned_end="overdue") == {overdue}
    assert shown(planned_end="ending_soon") == {ending}
    assert later in shown() and len(shown()) == 4


def test_it_filters_by_status_training_body_and_territory(client, alice, agora, askoria):
    ours = make_loan(trainee(agora), by=alice, status=Status.ACTIVE)
    theirs = make_loan(TraineeFactory(course=CourseFactory(training_body=askoria)), by=alice)
    client.force_login(alice)

    def shown(**query):
        return list(client.get(CHANGELIST, query).context["cl"].result_list)

    assert shown(status="active") == [ours]
    assert shown(course__training_body__id__exact=askoria.pk) == [theirs]
    assert set(shown(course__training_body__territory__id__exact=agora.territory_id)) == {
        ours,
        theirs,
    }


def _changelist_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    return len(queries), len(response.context["cl"].result_list)


def test_the_loan_list_needs_as_many_queries_for_30_loans_as_for_3(client, alice, agora):
    # Either way: session, user, savepoint and its release (ATOMIC_REQUESTS), the user's and
    # the group's permissions, the training bodies and territories for the filters, two
    # counts, the loans with trainee, course, body and laptop, the date hierarchy's.
    for status in (Status.PREPARED, Status.ACTIVE, Status.CLOSED):
        make_loan(trainee(agora), by=alice, status=status)
    client.force_login(alice)
    client.get(CHANGELIST)  # the session and the content types, cached once
    few, shown = _changelist_queries(client)
    assert shown == 3

    for i in range(27):
        make_loan(by=alice, status=[Status.PREPARED, Status.ACTIVE, Status.CANCELLED][i % 3])
    many, shown = _changelist_queries(client)
    assert shown == 30
    assert many == few, f"{few} queries for 3 loans, {many} for 30"


# --- Bulk actions on loans ------------------------------------------------------------------


def test_print_agreements_makes_one_pdf_of_the_prepared_loans(client, alice, agora):
    first = make_loan(trainee(agora, first_name="Léa", last_name="Le Gall"), by=alice)
    second = make_loan(trainee(agora, first_name="Noah", last_name="Guillou"), by=alice)
    client.force_login(alice)
    response = act(client, CHANGELIST, "print_agreements", [first, second])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Léa Le Gall" in text and "Noah Guillou" in text
    assert sent(response) == []


def test_print_agreements_leaves_out_the_loans_already_handed_over(client, alice, agora):
    prepared = make_loan(trainee(agora, last_name="Morvan"), by=alice)
    active = make_loan(trainee(agora, last_name="Tanguy"), by=alice, status=Status.ACTIVE)
    client.force_login(alice)
    response = act(client, CHANGELIST, "print_agreements", [prepared, active])
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Morvan" in text and "Tanguy" not in text
    ((level, message),) = sent(response)
    assert level == messages.WARNING
    assert message.startswith(f"1 prêt non imprimé : {active.number}.")

    response = act(client, CHANGELIST, "print_agreements", [active])
    assert response.status_code == 302
    assert (messages.ERROR, "Aucun prêt préparé sélectionné : rien à imprimer.") in sent(response)


def test_cancel_prepared_asks_for_a_reason_then_cancels_each_through_the_service(
    client, alice, agora
):
    prepared = make_loan(trainee(agora), by=alice)
    active = make_loan(trainee(agora), by=alice, status=Status.ACTIVE)
    laptop = prepared.laptop
    client.force_login(alice)

    page = act(client, CHANGELIST, "cancel_prepared", [prepared, active])
    assert page.status_code == 200
    assert page.context["form"].fields["reason"].required
    assert prepared.number in page.content.decode() and active.number in page.content.decode()

    page = act(client, CHANGELIST, "cancel_prepared", [prepared, active], apply="1", reason=" ")
    assert page.status_code == 200
    assert page.context["form"].errors["reason"] == ["Ce champ est obligatoire."]
    assert Loan.objects.get(pk=prepared.pk).status == Status.PREPARED

    response = act(
        client,
        CHANGELIST,
        "cancel_prepared",
        [prepared, active],
        apply="1",
        reason="Le stagiaire a quitté la formation avant la remise.",
    )
    assert response.status_code == 302
    reports = sent(response)
    assert (messages.SUCCESS, f"1 prêt annulé : {prepared.number}.") in reports
    (refusal,) = [text for level, text in reports if level == messages.ERROR]
    assert refusal.startswith(f"{active.number} : non annulé. Le prêt {active.number} est")
    assert Loan.objects.get(pk=prepared.pk).status == Status.CANCELLED
    assert Loan.objects.get(pk=active.pk).status == Status.ACTIVE
    laptop.refresh_from_db()
    assert laptop.status == Laptop.Status.READY
    event = LoanEvent.objects.get(loan=prepared, kind="cancelled")
    assert (event.by, event.note) == (alice, "Le stagiaire a quitté la formation avant la remise.")


# --- "Prepare loans" on requests ------------------------------------------------------------


def test_prepare_loans_prepares_each_approved_request_and_reports_the_others(
    client, alice, bob, agora
):
    approved = make_request(trainee(agora), by=bob, status=LoanRequest.Status.APPROVED)
    submitted = make_request(trainee(agora), by=bob)
    client.force_login(alice)

    page = act(client, REQUESTS, "prepare_loans", [approved, submitted])
    assert page.status_code == 200
    assert page.context["form"]["start_date"].value() == timezone.localdate()
    assert not Loan.objects.exists()

    day = timezone.localdate() + timedelta(days=5)
    response = act(
        client,
        REQUESTS,
        "prepare_loans",
        [approved, submitted],
        apply="1",
        start_date=day.isoformat(),
    )
    assert response.status_code == 302
    loan = Loan.objects.get()
    assert (loan.request, loan.start_date, loan.planned_end_date, loan.prepared_by) == (
        approved,
        day,
        approved.trainee.course.end_date,
        alice,
    )
    reports = sent(response)
    assert (messages.SUCCESS, f"1 prêt préparé : {loan.number}.") in reports
    (refusal,) = [text for level, text in reports if level == messages.ERROR]
    assert refusal.startswith(f"{submitted.number} ({submitted.trainee.full_name}) : aucun prêt")
    assert LoanRequest.objects.get(pk=approved.pk).status == LoanRequest.Status.FULFILLED
    assert LoanRequest.objects.get(pk=submitted.pk).status == LoanRequest.Status.SUBMITTED


def test_prepare_loans_refuses_a_handover_day_in_the_past(client, alice, bob, agora):
    approved = make_request(trainee(agora), by=bob, status=LoanRequest.Status.APPROVED)
    client.force_login(alice)
    yesterday = timezone.localdate() - timedelta(days=1)
    response = act(
        client, REQUESTS, "prepare_loans", [approved], apply="1", start_date=yesterday.isoformat()
    )
    ((level, message),) = sent(response)
    assert level == messages.ERROR
    assert "ne peut pas être dans le passé" in message
    assert not Loan.objects.exists()
    assert LoanRequest.objects.get(pk=approved.pk).status == LoanRequest.Status.APPROVED


def test_the_request_page_links_to_its_loan(client, alice, agora):
    loan = make_loan(trainee(agora), by=alice)
    client.force_login(alice)
    page = client.get(reverse("admin:loans_loanrequest_change", args=[loan.request_id]))
    assert change_url(loan) in page.content.decode()


# --- Agreement versions ---------------------------------------------------------------------

EDITED = "Le présent texte est celui de la deuxième version de la convention."


def _edit(client, template, **changes):
    data = {
        name: getattr(template, name)
        for name in ("title", "preamble", "obligations", "data_protection", "closing")
    }
    return client.post(version_url(template), {**data, **changes, "_save": "Enregistrer"})


def test_editing_version_1_adds_version_2_and_keeps_version_1(client, alice):
    first = AgreementTemplate.objects.get(version=1)
    original = {
        name: getattr(first, name) for name in ("title", "preamble", "created_at", "created_by")
    }
    client.force_login(alice)
    page = client.get(version_url(first))
    assert page.status_code == 200
    assert page.context["adminform"].form["preamble"].value() == first.preamble
    assert "ajoute la version 2" in page.content.decode()

    response = _edit(client, first, preamble=EDITED)

    second = AgreementTemplate.objects.get(version=2)
    assert response.status_code == 302
    assert response["Location"] == version_url(second)
    assert (second.preamble, second.title, second.created_by) == (EDITED, first.title, alice)
    assert second.created_at > first.created_at
    assert AgreementTemplate.objects.current() == second
    first.refresh_from_db()
    assert {name: getattr(first, name) for name in original} == original
    assert sent(response) == [
        (
            messages.SUCCESS,
            "La version 2 de la convention est enregistrée : les prêts préparés à partir "
            "de maintenant l’utilisent. La version 1 est conservée, inchangée.",
        )
    ]


def test_saving_the_current_text_unchanged_adds_no_version(client, alice):
    first = AgreementTemplate.objects.get(version=1)
    client.force_login(alice)
    response = _edit(client, first)
    assert response.status_code == 302
    assert response["Location"] == version_url(first)
    assert AgreementTemplate.objects.count() == 1
    assert sent(response) == [
        (
            messages.INFO,
            "Rien n’a été modifié : le texte est celui de la version 1, qui reste la version "
            "en vigueur.",
        )
    ]


def test_saving_an_older_version_brings_its_text_back_as_a_new_version(client, alice):
    first = AgreementTemplate.objects.get(version=1)
    client.force_login(alice)
    _edit(client, first, preamble=EDITED)
    response = _edit(client, first)  # version 1's text, as it was
    third = AgreementTemplate.objects.current()
    assert response["Location"] == version_url(third)
    assert (third.version, third.preamble) == (3, first.preamble)


def test_a_signed_or_prepared_agreement_keeps_its_version_and_new_loans_get_the_new(
    client, alice, agora
):
    signed = make_loan(trainee(agora), by=alice, status=Status.ACTIVE)
    prepared = make_loan(trainee(agora), by=alice)
    signed_pdf = agreements.agreement_pdf(signed)
    assert EDITED not in pdf_text(agreements.agreement_pdf(prepared))
    client.force_login(alice)

    _edit(client, AgreementTemplate.objects.get(version=1), preamble=EDITED)

    signed.refresh_from_db()
    assert signed.agreement_template.version == 1
    assert agreements.agreement_pdf(signed) == signed_pdf
    # Printed before the edit, signed as printed.
    prepared.refresh_from_db()
    assert EDITED not in pdf_text(agreements.agreement_pdf(prepared))
    later = make_loan(trainee(agora), by=alice)
    assert EDITED in pdf_text(agreements.agreement_pdf(later))
    assert EDITED in pdf_text(agreements.combined_agreements([later]))


def test_the_version_list_counts_the_loans_signed_with_each(client, alice, agora):
    make_loan(trainee(agora), by=alice, status=Status.ACTIVE)
    make_loan(trainee(agora), by=alice, status=Status.CLOSED)
    make_loan(trainee(agora), by=alice)  # not signed yet
    client.force_login(alice)
    (row,) = client.get(VERSIONS).context["cl"].result_list
    assert (row.version, row._loan_count) == (1, 2)


def test_agreement_versions_are_never_deleted(client, root):
    first = AgreementTemplate.objects.get(version=1)
    client.force_login(root)
    delete = reverse("admin:loans_agreementtemplate_delete", args=[first.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    # Not even a bulk deletion: no action at all.
    assert client.get(VERSIONS).context["action_form"] is None
    assert AgreementTemplate.objects.filter(pk=first.pk).exists()


def test_a_new_version_from_scratch_takes_the_next_number(client, root):
    client.force_login(root)
    response = client.post(
        reverse("admin:loans_agreementtemplate_add"),
        {
            "title": "Convention de prêt",
            "preamble": "Préambule.",
            "obligations": "Prendre soin de l’ordinateur.",
            "data_protection": "Données.",
            "closing": "",
            "_save": "Enregistrer",
        },
    )
    assert response.status_code == 302
    assert AgreementTemplate.objects.current().version == 2


# --- Reminders and events -------------------------------------------------------------------


def test_reminders_are_read_only_and_events_have_no_admin_of_their_own(client, root, alice, agora):
    loan = make_loan(trainee(agora), by=alice, status=Status.ACTIVE)
    reminder = ReminderLog.objects.create(
        kind=ReminderLog.Kind.OVERDUE,
        key=f"overdue:{loan.pk}",
        loan=loan,
        recipients="claire@example.org",
        sent_at=timezone.now(),
    )
    client.force_login(root)
    assert client.get(reverse("admin:loans_reminderlog_changelist")).status_code == 200
    change = reverse("admin:loans_reminderlog_change", args=[reminder.pk])
    page = client.get(change)
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert client.post(change, {"key": "x"}).status_code == 403
    assert client.get(reverse("admin:loans_reminderlog_add")).status_code == 403
    delete = reverse("admin:loans_reminderlog_delete", args=[reminder.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    reminder.refresh_from_db()
    assert reminder.key == f"overdue:{loan.pk}"
    assert LoanEvent not in admin.site._registry
