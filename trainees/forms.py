from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from defis.permissions import Role, role_of, training_body_id_of

from .models import Course, Trainee, TrainingBody


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class CourseForm(forms.ModelForm):
    """Staff choose the training body; a coordinator's courses are always their own."""

    class Meta:
        model = Course
        fields = ["training_body", "title", "programme", "town", "start_date", "end_date"]
        fields += ["min_age", "max_age"]
        widgets = {"start_date": DateInput(), "end_date": DateInput()}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if role_of(user) is Role.STAFF:
            # New courses for active bodies; an existing course keeps its own body.
            self.fields["training_body"].queryset = TrainingBody.objects.filter(
                Q(active=True) | Q(pk=self.instance.training_body_id)
            )
        else:
            del self.fields["training_body"]
            if self.instance.training_body_id is None:
                self.instance.training_body_id = training_body_id_of(user)


class TraineeForm(forms.ModelForm):
    class Meta:
        model = Trainee
        fields = [
            "course",
            "first_name",
            "last_name",
            "birth_date",
            "email",
            "phone",
            "street",
            "postal_code",
            "town",
            "digital_level",
            "support_needs",
            "notes",
            *Trainee.GUARDIAN_FIELDS,
        ]
        widgets = {
            "birth_date": DateInput(),
            "support_needs": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the user's own courses, current or coming (and the trainee's present one).
        courses = Course.objects.visible_to(user).current_or_coming(today=timezone.localdate())
        if self.instance.course_id:
            courses = courses | Course.objects.filter(pk=self.instance.course_id)
        self.fields["course"].queryset = courses.select_related("training_body").order_by(
            "training_body__name", "-start_date"
        )
        self.fields["phone"].help_text = _("A French number, e.g. 06 12 34 56 78.")
