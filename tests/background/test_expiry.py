"""An authorization reaching its expiry margin, handled by a real worker under each ``AUTH_EXPIRY_POLICY``.

The simulator's authorizations last 5 s here (``auth_ttl``) and the margin is 3.5 s: the policy is due about
1.5 s after the buyer paid, and the authorization ends 3.5 s later.
"""

from __future__ import annotations

import pytest

from antom_django.models import Capture, Payment

from .conftest import Background
from .test_capture import captured_once

pytestmark = pytest.mark.postgres
P = Payment.Status
TTL, MARGIN = 5.0, 3.5


def authorized(background: Background, policy: str) -> Payment:
    background.authorize_for(TTL)
    background.configure(AUTH_EXPIRY_POLICY=policy, AUTH_EXPIRY_MARGIN=MARGIN)
    background.worker()
    background.tick()
    payment = background.status_is(background.pay(background.new_payment()), P.AUTHORIZED)
    assert payment.auth_expires_at is not None
    assert payment.capture_at is None  # AUTO_CAPTURE is False: only the policy captures
    return payment


def expiring_once(background: Background, payment: Payment, policy: str) -> None:
    sent = background.signals("payment_authorization_expiring", payment)
    assert [s["policy"] for s in sent] == [policy]
    assert background.refreshed(payment).expiry_handled_at is not None


def test_policy_capture_captures_before_the_expiry(background: Background) -> None:
    payment = authorized(background, "capture")
    background.status_is(payment, P.SUCCEEDED)
    captured_once(background, payment)
    expiring_once(background, payment, "capture")
    assert background.calls.about(payment, "capture")[0].at < payment.auth_expires_at.timestamp()
    assert not background.signals("payment_authorization_expired", payment)


def test_policy_void_cancels_the_authorization(background: Background) -> None:
    payment = authorized(background, "void")
    payment = background.status_is(payment, P.CANCELLED)
    expiring_once(background, payment, "void")
    assert background.at_antom(payment).cancel_time is not None  # voided by us, not lapsed
    assert len(background.calls.about(payment, "cancel")) == 1
    assert not background.calls.about(payment, "capture")
    assert not Capture.objects.filter(payment=payment).exists()
    assert len(background.signals("payment_cancelled", payment)) == 1
    assert not payment.needs_review


def test_policy_flag_flags_it_then_its_end_is_confirmed_by_inquiry(background: Background) -> None:
    payment = authorized(background, "flag")
    background.eventually(lambda: background.refreshed(payment).needs_review, 10, "the payment to be flagged")
    assert background.refreshed(payment).status == P.AUTHORIZED
    expiring_once(background, payment, "flag")

    payment = background.status_is(payment, P.CANCELLED, timeout=TTL + 10)
    expired = background.signals("payment_authorization_expired", payment)
    assert len(expired) == 1
    assert background.at_antom(payment).cancel_time is None  # it lapsed at Antom; nobody sent a cancel
    assert not background.calls.about(payment, "cancel")
    assert not background.calls.about(payment, "capture")
    assert len(background.signals("payment_authorization_expiring", payment)) == 1
