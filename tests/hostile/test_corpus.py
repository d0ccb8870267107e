"""Every case of the hostile-input corpus over real HTTP: its documented answer, never a 500, and nothing changed
that should not have (every payment, capture, refund, event and notification row compared before and after)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import WSGIServer
from django.core.signals import request_finished, request_started
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections
from django.forms.models import model_to_dict
from django.test import Client
from django.test.testcases import QuietWSGIRequestHandler

from antom_django.client.types import ACK_BODY
from antom_django.models import Capture, Notification, Payment, PaymentEvent, Refund
from antom_django.sandbox.app import SandboxApp
from tests.api import shop
from tests.api.conftest import make_payment
from tests.hostile.corpus import ACK, ALL, Case
from tests.hostile.wire import Answer, send

MODELS = (Payment, Capture, Refund, PaymentEvent, Notification)
REVIEW_MAY_CHANGE = {"needs_review", "review_reason", "updated_at"}
"""What a review may change on the payment: its flag, never its status, amounts or ids."""


class SharedConnectionServer(threading.Thread):
    """Django's WSGI server in a thread, one request at a time, on the test's own database connection.

    So each case runs inside the test's transaction (rolled back after it) instead of a flushed database
    per case, and the rows it wrote are visible to the test the moment the answer is read.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.connection = connections[DEFAULT_DB_ALIAS]
        self.ready = threading.Event()
        self.httpd: WSGIServer | None = None

    def run(self) -> None:
        connections[DEFAULT_DB_ALIAS] = self.connection
        self.httpd = WSGIServer(("127.0.0.1", 0), QuietWSGIRequestHandler, allow_reuse_address=False)
        self.httpd.set_app(WSGIHandler())
        self.ready.set()
        self.httpd.serve_forever(poll_interval=0.05)

    @property
    def address(self) -> tuple[str, int]:
        assert self.httpd is not None
        host, port = self.httpd.server_address[:2]
        return str(host), int(port)

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
        self.join(5)


@pytest.fixture(scope="module")
def server() -> Iterator[SharedConnectionServer]:
    # Django would close the test's connection at each request's end (it is inside a transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    connection = connections[DEFAULT_DB_ALIAS]
    connection.inc_thread_sharing()
    thread = SharedConnectionServer()
    thread.start()
    thread.ready.wait(10)
    try:
        yield thread
    finally:
        thread.stop()
        connection.dec_thread_sharing()
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _orders() -> Iterator[None]:
    shop.ORDERS.clear()
    yield
    shop.ORDERS.clear()


def arrange(case: Case, django_user_model: Any) -> tuple[Payment | None, str]:
    """The state the case starts from; returns its payment and the owner's session cookie (if any)."""
    if case.state == "pending":
        return make_payment(), ""
    if case.state == "authorized":
        payment = make_payment(status=Payment.Status.AUTHORIZED, payment_id="20240101123456789XXXX")
        Capture.objects.create(
            payment=payment, capture_request_id="captureRequestId01", amount=4200, currency="SGD", status="PENDING"
        )
        return payment, ""
    owner = django_user_model.objects.create_user("owner")
    shop.add_order("order-1", 4200)
    shop.add_order("order-owned", 4200, owner=owner, scoped=True)
    if case.state == "order":
        return None, ""
    if case.state == "inquiry":  # pending, with a session: payments/<id>/ asks Antom
        payment = make_payment(user=owner)
    else:
        payment = make_payment(status=Payment.Status.SUCCEEDED, payment_id="20240101123456789XXXX", user=owner)
    browser = Client()
    browser.force_login(owner)
    return payment, browser.cookies["sessionid"].value


