"""Nothing gets stuck after an unknown outcome: each fault injected into the sandbox simulator over real HTTP.

The fault rides on the settings-built client's requests (``X-Antom-Sandbox-Fault``), so it hits exactly the
calls the view or service makes while it is set: ``http=503`` is answered before the simulator does anything,
``result=U`` after the operation took place, ``latency=...`` with a short ``READ_TIMEOUT`` is a timeout of ours
while the simulator goes on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings

from antom_django import services
from antom_django.client import Amount, AntomClient, AntomFailed, AntomOutcomeUnknown
from antom_django.conf import antom_settings
from antom_django.exceptions import GatewayRefused, InvalidTransition
from antom_django.models import Capture, Payment, PaymentEvent
from antom_django.sandbox import SandboxServer
from antom_django.sandbox.faults import FAULT_HEADER
from tests.api.shop import add_order

URL = "/antom/sessions/"
P = Payment.Status


@contextmanager
def fault(spec: str) -> Iterator[None]:
    """Every request the settings' client sends inside the block carries ``X-Antom-Sandbox-Fault: spec``."""
    session = antom_settings.get_client().session
    session.headers[FAULT_HEADER] = spec
    try:
        yield
    finally:
        del session.headers[FAULT_HEADER]


@contextmanager
def short_read_timeout(seconds: float = 0.2) -> Iterator[None]:
    with override_settings(ANTOM={**settings.ANTOM, "READ_TIMEOUT": seconds}):
        yield


