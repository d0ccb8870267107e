"""Automatic capture (the adapter's ``capture_delay``) and the authorization-expiry policy, against the simulator."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from antom_django import signals
from antom_django.adapter import AntomAdapter
from antom_django.client import Amount
from antom_django.client.types import parse_time
from antom_django.models import Capture, Notification, Payment, PaymentEvent, Source
from antom_django.sandbox import SandboxServer
from antom_django.services import apply_notification, capture, start_payment, sync_payment
from antom_django.services.auth_hooks import CAPTURE_WINDOW
from antom_django.services.authorization import capture_due, check_expiry
from tests.client.helpers import result
from tests.concurrency import race
from tests.domain.conftest import SignalLog
from tests.domain.helpers import FakeAntom, make_payment, money, payment_result, store

pytestmark = pytest.mark.django_db(transaction=True)
P = Payment.Status
DAY = timedelta(days=1)

WATCHED = (
    "payment_authorization_expiring",
    "payment_authorization_expired",
    "payment_cancelled",
    "payment_succeeded",
    "capture_succeeded",
)


@pytest.fixture
def sent() -> Iterator[SignalLog]:
    """The expiry signals and the moves around them, as sent (after commit)."""
    log = SignalLog()
    for name in WATCHED:

        def receiver(sender: Any, _name: str = name, **kwargs: Any) -> None:
            kwargs.pop("signal", None)
            log.add(_name, kwargs)

        getattr(signals, name).connect(receiver, weak=False, dispatch_uid=f"authorization-test-{name}")
    yield log
    for name in WATCHED:
        getattr(signals, name).disconnect(dispatch_uid=f"authorization-test-{name}")


@pytest.fixture
def antom(antom_sandbox: SandboxServer) -> Iterator[Callable[..., None]]:
    """Set ``ANTOM`` keys for one test, on top of the simulator's."""
    overrides: list[Any] = []

    def configure(**values: Any) -> None:
        overrides.append(override_settings(ANTOM={**settings.ANTOM, **values}))
        overrides[-1].enable()

    yield configure
    for override in reversed(overrides):
        override.disable()


@pytest.fixture
def auth_ttl(antom_sandbox: SandboxServer) -> Iterator[Callable[[float], None]]:
    """Set how long the simulator's authorizations last, restored after."""
    config = antom_sandbox.sim.config
    default = config.auth_ttl

    def set_ttl(seconds: float) -> None:
        config.auth_ttl = seconds

    yield set_ttl
    config.auth_ttl = default


def paid(sandbox: SandboxServer, value: int = 4200) -> Payment:
    """A real simulator payment, authorized and synced."""
    payment = start_payment(amount=Amount("SGD", value), reference_order_id="order-9", description="Kettle")
    sandbox.pay(payment.session_data)
    payment = sync_payment(payment)
    assert payment.status == P.AUTHORIZED
    return payment


def captures_at_antom(sandbox: SandboxServer, payment: Payment) -> list[int]:
    return [c.amount.value for c in sandbox.sim.store.payments[payment.payment_id].captures]


def near(moment: datetime | None, expected: datetime, slack: float = 5.0) -> bool:
    return moment is not None and abs((moment - expected).total_seconds()) < slack


def wait_past(moment: datetime | None) -> None:
    assert moment is not None
    time.sleep(max(0.0, (moment - timezone.now()).total_seconds()) + 0.1)


# -- the adapter's hook -----------------------------------------------------------------------------------------


class RiskAdapter(AntomAdapter):
    """Holds big orders for a review, captures the rest after a minute."""

    def capture_delay(self, payment: Payment) -> bool | float:
        return False if payment.amount > 10_000 else 60


class BrokenAdapter(AntomAdapter):
    def capture_delay(self, payment: Payment) -> bool | float:
        raise LookupError("no such order")


class BrokenQueryAdapter(AntomAdapter):
    def capture_delay(self, payment: Payment) -> bool | float:
        with connection.cursor() as cursor:
            cursor.execute("SELECT no_such_column FROM antom_django_payment")
        return True


