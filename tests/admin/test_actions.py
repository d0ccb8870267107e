"""Each payment action through the admin: its permission, its confirmation page, and the service call against
the sandbox simulator over HTTP; Antom's refusals and unknown answers become messages, never a 500."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from antom_django.models import Capture, Payment, PaymentEvent, Refund, Source
from antom_django.sandbox import SandboxServer
from tests.api.test_unknown_outcomes import fault

from .conftest import page, shown, version

pytestmark = pytest.mark.django_db
P = Payment.Status


PERMISSION = {
    "capture": "capture_payment",
    "cancel": "cancel_payment",
    "refund": "refund_payment",
    "sync": "sync_payment",
    "retry": "retry_payment",
    "clear-review": "clear_review",
}


@pytest.mark.parametrize("action", list(PERMISSION))
def test_each_action_needs_its_own_permission(authorized: Payment, login: Callable[..., Client], action: str) -> None:
    """Every other action's permission is not enough: 403 on the confirmation page and on POST."""
    others = login(*(perm for name, perm in PERMISSION.items() if name != action))
    assert others.get(page(authorized, action)).status_code == 403
    data = {"version": version(authorized), "note": "x", "reason": "x"}
    assert others.post(page(authorized, action), data).status_code == 403
    assert not Capture.objects.exists() and not Refund.objects.exists()
    assert not authorized.events.filter(source=Source.ADMIN).exists()
    authorized.refresh_from_db()
    assert authorized.status == P.AUTHORIZED


def test_capture_confirmation_page_shows_what_will_happen(authorized: Payment, operator: Client) -> None:
    response = operator.get(page(authorized, "capture"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "42.00 SGD" in text
    assert "up to 2 decimal places" in text
    assert 'name="final"' in text
    assert not Capture.objects.exists()  # GET does nothing


def test_full_capture(authorized: Payment, operator: Client) -> None:
    response = operator.post(page(authorized, "capture"), {"version": version(authorized), "amount": ""}, follow=True)
    assert response.redirect_chain[-1][0] == page(authorized)
    assert shown(response) == [f"Captured 42.00 SGD ({Capture.objects.get().capture_request_id})."]
    capture = Capture.objects.get()
    assert (capture.amount, capture.status, capture.source) == (4200, Capture.Status.SUCCEEDED, Source.ADMIN)
    assert capture.requested_by is not None and capture.requested_by.username == "operator"
    authorized.refresh_from_db()
    assert authorized.status == P.SUCCEEDED
    assert authorized.captured_amount == 4200


@pytest.mark.parametrize(("final", "status"), [(False, P.PARTIALLY_CAPTURED), (True, P.SUCCEEDED)])
def test_partial_capture_in_major_units(authorized: Payment, operator: Client, final: bool, status: str) -> None:
    data = {"version": version(authorized), "amount": "12.34", **({"final": "on"} if final else {})}
    response = operator.post(page(authorized, "capture"), data, follow=True)
    assert shown(response) == [f"Captured 12.34 SGD ({Capture.objects.get().capture_request_id})."]
    capture = Capture.objects.get()
    assert (capture.amount, capture.is_last_capture) == (1234, final)
    authorized.refresh_from_db()
    assert (authorized.status, authorized.captured_amount) == (status, 1234)


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("abc", "Enter an amount in SGD, such as 12.34."),
        ("12.345", "SGD has 2 decimal places: 12.345 has more."),
        ("0", "The amount must be more than zero."),
        ("-5", "The amount must be more than zero."),
        ("NaN", "Enter an amount in SGD, such as 12.34."),
        ("42.01", "Only 42.00 SGD is left to capture."),
    ],
)
def test_capture_amount_errors(authorized: Payment, operator: Client, amount: str, error: str) -> None:
    response = operator.post(page(authorized, "capture"), {"version": version(authorized), "amount": amount})
    assert response.status_code == 200
    assert response.context["form"].errors["amount"] == [error]
    assert not Capture.objects.exists()


def test_zero_decimal_currency_takes_whole_units(antom_sandbox: SandboxServer, operator: Client) -> None:
    from .conftest import authorize

    payment = authorize(antom_sandbox, amount=5000, currency="JPY")
    bad = operator.post(page(payment, "capture"), {"version": version(payment), "amount": "10.5"})
    assert bad.context["form"].errors["amount"] == ["JPY has 0 decimal places: 10.5 has more."]
    operator.post(page(payment, "capture"), {"version": version(payment), "amount": "1200"})
    assert Capture.objects.get().amount == 1200


