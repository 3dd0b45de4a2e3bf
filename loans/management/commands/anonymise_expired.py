"""Monthly: `python manage.py anonymise_expired [--dry-run]` (see docs/exploitation.md).
Anonymises the trainees whose data has been kept long enough; the rules are in
loans.anonymisation."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from loans.anonymisation import Run, anonymise_expired, retention_cutoff


class Command(BaseCommand):
    help = _(
        "Anonymise the trainees whose last loan ended more than the retention period ago "
        "(DEFIS_RETENTION_MONTHS) and who owe nothing. Safe to run again, or on two servers."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=_("List the trainees who would be anonymised, and change nothing."),
        )

    def handle(self, *args, **options):
        with translation.override(settings.LANGUAGE_CODE):
            today = timezone.localdate()
            run = anonymise_expired(today=today, dry_run=options["dry_run"])
            self._print(run)

    def _print(self, run: Run) -> None:
        cutoff = date_format(retention_cutoff(today=run.today), "SHORT_DATE_FORMAT")
        if run.dry_run:
            self.stdout.write(_("Dry run: nothing is changed."))
            for trainee in run.candidates:
                self.stdout.write(self._describe(trainee))
            self.stdout.write(
                ngettext(
                    "%(count)d trainee would be anonymised (last loan and course ended before "
                    "%(date)s, nothing owed).",
                    "%(count)d trainees would be anonymised (last loan and course ended before "
                    "%(date)s, nothing owed).",
                    len(run.candidates),
                )
                % {"count": len(run.candidates), "date": cutoff}
            )
            return
        # Only numbers and codes: the command's output lands in logs, names do not.
        for done in run.anonymised:
            self.stdout.write(
                _("Trainee no. %(pk)s anonymised: %(code)s")
                % {"pk": done.trainee_id, "code": done.pseudonym}
            )
        self.stdout.write(
            ngettext(
                "%(count)d trainee anonymised, %(files)d stored file deleted.",
                "%(count)d trainees anonymised, %(files)d stored files deleted.",
                len(run.anonymised),
            )
            % {"count": len(run.anonymised), "files": run.files_deleted}
        )
        if run.skipped:
            self.stdout.write(
                ngettext(
                    "%(count)d trainee left as is: changed since the list was drawn up, or "
                    "done by another run.",
                    "%(count)d trainees left as they are: changed since the list was drawn up, "
                    "or done by another run.",
                    len(run.skipped),
                )
                % {"count": len(run.skipped)}
            )

    def _describe(self, trainee) -> str:
        course = trainee.course
        if trainee.last_loan_closed_at is None:
            when = _("no loan, course ended on %(date)s") % {
                "date": date_format(course.end_date, "SHORT_DATE_FORMAT")
            }
        else:
            when = _("last loan closed on %(date)s, course ended on %(end)s") % {
                "date": date_format(
                    timezone.localdate(trainee.last_loan_closed_at), "SHORT_DATE_FORMAT"
                ),
                "end": date_format(course.end_date, "SHORT_DATE_FORMAT"),
            }
        return _("Trainee no. %(pk)s, %(name)s · %(course)s (%(body)s) · %(when)s") % {
            "pk": trainee.pk,
            "name": trainee.full_name,
            "course": course.title,
            "body": course.training_body.short_name,
            "when": when,
        }
