"""GET antom/payments/<id>/: who may see it, what it shows, and the bounded refresh from Antom (real HTTP)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from antom_django.client.api import AntomClient
from antom_django.models import Payment
from tests.api.conftest import make_payment
from tests.api.shop import add_order
from tests.concurrency import race

FIELDS = {
    "paymentRequestId",
    "referenceOrderId",
    "status",
    "isFinal",
    "isPending",
    "amount",
    "capturedAmount",
    "refundedAmount",
    "displayAmount",
    "resultCode",
    "resultMessage",
    "card",
    "createdAt",
    "updatedAt",
}


def url(payment: Payment | str) -> str:
    request_id = payment if isinstance(payment, str) else payment.payment_request_id
    return f"/antom/payments/{request_id}/"


@pytest.fixture
def owner(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("owner")


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def inquiries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every inquiryPayment the shop sends (the real call still goes out)."""
    sent: list[str] = []
    real = AntomClient.inquiry_payment

    def counting(self: AntomClient, **kwargs: Any) -> Any:
        sent.append(kwargs.get("payment_id") or kwargs.get("payment_request_id") or "")
        return real(self, **kwargs)

    monkeypatch.setattr(AntomClient, "inquiry_payment", counting)
    return sent


@pytest.mark.django_db
def test_owner_sees_status_amounts_and_nothing_sensitive(owner: Any) -> None:
    payment = make_payment(
        user=owner,
        status=Payment.Status.SUCCEEDED,
        captured_amount=4200,
        card_brand="VISA",
        card_last4="4242",
        gateway_data={"cardInfo": {"networkTransactionId": "secret-ish"}},
    )
    response = logged_in(owner).get(url(payment))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == FIELDS
    assert body["status"] == "SUCCEEDED"
    assert body["isFinal"] is False  # refunds may still follow
    assert body["amount"] == {"currency": "SGD", "value": "4200"}
    assert body["capturedAmount"] == {"currency": "SGD", "value": "4200"}
    assert body["displayAmount"] == "42.00 SGD"
    assert body["card"] == {"brand": "VISA", "last4": "4242"}
    assert "session-data-1" not in response.content.decode()
    assert "secret-ish" not in response.content.decode()


@pytest.mark.django_db
def test_staff_may_see_any_payment(owner: Any, django_user_model: Any) -> None:
    payment = make_payment(user=owner, status=Payment.Status.FAILED)
    staff = django_user_model.objects.create_user("staff", is_staff=True)
    assert logged_in(staff).get(url(payment)).status_code == 200


@pytest.mark.django_db
def test_others_may_not(owner: Any, django_user_model: Any) -> None:
    """Another user, an anonymous caller, another guest: the answer of a payment that does not exist."""
    payment = make_payment(user=owner, status=Payment.Status.FAILED)
    other = logged_in(django_user_model.objects.create_user("other"))
    response = other.get(url(payment))
    assert response.status_code == 404
    assert response.json()["code"] == "payment_not_found"
    assert Client().get(url(payment)).status_code == 404
    # A guest payment is not open to every guest either.
    guest_payment = make_payment(payment_request_id="guest", reference_order_id="g", status=Payment.Status.FAILED)
    assert Client().get(url(guest_payment)).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("request_id", ["pay_does_not_exist", "nul%00byte", "x" * 65, "tab%09"])
def test_unknown_payment(owner: Any, request_id: str) -> None:
    response = logged_in(owner).get(url(request_id))
    assert response.status_code == 404
    assert response.json()["code"] == "payment_not_found"


@pytest.mark.django_db
def test_pending_payment_is_refreshed_at_most_every_two_seconds(
    antom_sandbox: Any, owner: Any, inquiries: list[str]
) -> None:
    add_order("order-1", 4200, owner=owner)
    client = logged_in(owner)
    created = client.post("/antom/sessions/", {"referenceOrderId": "order-1"}, content_type="application/json")
    request_id = created.json()["paymentRequestId"]
    for _ in range(5):
        assert client.get(url(request_id)).json()["isPending"] is True
    assert len(inquiries) == 1
    antom_sandbox.pay(created.json()["paymentSessionData"])
    assert client.get(url(request_id)).json()["isPending"] is True  # still inside the interval
    Payment.objects.filter(payment_request_id=request_id).update(
        last_inquiry_at=timezone.now() - timedelta(seconds=2.1)
    )
    body = client.get(url(request_id)).json()
    assert len(inquiries) == 2
    assert body["status"] == "AUTHORIZED"
    assert body["isPending"] is False
    client.get(url(request_id))
    assert len(inquiries) == 2  # settled: no more inquiries


@pytest.mark.django_db
def test_failed_inquiry_leaves_the_stored_state(antom_sandbox: Any, owner: Any, inquiries: list[str]) -> None:
    add_order("order-1", 4200, owner=owner)
    client = logged_in(owner)
    request_id = client.post(
        "/antom/sessions/", {"referenceOrderId": "order-1"}, content_type="application/json"
    ).json()["paymentRequestId"]
    antom_sandbox.set_faults(http_error_rate=1.0, operations=("inquiryPayment",))
    response = client.get(url(request_id))
    assert response.status_code == 200
    assert response.json()["status"] == Payment.Status.PENDING
    assert len(inquiries) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_many_pollers_at_once_cause_one_inquiry(antom_sandbox: Any, owner: Any, inquiries: list[str]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (ANTOM_TEST_DATABASE_URL)")
    add_order("order-1", 4200, owner=owner)
    request_id = (
        logged_in(owner)
        .post("/antom/sessions/", {"referenceOrderId": "order-1"}, content_type="application/json")
        .json()["paymentRequestId"]
    )
    workers = 8
    codes = race(workers, lambda _: logged_in(owner).get(url(request_id)).status_code)
    assert codes == [200] * workers
    assert len(inquiries) == 1


@pytest.mark.django_db
def test_nul_byte_in_basic_credentials_is_refused_not_a_server_error() -> None:
    import base64

    credentials = base64.b64encode(b"bu\x00yer:secret").decode()
    response = Client().get(url("anything"), headers={"Authorization": f"Basic {credentials}"})
    # 403 rather than 401: the first authentication class (sessions) sends no WWW-Authenticate challenge.
    assert response.status_code == 403
    assert response.json()["code"] == "authentication_failed"


@pytest.mark.django_db
def test_rate_throttle_from_settings(owner: Any) -> None:
    from django.conf import settings
    from django.core.cache import cache
    from django.test import override_settings

    payment = make_payment(user=owner, status=Payment.Status.FAILED)
    client = logged_in(owner)
    cache.clear()
    antom = {**settings.ANTOM, "THROTTLE_CLASSES": {"payments": ["antom_django.api.throttling.AntomRateThrottle"]}}
    rates = {"DEFAULT_THROTTLE_RATES": {"antom_payments": "2/min"}}
    with override_settings(ANTOM=antom, REST_FRAMEWORK=rates):
        codes = [client.get(url(payment)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    with override_settings(ANTOM=antom):  # no rate for the scope: not throttled
        assert client.get(url(payment)).status_code == 200