def test_what_remains_counts_captures_in_flight(authorized: Payment, operator: Client) -> None:
    with fault("result=U"):
        response = operator.post(
            page(authorized, "capture"), {"version": version(authorized), "amount": "30"}, follow=True
        )
    [message] = shown(response)
    assert message.startswith("Antom's answer to the capture of 30.00 SGD is unknown")
    assert Capture.objects.get().status == Capture.Status.PENDING
    response = operator.post(page(authorized, "capture"), {"version": version(authorized), "amount": "12.01"})
    assert response.context["form"].errors["amount"] == [
        "Only 12.00 SGD is left to capture (30.00 SGD more is in flight)."
    ]
    assert Capture.objects.count() == 1


def test_a_stale_page_does_nothing(authorized: Payment, operator: Client) -> None:
    seen = version(authorized)
    operator.post(page(authorized, "capture"), {"version": seen, "amount": "10"}, follow=True)
    again = operator.post(page(authorized, "capture"), {"version": seen, "amount": "10"}, follow=True)
    assert shown(again) == [
        "The payment changed since this page was opened (submitted twice, a colleague's action, or news from Antom): "
        "nothing was done. Check it and confirm again."
    ]
    assert list(Capture.objects.values_list("amount", flat=True)) == [1000]


def test_capture_refused_by_antom_is_an_error_message(authorized: Payment, operator: Client) -> None:
    with fault("result=F:CAPTURE_AMOUNT_EXCEED_AUTH_LIMIT, ops=capture"):
        response = operator.post(page(authorized, "capture"), {"version": version(authorized)}, follow=True)
    assert response.status_code == 200
    assert shown(response) == [
        "Antom refused to capture 42.00 SGD: CAPTURE_AMOUNT_EXCEED_AUTH_LIMIT (refused by an injected fault)."
    ]
    assert Capture.objects.get().status == Capture.Status.FAILED


def test_an_action_the_state_does_not_allow_is_refused_with_a_message(operator: Client) -> None:
    from tests.domain.helpers import make_payment

    failed = make_payment(P.FAILED)
    response = operator.post(page(failed, "capture"), {"version": version(failed)}, follow=True)
    assert response.redirect_chain[-1][0] == page(failed)
    assert shown(response) == ["Capture: not possible now, it is failed."]
    assert operator.get(page(failed, "nonsense")).status_code == 404


def test_cancel(authorized: Payment, operator: Client) -> None:
    assert b"void the authorization" in operator.get(page(authorized, "cancel")).content
    response = operator.post(page(authorized, "cancel"), {"version": version(authorized)}, follow=True)
    assert shown(response) == ["Cancelled: the authorization is released."]
    authorized.refresh_from_db()
    assert authorized.status == P.CANCELLED
    event = authorized.events.get(kind=PaymentEvent.Kind.STATUS, to_status=P.CANCELLED)
    assert (event.source, event.user.username) == (Source.ADMIN, "operator")


def test_cancel_refused_by_antom(authorized: Payment, operator: Client) -> None:
    with fault("result=F:ORDER_STATUS_INVALID, ops=cancel"):
        response = operator.post(page(authorized, "cancel"), {"version": version(authorized)}, follow=True)
    assert response.status_code == 200
    assert shown(response) == ["Cancel: Antom refused to cancel: ORDER_STATUS_INVALID (refused by an injected fault)."]
    authorized.refresh_from_db()
    assert authorized.status == P.AUTHORIZED


def test_cancel_with_an_unknown_answer_then_retry(authorized: Payment, operator: Client) -> None:
    with fault("http=503"):
        response = operator.post(page(authorized, "cancel"), {"version": version(authorized)}, follow=True)
    assert shown(response) == ["Antom's answer to the cancel is unknown; it is in flight. Retry it, or sync."]
    authorized.refresh_from_db()
    assert authorized.cancel_requested_at is not None
    confirm = operator.get(page(authorized, "retry"))
    assert b"the cancel" in confirm.content
    response = operator.post(page(authorized, "retry"), {"version": version(authorized)}, follow=True)
    assert shown(response) == ["Cancelled: the authorization is released."]
    authorized.refresh_from_db()
    assert authorized.status == P.CANCELLED


def test_retry_a_capture_whose_answer_was_unknown(authorized: Payment, operator: Client) -> None:
    with fault("http=503"):
        operator.post(page(authorized, "capture"), {"version": version(authorized), "amount": "10"})
    capture = Capture.objects.get()
    assert capture.status == Capture.Status.PENDING
    assert capture.capture_request_id.encode() in operator.get(page(authorized, "retry")).content
    response = operator.post(page(authorized, "retry"), {"version": version(authorized)}, follow=True)
    assert shown(response) == [f"Captured 10.00 SGD ({capture.capture_request_id})."]
    assert Capture.objects.get().status == Capture.Status.SUCCEEDED


