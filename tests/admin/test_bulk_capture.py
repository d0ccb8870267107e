"""Bulk capture from the payment list: a confirmation page, capture_at set and the payments woken for the
background work, which captures them through services.authorization.capture_due; a progress page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone

from antom_django import services
from antom_django.models import BulkCapture, Capture, Payment, PaymentEvent, Source
from antom_django.sandbox import SandboxServer
from antom_django.services.authorization import capture_due
from antom_django.services.due import run_due
from tests.api.test_unknown_outcomes import fault
from tests.domain.helpers import make_payment

from .conftest import authorize, page, version

pytestmark = pytest.mark.django_db
LIST = "/admin/antom_django/payment/"
P = Payment.Status


def act(client: Client, payments: list[Payment], **extra: str) -> object:
    data = {"action": "capture_selected", "_selected_action": [str(p.pk) for p in payments], **extra}
    return client.post(LIST, data)


def progress_url(job: BulkCapture) -> str:
    return f"/admin/antom_django/bulkcapture/{job.pk}/change/"


def test_confirmation_lists_what_is_captured_and_what_is_left_out(operator: Client) -> None:
    held = make_payment(P.AUTHORIZED, reference_order_id="held")
    done = make_payment(P.SUCCEEDED, reference_order_id="done", captured_amount=4200)
    auto = make_payment(P.AUTHORIZED, reference_order_id="auto", is_authorization=False)
    response = act(operator, [held, done, auto])
    assert response.status_code == 200
    assert [p for p, _ in response.context["capturable"]] == [held]
    assert dict(response.context["left_out"]) == {done: "it is succeeded", auto: "Antom captured it by itself"}
    assert not BulkCapture.objects.exists()  # nothing is done before confirming
    held.refresh_from_db()
    assert held.capture_at is None


def test_the_action_needs_the_capture_permission(login: Callable[..., Client]) -> None:
    payment = make_payment(P.AUTHORIZED)
    viewer = login()
    assert viewer.get(LIST).context["action_form"] is None  # no action offered
    capturer = login("capture_payment").get(LIST).context["action_form"]
    assert ("capture_selected", "Capture selected authorizations in the background") in capturer.fields[
        "action"
    ].choices
    act(viewer, [payment], post="yes")
    assert not BulkCapture.objects.exists()
    payment.refresh_from_db()
    assert payment.capture_at is None


def test_confirming_schedules_and_the_background_work_captures(antom_sandbox: SandboxServer, operator: Client) -> None:
    payments = [authorize(antom_sandbox, order=f"order-{i}") for i in range(3)]
    other = make_payment(P.FAILED)
    before = timezone.now()
    response = act(operator, [*payments, other], post="yes")
    job = BulkCapture.objects.get()
    assert response.status_code == 302 and response["Location"] == progress_url(job)
    assert (job.selected, job.requested_by.username) == (4, "operator")
    assert set(job.payments.all()) == set(payments)
    for payment in payments:
        payment.refresh_from_db()
        assert payment.capture_at is not None and payment.capture_at >= before
        assert payment.next_check_at is not None and payment.next_check_at <= timezone.now()
        event = payment.events.get(kind=PaymentEvent.Kind.REQUEST, detail__scheduled=True)
        assert (event.source, event.user.username, event.detail["bulk_capture"]) == (Source.ADMIN, "operator", job.pk)

    waiting = operator.get(progress_url(job))
    assert waiting.context["stages"][0] == ("waiting", 3)
    assert '<meta http-equiv="refresh" content="3">' in waiting.content.decode()

    # What the due processor does with each woken payment.
    capture_due(payments[0])
    with fault("result=U, ops=capture"):
        capture_due(payments[1])
    with fault("result=F:PROCESS_FAIL, ops=capture"):
        capture_due(payments[2])
    stages = dict(operator.get(progress_url(job)).context["stages"])
    assert stages == {"waiting": 0, "in flight": 1, "captured": 1, "failed": 1, "not sent": 0}

    services.retry_capture(Capture.objects.get(status=Capture.Status.PENDING))
    done = operator.get(progress_url(job))
    assert dict(done.context["stages"])["captured"] == 2
    assert "refresh" not in done.content.decode().split("</head>")[0]


def test_a_capture_by_hand_meanwhile_is_not_captured_again(antom_sandbox: SandboxServer, operator: Client) -> None:
    payment = authorize(antom_sandbox)
    act(operator, [payment], post="yes")
    operator.post(page(payment, "capture"), {"version": version(payment), "amount": "10"})
    assert capture_due(payment) is None
    assert list(Capture.objects.values_list("amount", flat=True)) == [1000]


def test_the_due_processor_captures_them(antom_sandbox: SandboxServer, operator: Client) -> None:
    payments = [authorize(antom_sandbox, order=f"order-{i}") for i in range(3)]
    act(operator, payments, post="yes")
    run_due()
    job = BulkCapture.objects.get()
    assert dict(operator.get(progress_url(job)).context["stages"])["captured"] == 3
    for payment in payments:
        payment.refresh_from_db()
        assert (payment.status, payment.captured_amount, payment.capture_at) == (P.SUCCEEDED, 4200, None)
    assert Capture.objects.count() == 3
