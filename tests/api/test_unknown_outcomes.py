"""Nothing gets stuck after an unknown outcome: each fault injected into the sandbox simulator over real HTTP.

The fault rides on the settings-built client's requests (``X-Antom-Sandbox-Fault``), so it hits exactly the
calls the view or service makes while it is set: ``http=503`` is answered before the simulator does anything,
``result=U`` after the operation took place, ``latency=...`` with a short ``READ_TIMEOUT`` is a timeout of ours
while the simulator goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from antom_django import services, signals
from antom_django.client import Amount, AntomClient, AntomFailed, AntomOutcomeUnknown
from antom_django.conf import antom_settings
from antom_django.exceptions import GatewayRefused, InvalidTransition
from antom_django.models import Capture, Payment, PaymentEvent, Source
from antom_django.sandbox import SandboxServer
from antom_django.sandbox.faults import FAULT_HEADER
from antom_django.services.sessions import session_closes_at
from tests.api.shop import add_order
from tests.domain.helpers import payment_result

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
def test_changed_cart_after_an_unknown_session_that_expired_at_antom(
    antom_sandbox: SandboxServer, guest: Client, session_ttl: Callable[..., None]
) -> None:
    # Antom created the session (U), nobody ever had its data, and it ran out: the cancel is refused as closed.
    # We know no expiry of it, so only asking Antom tells the order it may move on; it was 409 for ever.
    session_ttl(1.0)
    add_order("order-1", 4200)
    with fault("result=U"):
        assert create(guest, "order-1").status_code == 503
    first = Payment.objects.get()
    time.sleep(1.5)
    session_ttl(3600.0)
    add_order("order-1", 5000)
    second = create(guest, "order-1")
    assert second.status_code == 201, second.content
    assert second.json()["amount"]["value"] == "5000"
    first.refresh_from_db()
    assert (first.status, first.cancel_requested_at) == (P.FAILED, None)


@pytest.mark.django_db
def test_a_cart_changed_back_while_its_cancel_is_unknown_gets_a_live_session(
    antom_sandbox: SandboxServer, guest: Client
) -> None:
    # The cancel reached Antom (U after it happened): the old session is dead there. Handing it out again
    # because the amount is the old one again left the buyer with a checkout that cannot be paid until it expired.
    add_order("order-1", 4200)
    first = opened(guest, "order-1")
    add_order("order-1", 5000)
    with fault("result=U"):
        assert create(guest, "order-1").json()["code"] == "order_changed"
    add_order("order-1", 4200)
    again = create(guest, "order-1")
    assert again.status_code == 201, again.content
    assert again.json()["paymentRequestId"] != first.payment_request_id
    first.refresh_from_db()
    assert first.status == P.CANCELLED  # the cancel was sent again, and Antom confirmed it
    assert antom_sandbox.pay(again.json()["paymentSessionData"])["status"] == "SUCCESS"


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


# -- an expired session Antom has no payment for ----------------------------------------------------------------

# Real Antom creates the payment when the buyer submits the checkout, so it answers inquiryPayment about a session
# nobody paid with ORDER_NOT_EXIST; the simulator keeps a payment per session (FAIL / ORDER_IS_CLOSED once it
# expires), so that answer is injected.
NO_SUCH_PAYMENT = "result=F:ORDER_NOT_EXIST, ops=inquiryPayment"


@pytest.fixture
def session_ttl(antom_sandbox: SandboxServer) -> Iterator[Callable[..., None]]:
    """Set how long the simulator's sessions last and ``SESSION_EXPIRY_GRACE`` (real seconds), restored after."""
    config = antom_sandbox.sim.config
    default = config.session_ttl
    overrides: list[override_settings] = []

    def set_times(seconds: float, grace: float = 1.0) -> None:
        config.session_ttl = seconds
        overrides.append(override_settings(ANTOM={**settings.ANTOM, "SESSION_EXPIRY_GRACE": grace}))
        overrides[-1].enable()

    yield set_times
    config.session_ttl = default
    for override in reversed(overrides):
        override.disable()


