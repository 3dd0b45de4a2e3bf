"""Workshops: the support sessions on using the laptop, run by the Défis team.

Staff pages only for now: coordinators get 403 (anonymous visitors are sent to log in by the
middleware). Records are still fetched through `visible_to(request.user)`, so that opening a
page to coordinators later narrows it to their training body without another change.
"""

import csv
from datetime import date

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, F, FloatField, Q, Sum
from django.db.models.functions import Cast, Coalesce
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import CreateView, UpdateView
from django_filters.views import FilterView

from defis.forms import is_id
from defis.importing import spreadsheet_text
from defis.permissions import StaffRequiredMixin, staff_required
from trainees.models import Attendance, Course, Trainee, Workshop
from trainees.services import attendance_replace
from trainees.workshop_forms import AttendanceForm, WorkshopFilter, WorkshopForm

PAGE_SIZE = 50


def _query_without(request, *names) -> str:
    """The current query string without `names`, to build pagination and export links."""
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _posted(request):
    """The data of a POST, even empty (an attendance with every box unticked sends none)."""
    return request.POST if request.method == "POST" else None


# --- Reads --------------------------------------------------------------------------------


def _workshops(user):
    return Workshop.objects.visible_to(user).select_related("course__training_body")


def courses_running_on(day: date, user):
    return Course.objects.visible_to(user).filter(start_date__lte=day, end_date__gte=day)


def attendance_candidates(workshop: Workshop, user):
    """The trainees who may be ticked for `workshop`: those of the courses running on its
    date, those of its own course, and those already on its list (a list recorded before
    the date was changed stays editable)."""
    return (
        Trainee.objects.visible_to(user)
        .filter(
            Q(course__in=courses_running_on(workshop.date, user))
            | Q(course_id=workshop.course_id)
            | Q(pk__in=workshop.attendances.values("trainee_id"))
        )
        .select_related("course__training_body")
        .order_by("course__title", "course_id", "last_name", "first_name", "pk")
    )


def _present(prefix="") -> Q:
    return Q(**{f"{prefix}present": True})


def _attendance_filters(filters: dict, prefix: str) -> Q:
    """The conditions on attendances, seen from `prefix` ("" for Attendance itself,
    "attendances__" from Trainee, "trainees__attendances__" from Course)."""
    condition = Q()
    if filters.get("date_from"):
        condition &= Q(**{f"{prefix}workshop__date__gte": filters["date_from"]})
    if filters.get("date_to"):
        condition &= Q(**{f"{prefix}workshop__date__lte": filters["date_to"]})
    return condition


def _hours(minutes_expression):
    return Cast(Coalesce(minutes_expression, 0), FloatField()) / 60.0


def hours_by_course(filters: dict, user):
    """Courses whose trainees were expected at a workshop, with the number of those
    workshops, the trainees who came to at least one, and the trainee-hours attended."""
    courses = Course.objects.visible_to(user).select_related("training_body")
    if filters.get("training_body"):
        courses = courses.filter(training_body=filters["training_body"])
    if filters.get("course"):
        courses = courses.filter(pk=filters["course"].pk)
    within = _attendance_filters(filters, "trainees__attendances__")
    came = within & _present("trainees__attendances__")
    return (
        courses.annotate(
            workshop_count=Count(
                "trainees__attendances__workshop",
                distinct=True,
                filter=within,
            ),
            attendee_count=Count("trainees", distinct=True, filter=came),
            minutes=Coalesce(
                Sum("trainees__attendances__workshop__duration_minutes", filter=came), 0
            ),
        )
        .filter(workshop_count__gt=0)
        .annotate(hours=_hours(F("minutes")))
    )


