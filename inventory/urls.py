from django.urls import path

from . import labels, views

app_name = "inventory"

urlpatterns = [
    path("laptops/", views.LaptopListView.as_view(), name="laptops"),
    path("laptops/bulk/", views.laptops_bulk, name="laptops_bulk"),
    path("laptops/labels.pdf", labels.labels_pdf, name="labels"),
    path("laptops/<int:pk>/", views.laptop_detail, name="laptop"),
    path("laptops/<int:pk>/edit/", views.LaptopUpdateView.as_view(), name="laptop_edit"),
    path("laptops/<int:pk>/move/", views.laptop_move, name="laptop_move"),
    path("laptops/<int:pk>/retire/", views.laptop_retire, name="laptop_retire"),
    path("laptops/<int:pk>/wipes/new/", views.wipe_add, name="wipe_add"),
    path("laptops/<int:pk>/repairs/new/", views.repair_add, name="repair_add"),
    path("donations/", views.DonationListView.as_view(), name="donations"),
    path("donations/new/", views.donation_new, name="donation_new"),
    path("donations/<int:pk>/", views.donation_detail, name="donation"),
    path("donors/new/", views.donor_new, name="donor_new"),
]