class NonsenseAdapter(AntomAdapter):
    def capture_delay(self, payment: Payment) -> Any:
        return "soon"


def authorize_by_notification(payment: Payment) -> Payment:
    note = store(payment_result(payment))
    assert apply_notification(Notification.objects.get(pk=note.pk)) == Notification.Outcome.APPLIED
    payment.refresh_from_db()
    assert payment.status == P.AUTHORIZED
    return payment


@pytest.mark.parametrize(("setting", "delay"), [(True, 0.0), (90, 90.0), (False, None)])
def test_auto_capture_setting_schedules_the_capture(setting: bool | float, delay: float | None) -> None:
    with override_settings(ANTOM={**settings.ANTOM, "AUTO_CAPTURE": setting}):
        before = timezone.now()
        payment = authorize_by_notification(make_payment())
    if delay is None:
        assert payment.capture_at is None
    else:
        assert near(payment.capture_at, before + timedelta(seconds=delay))
    assert near(payment.next_check_at, before), "the background work looks at it at once (its expiry)"


def test_an_adapter_decides_per_payment() -> None:
    with override_settings(ANTOM={**settings.ANTOM, "ADAPTER": f"{__name__}.RiskAdapter", "AUTO_CAPTURE": True}):
        small = authorize_by_notification(make_payment(amount=4200))
        big = authorize_by_notification(make_payment(amount=50_000, reference_order_id="order-2"))
    assert near(small.capture_at, timezone.now() + timedelta(seconds=60))
    assert big.capture_at is None
    assert not big.needs_review


@pytest.mark.parametrize("adapter", ["BrokenAdapter", "BrokenQueryAdapter", "NonsenseAdapter"])
def test_a_failing_hook_holds_and_flags_and_the_notification_still_applies(
    adapter: str, caplog: pytest.LogCaptureFixture
) -> None:
    with override_settings(ANTOM={**settings.ANTOM, "ADAPTER": f"{__name__}.{adapter}", "AUTO_CAPTURE": True}):
        payment = authorize_by_notification(make_payment())
    assert payment.capture_at is None
    assert payment.needs_review
    assert "capture_delay()" in payment.review_reason
    assert payment.events.filter(kind=PaymentEvent.Kind.STATUS, to_status=P.AUTHORIZED).count() == 1
    assert any("capture_delay() " in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)
    if adapter == "BrokenAdapter":
        assert any(r.exc_info and r.exc_info[0] is LookupError for r in caplog.records), "logged with the exception"


def test_a_payment_antom_captures_is_never_captured(antom_gateway: FakeAntom) -> None:
    with override_settings(ANTOM={**settings.ANTOM, "AUTO_CAPTURE": True}):
        payment = make_payment(is_authorization=False)
        apply_notification(store(payment_result(payment)))
        payment.refresh_from_db()
        assert payment.status == P.SUCCEEDED
        assert payment.capture_at is None
        # Even a capture time set by hand sends nothing.
        Payment.objects.filter(pk=payment.pk).update(capture_at=timezone.now())
        assert capture_due(payment) is None
    assert antom_gateway.requests("capture") == []
    assert list(payment.captures.values_list("origin", flat=True)) == [Capture.Origin.AUTOMATIC]
    payment.refresh_from_db()
    assert payment.capture_at is None


# -- capture_due ------------------------------------------------------------------------------------------------


def test_auto_capture_at_once_captures_once(antom_sandbox: SandboxServer, antom: Callable[..., None]) -> None:
    antom(AUTO_CAPTURE=True)
    payment = paid(antom_sandbox)
    row = capture_due(payment)
    assert row is not None and row.status == Capture.Status.SUCCEEDED
    assert (row.amount, row.source) == (4200, Source.SYSTEM)
    assert capture_due(payment) is None
    payment.refresh_from_db()
    assert (payment.status, payment.captured_amount, payment.capture_at) == (P.SUCCEEDED, 4200, None)
    assert captures_at_antom(antom_sandbox, payment) == [4200]