def hours_by_trainee(filters: dict, user):
    """Trainees expected at least once, with the workshops they were expected at, those
    they came to and the hours attended."""
    trainees = Trainee.objects.visible_to(user).select_related("course__training_body")
    if filters.get("training_body"):
        trainees = trainees.filter(course__training_body=filters["training_body"])
    if filters.get("course"):
        trainees = trainees.filter(course=filters["course"])
    within = _attendance_filters(filters, "attendances__")
    came = within & _present("attendances__")
    return (
        trainees.annotate(
            expected_count=Count("attendances", filter=within),
            attended_count=Count("attendances", filter=came),
            minutes=Coalesce(Sum("attendances__workshop__duration_minutes", filter=came), 0),
        )
        .filter(expected_count__gt=0)
        .annotate(hours=_hours(F("minutes")))
        .order_by("last_name", "first_name", "pk")
    )


def hours_totals(filters: dict, user) -> dict:
    attendances = Attendance.objects.visible_to(user).filter(_attendance_filters(filters, ""))
    if filters.get("training_body"):
        attendances = attendances.filter(trainee__course__training_body=filters["training_body"])
    if filters.get("course"):
        attendances = attendances.filter(trainee__course=filters["course"])
    return attendances.aggregate(
        workshop_count=Count("workshop", distinct=True),
        attendee_count=Count("trainee", distinct=True, filter=_present()),
        hours=_hours(Sum("workshop__duration_minutes", filter=_present())),
    )


# --- Pages --------------------------------------------------------------------------------


