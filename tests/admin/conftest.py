"""Fixtures for the admin tests: staff users holding chosen permissions, signed in with the test client."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Permission, User
from django.http import HttpResponse
from django.test import Client

from antom_django import services
from antom_django.client import Amount
from antom_django.models import Payment
from antom_django.sandbox import SandboxServer

ACTION_PERMISSIONS = (
    "capture_payment",
    "cancel_payment",
    "refund_payment",
    "sync_payment",
    "retry_payment",
    "clear_review",
    "replay_notification",
)


def staff(username: str, *codenames: str) -> User:
    """A staff member (not a superuser) who may view payments and notifications, plus ``codenames``."""
    user = User.objects.create_user(username, password="pw", is_staff=True)
    wanted = {"view_payment", "view_notification", *codenames}
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="antom_django", codename__in=wanted))
    return User.objects.get(pk=user.pk)  # fresh: no permission cache


@pytest.fixture
def login(db: None) -> Callable[..., Client]:
    """``login("capture_payment", ...)``: a client signed in as a new staff member with those permissions."""
    count = 0

    def sign_in(*codenames: str, username: str = "") -> Client:
        nonlocal count
        count += 1
        client = Client()
        client.force_login(staff(username or f"staff{count}", *codenames))
        return client

    return sign_in


@pytest.fixture
def operator(login: Callable[..., Client]) -> Client:
    """A staff member holding every action's permission."""
    return login(*ACTION_PERMISSIONS, username="operator")


@pytest.fixture
def viewer(login: Callable[..., Client]) -> Client:
    """A staff member who may only look."""
    return login(username="viewer")


def authorize(sandbox: SandboxServer, amount: int = 4200, currency: str = "SGD", order: str = "order-1") -> Payment:
    """A payment authorized at the simulator over HTTP: session, the buyer pays with a test card, then a sync."""
    payment = services.start_payment(amount=Amount(currency, amount), reference_order_id=order, description="Kettle")
    assert sandbox.pay(payment.session_data)["status"] == "SUCCESS"
    payment = services.sync_payment(payment)
    assert payment.status == Payment.Status.AUTHORIZED
    return payment


@pytest.fixture
def authorized(antom_sandbox: SandboxServer) -> Payment:
    return authorize(antom_sandbox)


def page(payment: Payment, action: str = "") -> str:
    """The payment page's URL, or one of its actions' (``capture``, ``refund``, ...)."""
    base = f"/admin/antom_django/payment/{payment.pk}/"
    return base + (f"do/{action}/" if action else "change/")


def shown(response: HttpResponse) -> list[str]:
    """The admin messages on a page reached with ``follow=True``."""
    return [str(m) for m in response.context["messages"]]


def version(payment: Payment) -> str:
    """The version a confirmation page of the payment carries now."""
    payment.refresh_from_db()
    return payment.updated_at.isoformat()