def test_a_delayed_capture_waits_for_its_time(antom_sandbox: SandboxServer, antom: Callable[..., None]) -> None:
    antom(AUTO_CAPTURE=3600)
    payment = paid(antom_sandbox)
    assert payment.capture_at is not None
    assert capture_due(payment) is None
    assert Payment.objects.get(pk=payment.pk).capture_at == payment.capture_at, "still scheduled"
    row = capture_due(payment, now=payment.capture_at)
    assert row is not None and row.status == Capture.Status.SUCCEEDED
    assert captures_at_antom(antom_sandbox, payment) == [4200]


def test_held_payments_are_not_captured(antom_sandbox: SandboxServer) -> None:
    payment = paid(antom_sandbox)
    assert payment.capture_at is None
    assert capture_due(payment, now=timezone.now() + DAY) is None
    assert captures_at_antom(antom_sandbox, payment) == []


def test_two_workers_racing_capture_once(antom_sandbox: SandboxServer, antom: Callable[..., None]) -> None:
    antom(AUTO_CAPTURE=True)
    payment = paid(antom_sandbox)
    antom_sandbox.set_faults(latency=0.3, operations=("capture",))  # both are past their checks before either ends
    outcomes = race(2, lambda i: capture_due(Payment.objects.get(pk=payment.pk)))
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sum(isinstance(o, Capture) for o in outcomes) == 1, outcomes
    assert Capture.objects.filter(payment=payment).count() == 1
    assert captures_at_antom(antom_sandbox, payment) == [4200]
    payment.refresh_from_db()
    assert (payment.status, payment.capture_at) == (P.SUCCEEDED, None)


def test_a_capture_row_left_by_a_crash_is_the_proof(antom_sandbox: SandboxServer, antom: Callable[..., None]) -> None:
    antom(AUTO_CAPTURE=True)
    payment = paid(antom_sandbox)
    antom_sandbox.set_faults(unknown_rate=1.0, operations=("capture",))
    first = capture(payment, source=Source.SYSTEM)  # what a worker sent before it died, capture_at still set
    antom_sandbox.set_faults()
    assert first.status == Capture.Status.PENDING
    assert capture_due(payment) is None
    assert Capture.objects.filter(payment=payment).count() == 1
    assert captures_at_antom(antom_sandbox, payment) == [4200]
    assert Payment.objects.get(pk=payment.pk).capture_at is None


def test_a_person_s_partial_capture_cancels_the_automatic_one(
    antom_sandbox: SandboxServer, antom: Callable[..., None]
) -> None:
    antom(AUTO_CAPTURE=60)
    payment = paid(antom_sandbox)
    capture(payment, 1000, source=Source.ADMIN)
    assert capture_due(payment, now=timezone.now() + DAY) is None
    assert captures_at_antom(antom_sandbox, payment) == [1000]
    assert Payment.objects.get(pk=payment.pk).capture_at is None


def test_a_cancel_in_flight_postpones_the_capture(antom_sandbox: SandboxServer, antom: Callable[..., None]) -> None:
    antom(AUTO_CAPTURE=True, SWEEP_INTERVAL=120.0)
    payment = paid(antom_sandbox)
    Payment.objects.filter(pk=payment.pk).update(cancel_requested_at=timezone.now())
    now = timezone.now()
    assert capture_due(payment, now=now) is None
    assert Payment.objects.get(pk=payment.pk).capture_at == now + timedelta(seconds=120)
    assert captures_at_antom(antom_sandbox, payment) == []


def test_an_expired_authorization_is_not_captured(antom_sandbox: SandboxServer, antom: Callable[..., None]) -> None:
    antom(AUTO_CAPTURE=True)
    payment = paid(antom_sandbox)
    assert payment.auth_expires_at is not None
    assert capture_due(payment, now=payment.auth_expires_at) is None
    assert captures_at_antom(antom_sandbox, payment) == []
    assert Payment.objects.get(pk=payment.pk).capture_at is None


