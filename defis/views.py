from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Max, Q, Value
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from defis.models import Association, User
from defis.permissions import Role, role_of, staff_required
from inventory.models import Laptop
from loans.envelope_stats import figures_of, with_figures
from loans.models import BudgetEnvelope, Loan, LoanRequest
from loans.services import next_on_waitlist
from trainees.models import Territory, TrainingBody


def home(request):
    """Send each user to the page of their role."""
    role = role_of(request.user)
    if role is Role.STAFF:
        return redirect("dashboard")
    if role is Role.COORDINATOR:
        return redirect("trainees:portal")
    return render(request, "defis/no_role.html", {"association": Association.objects.current()})


def _counts_by_status() -> tuple[dict[str, int], dict[str, int]]:
    """The laptops and the open requests counted by status, in one query."""

    def by_status(queryset, what):
        return (
            queryset.order_by()
            .values("status")
            .annotate(count=Count("id"), what=Value(what))
            .values_list("what", "status", "count")
        )

    counts = {"laptops": {}, "requests": {}}
    rows = by_status(Laptop.objects.all(), "laptops").union(
        by_status(LoanRequest.objects.open(), "requests"), all=True
    )
    for what, status, count in rows:
        counts[what][status] = count
    return counts["laptops"], counts["requests"]


@staff_required
def dashboard(request):
    training_bodies = (
        TrainingBody.objects.visible_to(request.user)
        .select_related("territory")
        .annotate(
            coordinator_count=Count("coordinators", filter=Q(coordinators__user__is_active=True)),
            last_coordinator_login=Max("coordinators__user__last_login"),
        )
        .order_by("territory__name", "name")
    )
    # By name: a grouped query leaves the model's ordering out.
    territories = Territory.objects.annotate(
        training_body_count=Count("training_bodies", filter=Q(training_bodies__active=True)),
    ).order_by("name")
    figures = User.objects.filter(is_active=True).aggregate(
        staff_count=Count("id", filter=Q(is_staff=True, coordinator__isnull=True)),
        coordinator_count=Count("id", filter=Q(coordinator__isnull=False)),
    )
    laptop_counts, request_counts = _counts_by_status()
    today = timezone.localdate()
    loan_counts = Loan.objects.aggregate(
        prepared=Count("id", filter=Q(status=Loan.Status.PREPARED)),
        active=Count("id", filter=Q(status=Loan.Status.ACTIVE)),
        ending_soon=Count(
            "id",
            filter=Q(
                status=Loan.Status.ACTIVE,
                planned_end_date__gte=today,
                planned_end_date__lte=today + timedelta(days=14),
            ),
        ),
        overdue=Count("id", filter=Q(status=Loan.Status.ACTIVE, planned_end_date__lt=today)),
    )
    # The budget envelopes running today (issue 6), with their figures: one query.
    envelope_figures = [
        figures_of(envelope) for envelope in with_figures(BudgetEnvelope.objects.active_on(today))
    ]
    context = {
        "envelope_figures": envelope_figures,
        "request_figures": [
            (status, LoanRequest.Status(status).label, request_counts.get(status, 0))
            for status in LoanRequest.OPEN
        ],
        "ready_count": laptop_counts.get(Laptop.Status.READY, 0),
        "loan_figures": [
            ("status=prepared", _("prepared, to hand over"), loan_counts["prepared"], ""),
            ("status=active", _("on loan"), loan_counts["active"], ""),
            (
                "end=ending_soon",
                _("ending within 14 days"),
                loan_counts["ending_soon"],
                "",
            ),
            ("end=overdue", _("overdue returns"), loan_counts["overdue"], "danger"),
        ],
        "next_request": next_on_waitlist(),
        "laptop_figures": [
            (status, Laptop.Status(status).label, laptop_counts.get(status, 0))
            for status in (
                Laptop.Status.READY,
                Laptop.Status.ON_LOAN,
                Laptop.Status.RESERVED,
                Laptop.Status.INTAKE,
                Laptop.Status.REFURBISHING,
                Laptop.Status.IN_REPAIR,
                Laptop.Status.RETURNED,
            )
        ],
        "training_bodies": training_bodies,
        "territories": territories,
        "active_training_body_count": sum(t.training_body_count for t in territories),
        **figures,
    }
    return render(request, "defis/dashboard.html", context)


@login_not_required
def privacy_notice(request):
    context = {
        "association": Association.objects.current(),
        # What anonymise_expired applies (loans.anonymisation): the notice says the same.
        "retention_months": settings.DEFIS_RETENTION_MONTHS,
    }
    return render(request, "defis/privacy.html", context)


@login_not_required
@require_GET
@never_cache
@transaction.non_atomic_requests
def healthz(request):
    """200 once the database answers; 503 otherwise, for the load balancer."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")
