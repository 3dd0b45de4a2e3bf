from django.urls import path

from loans import views

app_name = "loans"

urlpatterns = [
    path("requests/", views.request_list, name="requests"),
    path("requests/new/", views.request_new, name="request_new"),
    path("requests/approve-in-order/", views.requests_approve_in_order, name="approve_in_order"),
    path(
        "courses/<int:course_pk>/requests/new/",
        views.requests_new_for_course,
        name="requests_for_course",
    ),
    path("requests/<int:pk>/", views.request_detail, name="request"),
    path("requests/<int:pk>/approve/", views.request_approve, name="request_approve"),
    path("requests/<int:pk>/waitlist/", views.request_waitlist, name="request_waitlist"),
    path("requests/<int:pk>/reject/", views.request_reject, name="request_reject"),
    path("requests/<int:pk>/cancel/", views.request_cancel, name="request_cancel"),
]
