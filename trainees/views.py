"""Courses and trainees, for staff (everything) and coordinators (their own training body).

Every object is fetched through `visible_to(request.user)`: another body's course or trainee
answers 404, and form choices list only the user's own.
"""

from django.contrib import messages
from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from defis.forms import is_id
from defis.models import Association
from defis.permissions import (
    coordinator_profile,
    coordinator_required,
    is_staff_member,
    staff_or_coordinator_required,
)

from .filters import CourseFilter, TraineeFilter, page_of
from .forms import CourseForm, TraineeForm
from .models import Coordinator, Course, Trainee

PAGE_SIZE = 50

# The trainee's requests, newest first, for the status column of trainee tables. The relation
# is named, not imported: trainees does not import loans.
REQUESTS = "loan_requests"


def _filtered(filterset):
    """The filtered rows; none when a filter value cannot be read (the form says why)."""
    if filterset.is_bound and not filterset.is_valid():
        return filterset.queryset.none()
    return filterset.qs


def _page_query(request) -> str:
    """The list's query string without its page, for the links to the other pages."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@coordinator_required
def portal_home(request):
    """A coordinator's home: their courses, their training body, how to reach Défis."""
    profile = coordinator_profile(request.user)
    training_body = profile.training_body
    colleagues = (
        Coordinator.objects.visible_to(request.user)
        .filter(user__is_active=True)
        .exclude(pk=profile.pk)
        .select_related("user")
    )
    today = timezone.localdate()
    courses = (
        Course.objects.visible_to(request.user)
        .current_or_coming(today=today)
        .annotate(trainee_count=Count("trainees"))
        .order_by("start_date")
    )
    context = {
        "training_body": training_body,
        "colleagues": colleagues,
        "courses": courses,
        "association": Association.objects.current(),
    }
    return render(request, "trainees/portal_home.html", context)


# --- Courses ------------------------------------------------------------------------------


@staff_or_coordinator_required
def course_list(request):
    courses = Course.objects.visible_to(request.user)
    filterset = CourseFilter(request.GET or None, queryset=courses, user=request.user)
    page = page_of(
        _filtered(filterset),
        request.GET.get("page"),
        order_by=("-start_date", "title"),
        # The trainees counted for the page's courses only.
        rows=courses.select_related("training_body").annotate(trainee_count=Count("trainees")),
        per_page=PAGE_SIZE,
    )
    context = {"filter": filterset, "page_obj": page, "page_query": _page_query(request)}
    return render(request, "trainees/course_list.html", context)


@staff_or_coordinator_required
def course_detail(request, pk):
    course = get_object_or_404(
        Course.objects.visible_to(request.user).select_related("training_body"), pk=pk
    )
    trainees = course.trainees.prefetch_related(
        Prefetch(REQUESTS, to_attr="requests_newest_first")
    ).order_by("last_name", "first_name")
    context = {
        "course": course,
        "trainees": trainees,
        "today": timezone.localdate(),
        "is_open": course.is_current_or_coming(today=timezone.localdate()),
    }
    return render(request, "trainees/course_detail.html", context)


def _course_form(request, course):
    form = CourseForm(request.POST or None, instance=course, user=request.user)
    if request.method == "POST" and form.is_valid():
        course = form.save()
        messages.success(request, _("The course “%(title)s” is saved.") % {"title": course.title})
        return redirect(course)
    return render(request, "trainees/course_form.html", {"form": form, "course": course})


@staff_or_coordinator_required
def course_new(request):
    return _course_form(request, Course())


@staff_or_coordinator_required
def course_edit(request, pk):
    return _course_form(request, get_object_or_404(Course.objects.visible_to(request.user), pk=pk))


# --- Trainees -----------------------------------------------------------------------------


@staff_or_coordinator_required
def trainee_list(request):
    trainees = Trainee.objects.visible_to(request.user)
    filterset = TraineeFilter(request.GET or None, queryset=trainees, user=request.user)
    page = page_of(
        _filtered(filterset),
        request.GET.get("page"),
        order_by=("last_name", "first_name", "pk"),
        rows=trainees.select_related("course__training_body").prefetch_related(
            Prefetch(REQUESTS, to_attr="requests_newest_first")
        ),
        per_page=PAGE_SIZE,
    )
    context = {
        "filter": filterset,
        "page_obj": page,
        "page_query": _page_query(request),
        "show_training_body": is_staff_member(request.user),
    }
    return render(request, "trainees/trainee_list.html", context)


@staff_or_coordinator_required
def trainee_detail(request, pk):
    trainee = get_object_or_404(
        Trainee.objects.visible_to(request.user).select_related("course__training_body"), pk=pk
    )
    requests = trainee.loan_requests.select_related("laptop").prefetch_related("events__by")
    # Through the reverse relation: trainees does not import the loans app. Only the loans
    # the user may see (a loan stays with the training body of its course).
    loans = list(trainee.loans.visible_to(request.user).select_related("laptop", "course"))
    attended = trainee.attendances.filter(present=True).select_related("workshop")
    minutes = sum(attendance.workshop.duration_minutes for attendance in attended)
    context = {
        "trainee": trainee,
        "requests": requests,
        "loans": loans,
        "has_open_request": any(r.is_open for r in requests),
        "has_open_loan": any(loan.is_open for loan in loans),
        "attended": attended,
        "workshop_hours": minutes / 60,
        "course_is_open": trainee.course.is_current_or_coming(today=timezone.localdate()),
    }
    return render(request, "trainees/trainee_detail.html", context)


def _trainee_form(request, trainee, *, initial=None):
    form = TraineeForm(request.POST or None, instance=trainee, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        trainee = form.save()
        messages.success(request, _("%(name)s’s record is saved.") % {"name": trainee.full_name})
        return redirect(trainee)
    return render(request, "trainees/trainee_form.html", {"form": form, "trainee": trainee})


@staff_or_coordinator_required
def trainee_new(request):
    initial = {}
    course_id = request.GET.get("course", "")
    if is_id(course_id):
        course = Course.objects.visible_to(request.user).filter(pk=course_id).first()
        if course is not None:
            initial["course"] = course
    return _trainee_form(request, Trainee(), initial=initial)


@staff_or_coordinator_required
def trainee_edit(request, pk):
    trainee = get_object_or_404(Trainee.objects.visible_to(request.user), pk=pk)
    return _trainee_form(request, trainee)
