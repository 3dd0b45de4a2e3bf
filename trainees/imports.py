"""A course's trainees imported from a spreadsheet, by its coordinator or by Défis staff.

The page explains the columns and offers a file to fill in (`?template=1`); the upload is
all or nothing (see trainees.resources): either every row becomes a trainee of the course,
or nothing is saved and the page lists every problem by its line in the file.
"""

import csv
import io

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from defis.importing import MAX_UPLOAD_BYTES, UnreadableFile, read_upload
from defis.permissions import staff_or_coordinator_required

from .models import Course
from .resources import MAX_ROWS, TraineeResource, trainees_import


class TraineeImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Your file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "CSV (UTF-8) or Excel workbook (.xlsx), %(size)s at most."
        ) % {"size": filesizeformat(MAX_UPLOAD_BYTES)}

    def clean_file(self):
        """The file read as a table, or a message saying why it cannot be."""
        try:
            return read_upload(self.cleaned_data["file"], max_rows=MAX_ROWS)
        except UnreadableFile as error:
            raise forms.ValidationError(str(error), code="unreadable") from error


@staff_or_coordinator_required
def trainee_import(request, pk):
    course = get_object_or_404(
        Course.objects.visible_to(request.user).select_related("training_body"), pk=pk
    )
    if request.GET.get("template"):
        return _template_file(course)
    if not course.is_current_or_coming(today=timezone.localdate()):
        messages.error(
            request,
            _("This course ended on %(date)s: trainees are enrolled on current or coming courses.")
            % {"date": date_format(course.end_date, "SHORT_DATE_FORMAT")},
        )
        return redirect(course)
    if request.method == "POST":
        form = TraineeImportForm(request.POST, request.FILES)
    else:
        form = TraineeImportForm()
    problems = []
    if form.is_bound and form.is_valid():
        outcome = trainees_import(course=course, dataset=form.cleaned_data["file"], by=request.user)
        if not outcome.problems:
            messages.success(
                request,
                ngettext(
                    "%(count)d trainee imported.", "%(count)d trainees imported.", outcome.imported
                )
                % {"count": outcome.imported},
            )
            return redirect(course)
        problems = outcome.problems
    context = {
        "course": course,
        "form": form,
        "problems": problems,
        "columns": TraineeResource.import_headers(),
        "required_columns": TraineeResource.required_headers(),
        "digital_levels": TraineeResource.digital_levels(),
        "max_rows": MAX_ROWS,
    }
    return render(request, "trainees/import.html", context)


def _template_file(course):
    """An empty list to fill in: the header line, ";" between cells for French Excel."""
    content = io.StringIO()
    csv.writer(content, delimiter=";", lineterminator="\r\n").writerow(
        TraineeResource.import_headers()
    )
    response = HttpResponse(
        # With a byte order mark, Excel reads the accents of a UTF-8 CSV right.
        content.getvalue().encode("utf-8-sig"),
        content_type="text/csv; charset=utf-8",
    )
    name = slugify(_("trainees %(course)s") % {"course": course.title}) or "trainees"
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response