def wait_until_known(sim: AntomClient, payment_request_id: str, timeout: float = 5.0) -> None:
    """Until the simulator has finished the request our client gave up on (it slept, then went on)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            sim.inquiry_payment(payment_request_id=payment_request_id)
            return
        except AntomFailed:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def create(client: Client, reference: str) -> Any:
    return client.post(URL, {"referenceOrderId": reference}, content_type="application/json")


@pytest.fixture
def guest() -> Client:
    return Client()


# -- createPaymentSession: the retry sends the identical body -------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("spec", ["http=503", "result=U"])
def test_post_again_after_an_unknown_session_outcome_succeeds_at_the_first_retry(
    antom_sandbox: SandboxServer, guest: Client, spec: str
) -> None:
    add_order("order-1", 4200)
    with fault(spec):
        unknown = create(guest, "order-1")
    assert unknown.status_code == 503, unknown.content
    assert unknown.json()["code"] == "antom_unavailable"
    payment = Payment.objects.get()
    assert payment.status == P.INITIATED
    assert unknown.json()["paymentRequestId"] == payment.payment_request_id
    retried = create(guest, "order-1")
    assert retried.status_code == 201, retried.content
    assert retried.json()["paymentRequestId"] == payment.payment_request_id
    payment.refresh_from_db()
    assert payment.status == P.PENDING
    assert antom_sandbox.pay(payment.session_data)["paymentId"]


@pytest.mark.django_db
def test_post_again_after_a_timeout_sends_the_same_body(antom_sandbox: SandboxServer, guest: Client) -> None:
    add_order("order-1", 4200)
    with short_read_timeout(), fault("latency=0.6"):
        timed_out = create(guest, "order-1")
    assert timed_out.status_code == 503, timed_out.content
    payment = Payment.objects.get()
    # The simulator created the session after we gave up: the retry is a repeat of that request.
    wait_until_known(antom_sandbox.client(), payment.payment_request_id)
    retried = create(guest, "order-1")
    assert retried.status_code == 201, retried.content
    assert retried.json()["paymentRequestId"] == payment.payment_request_id


@pytest.mark.django_db
def test_retry_session_rebuilds_the_first_request_whatever_it_is_given(antom_sandbox: SandboxServer) -> None:
    goods = [{"referenceGoodsId": "kettle", "goodsName": "Kettle", "goodsQuantity": "1"}]
    with fault("result=U"), pytest.raises(AntomOutcomeUnknown):
        services.start_payment(
            amount=Amount("SGD", 4200),
            reference_order_id="order-9",
            description="Kettle",
            goods=goods,
            buyer={"referenceBuyerId": "buyer-9"},
            redirect_url="https://shop.example.com/done/?order=order-9",
        )
    payment = Payment.objects.get()
    assert payment.session_request["goods"] == goods
    assert payment.session_request["redirect_url"] == "https://shop.example.com/done/?order=order-9"
    payment = services.retry_session(payment, goods=[], redirect_url="https://elsewhere.example.com/")
    assert payment.status == P.PENDING
    assert payment.session_request["goods"] == goods


# -- the cart changes after an unknown outcome -----------------------------------------------------------------


@pytest.mark.django_db
def test_changed_cart_after_a_session_antom_never_saw(antom_sandbox: SandboxServer, guest: Client) -> None:
    add_order("order-1", 4200)
    with fault("http=503"):
        assert create(guest, "order-1").status_code == 503
    first = Payment.objects.get()
    add_order("order-1", 5000)
    second = create(guest, "order-1")
    assert second.status_code == 201, second.content
    assert second.json()["amount"]["value"] == "5000"
    assert second.json()["paymentRequestId"] != first.payment_request_id
    first.refresh_from_db()
    assert (first.status, first.cancel_requested_at) == (P.CANCELLED, None)
    closed = first.events.get(kind=PaymentEvent.Kind.STATUS, to_status=P.CANCELLED)
    assert closed.detail["result_code"] == "ORDER_NOT_EXIST"


@pytest.mark.django_db
def test_changed_cart_after_a_session_antom_created(antom_sandbox: SandboxServer, guest: Client) -> None:
    add_order("order-1", 4200)
    with fault("result=U"):
        assert create(guest, "order-1").status_code == 503
    first = Payment.objects.get()
    add_order("order-1", 5000)
    second = create(guest, "order-1")
    assert second.status_code == 201, second.content
    first.refresh_from_db()
    assert first.status == P.CANCELLED
    # Antom had the old session: it is cancelled there too, so it can no longer be paid.
    inquiry = antom_sandbox.client().inquiry_payment(payment_request_id=first.payment_request_id)
    assert inquiry.payment_status == "CANCELLED"


@pytest.mark.django_db
def test_changed_cart_whose_cancel_is_unanswered_is_409_then_goes_through(
    antom_sandbox: SandboxServer, guest: Client
) -> None:
    add_order("order-1", 4200)
    assert create(guest, "order-1").status_code == 201
    add_order("order-1", 5000)
    with fault("http=503"):
        refused = create(guest, "order-1")
    assert refused.status_code == 409
    assert refused.json()["code"] == "order_changed"
    assert create(guest, "order-1").status_code == 201  # the cancel is sent again


@pytest.mark.django_db
def test_no_such_order_closes_only_a_payment_antom_never_acknowledged(antom_sandbox: SandboxServer) -> None:
    # A session Antom gave us (PENDING) that it then says it does not know is a contradiction: not closed here.
    payment = Payment.objects.create(
        amount=4200, currency="SGD", reference_order_id="order-1", status=P.PENDING, session_data="data"
    )
    with pytest.raises(GatewayRefused, match="ORDER_NOT_EXIST"):
        services.cancel(payment)
    payment.refresh_from_db()
    assert (payment.status, payment.cancel_requested_at) == (P.PENDING, None)


# -- cancel with an unknown outcome never blocks captures forever ---------------------------------------------


@pytest.fixture
def authorized(antom_sandbox: SandboxServer, guest: Client) -> Payment:
    add_order("order-1", 4200)
    created = create(guest, "order-1").json()
    antom_sandbox.pay(created["paymentSessionData"])
    payment = services.sync_payment(Payment.objects.get())
    assert payment.status == P.AUTHORIZED
    return payment


@pytest.mark.django_db
def test_sync_clears_a_cancel_antom_never_received(authorized: Payment) -> None:
    with fault("http=503"), pytest.raises(AntomOutcomeUnknown):
        services.cancel(authorized)
    authorized.refresh_from_db()
    assert authorized.cancel_requested_at is not None
    with pytest.raises(InvalidTransition, match="cancel"):
        services.capture(authorized)
    payment = services.sync_payment(authorized)
    assert payment.status == P.AUTHORIZED
    assert payment.cancel_requested_at is None
    assert payment.events.filter(detail__cleared__isnull=False).count() == 1
    assert services.capture(payment).status == Capture.Status.SUCCEEDED


@pytest.mark.django_db
@pytest.mark.parametrize("spec", ["http=503", "result=U", "latency=0.6"])
def test_a_cancel_with_an_unknown_outcome_can_be_sent_again(
    antom_sandbox: SandboxServer, authorized: Payment, spec: str
) -> None:
    with short_read_timeout(), fault(spec), pytest.raises(AntomOutcomeUnknown):
        services.cancel(authorized)
    first_mark = Payment.objects.get().cancel_requested_at
    assert first_mark is not None
    time.sleep(0.6 if spec.startswith("latency") else 0)  # the simulator finishes what we gave up on
    payment = services.cancel(authorized)
    assert payment.status == P.CANCELLED
    requests = payment.events.filter(kind=PaymentEvent.Kind.REQUEST, detail__operation="cancel")
    assert [event.detail.get("resend", False) for event in requests.order_by("pk")] == [False, True]
    inquiry = antom_sandbox.client().inquiry_payment(payment_request_id=payment.payment_request_id)
    assert inquiry.payment_status == "CANCELLED"


@pytest.mark.django_db
def test_sync_after_a_cancel_that_happened_cancels(authorized: Payment) -> None:
    with fault("result=U"), pytest.raises(AntomOutcomeUnknown):
        services.cancel(authorized)
    payment = services.sync_payment(authorized)
    assert payment.status == P.CANCELLED
