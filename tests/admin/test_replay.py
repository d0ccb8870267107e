"""Replaying a stored notification from the admin: the stored message is checked again (verified on arrival,
this merchant's client id, the body still the verified bytes, its stored RSA signature verified anew with
Antom's public key), then applied by the normal path."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client, override_settings

from antom_django.client.signing import build_signature_header
from antom_django.models import Notification, Payment
from antom_django.services.intake import fingerprint
from tests.api.helpers import NOTIFY_PATH, antom_signer, encode, post_notification, signed_headers
from tests.domain.helpers import make_payment, payment_result
from tests.settings import ANTOM

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
    assert (notification.signed_path, notification.signature.startswith("algorithm=RSA256,")) == (NOTIFY_PATH, True)
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


def _other_body(notification: Notification) -> dict[str, object]:
    body = notification.body.replace("4200", "1")
    return {"body": body, "fingerprint": fingerprint(body)}


def _signature_of_other_bytes(notification: Notification) -> dict[str, object]:
    signed = antom_signer.sign("POST", NOTIFY_PATH, notification.client_id, notification.request_time, b"{}")
    return {"signature": build_signature_header(signed)}


DOES_NOT_VERIFY = "its stored signature fails verification: signature does not verify with Antom's public key"


@pytest.mark.parametrize(
    ("tamper", "why"),
    [
        # The body and its fingerprint changed together: only the signature can tell.
        (_other_body, DOES_NOT_VERIFY),
        (lambda n: {"signed_path": "/elsewhere/notify/"}, DOES_NOT_VERIFY),
        (lambda n: {"request_time": str(int(n.request_time) + 1)}, DOES_NOT_VERIFY),
        (_signature_of_other_bytes, DOES_NOT_VERIFY),
        (
            lambda n: {"signature": "algorithm=RSA256,keyVersion=1,signature=not*base64"},
            "its stored signature fails verification: signature is not valid base64",
        ),
    ],
    ids=["body-and-fingerprint", "path", "request-time", "signature", "garbled-signature"],
)
def test_a_notification_whose_stored_signature_fails_is_not_replayed(
    early: tuple[Notification, Payment],
    login: Callable[..., Client],
    tamper: Callable[[Notification], dict[str, object]],
    why: str,
) -> None:
    notification, payment = early
    Notification.objects.filter(pk=notification.pk).update(**tamper(notification))
    client = login("replay_notification")
    assert client.get(url(notification)).context["problem"] == why
    response = client.post(url(notification), follow=True)
    assert shown(response) == [f"Not replayed: {why}."]
    stored = Notification.objects.get()
    assert (stored.outcome, stored.error, stored.payment) == (
        Outcome.UNKNOWN_PAYMENT,
        "no payment matches this notification",
        None,
    )
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


LEGACY = (
    "its signature was not stored (it arrived before migration 0009), so it cannot be verified again; "
    "use Sync with Antom on its payment instead"
)


def test_a_notification_stored_before_signatures_were_kept_is_not_replayed(
    early: tuple[Notification, Payment], login: Callable[..., Client]
) -> None:
    notification, payment = early
    Notification.objects.filter(pk=notification.pk).update(signature="", signed_path="")
    client = login("replay_notification")
    assert client.get(url(notification)).context["problem"] == LEGACY
    response = client.post(url(notification), follow=True)
    assert shown(response) == [f"Not replayed: {LEGACY}."]
    assert Notification.objects.get().outcome == Outcome.UNKNOWN_PAYMENT
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_a_legacy_notification_sent_again_by_antom_takes_that_signature_and_is_replayable(
    early: tuple[Notification, Payment], login: Callable[..., Client]
) -> None:
    notification, payment = early
    Notification.objects.filter(pk=notification.pk).update(signature="", signed_path="", request_time="0")
    body = notification.body.encode()
    headers = signed_headers(body)
    # Antom sends the same bytes again, signed anew: counted on the row, which takes this signature.
    assert post_notification(Client(), body, headers=headers).status_code == 200
    stored = Notification.objects.get()
    assert (stored.signature, stored.signed_path, stored.request_time, stored.received_count) == (
        headers["signature"],
        NOTIFY_PATH,
        headers["request-time"],
        2,
    )
    response = login("replay_notification").post(url(notification), follow=True)
    assert shown(response) == ["Replayed: Applied."]
    payment.refresh_from_db()
    assert payment.status == Payment.Status.AUTHORIZED


def test_without_antoms_public_key_nothing_is_replayed(
    early: tuple[Notification, Payment], login: Callable[..., Client]
) -> None:
    notification, payment = early
    without = {k: v for k, v in ANTOM.items() if k != "ANTOM_PUBLIC_KEY"}
    with override_settings(ANTOM=without):
        response = login("replay_notification").post(url(notification), follow=True)
    assert shown(response) == ["Not replayed: ANTOM_PUBLIC_KEY is not configured, so its signature cannot be verified."]
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_a_notification_signed_under_a_script_name_is_verified_against_that_path(login: Callable[..., Client]) -> None:
    """Behind a prefix (SCRIPT_NAME) Antom signs the whole path; the stored path is that one."""
    payment = Payment(amount=4200, currency="SGD", reference_order_id="order-1", status=Payment.Status.PENDING)
    body = encode(payment_result(payment))
    headers = signed_headers(body, path="/shop" + NOTIFY_PATH)
    response = Client().post(
        NOTIFY_PATH, data=body, content_type="application/json", headers=headers, SCRIPT_NAME="/shop"
    )
    assert response.status_code == 200
    notification = Notification.objects.get()
    assert (notification.signed_path, notification.outcome) == ("/shop" + NOTIFY_PATH, Outcome.UNKNOWN_PAYMENT)
    payment.save()
    assert shown(login("replay_notification").post(url(notification), follow=True)) == ["Replayed: Applied."]
    payment.refresh_from_db()
    assert payment.status == Payment.Status.AUTHORIZED


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