def opened(client: Client, reference: str) -> Payment:
    answer = create(client, reference)
    assert answer.status_code == 201, answer.content
    return Payment.objects.get(payment_request_id=answer.json()["paymentRequestId"])


def wait_until(moment: datetime | None) -> None:
    assert moment is not None
    time.sleep(max(0.0, (moment - timezone.now()).total_seconds()) + 0.05)


def wait_until_expired(payment: Payment) -> None:
    """Until the session's stated expiry is past by our clock (the simulator's too: the same clock here)."""
    wait_until(payment.session_expires_at)


def wait_until_over(payment: Payment) -> None:
    """Until the expiry plus ``SESSION_EXPIRY_GRACE`` is past: nobody can pay with the session any more."""
    wait_until(session_closes_at(payment))


@pytest.fixture
def failed_signals() -> Iterator[list[Payment]]:
    sent: list[Payment] = []

    def receiver(sender: Any, payment: Payment, **kwargs: Any) -> None:
        sent.append(payment)

    signals.payment_failed.connect(receiver, dispatch_uid="test-unknown-outcomes-failed")
    yield sent
    signals.payment_failed.disconnect(dispatch_uid="test-unknown-outcomes-failed")


@pytest.mark.django_db
def test_an_expired_session_antom_has_no_payment_for_is_closed_and_replaced(
    antom_sandbox: SandboxServer,
    guest: Client,
    session_ttl: Callable[..., None],
    failed_signals: list[Payment],
    django_capture_on_commit_callbacks: Any,
) -> None:
    session_ttl(1.0)
    add_order("order-1", 4200)
    first = opened(guest, "order-1")
    wait_until_over(first)
    assert antom_sandbox.pay(first.session_data)["code"] == "SDK_PAYMENT_FAIL"  # nobody can pay with it now
    session_ttl(3600.0)  # the next session lasts
    with django_capture_on_commit_callbacks(execute=True), fault(NO_SUCH_PAYMENT):
        second = create(guest, "order-1")
    assert second.status_code == 201, second.content
    assert second.json()["paymentRequestId"] != first.payment_request_id
    first.refresh_from_db()
    assert (first.status, first.result_code) == (P.FAILED, "ORDER_NOT_EXIST")
    closed = first.events.get(kind=PaymentEvent.Kind.STATUS, to_status=P.FAILED)
    assert (closed.from_status, closed.source, closed.detail["result_code"]) == (
        P.PENDING,
        Source.API,
        "ORDER_NOT_EXIST",
    )
    assert failed_signals == [first]
    # The new session is handed out again; the closed payment is not looked at twice.
    with django_capture_on_commit_callbacks(execute=True), fault(NO_SUCH_PAYMENT):
        again = create(guest, "order-1")
    assert (again.status_code, again.json()["paymentRequestId"]) == (200, second.json()["paymentRequestId"])
    assert first.events.filter(kind=PaymentEvent.Kind.STATUS, to_status=P.FAILED).count() == 1
    assert failed_signals == [first]


