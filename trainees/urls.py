from django.urls import path

from trainees import imports, views, workshops

app_name = "trainees"

urlpatterns = [
    path("portal/", views.portal_home, name="portal"),
    path("courses/", views.course_list, name="courses"),
    path("courses/new/", views.course_new, name="course_new"),
    path("courses/<int:pk>/", views.course_detail, name="course"),
    path("courses/<int:pk>/edit/", views.course_edit, name="course_edit"),
    path("courses/<int:pk>/import/", imports.trainee_import, name="trainee_import"),
    path("trainees/", views.trainee_list, name="trainees"),
    path("trainees/new/", views.trainee_new, name="trainee_new"),
    path("trainees/<int:pk>/", views.trainee_detail, name="trainee"),
    path("trainees/<int:pk>/edit/", views.trainee_edit, name="trainee_edit"),
    path("workshops/", workshops.workshop_list, name="workshops"),
    path("workshops/new/", workshops.workshop_new, name="workshop_new"),
    path("workshops/hours/", workshops.workshop_hours, name="workshop_hours"),
    path("workshops/<int:pk>/", workshops.workshop_detail, name="workshop"),
    path("workshops/<int:pk>/edit/", workshops.workshop_edit, name="workshop_edit"),
    path(
        "workshops/<int:pk>/attendance/", workshops.workshop_attendance, name="workshop_attendance"
    ),
]
