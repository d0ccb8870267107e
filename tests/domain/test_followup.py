"""Follow-up of unknown capture, refund and cancel outcomes, against the sandbox simulator over real HTTP.

Faults ride on the settings-built client's requests (``fault``): ``http=503`` is answered before the simulator
does anything (the request never reached Antom), ``result=U`` after the operation took place, ``drop=all`` loses
every notification it would send.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from antom_django import services
from antom_django.client import Amount, AntomOutcomeUnknown
from antom_django.client.types import Result
from antom_django.conf import antom_settings
from antom_django.models import Capture, Payment, PaymentEvent, Refund, Source
from antom_django.sandbox import SandboxServer
from antom_django.services.followup import followup_delay
from tests.api.test_unknown_outcomes import fault, short_read_timeout
from tests.domain.conftest import SignalLog

P = Payment.Status
C = Capture.Status
POLL, SWEEP = 2.0, 300.0


# -- the backoff rule -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "delay"),
    [(0.0, POLL), (3.9, POLL), (4.0, POLL), (10.0, 5.0), (599.0, 299.5), (600.0, SWEEP), (86400.0, SWEEP)],
)
def test_the_next_look_is_half_the_age_within_the_poll_and_sweep_intervals(age: float, delay: float) -> None:
    assert followup_delay(age, poll=POLL, sweep=SWEEP) == delay


# -- fixtures ---------------------------------------------------------------------------------------------------


@pytest.fixture
def authorized(antom_sandbox: SandboxServer, db: None) -> Payment:
    """A card authorization at the simulator, known here as AUTHORIZED; its notifications never arrive."""
    payment = services.start_payment(amount=Amount("SGD", 4200), reference_order_id="order-1", description="Tea")
    assert antom_sandbox.pay(payment.session_data)["status"] == "SUCCESS"
    payment = services.sync_payment(payment)
    assert payment.status == P.AUTHORIZED
    return payment


@pytest.fixture
def captured(authorized: Payment) -> Payment:
    assert services.capture(authorized).status == C.SUCCEEDED
    authorized.refresh_from_db()
    assert authorized.status == P.SUCCEEDED
    return authorized


@pytest.fixture
def http_calls() -> Iterator[list[str]]:
    """The URL of every request the settings' client sends."""
    calls: list[str] = []
    hooks = antom_settings.get_client().session.hooks["response"]

    def hook(response: Any, **kwargs: Any) -> None:
        calls.append(response.request.url)

    hooks.append(hook)
    yield calls
    hooks.remove(hook)


def sim_payment(sandbox: SandboxServer, payment: Payment) -> Any:
    return sandbox.sim.store.payments[payment.payment_id]


def follow(payment: Payment, capture_callbacks: Any, **kwargs: Any) -> services.FollowUp:
    """``follow_up`` with the signals it sends on commit delivered."""
    with capture_callbacks(execute=True):
        return services.follow_up(payment, **kwargs)


def requests_sent(payment: Payment, operation: str) -> int:
    return payment.events.filter(kind=PaymentEvent.Kind.REQUEST, detail__operation=operation).count()


# -- captures ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_capture_answered_u_whose_notification_is_lost_ends_succeeded_once(
    antom_sandbox: SandboxServer,
    authorized: Payment,
    signal_log: SignalLog,
    django_capture_on_commit_callbacks: Any,
    http_calls: list[str],
) -> None:
    with fault("result=U, drop=all"):
        row = services.capture(authorized)
    assert row.status == C.PENDING
    authorized.refresh_from_db()
    assert authorized.next_check_at is not None  # the unknown outcome asked for a follow-up
    http_calls.clear()
    result = follow(authorized, django_capture_on_commit_callbacks, source=Source.POLL)
    assert result == services.FollowUp(True, None)
    row.refresh_from_db()
    assert row.status == C.SUCCEEDED
    authorized.refresh_from_db()
    assert authorized.status == P.SUCCEEDED
    assert [url.rsplit("/", 1)[-1] for url in http_calls] == ["inquiryPayment"]  # listed: not sent again
    assert len(sim_payment(antom_sandbox, authorized).captures) == 1
    assert signal_log.count("payment_succeeded") == 1
    assert signal_log.count("capture_succeeded") == 1
    assert row.events.get(kind=PaymentEvent.Kind.CAPTURE).source == Source.POLL
    assert follow(authorized, django_capture_on_commit_callbacks).settled
    assert signal_log.count("payment_succeeded") == 1