@pytest.mark.django_db
def test_a_closed_payment_antom_then_reports_paid_stops_the_order_until_reviewed(
    antom_sandbox: SandboxServer, guest: Client, session_ttl: Callable[..., None]
) -> None:
    # Closed FAILED on Antom's word, then Antom reports it paid after all: the buyer must not be handed a
    # session to pay the order a second time; an operator decides first.
    session_ttl(1.0)
    add_order("order-1", 4200)
    first = opened(guest, "order-1")
    wait_until_over(first)
    session_ttl(3600.0)
    with fault(NO_SUCH_PAYMENT):
        second = create(guest, "order-1")
    assert second.status_code == 201, second.content
    first.refresh_from_db()
    assert first.status == P.FAILED
    late = services.apply_payment_result(first, payment_result(first), source=Source.NOTIFICATION)
    assert (late.status, late.needs_review) == (P.FAILED, True)
    refused = create(guest, "order-1")
    assert refused.status_code == 409, refused.content
    assert (refused.json()["code"], refused.json()["paymentRequestId"]) == (
        "payment_in_progress",
        first.payment_request_id,
    )
    assert "review" in refused.json()["detail"]
    services.clear_review(late, note="Antom confirmed: not paid")
    again = create(guest, "order-1")
    assert (again.status_code, again.json()["paymentRequestId"]) == (200, second.json()["paymentRequestId"])


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["PARAM_ILLEGAL", "SIGNATURE_INVALID", "ACCESS_DENIED"])
def test_an_expired_session_whose_inquiry_is_refused_otherwise_stays_open(
    antom_sandbox: SandboxServer, guest: Client, session_ttl: Callable[..., None], code: str
) -> None:
    session_ttl(1.0)
    add_order("order-1", 4200)
    first = opened(guest, "order-1")
    wait_until_over(first)
    with fault(f"result=F:{code}, ops=inquiryPayment"):
        refused = create(guest, "order-1")
    assert refused.status_code == 409, refused.content
    assert refused.json()["code"] == "payment_in_progress"
    assert refused.json()["paymentRequestId"] == first.payment_request_id
    assert code in refused.json()["detail"]
    first.refresh_from_db()
    assert (first.status, first.result_code) == (P.PENDING, "")
    assert not first.events.filter(kind=PaymentEvent.Kind.STATUS).exclude(to_status=P.PENDING).exists()
    assert Payment.objects.count() == 1
    # Once Antom answers the inquiry (here: the simulator's FAIL / ORDER_IS_CLOSED), the order moves on.
    assert create(guest, "order-1").status_code == 201


@pytest.mark.django_db
def test_a_session_paid_before_it_expired_is_still_found_paid(
    antom_sandbox: SandboxServer, guest: Client, session_ttl: Callable[..., None]
) -> None:
    session_ttl(3.0)
    add_order("order-1", 4200)
    first = opened(guest, "order-1")
    assert antom_sandbox.pay(first.session_data)["status"] == "SUCCESS"
    wait_until_over(first)  # we heard nothing (the notification went elsewhere) and our copy is over
    refused = create(guest, "order-1")
    assert refused.status_code == 409, refused.content
    assert refused.json()["code"] == "order_already_paid"
    first.refresh_from_db()
    assert first.status == P.AUTHORIZED
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_a_session_about_to_expire_is_not_closed_while_it_can_be_paid(
    antom_sandbox: SandboxServer, guest: Client, session_ttl: Callable[..., None]
) -> None:
    session_ttl(60.0)  # inside the 2-minute reuse margin: not handed out again, but still payable
    add_order("order-1", 4200)
    first = opened(guest, "order-1")
    with fault(NO_SUCH_PAYMENT):
        refused = create(guest, "order-1")
    assert refused.status_code == 409, refused.content
    assert refused.json()["code"] == "payment_in_progress"
    assert "may still be paid until" in refused.json()["detail"]
    first.refresh_from_db()
    assert first.status == P.PENDING
    assert antom_sandbox.pay(first.session_data)["status"] == "SUCCESS"


@pytest.mark.django_db
def test_a_session_just_expired_is_not_closed_within_the_grace(
    antom_sandbox: SandboxServer, guest: Client, session_ttl: Callable[..., None]
) -> None:
    # Antom states the expiry to the second, by its own clock: a few seconds after it a buyer may still be paying.
    session_ttl(1.0, grace=30.0)
    add_order("order-1", 4200)
    first = opened(guest, "order-1")
    wait_until_expired(first)
    with fault(NO_SUCH_PAYMENT):
        refused = create(guest, "order-1")
    assert refused.status_code == 409, refused.content
    assert refused.json()["code"] == "payment_in_progress"
    assert refused.json()["detail"].endswith(f"until {session_closes_at(first).isoformat()}; ask again then.")
    first.refresh_from_db()
    assert first.status == P.PENDING


