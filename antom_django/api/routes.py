"""antom_django's endpoints as ``path()`` entries: mounted by ``antom_django.urls``, walked by the schema."""

from __future__ import annotations

from django.urls import path

from .views import NotifyView, PaymentStatusView, SessionView

endpoints = [
    path("sessions/", SessionView.as_view(), name="sessions"),
    path("payments/<str:payment_request_id>/", PaymentStatusView.as_view(), name="payment-status"),
    path("notify/", NotifyView.as_view(), name="notify"),
]
