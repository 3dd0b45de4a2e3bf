"""The daily commands run by cron on two application servers at the same moment: two processes
of their own, each with its own connection, started together on one PostgreSQL database. Each
month is charged once and each reminder sent once (CI runs these on PostgreSQL)."""

import email
import email.policy
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from loans.models import FeeEntry, Loan, ReminderLog
from tests.factories import (
    CoordinatorFactory,
    CourseFactory,
    StaffFactory,
    TraineeFactory,
    make_loan,
)

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="two processes on one database need PostgreSQL (CI runs it)",
    ),
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
SERVERS = 2

# One server's cron job: set up, say so, wait for the go, run the command.
CRON_JOB = """
import sys, django
django.setup()
from django.core.management import call_command
print("ready", flush=True)
sys.stdin.readline()
call_command(*sys.argv[1:])
"""


def database_url() -> str:
    """The test database, committed data and all, as another process reaches it."""
    settings = connection.settings_dict
    return (
        f"postgres://{quote(settings['USER'])}:{quote(settings['PASSWORD'])}"
        f"@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    )


def run_on_every_server(*command: str, mail_folder: Path) -> list[subprocess.CompletedProcess]:
    """The command in SERVERS processes with production settings, released at the same time
    once all of them have started."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "EMAIL_"))
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="defis.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="k8Gq2v9xP4mZ7tR1wY6uE3sN5bH0jL8cA2fD9gK4hQ7pV1xZ3nM6",
        DATABASE_URL=database_url(),
        # Each process writes the emails it sends into files of this folder.
        EMAIL_URL=f"file:///{mail_folder}",
    )
    servers = [
        subprocess.Popen(
            [sys.executable, "-c", CRON_JOB, *command],
            cwd=ROOT,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(SERVERS)
    ]
    for server in servers:
        assert server.stdout.readline().strip() == "ready", server.stderr.read()
    for server in servers:
        server.stdin.write("go\n")
        server.stdin.flush()
    results = []
    for server in servers:
        stdout, stderr = server.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(server.args, server.returncode, stdout, stderr))
    return results


def sent_subjects(mail_folder: Path) -> list[str]:
    """The subjects of the emails Django's file backend wrote (a line of dashes after each)."""
    return [
        email.message_from_string(message, policy=email.policy.default)["Subject"]
        for path in sorted(mail_folder.glob("*.log"))
        for message in path.read_text(encoding="utf-8").split("-" * 79 + "\n")
        if message.strip()
    ]


def test_two_servers_billing_at_once_charge_each_month_once(tmp_path):
    staff = StaffFactory()
    today = timezone.localdate()
    # Handed over 100 days ago: month 1 was charged then, months 2 to 4 have begun since.
    with time_machine.travel(today - timedelta(days=100)):
        course = CourseFactory(
            start_date=timezone.localdate(), end_date=timezone.localdate() + timedelta(days=150)
        )
        loans = [
            make_loan(TraineeFactory(course=course), by=staff, status=Loan.Status.ACTIVE)
            for _ in range(5)
        ]

    results = run_on_every_server("bill_fees", mail_folder=tmp_path)

    assert [result.returncode for result in results] == [0] * SERVERS, results
    rows = list(FeeEntry.objects.filter(kind=FeeEntry.Kind.CHARGE).values_list("loan", "period"))
    assert len(rows) == len(set(rows)) == 5 * 4
    assert {loan_id for loan_id, _period in rows} == {loan.pk for loan in loans}


def test_two_servers_sending_reminders_at_once_send_each_one_once(tmp_path):
    staff = StaffFactory()
    coordinator = CoordinatorFactory()
    today = timezone.localdate()
    # Handed over 8 days ago: 3 days overdue, then 2, 4 and 12 days left.
    with time_machine.travel(today - timedelta(days=8)):
        start = timezone.localdate()
        course = CourseFactory(training_body=coordinator.training_body)
        loans = [
            make_loan(
                TraineeFactory(course=course),
                by=staff,
                status=Loan.Status.ACTIVE,
                planned_end_date=start + timedelta(days=in_days),
            )
            for in_days in (5, 10, 12, 20)
        ]

    results = run_on_every_server("send_reminders", mail_folder=tmp_path)

    assert [result.returncode for result in results] == [0] * SERVERS, results
    # One reminder per loan, and the team's digest: each recorded once.
    assert ReminderLog.objects.count() == len(loans) + 1
    subjects = sent_subjects(tmp_path)
    # The overdue reminder goes to the coordinators and to the team; the others to the
    # coordinators; the digest to the team.
    assert len(subjects) == len(loans) + 2
    assert len(set(subjects)) == len(subjects)