def test_a_refused_automatic_capture_is_flagged(antom_sandbox: SandboxServer, antom: Callable[..., None]) -> None:
    antom(AUTO_CAPTURE=True)
    payment = paid(antom_sandbox)
    antom_sandbox.set_faults(refuse_code="RISK_REJECT", operations=("capture",))
    row = capture_due(payment)
    assert row is not None and (row.status, row.result_code) == (Capture.Status.FAILED, "RISK_REJECT")
    payment.refresh_from_db()
    assert (payment.status, payment.capture_at, payment.needs_review) == (P.AUTHORIZED, None, True)
    assert "RISK_REJECT" in payment.review_reason
    assert capture_due(payment) is None, "not retried on its own"


# -- the expiry policy, a margin before authExpiryTime ------------------------------------------------------------


def at_margin(payment: Payment) -> datetime:
    """A second into the margin before the authorization's expiry (AUTH_EXPIRY_MARGIN: a day)."""
    assert payment.auth_expires_at is not None
    return payment.auth_expires_at - DAY + timedelta(seconds=1)


def test_before_the_margin_nothing_happens(antom_sandbox: SandboxServer, sent: SignalLog) -> None:
    payment = paid(antom_sandbox)
    assert payment.auth_expires_at is not None
    assert check_expiry(payment) == payment.auth_expires_at - DAY
    assert Payment.objects.get(pk=payment.pk).expiry_handled_at is None
    assert sent.count("payment_authorization_expiring") == 0


def test_policy_flag_flags_once(antom_sandbox: SandboxServer, sent: SignalLog) -> None:
    payment = paid(antom_sandbox)
    now = at_margin(payment)
    assert check_expiry(payment, now=now) == payment.auth_expires_at
    assert check_expiry(payment, now=now + timedelta(seconds=5)) == payment.auth_expires_at
    [(_, expiring)] = [s for s in sent.sent if s[0] == "payment_authorization_expiring"]
    assert (expiring["policy"], expiring["expires_at"], expiring["source"]) == (
        "flag",
        payment.auth_expires_at,
        Source.SYSTEM,
    )
    payment.refresh_from_db()
    assert (payment.status, payment.expiry_handled_at, payment.needs_review) == (P.AUTHORIZED, now, True)
    assert "expires at" in payment.review_reason
    assert payment.events.filter(kind=PaymentEvent.Kind.REVIEW).count() == 1
    assert captures_at_antom(antom_sandbox, payment) == []


def test_policy_capture_captures_everything(
    antom_sandbox: SandboxServer, antom: Callable[..., None], sent: SignalLog
) -> None:
    antom(AUTH_EXPIRY_POLICY="capture")
    payment = paid(antom_sandbox)
    now = at_margin(payment)
    assert check_expiry(payment, now=now) is None, "captured in full: nothing left to watch"
    assert check_expiry(payment, now=now) is None
    payment.refresh_from_db()
    assert (payment.status, payment.captured_amount, payment.capture_at) == (P.SUCCEEDED, 4200, None)
    assert captures_at_antom(antom_sandbox, payment) == [4200]
    assert sent.count("payment_authorization_expiring") == 1
    assert sent.count("payment_succeeded") == 1


def test_policy_capture_captures_what_remains(
    antom_sandbox: SandboxServer, antom: Callable[..., None], sent: SignalLog
) -> None:
    antom(AUTH_EXPIRY_POLICY="capture")
    payment = paid(antom_sandbox)
    capture(payment, 1000, source=Source.ADMIN)
    now = at_margin(payment)
    assert check_expiry(payment, now=now) is None
    payment.refresh_from_db()
    assert (payment.status, payment.captured_amount) == (P.SUCCEEDED, 4200)
    assert captures_at_antom(antom_sandbox, payment) == [1000, 3200]
    assert sent.count("payment_authorization_expiring") == 1


