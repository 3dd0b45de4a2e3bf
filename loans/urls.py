from django.urls import path

from loans import (
    distribution_views,
    envelope_views,
    loan_views,
    money_views,
    privacy_views,
    reconciliation_views,
    views,
)

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
    path("requests/<int:pk>/prepare/", loan_views.loan_prepare, name="loan_prepare"),
    # Loans
    path("loans/", loan_views.loan_list, name="loans"),
    path("loans/<int:pk>/", loan_views.loan_detail, name="loan"),
    path("loans/<int:pk>/agreement.pdf", loan_views.loan_agreement, name="loan_agreement"),
    path(
        "loans/<int:pk>/return-record.pdf",
        loan_views.loan_return_record,
        name="loan_return_record",
    ),
    path("loans/<int:pk>/signed-scan.pdf", loan_views.loan_scan, name="loan_scan"),
    path("loans/<int:pk>/signed-scan/", loan_views.loan_scan_upload, name="loan_scan_upload"),
    path("loans/<int:pk>/hand-over/", loan_views.loan_hand_over, name="loan_hand_over"),
    path("loans/<int:pk>/extend/", loan_views.loan_extend, name="loan_extend"),
    path("loans/<int:pk>/return/", loan_views.loan_return, name="loan_return"),
    path("loans/<int:pk>/loss/", loan_views.loan_loss, name="loan_loss"),
    path("loans/<int:pk>/cancel/", loan_views.loan_cancel, name="loan_cancel"),
    path("loans/<int:pk>/departure/", loan_views.loan_departure, name="loan_departure"),
    path("loans/<int:pk>/envelope/", envelope_views.loan_envelope, name="loan_envelope"),
    # Money: payments, waivers, reversals, receipts, arrears
    path("loans/<int:pk>/payment/", money_views.payment_new, name="payment_new"),
    path("loans/<int:pk>/waiver/", money_views.waiver_new, name="waiver_new"),
    path("ledger/<int:pk>/reverse/", money_views.entry_reverse, name="entry_reverse"),
    path("ledger/<int:pk>/receipt.pdf", money_views.payment_receipt, name="payment_receipt"),
    path("arrears/", money_views.arrears, name="arrears"),
    path("arrears.csv", money_views.arrears_csv, name="arrears_csv"),
    # Personal data: everything held about one trainee, for an access request
    path(
        "trainees/<int:pk>/export.json",
        privacy_views.trainee_export_json,
        name="trainee_export_json",
    ),
    path(
        "trainees/<int:pk>/export.pdf", privacy_views.trainee_export_pdf, name="trainee_export_pdf"
    ),
    # Budget envelopes and their reconciliation
    path("envelopes/", envelope_views.envelope_list, name="envelopes"),
    path("envelopes/<int:pk>/", envelope_views.envelope_detail, name="envelope"),
    path(
        "envelopes/<int:pk>/reconciliation/",
        reconciliation_views.reconciliation,
        name="reconciliation",
    ),
    path(
        "envelopes/<int:pk>/reconciliation.csv",
        reconciliation_views.reconciliation_csv,
        name="reconciliation_csv",
    ),
    path(
        "envelopes/<int:pk>/reconciliation.xlsx",
        reconciliation_views.reconciliation_xlsx,
        name="reconciliation_xlsx",
    ),
    path(
        "envelopes/<int:pk>/funder-report.pdf",
        reconciliation_views.funder_report,
        name="funder_report",
    ),
    # Distribution day: every prepared loan of one course
    path(
        "courses/<int:course_pk>/distribution/",
        distribution_views.distribution,
        name="distribution",
    ),
    path(
        "courses/<int:course_pk>/distribution/agreements.pdf",
        distribution_views.distribution_agreements,
        name="distribution_agreements",
    ),
    path(
        "courses/<int:course_pk>/distribution/hand-over/",
        distribution_views.distribution_hand_over,
        name="distribution_hand_over",
    ),
]
