"""Every admin action needs its own permission: a staff member holding every other one gets 403, nothing changes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.test import Client

from antom_django.admin.actions import OPERATIONS
from antom_django.admin.reconcile import EXPORT, RESOLUTIONS, VIEW
from antom_django.models import Capture, Notification, Payment, PaymentEvent, Refund
from tests.api.conftest import make_payment
from tests.domain.helpers import unsent_authorization

RECONCILE = "/admin/antom_django/payment/reconcile/"


def everything_but(permission: str) -> Client:
    """A staff member (not a superuser) holding every antom_django permission except ``permission``."""
    codename = permission.split(".", 1)[1]
    user = User.objects.create_user(f"staff-{codename}-{User.objects.count()}", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="antom_django").exclude(codename=codename)
    )
    client = Client()
    client.force_login(user)
    return client


def snapshot() -> list[Any]:
    """Every row of the app's tables, and the admin's history."""
    rows: list[Any] = [list(LogEntry.objects.values())]
    for model in apps.get_app_config("antom_django").get_models():
        rows.append(list(model.objects.order_by("pk").values()))
    return rows


@pytest.fixture
def rows(db: None) -> dict[str, Any]:
    payment = make_payment(status=Payment.Status.AUTHORIZED, payment_id="2024pay", needs_review=True)
    capture = Capture.objects.create(payment=payment, capture_request_id="cap-1", amount=100, currency="SGD")
    refund = Refund.objects.create(payment=payment, refund_request_id="ref-1", amount=100, currency="SGD")
    notification = Notification.objects.create(body="{}", client_id="SANDBOX_X")
    event = unsent_authorization(payment, timedelta(minutes=-5))  # its signals wait for a sweep or a person
    return {"payment": payment, "capture": capture, "refund": refund, "notification": notification, "event": event}


def refused(client: Client, url: str, data: dict[str, str]) -> None:
    before = snapshot()
    assert client.get(url).status_code == 403, url
    assert client.post(url, data).status_code == 403, url
    assert snapshot() == before, url


@pytest.mark.django_db
def test_payment_page_actions(rows: dict[str, Any]) -> None:
    payment = rows["payment"]
    data = {"version": payment.updated_at.isoformat(), "amount": "1.00", "reason": "r", "note": "n"}
    for op in OPERATIONS:
        refused(everything_but(op.perm), f"/admin/antom_django/payment/{payment.pk}/do/{op.name}/", data)


@pytest.mark.django_db
def test_replaying_a_notification(rows: dict[str, Any]) -> None:
    url = f"/admin/antom_django/notification/{rows['notification'].pk}/replay/"
    refused(everything_but("antom_django.replay_notification"), url, {})


@pytest.mark.django_db
def test_reconciliation_pages_and_resolutions(rows: dict[str, Any]) -> None:
    for path in ("", "check/", "report/"):
        refused(everything_but(VIEW), RECONCILE + path, {})
    refused(everything_but(EXPORT), RECONCILE + "export/", {})
    targets = {Payment: rows["payment"], Capture: rows["capture"], Refund: rows["refund"], PaymentEvent: rows["event"]}
    for slug, resolution in RESOLUTIONS.items():
        pk = targets[resolution.model].pk
        refused(everything_but(resolution.permission), f"{RECONCILE}{slug}/{pk}/", {})
        refused(everything_but(VIEW), f"{RECONCILE}{slug}/{pk}/", {})


@pytest.mark.django_db
def test_bulk_capture_is_not_offered_and_does_nothing(rows: dict[str, Any]) -> None:
    client = everything_but("antom_django.capture_payment")
    listing = client.get("/admin/antom_django/payment/")
    assert listing.status_code == 200
    assert b"capture_selected" not in listing.content
    before = snapshot()
    client.post(
        "/admin/antom_django/payment/", {"action": "capture_selected", "_selected_action": [rows["payment"].pk]}
    )
    assert snapshot() == before