@pytest.mark.django_db
def test_a_capture_that_never_reached_antom_is_sent_again_with_its_request_id(
    antom_sandbox: SandboxServer, authorized: Payment, signal_log: SignalLog, django_capture_on_commit_callbacks: Any
) -> None:
    with fault("http=503"):
        row = services.capture(authorized)
    assert row.status == C.PENDING
    assert sim_payment(antom_sandbox, authorized).captures == []
    with fault("drop=all"):
        result = follow(authorized, django_capture_on_commit_callbacks)
    assert result.settled
    row.refresh_from_db()
    assert row.status == C.SUCCEEDED
    at_antom = sim_payment(antom_sandbox, authorized).captures
    assert [c.request_id for c in at_antom] == [row.capture_request_id]
    assert requests_sent(authorized, "capture") == 1  # the same request, no new row
    assert Capture.objects.count() == 1
    assert signal_log.count("payment_succeeded") == 1


@pytest.mark.django_db
def test_a_capture_antom_refuses_when_sent_again_ends_failed(
    antom_sandbox: SandboxServer, authorized: Payment, signal_log: SignalLog, django_capture_on_commit_callbacks: Any
) -> None:
    with fault("http=503"):
        row = services.capture(authorized)
    with fault("result=F:AUTH_EXPIRED, ops=capture"):
        result = follow(authorized, django_capture_on_commit_callbacks)
    assert result.settled
    row.refresh_from_db()
    assert (row.status, row.result_code) == (C.FAILED, "AUTH_EXPIRED")
    authorized.refresh_from_db()
    assert authorized.status == P.AUTHORIZED
    assert signal_log.count("capture_failed") == 1
    assert signal_log.count("payment_succeeded") == 0


@pytest.mark.django_db
def test_a_capture_antom_is_still_processing_is_waited_for(
    antom_sandbox: SandboxServer, authorized: Payment, django_capture_on_commit_callbacks: Any, http_calls: list[str]
) -> None:
    with fault("result=U, drop=all"):
        row = services.capture(authorized)
    sim_capture = sim_payment(antom_sandbox, authorized).captures[0]  # as a CAPTURE_FAILS card's, for a while
    sim_capture.status = "PROCESSING"
    sim_capture.result = Result("CAPTURE_IN_PROCESS", "U", "capture in process")
    http_calls.clear()
    now = timezone.now()
    result = follow(authorized, django_capture_on_commit_callbacks, now=now)
    assert not result.settled
    assert result.next_at == now + timedelta(seconds=POLL)
    assert [url.rsplit("/", 1)[-1] for url in http_calls] == ["inquiryPayment"]  # listed: not sent again
    row.refresh_from_db()
    assert row.status == C.PENDING


# -- refunds ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_refund_answered_u_is_settled_by_inquiry_refund(
    antom_sandbox: SandboxServer,
    captured: Payment,
    signal_log: SignalLog,
    django_capture_on_commit_callbacks: Any,
    http_calls: list[str],
) -> None:
    with fault("result=U, drop=all"):
        row = services.refund(captured, 1000)
    assert row.status == Refund.Status.PENDING
    http_calls.clear()
    result = follow(captured, django_capture_on_commit_callbacks, source=Source.SWEEP)
    assert result.settled
    row.refresh_from_db()
    assert row.status == Refund.Status.SUCCEEDED
    assert row.refund_id == sim_payment(antom_sandbox, captured).refunds[0].refund_id
    assert [url.rsplit("/", 1)[-1] for url in http_calls] == ["inquiryRefund"]
    captured.refresh_from_db()
    assert (captured.status, captured.refunded_amount) == (P.SUCCEEDED, 1000)
    assert signal_log.count("refund_succeeded") == 1
    assert row.events.get(kind=PaymentEvent.Kind.REFUND).source == Source.SWEEP


@pytest.mark.django_db
def test_a_refund_that_never_reached_antom_is_sent_again_with_its_request_id(
    antom_sandbox: SandboxServer, captured: Payment, signal_log: SignalLog, django_capture_on_commit_callbacks: Any
) -> None:
    with fault("http=503"):
        row = services.refund(captured)
    assert sim_payment(antom_sandbox, captured).refunds == []
    with fault("drop=all"):
        assert follow(captured, django_capture_on_commit_callbacks).settled
    row.refresh_from_db()
    assert row.status == Refund.Status.SUCCEEDED
    assert [r.request_id for r in sim_payment(antom_sandbox, captured).refunds] == [row.refund_request_id]
    assert Refund.objects.count() == 1
    captured.refresh_from_db()
    assert captured.status == P.REFUNDED
    assert signal_log.count("refund_succeeded") == 1


# -- cancel -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("spec", ["result=U", "http=503", "latency=0.6"])
def test_a_cancel_with_an_unknown_outcome_ends_cancelled(
    antom_sandbox: SandboxServer,
    authorized: Payment,
    signal_log: SignalLog,
    django_capture_on_commit_callbacks: Any,
    spec: str,
) -> None:
    with short_read_timeout(), fault(spec), pytest.raises(AntomOutcomeUnknown):
        services.cancel(authorized)
    authorized.refresh_from_db()
    assert authorized.cancel_requested_at is not None
    assert authorized.next_check_at is not None
    time.sleep(0.6 if spec.startswith("latency") else 0)  # the simulator finishes what we gave up on
    assert follow(authorized, django_capture_on_commit_callbacks, source=Source.POLL).settled
    authorized.refresh_from_db()
    assert authorized.status == P.CANCELLED
    assert sim_payment(antom_sandbox, authorized).status == "CANCELLED"
    assert signal_log.count("payment_cancelled") == 1
    assert authorized.events.get(kind=PaymentEvent.Kind.STATUS, to_status=P.CANCELLED).source == Source.POLL


