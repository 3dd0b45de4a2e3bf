"""Territories, training bodies, coordinators, courses, trainees and workshops in the admin.

Trainees are validated by the model's `clean()` here as everywhere (a minor's legal guardian,
the course's age limits). They are imported from a spreadsheet into one course chosen on the
import form, all or nothing, through trainees.resources; coordinators import from their
course page instead (trainees.imports).
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from import_export.admin import ImportExportModelAdmin
from import_export.formats import base_formats
from import_export.forms import ConfirmImportForm, ImportForm, SelectableFieldsExportForm

from defis.audit import AuditTrailAdmin
from defis.forms import AdminIdsMixin, IdsAutocompleteSelect
from defis.importing import CSV, XLSX, AllOrNothingImportMixin
from trainees.models import (
    Attendance,
    Coordinator,
    Course,
    Territory,
    Trainee,
    TrainingBody,
    Workshop,
)
from trainees.resources import MAX_ROWS, TraineeResource


@admin.register(Territory)
class TerritoryAdmin(AdminIdsMixin, admin.ModelAdmin):
    list_display = ("name", "training_body_count")
    search_fields = ("name",)
    # The count's GROUP BY drops the model's ordering.
    ordering = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_training_body_count=Count("training_bodies"))

    @admin.display(description=_("training bodies"), ordering="_training_body_count")
    def training_body_count(self, territory):
        return territory._training_body_count


class CoordinatorInline(AdminIdsMixin, admin.TabularInline):
    model = Coordinator
    extra = 0
    autocomplete_fields = ("user",)
    fields = ("user", "job_title", "phone")


@admin.register(TrainingBody)
class TrainingBodyAdmin(AdminIdsMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "short_name",
        "territory",
        "town",
        "contact_email",
        "contact_phone",
        "coordinator_count",
        "active",
    )
    list_filter = ("active", "territory")
    search_fields = ("name", "short_name", "town", "contact_email")
    list_select_related = ("territory",)
    list_editable = ("active",)
    ordering = ("name",)
    inlines = [CoordinatorInline]
    fieldsets = (
        (None, {"fields": ("name", "short_name", "territory", "active")}),
        (_("Address"), {"fields": ("street", "postal_code", "town")}),
        (_("Contact"), {"fields": ("contact_email", "contact_phone")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_coordinator_count=Count("coordinators"))

    @admin.display(description=_("coordinators"), ordering="_coordinator_count")
    def coordinator_count(self, training_body):
        return training_body._coordinator_count


@admin.register(Coordinator)
class CoordinatorAdmin(AdminIdsMixin, admin.ModelAdmin):
    list_display = ("user", "email", "training_body", "territory", "job_title", "phone", "active")
    list_filter = ("training_body__territory", "training_body", "user__is_active")
    search_fields = (
        "user__username",
        "user__first_name",
        "user__last_name",
        "user__email",
        "training_body__name",
        "training_body__short_name",
    )
    list_select_related = ("user", "training_body__territory")
    autocomplete_fields = ("user", "training_body")

    @admin.display(description=_("email"), ordering="user__email")
    def email(self, coordinator):
        return coordinator.user.email

    @admin.display(description=_("territory"), ordering="training_body__territory__name")
    def territory(self, coordinator):
        return coordinator.training_body.territory

    @admin.display(description=_("active"), boolean=True, ordering="user__is_active")
    def active(self, coordinator):
        return coordinator.user.is_active


@admin.register(Course)
class CourseAdmin(AdminIdsMixin, admin.ModelAdmin):
    list_display = (
        "title",
        "training_body",
        "programme",
        "town",
        "start_date",
        "end_date",
        "trainee_count",
    )
    list_filter = ("training_body", "programme", "training_body__territory")
    search_fields = (
        "title",
        "programme",
        "town",
        "training_body__name",
        "training_body__short_name",
    )
    list_select_related = ("training_body",)
    autocomplete_fields = ("training_body",)
    date_hierarchy = "start_date"
    ordering = ("-start_date", "title")
    readonly_fields = ("created_at",)
    fieldsets = (
        (None, {"fields": ("training_body", "title", "programme", "town")}),
        (_("Dates and ages"), {"fields": (("start_date", "end_date"), ("min_age", "max_age"))}),
        (None, {"fields": ("created_at",)}),
    )

    def get_queryset(self, request):
        # The training body names the course, in the trainees' autocomplete as well.
        return (
            super()
            .get_queryset(request)
            .select_related("training_body")
            .annotate(_trainee_count=Count("trainees"))
        )

    @admin.display(description=_("trainees"), ordering="_trainee_count")
    def trainee_count(self, course):
        return course._trainee_count


class TraineeImportForm(ImportForm):
    """The library's import form, and the course every row goes into."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["course"] = forms.ModelChoiceField(
            label=_("Course"),
            queryset=Course.objects.select_related("training_body"),
            widget=IdsAutocompleteSelect(Trainee._meta.get_field("course"), admin.site),
            help_text=_("Every row of the file becomes a trainee of this course."),
        )
        self.order_fields(["resource", "course", "import_file", "format"])


