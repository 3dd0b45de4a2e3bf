"""Daily: `python manage.py bill_fees [--until YYYY-MM-DD]` (cron or a systemd timer, see
docs/exploitation.md). Charges every month begun of every loan; the logic is in loans.ledger."""

from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from loans import ledger


class Command(BaseCommand):
    help = _(
        "Charge the trainees’ participation for every month begun and not charged yet. "
        "Safe to run again, or on two servers at once: each month is charged once."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--until",
            metavar="YYYY-MM-DD",
            help=_("Charge the months begun up to this day (default: today). Never in the future."),
        )

    def handle(self, *args, **options):
        with translation.override(settings.LANGUAGE_CODE):
            until = self._until(options["until"])
            written = ledger.bill_fees(until=until)
            self.stdout.write(
                ngettext(
                    "%(count)s month charged, up to %(date)s.",
                    "%(count)s months charged, up to %(date)s.",
                    written,
                )
                % {"count": written, "date": date_format(until, "SHORT_DATE_FORMAT")}
            )

    def _until(self, value: str | None) -> date:
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
                _("%(date)s is in the future: a month is charged once it has begun.")
                % {"date": date_format(day, "SHORT_DATE_FORMAT")}
            )
        return day
