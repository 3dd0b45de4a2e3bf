from django.urls import path

from trainees import views

app_name = "trainees"

urlpatterns = [
    path("portal/", views.portal_home, name="portal"),
]