def test_refund_full_and_partial_with_a_reason(authorized: Payment, operator: Client) -> None:
    operator.post(page(authorized, "capture"), {"version": version(authorized)})
    missing = operator.post(page(authorized, "refund"), {"version": version(authorized), "amount": "5"})
    assert missing.context["form"].errors["reason"] == ["This field is required."]
    too_much = operator.post(
        page(authorized, "refund"), {"version": version(authorized), "amount": "42.01", "reason": "x"}
    )
    assert too_much.context["form"].errors["amount"] == ["Only 42.00 SGD is left to refund."]
    response = operator.post(
        page(authorized, "refund"),
        {"version": version(authorized), "amount": "5.50", "reason": "scratched"},
        follow=True,
    )
    first = Refund.objects.get()
    assert shown(response) == [f"Refunded 5.50 SGD ({first.refund_request_id})."]
    assert (first.amount, first.reason, first.status) == (550, "scratched", Refund.Status.SUCCEEDED)
    operator.post(page(authorized, "refund"), {"version": version(authorized), "reason": "returned"})
    authorized.refresh_from_db()
    assert (authorized.status, authorized.refunded_amount) == (P.REFUNDED, 4200)
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [550, 3650]


def test_sync_applies_what_antom_says(antom_sandbox: SandboxServer, operator: Client) -> None:
    from antom_django import services
    from antom_django.client import Amount

    payment = services.start_payment(amount=Amount("SGD", 4200), reference_order_id="order-2", description="Kettle")
    antom_sandbox.pay(payment.session_data)
    response = operator.post(page(payment, "sync"), {"version": version(payment)}, follow=True)
    assert shown(response) == ["Synced with Antom: the payment is Authorized."]
    payment.refresh_from_db()
    assert payment.status == P.AUTHORIZED


def test_sync_with_an_unknown_answer_is_a_message(authorized: Payment, operator: Client) -> None:
    with fault("http=503"):
        response = operator.post(page(authorized, "sync"), {"version": version(authorized)}, follow=True)
    assert response.status_code == 200
    [message] = shown(response)
    assert message.startswith("Sync with Antom: Antom's answer is unknown")


def test_clear_review_with_a_note(operator: Client) -> None:
    from tests.domain.helpers import make_payment

    payment = make_payment(
        P.SUCCEEDED, needs_review=True, review_reason="Antom says FAILED but the payment is SUCCEEDED"
    )
    empty = operator.post(page(payment, "clear-review"), {"version": version(payment), "note": ""})
    assert empty.context["form"].errors["note"] == ["This field is required."]
    response = operator.post(
        page(payment, "clear-review"), {"version": version(payment), "note": "checked the dashboard"}, follow=True
    )
    assert shown(response) == ["The review flag is cleared; your note is in the timeline."]
    payment.refresh_from_db()
    assert not payment.needs_review
    event = payment.events.get(kind=PaymentEvent.Kind.REVIEW)
    assert event.detail == {
        "cleared": "Antom says FAILED but the payment is SUCCEEDED",
        "note": "checked the dashboard",
    }
    assert b"Review flag cleared" in response.content


def test_actions_are_in_the_admin_history(authorized: Payment, operator: Client) -> None:
    from django.contrib.admin.models import LogEntry

    operator.post(page(authorized, "capture"), {"version": version(authorized), "amount": "1"})
    entry = LogEntry.objects.get()
    assert entry.user.username == "operator"
    assert entry.get_change_message().startswith("Capture: Captured 1.00 SGD")


def test_the_service_refusing_the_amount_is_a_form_error(
    authorized: Payment, operator: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the form did not catch (another capture sent between its check and the service's) the service
    refuses under the payment's lock: AmountExceeded, shown on the amount, with the page's new version."""
    from antom_django.admin.forms import CaptureForm

    monkeypatch.setattr(CaptureForm, "left", 10**9)
    monkeypatch.setattr(CaptureForm, "in_flight", 0)
    response = operator.post(page(authorized, "capture"), {"version": version(authorized), "amount": "42.01"})
    assert response.status_code == 200
    assert response.context["form"].errors["amount"] == [
        "cannot capture 4201: only 4200 SGD minor units left to capture (requests still in flight count)"
    ]
    assert response.context["form"]["version"].value() == version(authorized)
    assert not Capture.objects.exists()


def test_action_views_run_outside_atomic_requests(authorized: Payment) -> None:
    """With ATOMIC_REQUESTS a view runs in one transaction; these must not, or a capture row would not be
    committed before Antom is called (and a rollback would forget a capture Antom made)."""
    from django.urls import resolve

    for url in (page(authorized, "capture"), "/admin/antom_django/notification/1/replay/"):
        assert "default" in resolve(url).func._non_atomic_requests