# -- the window -------------------------------------------------------------------------------------------------


@pytest.fixture
def window() -> Iterator[float]:
    with override_settings(ANTOM={**settings.ANTOM, "FOLLOW_UP_WINDOW": 60.0}):
        yield 60.0


@pytest.mark.django_db
def test_what_stays_unknown_past_the_window_is_flagged_once_then_looked_at_every_sweep(
    antom_sandbox: SandboxServer,
    authorized: Payment,
    signal_log: SignalLog,
    django_capture_on_commit_callbacks: Any,
    window: float,
) -> None:
    with fault("http=503"):
        row = services.capture(authorized)
        start: datetime = row.created_at
        early = follow(authorized, django_capture_on_commit_callbacks, now=start + timedelta(seconds=30))
        assert (early.settled, early.next_at) == (False, start + timedelta(seconds=30 + 15))
        assert not Payment.objects.get().needs_review
        for seconds in (61, 400):
            now = start + timedelta(seconds=seconds)
            late = follow(authorized, django_capture_on_commit_callbacks, now=now)
            assert (late.settled, late.next_at) == (False, now + timedelta(seconds=SWEEP))
    authorized.refresh_from_db()
    assert authorized.needs_review
    assert f"Capture {row.capture_request_id}" in authorized.review_reason
    reviews = authorized.events.filter(kind=PaymentEvent.Kind.REVIEW)
    assert reviews.count() == 1
    assert signal_log.count("payment_needs_review") == 1
    # An operator who cleared the flag is not flagged again for the same row.
    services.clear_review(authorized)
    with fault("http=503"):
        follow(authorized, django_capture_on_commit_callbacks, now=start + timedelta(seconds=700))
    assert not Payment.objects.get().needs_review
    # Once Antom answers, it settles like any other.
    with fault("drop=all"):
        assert follow(authorized, django_capture_on_commit_callbacks).settled
    row.refresh_from_db()
    assert row.status == C.SUCCEEDED


# -- nothing unknown --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_nothing_unknown_is_settled_without_asking_antom(
    captured: Payment, http_calls: list[str], django_assert_max_num_queries: Any
) -> None:
    http_calls.clear()
    with django_assert_max_num_queries(2):
        assert services.follow_up(captured) == services.FollowUp(True, None)
    assert http_calls == []


@pytest.mark.django_db
def test_a_cancel_in_flight_of_a_payment_closed_meanwhile_is_settled_by_inquiry(
    antom_sandbox: SandboxServer, authorized: Payment, django_capture_on_commit_callbacks: Any
) -> None:
    with fault("http=503"), pytest.raises(AntomOutcomeUnknown):
        services.cancel(authorized)
    Payment.objects.filter(pk=authorized.pk).update(status=P.FAILED)  # as a late notification might have
    authorized.refresh_from_db()
    assert follow(authorized, django_capture_on_commit_callbacks).settled
    authorized.refresh_from_db()
    assert authorized.cancel_requested_at is None  # Antom lists no cancel: the mark goes
    cancels = authorized.events.filter(kind=PaymentEvent.Kind.REQUEST, detail__operation="cancel")
    assert not cancels.filter(detail__resend=True).exists()  # not sent again
    assert cancels.filter(detail__cleared__isnull=False).count() == 1
    assert sim_payment(antom_sandbox, authorized).status == "SUCCESS"


@pytest.mark.django_db
def test_a_resend_answered_unknown_leaves_the_schedule_to_the_follow_up(
    antom_sandbox: SandboxServer, authorized: Payment, django_capture_on_commit_callbacks: Any
) -> None:
    with fault("http=503"):
        row = services.capture(authorized)
    first = Payment.objects.get().next_check_at
    assert first is not None
    assert first - row.created_at <= timedelta(seconds=POLL + 1)  # the first unknown answer: a look soon
    later = timezone.now() + timedelta(hours=1)
    Payment.objects.filter(pk=authorized.pk).update(next_check_at=later)  # as the due processor left it
    with fault("http=503, ops=capture"):
        result = follow(authorized, django_capture_on_commit_callbacks, now=row.created_at + timedelta(seconds=100))
    assert (result.settled, result.next_at) == (False, row.created_at + timedelta(seconds=150))
    assert Payment.objects.get().next_check_at == later
    assert authorized.events.filter(kind=PaymentEvent.Kind.OUTCOME_UNKNOWN, detail__operation="capture").count() == 2
