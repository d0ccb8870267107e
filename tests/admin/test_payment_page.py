"""The payment page: read-only data, the timeline, the ledgers inline, and exactly the buttons the state allows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from antom_django.models import Capture, Payment, PaymentEvent, Refund
from antom_django.sandbox import SandboxServer
from tests.domain.helpers import make_payment, unsent_authorization

from .conftest import ACTION_PERMISSIONS, page, version

pytestmark = pytest.mark.django_db
P = Payment.Status


def buttons(client: Client, payment: Payment) -> set[str]:
    return {op.name for op in client.get(page(payment)).context["antom_actions"]}


@pytest.mark.parametrize(
    ("status", "fields", "expected"),
    [
        (P.INITIATED, {}, {"cancel", "sync"}),
        (P.PENDING, {}, {"cancel", "sync"}),
        (P.PROCESSING, {}, {"cancel", "sync"}),
        (P.AUTHORIZED, {}, {"capture", "cancel", "sync"}),
        (P.AUTHORIZED, {"is_authorization": False}, {"cancel", "sync"}),  # Antom captured it by itself
        (P.AUTHORIZED, {"auth_expires_at": timezone.now() - timedelta(minutes=1)}, {"cancel", "sync"}),
        (P.AUTHORIZED, {"cancel_requested_at": timezone.now()}, {"cancel", "retry", "sync"}),
        (P.PARTIALLY_CAPTURED, {"captured_amount": 1000}, {"capture", "refund", "sync"}),
        (P.SUCCEEDED, {"captured_amount": 4200}, {"refund", "sync"}),
        (P.SUCCEEDED, {"captured_amount": 4200, "refunded_amount": 4200}, {"sync"}),
        (P.REFUNDED, {"captured_amount": 4200, "refunded_amount": 4200}, {"sync"}),
        (P.FAILED, {}, {"sync"}),
        (P.CANCELLED, {"cancel_requested_at": timezone.now()}, {"sync"}),
        (P.FAILED, {"needs_review": True}, {"sync", "clear-review"}),
    ],
)
def test_buttons_are_the_actions_the_state_allows(
    operator: Client, status: str, fields: dict[str, object], expected: set[str]
) -> None:
    payment = make_payment(status, **fields)
    if fields.get("refunded_amount"):
        Capture.objects.create(payment=payment, amount=4200, currency="SGD", status=Capture.Status.SUCCEEDED)
        Refund.objects.create(payment=payment, amount=4200, currency="SGD", status=Refund.Status.SUCCEEDED)
    assert buttons(operator, payment) == expected


def test_captures_and_refunds_in_flight_change_the_buttons(operator: Client) -> None:
    payment = make_payment(P.AUTHORIZED)
    Capture.objects.create(payment=payment, amount=4200, currency="SGD", status=Capture.Status.PENDING)
    # Everything is in flight: no capture, no cancel (money may be taken), a retry.
    assert buttons(operator, payment) == {"retry", "sync"}


def test_buttons_follow_permissions(login: Callable[..., Client]) -> None:
    payment = make_payment(P.AUTHORIZED, needs_review=True)
    assert buttons(login(), payment) == set()
    assert buttons(login("capture_payment"), payment) == {"capture"}
    assert buttons(login(*ACTION_PERMISSIONS), payment) == {"capture", "cancel", "sync", "clear-review"}


def test_button_links_open_the_confirmation_pages(operator: Client) -> None:
    payment = make_payment(P.AUTHORIZED)
    html = operator.get(page(payment)).content.decode()
    for action in ("capture", "cancel", "sync"):
        assert f'href="{page(payment, action)}"' in html


def test_everything_is_read_only(operator: Client, admin_client: Client) -> None:
    payment = make_payment(P.AUTHORIZED)
    for client in (operator, admin_client):
        assert client.get("/admin/antom_django/payment/add/").status_code == 403
        assert client.get(f"/admin/antom_django/payment/{payment.pk}/delete/").status_code == 403
        response = client.post(page(payment), {"status": "SUCCEEDED", "amount": "1"})
        assert response.status_code == 403
        html = client.get(page(payment)).content.decode()
        assert 'name="_save"' not in html
        assert 'name="status"' not in html and 'name="amount"' not in html
    payment.refresh_from_db()
    assert (payment.status, payment.amount) == (P.AUTHORIZED, 4200)


def test_timeline_tells_the_story(antom_sandbox: SandboxServer, operator: Client) -> None:
    from tests.api.test_unknown_outcomes import fault

    from .conftest import authorize

    payment = authorize(antom_sandbox)
    operator.post(page(payment, "capture"), {"version": version(payment), "amount": "10"})
    with fault("result=U"):
        operator.post(page(payment, "capture"), {"version": version(payment), "amount": "5"})
    payment.refresh_from_db()
    entries = operator.get(page(payment)).context["antom_timeline"]
    titles = [e.title for e in entries]
    assert titles[:2] == ["CreatePaymentSession sent to Antom", "Status INITIATED → PENDING"]
    assert "Status PENDING → AUTHORIZED" in titles
    assert "Capture sent to Antom" in titles
    assert "Capture 10.00 SGD: PENDING → SUCCEEDED" in titles
    assert "Antom's answer to the capture is unknown" in titles
    unknown = next(e for e in entries if e.kind == "outcome_unknown")
    assert unknown.problem and unknown.source == "Admin" and unknown.who == "operator"
    html = operator.get(page(payment)).content.decode()
    assert "Capture 10.00 SGD: PENDING → SUCCEEDED" in html
    assert PaymentEvent.objects.filter(payment=payment).count() == len(entries)


def test_timeline_shows_notifications_with_their_verification(operator: Client) -> None:
    from antom_django.models import Notification

    payment = make_payment(P.PENDING)
    Notification.objects.create(
        body="{}", notify_type="PAYMENT_RESULT", signature_verified=True, outcome="APPLIED", payment=payment
    )
    entries = operator.get(page(payment)).context["antom_timeline"]
    [note] = [e for e in entries if e.kind == "notification"]
    assert note.title == "Notification PAYMENT_RESULT received: applied"
    assert ("verification", "signature verified") in note.details


def test_timeline_shows_signals_a_dead_process_left_unsent(operator: Client) -> None:
    payment = make_payment(P.AUTHORIZED)
    unsent_authorization(payment, timedelta(minutes=-2))
    [entry] = [e for e in operator.get(page(payment)).context["antom_timeline"] if e.kind == "status"]
    assert ("signals not sent yet", "payment_status_changed, payment_authorized") in entry.details
    assert entry.problem


def test_the_page_costs_the_same_queries_for_a_short_or_long_history(operator: Client) -> None:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from antom_django.models import Notification, Source

    def grow(payment: Payment, n: int) -> None:
        staff = User.objects.get(username="operator")
        for i in range(n):
            capture = Capture.objects.create(payment=payment, amount=10, currency="SGD", requested_by=staff)
            refund = Refund.objects.create(payment=payment, amount=1, currency="SGD", requested_by=staff)
            note = Notification.objects.create(body="{}", notify_type="CAPTURE_RESULT", payment=payment)
            for row in (capture, refund):
                PaymentEvent.objects.create(
                    payment=payment,
                    kind=PaymentEvent.Kind.CAPTURE if row is capture else PaymentEvent.Kind.REFUND,
                    source=Source.ADMIN,
                    capture=capture if row is capture else None,
                    refund=refund if row is refund else None,
                    notification=note,
                    user=staff,
                    detail={"amount": i},
                )

    def queries(payment: Payment) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert operator.get(page(payment)).status_code == 200
        return len(captured)

    short, long = make_payment(P.PARTIALLY_CAPTURED), make_payment(P.PARTIALLY_CAPTURED)
    operator.get(page(short))  # sessions, permissions and content types warmed up
    grow(short, 2)
    grow(long, 20)
    assert queries(long) == queries(short)
