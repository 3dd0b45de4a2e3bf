from django.shortcuts import render

from defis.models import Association
from defis.permissions import coordinator_profile, coordinator_required
from trainees.models import Coordinator


@coordinator_required
def portal_home(request):
    """A coordinator's home: their training body, their colleagues, how to reach Défis."""
    profile = coordinator_profile(request.user)
    training_body = profile.training_body
    colleagues = (
        Coordinator.objects.visible_to(request.user)
        .filter(user__is_active=True)
        .exclude(pk=profile.pk)
        .select_related("user")
    )
    context = {
        "training_body": training_body,
        "colleagues": colleagues,
        "association": Association.objects.current(),
    }
    return render(request, "trainees/portal_home.html", context)


def _todo(request, *args, **kwargs):
    raise NotImplementedError


course_list = course_new = course_detail = course_edit = _todo
trainee_list = trainee_new = trainee_detail = trainee_edit = _todo
