"""The URLconf of `manage.py bench_pages`: the project's URLs, plus the floor page that the key
pages are compared with (a login-protected page rendering the site's layout after one query).
Never the ROOT_URLCONF of a running site."""

from django.shortcuts import render
from django.urls import path

from defis.models import Association
from defis.urls import urlpatterns as project_urlpatterns


def floor(request):
    """Login-protected like every page (LoginRequiredMiddleware); one query, one template."""
    association = Association.objects.first()
    return render(request, "bench/floor.html", {"association": association})


urlpatterns = [path("bench/floor/", floor, name="bench_floor"), *project_urlpatterns]
