"""Attacker-controlled text (a refused notification's body, Antom's messages) is escaped on every admin page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from antom_django.models import Notification, Payment
from tests.api.conftest import make_payment

SCRIPT = '<script>alert("antom")</script>'
IMAGE = "<img src=x onerror=alert(1)>"


@pytest.mark.django_db
def test_admin_pages_escape_stored_bodies_and_messages() -> None:
    payment = make_payment(
        status=Payment.Status.FAILED, result_code=IMAGE[:30], result_message=IMAGE, needs_review=True
    )
    notes = [
        Notification.objects.create(body=SCRIPT, notify_type=SCRIPT[:32], client_id=IMAGE, error=SCRIPT, **extra)
        for extra in (
            {"outcome": Notification.Outcome.REJECTED, "payment": payment},
            {"outcome": Notification.Outcome.UNKNOWN_PAYMENT},
        )
    ]
    staff = Client()
    staff.force_login(User.objects.create_superuser("root"))
    pages = [
        "/admin/antom_django/payment/",
        f"/admin/antom_django/payment/{payment.pk}/change/",
        "/admin/antom_django/payment/reconcile/",
        "/admin/antom_django/notification/",
        *(f"/admin/antom_django/notification/{note.pk}/change/" for note in notes),
    ]
    shown = 0
    for url in pages:
        content = staff.get(url).content.decode()
        assert SCRIPT not in content and IMAGE not in content and "<script>alert" not in content, url
        shown += content.count("&lt;script&gt;alert") + content.count("&lt;img src=x")
    assert shown >= len(pages)  # the text is there, escaped
