from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from defis import accounts, views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("privacy/", views.privacy_notice, name="privacy"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/logout/", accounts.LogoutView.as_view(), name="logout"),
    path("accounts/", include("django.contrib.auth.urls")),
    # The language can be chosen before logging in, from the login page.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("", include("trainees.urls")),
    path("inventory/", include("inventory.urls")),
    path("", include("loans.urls")),
    path("admin/", admin.site.urls),
]
