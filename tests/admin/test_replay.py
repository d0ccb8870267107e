"""Replaying a stored notification from the admin: the stored message is checked again (verified on arrival,
this merchant's client id, the body still the verified bytes), then applied by the normal path."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from antom_django.models import Notification, Payment
from tests.api.helpers import post_notification
from tests.domain.helpers import make_payment, payment_result

from .conftest import shown

pytestmark = pytest.mark.django_db
Outcome = Notification.Outcome


def url(notification: Notification, action: str = "replay") -> str:
    return f"/admin/antom_django/notification/{notification.pk}/{action}/"


@pytest.fixture
def early(db: None) -> tuple[Notification, Payment]:
    """Antom's PAYMENT_RESULT arrived (through the notify view) before the payment it is about was saved here."""
    payment = Payment(amount=4200, currency="SGD", reference_order_id="order-1", status=Payment.Status.PENDING)
    assert post_notification(Client(), payment_result(payment)).status_code == 200
    notification = Notification.objects.get()
    assert notification.outcome == Outcome.UNKNOWN_PAYMENT
    payment.save()
    return notification, payment


def test_replay_applies_a_notification_that_came_too_early(
    early: tuple[Notification, Payment], login: Callable[..., Client]
) -> None:
    notification, payment = early
    client = login("replay_notification")
    page = client.get(url(notification, "change"))
    assert page.context["antom_replayable"] is True
    confirm = client.get(url(notification))
    assert confirm.status_code == 200 and confirm.context["problem"] == ""
    notification.refresh_from_db()
    assert notification.outcome == Outcome.UNKNOWN_PAYMENT  # GET does nothing
    response = client.post(url(notification), follow=True)
    assert shown(response) == ["Replayed: Applied."]
    notification.refresh_from_db()
    payment.refresh_from_db()
    assert (notification.outcome, notification.payment) == (Outcome.APPLIED, payment)
    assert payment.status == Payment.Status.AUTHORIZED
    again = client.post(url(notification), follow=True)
    assert shown(again) == ["Not replayed: it is applied: applying it again changes nothing."]


def test_replay_needs_its_permission(early: tuple[Notification, Payment], login: Callable[..., Client]) -> None:
    notification, payment = early
    viewer = login()
    assert viewer.get(url(notification, "change")).context.get("antom_replayable") is None
    assert viewer.get(url(notification)).status_code == 403
    assert viewer.post(url(notification)).status_code == 403
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_a_body_changed_since_verification_is_not_replayed(
    early: tuple[Notification, Payment], login: Callable[..., Client]
) -> None:
    notification, payment = early
    Notification.objects.filter(pk=notification.pk).update(body=notification.body.replace("4200", "1"))
    client = login("replay_notification")
    assert "its body changed since it was verified" in client.get(url(notification)).context["problem"]
    response = client.post(url(notification), follow=True)
    assert shown(response) == [
        "Not replayed: its body changed since it was verified (the SHA-256 differs from the fingerprint)."
    ]
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        (
            {"signature_verified": False},
            "its signature was never verified (it was rejected on arrival): it is not applied",
        ),
        ({"client_id": "SOMEONE_ELSE"}, "it was sent for another client id than this merchant's"),
        (
            {"fingerprint": None},
            "it has no fingerprint, so its body cannot be shown to be the bytes that were verified",
        ),
    ],
)
def test_what_cannot_be_checked_again_is_not_replayed(
    early: tuple[Notification, Payment], login: Callable[..., Client], fields: dict[str, object], why: str
) -> None:
    notification, payment = early
    Notification.objects.filter(pk=notification.pk).update(**fields)
    response = login("replay_notification").post(url(notification), follow=True)
    assert shown(response) == [f"Not replayed: {why}."]
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_a_notification_whose_apply_failed_is_applied_by_a_replay(login: Callable[..., Client]) -> None:
    payment = make_payment(Payment.Status.PENDING)
    assert post_notification(Client(), payment_result(payment)).status_code == 200
    notification = Notification.objects.get()
    Notification.objects.filter(pk=notification.pk).update(outcome=Outcome.ERROR, error="boom", dedupe_key=None)
    Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.PENDING)
    response = login("replay_notification").post(url(notification), follow=True)
    assert shown(response) == ["Replayed: Applied."]
    notification.refresh_from_db()
    assert (notification.outcome, notification.error) == (Outcome.APPLIED, "")


def test_the_notification_list_finds_by_number_or_payment(
    early: tuple[Notification, Payment], login: Callable[..., Client]
) -> None:
    notification, payment = early
    Notification.objects.filter(pk=notification.pk).update(payment=payment)
    other = Notification.objects.create(body="{}", notify_type="REFUND_RESULT")
    client = login()

    def found(query: str) -> list[Notification]:
        response = client.get("/admin/antom_django/notification/" + query)
        assert response.status_code == 200
        return list(response.context["cl"].result_list)

    assert found(f"?q={notification.pk}") == [notification]
    assert found(f"?q=%23{other.pk}") == [other]
    assert found(f"?q={payment.payment_request_id}") == [notification]
    assert found("?notify_type=REFUND_RESULT") == [other]
    assert found("?outcome__exact=UNKNOWN_PAYMENT") == [notification]
