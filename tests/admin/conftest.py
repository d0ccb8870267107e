"""Fixtures for the admin tests: staff users holding chosen permissions, signed in with the test client."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

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