@pytest.mark.django_db
@pytest.mark.parametrize("spec", [NO_SUCH_PAYMENT, ""], ids=["antom-has-none", "simulator-closed-it"])
def test_a_changed_cart_after_an_expired_session_gets_a_new_session(
    antom_sandbox: SandboxServer, guest: Client, session_ttl: Callable[..., None], spec: str
) -> None:
    # The expired payment is asked about before it is cancelled: a cancel of it would be refused (the simulator
    # answers ORDER_IS_CLOSED, real Antom ORDER_NOT_EXIST), and the order could never change its cart.
    session_ttl(1.0)
    add_order("order-1", 4200)
    first = opened(guest, "order-1")
    wait_until_over(first)
    add_order("order-1", 5000)
    with fault(spec) if spec else nullcontext():
        second = create(guest, "order-1")
    assert second.status_code == 201, second.content
    assert second.json()["amount"]["value"] == "5000"
    first.refresh_from_db()
    assert first.status == P.FAILED
    assert not first.events.filter(kind=PaymentEvent.Kind.REQUEST, detail__operation="cancel").exists()


@pytest.mark.django_db
def test_the_result_page_of_an_expired_session_antom_has_no_payment_for_stops_pending(
    antom_sandbox: SandboxServer, guest: Client, session_ttl: Callable[..., None]
) -> None:
    session_ttl(1.0)
    add_order("order-1", 4200)
    first = opened(guest, "order-1")
    with fault(NO_SUCH_PAYMENT):
        assert guest.get(f"/antom/payments/{first.payment_request_id}/").json()["status"] == P.PENDING
        wait_until_over(first)
        Payment.objects.filter(pk=first.pk).update(last_inquiry_at=None)  # past STATUS_REFRESH_INTERVAL
        page = guest.get(f"/antom/payments/{first.payment_request_id}/").json()
    assert (page["status"], page["isPending"], page["resultCode"]) == (P.FAILED, False, "ORDER_NOT_EXIST")
    assert page["resultMessage"] == "The payment session expired before the buyer paid with it."
    assert first.events.get(kind=PaymentEvent.Kind.STATUS, to_status=P.FAILED).source == Source.POLL


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [{"status": P.PROCESSING}, {"payment_id": "2024PAYSIM0001"}, {"session_expires_at": None}],
    ids=["processing", "antom-gave-a-payment-id", "expiry-unknown"],
)
def test_no_such_payment_closes_nothing_antom_has_acknowledged(
    antom_sandbox: SandboxServer, guest: Client, session_ttl: Callable[..., None], change: dict[str, Any]
) -> None:
    # Antom reported a payment (PROCESSING, a paymentId), or we cannot tell the session is over: a contradiction
    # or no proof, so the payment stays as it is.
    session_ttl(1.0)
    add_order("order-1", 4200)
    first = opened(guest, "order-1")
    wait_until_over(first)
    Payment.objects.filter(pk=first.pk).update(**change)
    first.refresh_from_db()
    with fault("result=F:ORDER_NOT_EXIST"):
        payment = services.sync_payment(first)
    assert payment.status == first.status
    assert payment.result_code == ""
    assert payment.last_inquiry_at is not None


# -- a sync of a payment whose session answer was lost ---------------------------------------------------------


@pytest.mark.django_db
def test_a_sync_of_a_payment_whose_session_answer_was_lost_keeps_it_retryable(
    antom_sandbox: SandboxServer, guest: Client
) -> None:
    """Antom created the session (it answers inquiries about it) but we never got its data: "still processing"
    is no news about the buyer, so the payment stays INITIATED and the next POST retries the session request."""
    add_order("order-1", 4200)
    with fault("result=U"):
        assert create(guest, "order-1").status_code == 503
    payment = Payment.objects.get()
    payment = services.sync_payment(payment)  # what a sweep or a shell would do
    assert payment.status == P.INITIATED
    assert payment.needs_review is False
    retried = create(guest, "order-1")
    assert retried.status_code == 201, retried.content
    assert retried.json()["paymentRequestId"] == payment.payment_request_id
    payment.refresh_from_db()
    assert payment.status == P.PENDING
    assert antom_sandbox.pay(payment.session_data)["status"] == "SUCCESS"
