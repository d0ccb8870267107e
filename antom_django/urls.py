"""URLs of antom_django: ``path("antom/", include("antom_django.urls"))``."""

from __future__ import annotations

from django.urls import path

from .api.schema import HAS_SPECTACULAR
from .api.views import NotifyView, PaymentStatusView, SessionView

app_name = "antom"

urlpatterns = [
    path("sessions/", SessionView.as_view(), name="sessions"),
    path("payments/<str:payment_request_id>/", PaymentStatusView.as_view(), name="payment-status"),
    path("notify/", NotifyView.as_view(), name="notify"),
]

if HAS_SPECTACULAR:
    from .api.openapi import SchemaView

    urlpatterns.append(path("schema/", SchemaView.as_view(), name="schema"))