def test_policy_capture_lost_to_a_crash_is_run_by_capture_due(
    antom_sandbox: SandboxServer, antom: Callable[..., None]
) -> None:
    antom(AUTH_EXPIRY_POLICY="capture")
    payment = paid(antom_sandbox)
    capture(payment, 1000, source=Source.ADMIN)
    # The policy was applied (the intent committed) and the worker died before capturing.
    now = at_margin(payment)
    Payment.objects.filter(pk=payment.pk).update(expiry_handled_at=now, capture_at=now)
    row = capture_due(payment, now=now)
    assert row is not None and (row.amount, row.status) == (3200, Capture.Status.SUCCEEDED)
    assert captures_at_antom(antom_sandbox, payment) == [1000, 3200]


def test_policy_void_cancels(antom_sandbox: SandboxServer, antom: Callable[..., None], sent: SignalLog) -> None:
    antom(AUTH_EXPIRY_POLICY="void")
    payment = paid(antom_sandbox)
    assert check_expiry(payment, now=at_margin(payment)) is None
    payment.refresh_from_db()
    assert payment.status == P.CANCELLED
    assert antom_sandbox.client().inquiry_payment(payment_id=payment.payment_id).payment_status == "CANCELLED"
    assert sent.names().count("payment_authorization_expiring") == 1
    assert sent.count("payment_cancelled") == 1
    assert sent.count("payment_authorization_expired") == 0, "voided by us, not lapsed"


def test_policy_void_of_a_partly_captured_payment_flags(
    antom_sandbox: SandboxServer, antom: Callable[..., None], sent: SignalLog
) -> None:
    antom(AUTH_EXPIRY_POLICY="void")
    payment = paid(antom_sandbox)
    capture(payment, 1000, source=Source.ADMIN)
    assert check_expiry(payment, now=at_margin(payment)) == payment.auth_expires_at
    payment.refresh_from_db()
    assert (payment.status, payment.needs_review) == (P.PARTIALLY_CAPTURED, True)
    assert "cannot be voided" in payment.review_reason
    assert payment.cancel_requested_at is None, "no cancel was sent"
    assert sent.count("payment_authorization_expiring") == 1


def test_the_policy_is_applied_once_by_racing_workers(
    antom_sandbox: SandboxServer, antom: Callable[..., None], sent: SignalLog
) -> None:
    antom(AUTH_EXPIRY_POLICY="capture")
    payment = paid(antom_sandbox)
    now = at_margin(payment)
    outcomes = race(4, lambda i: check_expiry(Payment.objects.get(pk=payment.pk), now=now))
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sent.count("payment_authorization_expiring") == 1
    assert captures_at_antom(antom_sandbox, payment) == [4200]
    assert Capture.objects.filter(payment=payment).count() == 1


# -- an expiry Antom never stated --------------------------------------------------------------------------------


def inquiry_answer(payment: Payment, status: str = "SUCCESS", expires: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "result": result("S"),
        "paymentStatus": status,
        "paymentRequestId": payment.payment_request_id,
        "paymentId": payment.payment_id,
        "paymentAmount": money(payment.amount, payment.currency),
    }
    if expires:
        data["authExpiryTime"] = expires
    return data


def test_an_unknown_expiry_is_asked_once_then_assumed_seven_days(antom_gateway: FakeAntom) -> None:
    paid_at = timezone.now() - timedelta(hours=1)
    payment = make_payment(P.AUTHORIZED, paid_at=paid_at)
    antom_gateway.answer("inquiryPayment", inquiry_answer(payment))
    assert check_expiry(payment) == paid_at + CAPTURE_WINDOW - DAY
    assert check_expiry(payment) == paid_at + CAPTURE_WINDOW - DAY
    assert len(antom_gateway.requests("inquiryPayment")) == 1, "asked again only after POLL_INTERVAL"
    assert Payment.objects.get(pk=payment.pk).auth_expires_at is None, "an assumption is not Antom's word"


