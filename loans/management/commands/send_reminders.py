"""Daily: `python manage.py send_reminders` (cron or a systemd timer, see docs/exploitation.md).
The logic is in loans.reminders."""

from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from loans.reminders import Kind, Report, send_reminders


class Command(BaseCommand):
    # Commands load once Django is set up; argparse needs a plain string.
    help = _(
        "Send the reminders due about loans ending or overdue, and the daily digest for "
        "the Défis team. Safe to run again, or on two servers: each reminder goes once."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--date",
            metavar="YYYY-MM-DD",
            help=_("The day to run for (default: today). Never in the future."),
        )

    def handle(self, *args, **options):
        with translation.override(settings.LANGUAGE_CODE):
            today = self._today(options["date"])
            report = send_reminders(today=today)
            self._print(report)
            if report.mail_failed:
                # A non-zero exit: cron or the systemd timer reports it.
                raise CommandError(_("The mail server refused some emails (see above)."))

    def _today(self, value: str | None) -> date:
        today = timezone.localdate()
        if not value:
            return today
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise CommandError(
                _("Invalid date “%(value)s”: expected YYYY-MM-DD, e.g. %(example)s.")
                % {"value": value, "example": today.isoformat()}
            ) from None
        if day > today:
            raise CommandError(
                _("%(date)s is in the future: reminders go on their day or late, never early.")
                % {"date": date_format(day, "SHORT_DATE_FORMAT")}
            )
        return day

    def _print(self, report: Report) -> None:
        self.stdout.write(
            _(
                "14-day reminders: %(ends_in_14)s, 3-day: %(ends_in_3)s, "
                "overdue: %(overdue)s, %(digest)s"
            )
            % {
                "ends_in_14": report.sent(Kind.ENDS_IN_14_DAYS),
                "ends_in_3": report.sent(Kind.ENDS_IN_3_DAYS),
                "overdue": report.sent(Kind.OVERDUE),
                "digest": self._digest_status(report),
            }
        )
        for loan in report.unreachable:
            self.stdout.write(
                _(
                    "%(number)s (%(name)s): %(body)s has no coordinator with an email address; "
                    "the reminder is marked as done and the staff digest shows it."
                )
                % {
                    "number": loan.number,
                    "name": loan.trainee.full_name,
                    "body": loan.course.training_body.name,
                }
            )
        failed = sum(report.failed.values())
        if failed:
            self.stderr.write(
                ngettext(
                    "The mail server refused %(count)d email: it goes on the next run.",
                    "The mail server refused %(count)d emails: they go on the next run.",
                    failed,
                )
                % {"count": failed}
            )
        if report.deferred:
            self.stderr.write(
                ngettext(
                    "%(count)d reminder left for the next run.",
                    "%(count)d reminders left for the next run.",
                    report.deferred,
                )
                % {"count": report.deferred}
            )
        if report.nothing_due:
            self.stdout.write(
                _("Nothing was due on %(date)s.")
                % {"date": date_format(report.today, "SHORT_DATE_FORMAT")}
            )

    def _digest_status(self, report: Report) -> str:
        if report.digest == "sent" and report.failed[Kind.STAFF_DIGEST]:
            return _("digest: refused by the mail server")
        return {
            "sent": _("digest: sent"),
            "already_sent": _("digest: already sent that day"),
            "nothing_due": _("digest: nothing to report, not sent"),
            "no_recipient": _("digest: nobody to send it to (no staff email address)"),
            "deferred": _("digest: left for the next run"),
        }[report.digest]