class TraineeConfirmImportForm(ConfirmImportForm):
    course = forms.ModelChoiceField(queryset=Course.objects.all(), widget=forms.HiddenInput)


class TraineeExportForm(SelectableFieldsExportForm):
    """The export form, its boxes labelled with the columns' headers ("Date de naissance")."""

    def _get_field_label(self, resource, field_name):
        return resource.fields[field_name].column_name


@admin.register(Trainee)
class TraineeAdmin(AllOrNothingImportMixin, AuditTrailAdmin, ImportExportModelAdmin):
    list_display = (
        "last_name",
        "first_name",
        "course",
        "training_body",
        "birth_date",
        "age_at_course_start",
        "minor",
        "town",
    )
    list_display_links = ("last_name", "first_name")
    list_filter = (
        ("course__training_body", admin.RelatedOnlyFieldListFilter),
        "course__training_body__territory",
        "course__programme",
        "digital_level",
    )
    search_fields = ("first_name", "last_name", "email", "town")
    list_select_related = ("course__training_body",)
    autocomplete_fields = ("course",)
    readonly_fields = ("created_at",)
    fieldsets = (
        (None, {"fields": ("course", ("first_name", "last_name"), "birth_date")}),
        (_("Contact"), {"fields": ("email", "phone", "street", ("postal_code", "town"))}),
        (_("Support"), {"fields": ("digital_level", "support_needs", "notes")}),
        (
            _("Legal guardian"),
            {
                "description": _(
                    "Required when the trainee is under 18 on the first day of the course."
                ),
                "fields": (
                    "guardian_name",
                    "guardian_relationship",
                    ("guardian_phone", "guardian_email"),
                    "guardian_street",
                    ("guardian_postal_code", "guardian_town"),
                ),
            },
        ),
        (None, {"fields": ("created_at",)}),
    )

    # Import and export
    resource_classes = (TraineeResource,)
    import_formats = (CSV, XLSX)
    export_formats = (CSV, base_formats.XLSX)
    # With a byte order mark, Excel reads the accents of a UTF-8 CSV right.
    to_encoding = "utf-8-sig"
    import_form_class = TraineeImportForm
    confirm_form_class = TraineeConfirmImportForm
    export_form_class = TraineeExportForm
    import_template_name = "admin/trainees/trainee/import.html"

    @admin.display(description=_("training body"), ordering="course__training_body__short_name")
    def training_body(self, trainee):
        return trainee.course.training_body.short_name

    @admin.display(description=_("age at the start"))
    def age_at_course_start(self, trainee):
        return trainee.age_at_course_start

    @admin.display(description=_("minor"), boolean=True)
    def minor(self, trainee):
        return trainee.is_minor

    def has_import_permission(self, request):
        return self.has_add_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def get_import_context_data(self, **kwargs):
        return {
            **super().get_import_context_data(**kwargs),
            "required_columns": TraineeResource.required_headers(),
            "digital_levels": TraineeResource.digital_levels(),
            "max_rows": MAX_ROWS,
        }

    def get_import_resource_kwargs(self, request, **kwargs):
        kwargs = super().get_import_resource_kwargs(request, **kwargs)
        form = kwargs.pop("form", None)
        if form is not None and form.is_bound and form.is_valid():
            kwargs["course"] = form.cleaned_data["course"]
        return kwargs

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["course"] = import_form.cleaned_data["course"].pk
        return initial

    def add_success_message(self, result, request):
        count = result.totals["new"]
        self.message_user(
            request,
            ngettext("%(count)d trainee imported.", "%(count)d trainees imported.", count)
            % {"count": count},
            level=messages.SUCCESS,
        )


class AttendanceInline(AdminIdsMixin, admin.TabularInline):
    model = Attendance
    extra = 0
    autocomplete_fields = ("trainee",)
    fields = ("trainee", "present")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("trainee")


@admin.register(Workshop)
class WorkshopAdmin(AdminIdsMixin, admin.ModelAdmin):
    list_display = (
        "topic",
        "date",
        "start_time",
        "duration_minutes",
        "course",
        "place",
        "facilitator",
        "attendee_count",
    )
    list_filter = (
        ("course__training_body", admin.RelatedOnlyFieldListFilter),
        "course__training_body__territory",
        "facilitator",
    )
    search_fields = ("topic", "place", "facilitator", "course__title")
    list_select_related = ("course__training_body",)
    autocomplete_fields = ("course",)
    date_hierarchy = "date"
    ordering = ("-date", "-start_time")
    inlines = (AttendanceInline,)
    fieldsets = (
        (None, {"fields": ("topic", "course")}),
        (_("When and where"), {"fields": (("date", "start_time", "duration_minutes"), "place")}),
        (None, {"fields": ("facilitator", "notes")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_attendee_count=Count("attendances"))

    @admin.display(description=_("attendees"), ordering="_attendee_count")
    def attendee_count(self, workshop):
        return workshop._attendee_count