class WorkshopListView(StaffRequiredMixin, FilterView):
    filterset_class = WorkshopFilter
    template_name = "trainees/workshop_list.html"
    context_object_name = "workshops"
    paginate_by = PAGE_SIZE

    def get_queryset(self):
        return (
            _workshops(self.request.user)
            .annotate(
                expected_count=Count("attendances"),
                present_count=Count("attendances", filter=Q(attendances__present=True)),
            )
            .order_by("-date", F("start_time").desc(nulls_last=True), "-pk")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["page_query"] = _query_without(self.request, "page")
        return context


workshop_list = WorkshopListView.as_view()


@staff_required
def workshop_detail(request, pk):
    workshop = get_object_or_404(_workshops(request.user), pk=pk)
    attendances = workshop.attendances.select_related("trainee__course__training_body").order_by(
        "trainee__last_name", "trainee__first_name", "trainee_id"
    )
    return render(
        request,
        "trainees/workshop_detail.html",
        {
            "workshop": workshop,
            "attendances": attendances,
            "present_count": sum(attendance.present for attendance in attendances),
        },
    )


class WorkshopCreateView(StaffRequiredMixin, CreateView):
    model = Workshop
    form_class = WorkshopForm
    template_name = "trainees/workshop_form.html"

    def get_initial(self):
        initial = {"date": timezone.localdate(), "facilitator": self.request.user.get_full_name()}
        if is_id(self.request.GET.get("course", "")):
            initial["course"] = self.request.GET["course"]
        return initial

    def form_valid(self, form):
        messages.success(self.request, _("The workshop is saved. Now record who is expected."))
        return super().form_valid(form)

    def get_success_url(self):
        return reverse("trainees:workshop_attendance", args=[self.object.pk])


class WorkshopUpdateView(StaffRequiredMixin, UpdateView):
    form_class = WorkshopForm
    template_name = "trainees/workshop_form.html"

    def get_queryset(self):
        return _workshops(self.request.user)

    def form_valid(self, form):
        messages.success(self.request, _("The workshop’s changes are saved."))
        return super().form_valid(form)


workshop_new = WorkshopCreateView.as_view()
workshop_edit = WorkshopUpdateView.as_view()


ALL_COURSES = "all"


@staff_required
def workshop_attendance(request, pk):
    """One page for the list of trainees expected and the ticks of those who came.

    The page shows the trainees of the workshop's course by default (of every course
    running on its date when it has none); `?course=` widens or moves the list. Whoever is
    already on the list is always shown, so that saving a narrowed page never drops them.
    """
    workshop = get_object_or_404(_workshops(request.user), pk=pk)
    candidates = attendance_candidates(workshop, request.user)
    running = list(courses_running_on(workshop.date, request.user).select_related("training_body"))
    if workshop.course and workshop.course not in running:
        running.insert(0, workshop.course)

    shown_course = request.GET.get("course") or (workshop.course_id or ALL_COURSES)
    if str(shown_course) not in {str(course.pk) for course in running}:
        shown_course = ALL_COURSES
    shown = candidates
    if shown_course != ALL_COURSES:
        shown = candidates.filter(
            Q(course_id=shown_course) | Q(pk__in=workshop.attendances.values("trainee_id"))
        )

    existing = list(workshop.attendances.values_list("trainee_id", "present"))
    form = AttendanceForm(
        _posted(request),
        candidates=candidates,
        initial={
            "trainees": [trainee_id for trainee_id, _present in existing],
            "present": [trainee_id for trainee_id, present in existing if present],
        },
    )
    if request.method == "POST" and form.is_valid():
        attendance_replace(
            workshop=workshop,
            expected=form.cleaned_data["trainees"],
            present=form.cleaned_data["present"],
        )
        messages.success(
            request,
            _("Attendance saved (present: %(present)d, expected: %(expected)d).")
            % {
                "present": len(form.cleaned_data["present"]),
                "expected": len(form.cleaned_data["trainees"]),
            },
        )
        return redirect(workshop)

    expected_ids, present_ids = form.ticked("trainees"), form.ticked("present")
    rows = [
        {
            "trainee": trainee,
            "expected": str(trainee.pk) in expected_ids,
            "present": str(trainee.pk) in present_ids,
        }
        for trainee in shown
    ]
    return render(
        request,
        "trainees/workshop_attendance.html",
        {
            "workshop": workshop,
            "form": form,
            "rows": rows,
            "courses": running,
            "shown_course": str(shown_course),
            "all_courses": ALL_COURSES,
        },
    )


@staff_required
def workshop_hours(request):
    """Hours of support: per course, and per trainee (paginated, or all of them as CSV)."""
    filter_form = WorkshopFilter(request.GET or None, queryset=Workshop.objects.none()).form
    valid = not filter_form.is_bound or filter_form.is_valid()
    filters = filter_form.cleaned_data if filter_form.is_bound and valid else {}
    trainees = hours_by_trainee(filters, request.user)
    if not valid:
        # As on the list: a filter that cannot be read shows its error and no rows.
        trainees = trainees.none()
    if request.GET.get("format") == "csv":
        return _hours_csv(trainees)

    if valid:
        courses = hours_by_course(filters, request.user)
        totals = hours_totals(filters, request.user)
    else:
        courses = Course.objects.none()
        totals = {"workshop_count": 0, "attendee_count": 0, "hours": 0}
    page = Paginator(trainees, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "trainees/workshop_hours.html",
        {
            "filter_form": filter_form,
            "courses": courses,
            "page_obj": page,
            "trainees": page.object_list,
            "totals": totals,
            "page_query": _query_without(request, "page", "format"),
        },
    )


def _csv_cell(value) -> str:
    return spreadsheet_text(str(value))


def _hours_csv(trainees) -> HttpResponse:
    filename = _("workshop-hours-%(date)s.csv") % {"date": timezone.localdate().isoformat()}
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # The byte-order mark tells Excel the file is UTF-8, so accents survive.
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";")
    writer.writerow(
        [
            _("Last name"),
            _("First name"),
            _("Course"),
            _("Training body"),
            _("Workshops expected"),
            _("Workshops attended"),
            _("Hours attended"),
        ]
    )
    for trainee in trainees.iterator(chunk_size=2000):
        writer.writerow(
            [
                _csv_cell(trainee.last_name),
                _csv_cell(trainee.first_name),
                _csv_cell(trainee.course.title),
                _csv_cell(trainee.course.training_body.short_name),
                trainee.expected_count,
                trainee.attended_count,
                floatformat(trainee.hours, 1),
            ]
        )
    return response
