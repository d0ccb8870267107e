"""The simulator's own signed notifications reach notify/ on a live server: session, payment, capture, duplicates."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.test import Client, override_settings

from antom_django import services
from antom_django.models import Capture, Notification, Payment, Source
from tests.api.shop import add_order


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        pass


@pytest.fixture
def shop_url(transactional_db: None) -> Iterator[str]:
    """This test project served over real HTTP on a free port (the shop Antom notifies)."""
    server = make_server("127.0.0.1", 0, get_wsgi_application(), server_class=_Server, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_payment_and_capture_notifications_over_http(antom_sandbox: Any, shop_url: str, django_user_model: Any) -> None:
    buyer = django_user_model.objects.create_user("buyer")
    add_order("order-e2e", 4200, owner=buyer)
    client = Client()
    client.force_login(buyer)
    with override_settings(ANTOM={**settings.ANTOM, "NOTIFY_URL": f"{shop_url}/antom/notify/"}):
        created = client.post("/antom/sessions/", {"referenceOrderId": "order-e2e"}, content_type="application/json")
        assert created.status_code == 201, created.content
        antom_sandbox.set_faults(notify_duplicate=True)
        assert antom_sandbox.pay(created.json()["paymentSessionData"])
        antom_sandbox.wait_for_notifications(1, "PAYMENT_RESULT")
        payment = Payment.objects.get(payment_request_id=created.json()["paymentRequestId"])
        assert payment.status == Payment.Status.AUTHORIZED
        assert payment.payment_id

        services.capture(payment, source=Source.API)
        antom_sandbox.wait_for_notifications(1, "CAPTURE_RESULT")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert Capture.objects.get(payment=payment).status == Capture.Status.SUCCEEDED
    stored = Notification.objects.filter(payment=payment)
    assert stored.filter(notify_type="PAYMENT_RESULT", outcome=Notification.Outcome.APPLIED).count() == 1
    # The simulator delivered each notification twice: the copy was acknowledged, changed nothing, and was
    # counted on the stored row (it was a DUPLICATE row of its own before storage was bounded).
    assert stored.get(notify_type="PAYMENT_RESULT").received_count == 2
    assert [a.outcome for a in antom_sandbox.notifications("PAYMENT_RESULT")[0].attempts] == ["acked", "acked"]
    assert not stored.filter(outcome__in=[Notification.Outcome.REJECTED, Notification.Outcome.ERROR]).exists()
    assert all(n.signature_verified for n in stored)