def answer_inquiry(answer: dict[str, Any], request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulator (over HTTP, settings pointed at it) answers inquiryPayment with ``answer``, signed."""
    request.getfixturevalue("antom_sandbox")
    real = SandboxApp._answer

    def answering(self: SandboxApp, http_request: Any, operation: str, *args: Any) -> dict[str, Any]:
        return dict(answer) if operation == "inquiryPayment" else real(self, http_request, operation, *args)

    monkeypatch.setattr(SandboxApp, "_answer", answering)


def snapshot() -> dict[str, dict[int, dict[str, Any]]]:
    return {
        model.__name__: {row.pk: model_to_dict(row) | _times(row) for row in model.objects.all()} for model in MODELS
    }


def _times(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in ("created_at", "updated_at", "last_received_at") if hasattr(row, name)}


def changed(before: dict[int, dict[str, Any]], after: dict[int, dict[str, Any]]) -> dict[int, set[str]]:
    return {
        pk: {k for k in row if after.get(pk, {}).get(k) != row[k]} for pk, row in before.items() if after.get(pk) != row
    }


def assert_answer(answer: Answer, case: Case) -> None:
    assert answer.status < 500, answer.body[:2000]
    assert answer.status == case.status, answer.body[:2000]
    if not case.routed:
        return
    assert answer.headers.get("content-type", "").startswith("application/json"), answer.headers
    if case.code == ACK:
        assert answer.body == ACK_BODY
        return
    body = answer.json()
    if case.endpoint == "notify":
        assert body["result"]["resultStatus"] == "F"
        assert body["result"]["resultCode"] == case.code.upper(), body
    elif case.code:
        assert body["code"] == case.code, body
        assert isinstance(body["detail"], str) and body["detail"]
    if case.status == 401 and case.endpoint == "notify":
        assert answer.headers["www-authenticate"].startswith("RSA256")


def assert_effect(case: Case, before: dict[str, Any], after: dict[str, Any], payment: Payment | None) -> None:
    new = {pk: row for pk, row in after["Notification"].items() if pk not in before["Notification"]}
    untouched = {"Capture", "Refund"}
    if case.effect == "nothing":
        assert after == before
        return
    if case.effect == "inquired":  # the payment and its ledgers moved by Antom's signed answer (``check``)
        assert after["Notification"] == before["Notification"]
        return
    if case.effect == "counted":
        assert not new and after["Payment"] == before["Payment"] and after["PaymentEvent"] == before["PaymentEvent"]
        assert changed(before["Notification"], after["Notification"]) == {
            pk: {"received_count", "last_received_at"} for pk in before["Notification"]
        }
        for pk, row in after["Notification"].items():
            assert row["received_count"] == before["Notification"][pk]["received_count"] + 1
        return
    (stored,) = new.values()
    assert changed(before["Notification"], after["Notification"]) == {}
    if case.effect != "applied":
        for name in untouched:
            assert after[name] == before[name], name
    if case.effect == "refused":
        assert (stored["outcome"], stored["signature_verified"]) == (Notification.Outcome.REJECTED, case.verified)
        assert stored["error"].startswith(case.code + ":"), stored["error"]
        assert after["Payment"] == before["Payment"] and after["PaymentEvent"] == before["PaymentEvent"]
        return
    assert stored["signature_verified"]
    expected = {
        "ignored": Notification.Outcome.IGNORED,
        "unknown_payment": Notification.Outcome.UNKNOWN_PAYMENT,
        "review": Notification.Outcome.NEEDS_REVIEW,
        "applied": Notification.Outcome.APPLIED,
    }[case.effect]
    assert stored["outcome"] == expected, stored["error"]
    if case.effect in ("ignored", "unknown_payment"):
        assert after["Payment"] == before["Payment"] and after["PaymentEvent"] == before["PaymentEvent"]
        return
    if case.effect == "review":
        assert case.reason in stored["error"], stored["error"]
        assert json.loads(stored["body"]) is not None or True  # kept whole: compared with what was sent below
        moved = changed(before["Payment"], after["Payment"])
        assert all(fields <= REVIEW_MAY_CHANGE for fields in moved.values()), moved
        events = [row for pk, row in after["PaymentEvent"].items() if pk not in before["PaymentEvent"]]
        assert payment is not None
        payment.refresh_from_db()
        if case.flags:
            assert payment.needs_review and case.reason in payment.review_reason, payment.review_reason
            assert stored["payment"] == payment.pk
            assert [(e["kind"], e["notification"]) for e in events] == [(PaymentEvent.Kind.REVIEW, stored["id"])]
        else:
            assert not moved and not events and stored["payment"] is None
        return


@pytest.mark.parametrize("case", ALL, ids=lambda case: case.name)
def test_hostile_request_gets_its_documented_answer_and_changes_nothing_else(
    case: Case,
    db: None,
    server: SharedConnectionServer,
    django_user_model: Any,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payment, cookie = arrange(case, django_user_model)
    if case.inquiry is not None:
        answer_inquiry(case.inquiry, request, monkeypatch)
    if case.before is not None or case.replay:
        first = send(server.address, (case.before or case.build)())
        assert first.status < 500, first.body[:2000]
    before = snapshot()
    request = case.build()
    if case.login:
        request = request.with_header("Cookie", f"sessionid={cookie}")
    answer = send(server.address, request)
    assert_answer(answer, case)
    after = snapshot()
    assert_effect(case, before, after, payment)
    if case.effect == "review":
        (stored,) = [row for pk, row in after["Notification"].items() if pk not in before["Notification"]]
        assert stored["body"].encode("utf-8", "surrogatepass") == request.body  # kept whole
    if case.check is not None:
        assert payment is not None
        payment.refresh_from_db()
        case.check(payment)