def test_an_unknown_expiry_is_learned_by_inquiry(antom_gateway: FakeAntom) -> None:
    payment = make_payment(P.AUTHORIZED, paid_at=timezone.now())
    antom_gateway.answer("inquiryPayment", inquiry_answer(payment, expires="2099-01-08T00:01:00+08:00"))
    expires = parse_time("2099-01-08T00:01:00+08:00")
    assert expires is not None
    assert check_expiry(payment) == expires - DAY
    assert Payment.objects.get(pk=payment.pk).auth_expires_at == expires


# -- after authExpiryTime: the end, confirmed by inquiry -------------------------------------------------------


def test_an_uncaptured_authorization_ends_cancelled(
    antom_sandbox: SandboxServer, auth_ttl: Callable[[float], None], sent: SignalLog
) -> None:
    auth_ttl(2)
    payment = paid(antom_sandbox)
    wait_past(payment.auth_expires_at)
    assert check_expiry(payment) is None
    payment.refresh_from_db()
    assert (payment.status, payment.result_code) == (P.CANCELLED, "AUTH_EXPIRED")
    assert check_expiry(payment) is None
    sync_payment(payment)
    [(_, expired)] = [s for s in sent.sent if s[0] == "payment_authorization_expired"]
    assert (expired["payment"].pk, expired["captured_amount"], expired["source"]) == (payment.pk, 0, Source.SYSTEM)
    assert sent.count("payment_cancelled") == 1
    assert sent.count("payment_authorization_expiring") == 0, "the margin was never reached by a check"


def test_a_partly_captured_authorization_ends_succeeded(
    antom_sandbox: SandboxServer, auth_ttl: Callable[[float], None], sent: SignalLog
) -> None:
    auth_ttl(2)
    payment = paid(antom_sandbox)
    capture(payment, 1000, source=Source.ADMIN)
    wait_past(payment.auth_expires_at)
    assert check_expiry(payment) is None
    payment.refresh_from_db()
    assert (payment.status, payment.captured_amount) == (P.SUCCEEDED, 1000)
    assert check_expiry(payment) is None
    assert sync_payment(payment).status == P.SUCCEEDED
    assert sent.count("payment_succeeded") == 1
    [(_, expired)] = [s for s in sent.sent if s[0] == "payment_authorization_expired"]
    assert expired["captured_amount"] == 1000
    event = payment.events.get(kind=PaymentEvent.Kind.STATUS, to_status=P.SUCCEEDED)
    assert "lapsed" in event.detail["note"]


def test_an_authorization_antom_still_reports_open_is_checked_then_flagged(
    antom_gateway: FakeAntom, sent: SignalLog
) -> None:
    expires = timezone.now().replace(microsecond=0) - timedelta(minutes=1)
    payment = make_payment(P.AUTHORIZED, auth_expires_at=expires, expiry_handled_at=expires - DAY)
    antom_gateway.answer("inquiryPayment", inquiry_answer(payment, expires=expires.isoformat()))
    now = timezone.now()
    assert check_expiry(payment, now=now) == now + timedelta(seconds=300), "again at SWEEP_INTERVAL"
    assert not Payment.objects.get(pk=payment.pk).needs_review
    later = expires + timedelta(days=1, seconds=1)  # FOLLOW_UP_WINDOW after the expiry
    assert check_expiry(payment, now=later) is None
    payment.refresh_from_db()
    assert (payment.status, payment.needs_review) == (P.AUTHORIZED, True)
    assert "still reports the authorization open" in payment.review_reason
    assert len(antom_gateway.requests("inquiryPayment")) == 2
    assert sent.count("payment_authorization_expired") == 0


def test_a_payment_antom_captured_is_not_watched() -> None:
    payment = make_payment(P.SUCCEEDED, is_authorization=False, auth_expires_at=timezone.now())
    assert check_expiry(payment) is None
