"""POST antom/notify/: the guide's sample notifications, duplicates, and every kind of bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import IntegrityError, OperationalError, connection
from django.test import Client, override_settings

from antom_django.api import inbox
from antom_django.client.types import ACK_BODY
from antom_django.models import Capture, Notification, Payment, PaymentEvent, Refund
from antom_django.services import notifications
from tests.api.helpers import CLIENT_ID, NOTIFY_PATH, encode, fixture, now_ms, post_notification, signed_headers
from tests.concurrency import race
from tests.settings import ANTOM, VECTORS


def body_of(response: Any) -> dict[str, Any]:
    return json.loads(response.content)


def assert_ack(response: Any) -> None:
    assert response.status_code == 200
    assert response.content == ACK_BODY
    assert response["Content-Type"] == "application/json"


def assert_refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    result = body_of(response)["result"]
    assert result["resultCode"] == code.upper()
    assert result["resultStatus"] == "F"
    assert response.content != ACK_BODY


# -- the integration guide's samples -------------------------------------------------------------


def test_payment_success_sample_is_applied(client: Client, pending_payment: Payment) -> None:
    body = encode(fixture("notifyPayment_success"))
    assert_ack(post_notification(client, body))
    pending_payment.refresh_from_db()
    assert pending_payment.status == Payment.Status.AUTHORIZED
    assert pending_payment.payment_id == "20240101123456789XXXX"
    stored = Notification.objects.get()
    assert stored.body == body.decode()
    assert stored.signature_verified
    assert stored.outcome == Notification.Outcome.APPLIED
    assert stored.payment_id == pending_payment.pk
    assert stored.notify_type == "PAYMENT_RESULT"
    assert stored.client_id == CLIENT_ID


def test_capture_success_sample_is_applied(client: Client, authorized_payment: Payment) -> None:
    assert_ack(post_notification(client, fixture("notifyCapture_success")))
    capture = Capture.objects.get()
    assert capture.status == Capture.Status.SUCCEEDED
    assert capture.capture_id == "20240101987654321XXXX"
    authorized_payment.refresh_from_db()
    assert authorized_payment.status == Payment.Status.SUCCEEDED
    assert authorized_payment.captured_amount == 4200
    assert Notification.objects.get().outcome == Notification.Outcome.APPLIED


def test_capture_failure_sample_is_applied(client: Client, authorized_payment: Payment) -> None:
    assert_ack(post_notification(client, fixture("notifyCapture_failed")))
    capture = Capture.objects.get()
    assert capture.status == Capture.Status.FAILED
    assert capture.result_code == "PROCESS_FAIL"
    authorized_payment.refresh_from_db()
    assert authorized_payment.status == Payment.Status.AUTHORIZED
    assert authorized_payment.captured_amount == 0


def test_refund_result_is_applied(client: Client, db: None) -> None:
    from tests.api.conftest import make_payment

    payment = make_payment(status=Payment.Status.SUCCEEDED, payment_id="20240101123456789XXXX", captured_amount=4200)
    Capture.objects.create(
        payment=payment, capture_request_id="cap-1", amount=4200, currency="SGD", status=Capture.Status.SUCCEEDED
    )
    Refund.objects.create(
        payment=payment,
        refund_request_id="refundRequestId01",
        amount=1000,
        currency="SGD",
        status=Refund.Status.PENDING,
    )
    payload = {
        "notifyType": "REFUND_RESULT",
        "refundRequestId": "refundRequestId01",
        "refundId": "20240101555555555XXXX",
        "paymentId": "20240101123456789XXXX",
        "refundAmount": {"currency": "SGD", "value": "1000"},
        "refundStatus": "SUCCESS",
        "refundTime": "2024-01-02T00:00:00+08:00",
        "result": {"resultCode": "SUCCESS", "resultStatus": "S", "resultMessage": "success."},
    }
    assert_ack(post_notification(client, payload))
    refund = Refund.objects.get()
    assert refund.status == Refund.Status.SUCCEEDED
    assert refund.refund_id == "20240101555555555XXXX"
    payment.refresh_from_db()
    assert payment.refunded_amount == 1000
    assert Notification.objects.get().outcome == Notification.Outcome.APPLIED


def test_iso_request_time_signed_by_the_official_sdk_is_accepted(client: Client, db: None) -> None:
    vector = VECTORS["notifications"][0]
    make = {"payment_request_id": json.loads(vector["body"])["paymentRequestId"]}
    from tests.api.conftest import make_payment

    make_payment(**make)
    with override_settings(ANTOM={**ANTOM, "NOTIFY_TIME_TOLERANCE": 10**10}):
        response = client.post(
            vector["path"],
            data=vector["body"].encode(),
            content_type="application/json",
            headers={
                "client-id": vector["client_id"],
                "request-time": vector["request_time"],
                "signature": vector["signature_header"],
            },
        )
    assert_ack(response)
    assert Notification.objects.get().outcome == Notification.Outcome.APPLIED


# -- duplicates ----------------------------------------------------------------------------------


def test_same_notification_twice_is_acknowledged_and_changes_nothing(client: Client, pending_payment: Payment) -> None:
    body = encode(fixture("notifyPayment_success"))
    assert_ack(post_notification(client, body))
    pending_payment.refresh_from_db()
    events = PaymentEvent.objects.count()
    updated = pending_payment.updated_at
    assert_ack(post_notification(client, body))
    pending_payment.refresh_from_db()
    assert pending_payment.updated_at == updated
    assert PaymentEvent.objects.count() == events
    # Bounded storage: the resend is counted on the stored row, not stored again (it was a DUPLICATE row).
    stored = Notification.objects.get()
    assert (stored.outcome, stored.received_count) == (Notification.Outcome.APPLIED, 2)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_same_notification_concurrently_applies_once() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (ANTOM_TEST_DATABASE_URL)")
    from tests.api.conftest import make_payment

    payment = make_payment()
    body = encode(fixture("notifyPayment_success"))
    headers = signed_headers(body)
    workers = 8

    def deliver(_: int) -> tuple[int, bytes]:
        response = Client().post(NOTIFY_PATH, data=body, content_type="application/json", headers=headers)
        return response.status_code, response.content

    assert race(workers, deliver) == [(200, ACK_BODY)] * workers
    # One row counting every delivery (each was a DUPLICATE row before storage was bounded).
    stored = Notification.objects.get()
    assert (stored.outcome, stored.received_count, stored.payment_id) == (
        Notification.Outcome.APPLIED,
        workers,
        payment.pk,
    )
    payment.refresh_from_db()
    assert payment.status == Payment.Status.AUTHORIZED
    assert PaymentEvent.objects.filter(payment=payment, to_status=Payment.Status.AUTHORIZED).count() == 1


# -- what the service layer reports --------------------------------------------------------------


def test_unknown_payment_is_stored_surfaced_and_acknowledged(client: Client, db: None) -> None:
    assert_ack(post_notification(client, fixture("notifyPayment_success")))
    stored = Notification.objects.get()
    assert stored.outcome == Notification.Outcome.UNKNOWN_PAYMENT
    assert stored.payment is None
    assert Notification.objects.filter(outcome=Notification.Outcome.UNKNOWN_PAYMENT).count() == 1


def test_amount_mismatch_is_flagged_for_review(client: Client, pending_payment: Payment) -> None:
    payload = fixture("notifyPayment_success")
    payload["paymentAmount"] = {"currency": "SGD", "value": "1"}
    assert_ack(post_notification(client, payload))
    pending_payment.refresh_from_db()
    assert pending_payment.needs_review
    assert pending_payment.review_reason


def test_other_notify_types_are_stored_and_acknowledged(client: Client, db: None) -> None:
    payload = {"notifyType": "DISPUTE_CREATED", "disputeId": "d-1"}
    assert_ack(post_notification(client, payload))
    assert Notification.objects.get().outcome == Notification.Outcome.IGNORED


def failing(exc: Exception) -> Any:
    """A notification handler that raises ``exc`` after applying: the failure happens inside the apply."""

    def handler(change: Any, note: Any) -> None:
        notifications.apply_payment_message(change, note)
        change.flush()
        raise exc

    return handler


def test_failure_while_applying_is_kept_and_answered_so_antom_retries(
    client: Client, pending_payment: Payment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(notifications.HANDLERS, "PAYMENT_RESULT", failing(RuntimeError("bug in a signal receiver")))
    body = encode(fixture("notifyPayment_success"))
    assert_refused(post_notification(client, body), 500, "processing_error")
    failed = Notification.objects.get()
    assert failed.outcome == Notification.Outcome.ERROR
    assert "bug in a signal receiver" in failed.error
    pending_payment.refresh_from_db()
    assert pending_payment.status == Payment.Status.PENDING
    # Antom's retry, once the bug is fixed, applies the ERROR row afresh: the failure did not mark it seen.
    monkeypatch.undo()
    assert_ack(post_notification(client, body))
    pending_payment.refresh_from_db()
    assert pending_payment.status == Payment.Status.AUTHORIZED
    applied = Notification.objects.get()
    assert (applied.pk, applied.outcome, applied.error, applied.received_count) == (
        failed.pk,
        Notification.Outcome.APPLIED,
        "",
        2,
    )


def test_database_error_while_applying_answers_503(
    client: Client, pending_payment: Payment, monkeypatch: pytest.MonkeyPatch
) -> None:
    lost = OperationalError("server closed the connection unexpectedly")
    monkeypatch.setitem(notifications.HANDLERS, "PAYMENT_RESULT", failing(lost))
    response = post_notification(client, fixture("notifyPayment_success"))
    assert_refused(response, 503, "temporarily_unavailable")
    assert response["Retry-After"]
    # Our own outage: the row is left as stored (the sweep or Antom's retry applies it), not marked ERROR.
    kept = Notification.objects.get()
    assert (kept.outcome, kept.error) == (Notification.Outcome.RECEIVED, "")
    monkeypatch.undo()
    assert_ack(post_notification(client, fixture("notifyPayment_success")))
    kept.refresh_from_db()
    assert (kept.outcome, kept.received_count) == (Notification.Outcome.APPLIED, 2)


def test_a_failure_to_apply_that_is_a_database_error_of_ours_answers_503_and_is_kept(
    client: Client, pending_payment: Payment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(notifications.HANDLERS, "PAYMENT_RESULT", failing(IntegrityError("constraint broken")))
    assert_refused(post_notification(client, fixture("notifyPayment_success")), 503, "temporarily_unavailable")
    failed = Notification.objects.get()
    assert failed.outcome == Notification.Outcome.ERROR
    assert "constraint broken" in failed.error


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_database_down_answers_503_so_antom_retries() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (ANTOM_TEST_DATABASE_URL)")
    body = encode(fixture("notifyPayment_success"))
    headers = signed_headers(body)
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"  # nothing listens there: the database is "down"
    try:
        response = Client(raise_request_exception=False).post(
            NOTIFY_PATH, data=body, content_type="application/json", headers=headers
        )
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port
    assert_refused(response, 503, "temporarily_unavailable")
    assert Notification.objects.count() == 0


# -- bad input -----------------------------------------------------------------------------------


@pytest.fixture
def body() -> bytes:
    return encode(fixture("notifyPayment_success"))


def post(client: Client, body: bytes, headers: dict[str, str], content_type: str = "application/json") -> Any:
    return client.post(NOTIFY_PATH, data=body, content_type=content_type, headers=headers)


def assert_rejected_and_stored(code: str, *, verified: bool = False) -> Notification:
    stored = Notification.objects.get()
    assert stored.outcome == Notification.Outcome.REJECTED
    assert stored.signature_verified is verified
    assert stored.error.startswith(code)
    return stored


def test_missing_signature(client: Client, pending_payment: Payment, body: bytes) -> None:
    headers = signed_headers(body)
    del headers["signature"]
    assert_refused(post(client, body, headers), 401, "signature_missing")
    assert_rejected_and_stored("signature_missing")
    pending_payment.refresh_from_db()
    assert pending_payment.status == Payment.Status.PENDING


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h, b: (h, b.replace(b"4200", b"4201", 1)), id="body-tampered"),
        pytest.param(lambda h, b: ({**h, "signature": h["signature"][:-8] + "AAAAAA%3D"}, b), id="signature-altered"),
        pytest.param(
            lambda h, b: ({**h, "signature": "algorithm=RSA256,keyVersion=1,signature=%%%"}, b), id="not-base64"
        ),
        pytest.param(lambda h, b: ({**h, "signature": "garbage"}, b), id="malformed-header"),
        pytest.param(lambda h, b: ({**h, "request-time": str(int(h["request-time"]) + 1)}, b), id="other-time"),
    ],
)
def test_bad_signature(client: Client, pending_payment: Payment, body: bytes, tamper: Any) -> None:
    headers, sent = tamper(signed_headers(body), body)
    response = post(client, sent, headers)
    assert_refused(response, 401, "signature_invalid")
    assert response["WWW-Authenticate"]
    assert_rejected_and_stored("signature_invalid")
    pending_payment.refresh_from_db()
    assert pending_payment.status == Payment.Status.PENDING


def test_signature_for_another_path(client: Client, pending_payment: Payment, body: bytes) -> None:
    headers = signed_headers(body, path="/other/notify/")
    assert_refused(post(client, body, headers), 401, "signature_invalid")


def test_signed_with_the_merchant_key_instead_of_antoms(client: Client, pending_payment: Payment, body: bytes) -> None:
    from antom_django.client.keys import load_private_key
    from antom_django.client.signing import Signer, build_signature_header

    request_time = now_ms()
    own = Signer(load_private_key(VECTORS["merchant_private_key"])).sign(
        "POST", NOTIFY_PATH, CLIENT_ID, request_time, body
    )
    headers = {"client-id": CLIENT_ID, "request-time": request_time, "signature": build_signature_header(own)}
    assert_refused(post(client, body, headers), 401, "signature_invalid")


def test_unknown_client_id(client: Client, pending_payment: Payment, body: bytes) -> None:
    headers = signed_headers(body, client_id="SANDBOX_SOMEONE_ELSE")
    assert_refused(post(client, body, headers), 401, "unknown_client_id")
    assert_rejected_and_stored("unknown_client_id")


def test_missing_client_id(client: Client, db: None, body: bytes) -> None:
    headers = signed_headers(body)
    del headers["client-id"]
    assert_refused(post(client, body, headers), 401, "client_id_missing")


@pytest.mark.parametrize("offset_s", [-26 * 3600, 26 * 3600], ids=["past", "future"])
def test_stale_request_time(client: Client, pending_payment: Payment, body: bytes, offset_s: int) -> None:
    stale = str(int(now_ms()) + offset_s * 1000)
    assert_refused(post(client, body, signed_headers(body, request_time=stale)), 401, "request_time_stale")
    assert_rejected_and_stored("request_time_stale")


@pytest.mark.parametrize("value", ["yesterday", "2024-01-01T00:00:00", "9" * 40])
def test_unreadable_request_time(client: Client, db: None, body: bytes, value: str) -> None:
    assert_refused(post(client, body, signed_headers(body, request_time=value)), 401, "request_time_invalid")


def test_missing_request_time(client: Client, db: None, body: bytes) -> None:
    headers = signed_headers(body)
    del headers["request-time"]
    assert_refused(post(client, body, headers), 401, "request_time_missing")


@pytest.mark.parametrize(
    "raw", [b"{not json", b"[1, 2, 3]", b'"text"', b"\xff\xfe{}"], ids=["broken", "array", "string", "not-utf8"]
)
def test_malformed_json_signed_by_antom(client: Client, db: None, raw: bytes) -> None:
    response = post(client, raw, signed_headers(raw))
    assert_refused(response, 400, "malformed_json")
    assert_rejected_and_stored("malformed_json", verified=True)


def test_malformed_json_unsigned_is_a_signature_failure(client: Client, db: None) -> None:
    raw = b"{not json"
    headers = signed_headers(b"something else")
    assert_refused(post(client, raw, headers), 401, "signature_invalid")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_wrong_content_type(client: Client, pending_payment: Payment, body: bytes, content_type: str) -> None:
    response = post(client, body, signed_headers(body), content_type=content_type)
    assert_refused(response, 415, "unsupported_media_type")
    pending_payment.refresh_from_db()
    assert pending_payment.status == Payment.Status.PENDING


def test_non_utf8_charset(client: Client, db: None, body: bytes) -> None:
    response = post(client, body, signed_headers(body), content_type="application/json; charset=latin-1")
    assert_refused(response, 415, "unsupported_media_type")


def test_json_with_charset_is_accepted(client: Client, pending_payment: Payment, body: bytes) -> None:
    assert_ack(post(client, body, signed_headers(body), content_type="application/json; charset=UTF-8"))


def test_oversized_body(client: Client, db: None) -> None:
    payload = fixture("notifyPayment_success")
    payload["padding"] = "x" * (ANTOM.get("NOTIFY_MAX_BYTES", 64 * 1024) + 1)
    raw = encode(payload)
    assert_refused(post(client, raw, signed_headers(raw)), 413, "body_too_large")
    stored = assert_rejected_and_stored("body_too_large")
    assert len(stored.body) == 0


def test_get_is_not_allowed_and_has_no_browsable_page(client: Client, db: None) -> None:
    response = client.get(NOTIFY_PATH, headers={"Accept": "text/html"})
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"


def test_csrf_and_session_do_not_apply(pending_payment: Payment, body: bytes, django_user_model: Any) -> None:
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(django_user_model.objects.create_user("shopper"))
    assert_ack(post(csrf_client, body, signed_headers(body)))


def test_rejected_records_are_truncated_and_bounded(client: Client, db: None) -> None:
    big = b"{" + b'"a":"' + b"y" * 40_000 + b'"}'
    with override_settings(ANTOM={**ANTOM, "NOTIFY_REJECTED_BODY_BYTES": 100, "NOTIFY_REJECTED_KEEP": 5}):
        for _ in range(inbox.PRUNE_EVERY):
            post(client, big, {"client-id": CLIENT_ID, "request-time": now_ms(), "signature": "signature=AAAA"})
        rejected = Notification.objects.filter(outcome=Notification.Outcome.REJECTED)
        assert rejected.count() <= 5 + inbox.PRUNE_EVERY
        assert max(len(body) for body in rejected.values_list("body", flat=True)) <= 100
        inbox.prune_rejected()
        assert rejected.all().count() == 5


# -- cost ----------------------------------------------------------------------------------------

QUERIES_APPLIED = 8
"""SQL statements per applied PAYMENT_RESULT, whatever the payment: store the raw body (1), then one transaction
(BEGIN, COMMIT: 2): read the payment by paymentRequestId with its row locked, claim the dedupe key and record the
outcome in one UPDATE of the notification, one UPDATE of the payment's changed columns (status and the facts that
came with it), record the event with the signals it announces (4); after the commit and the signals, clear the
event's outbox columns (1)."""

QUERIES_REPLAY = 1
"""The same bytes again: the INSERT collides with the stored row's fingerprint and counts the delivery on it
(one statement); the row is applied already, so that is all."""

QUERIES_DUPLICATE = 12
"""The same message in other bytes (rare: Antom resends the bytes it signed): store raw (1), BEGIN, lock the
payment, the dedupe key collides, ROLLBACK (4), then fold it into the applied row in one transaction (7):
BEGIN, lock this row and read its count, add the count to the applied row, and the ORM's delete (read the
row, detach timeline events, none, DELETE), COMMIT."""


@pytest.mark.django_db(transaction=True)
def test_queries_per_notification_are_constant(django_assert_num_queries: Any) -> None:
    from tests.api.conftest import make_payment

    client = Client()
    for n in range(3):
        make_payment(payment_request_id=f"paymentRequestId{n}", reference_order_id=f"order-{n}")
        payload = fixture("notifyPayment_success")
        payload["paymentRequestId"] = f"paymentRequestId{n}"
        payload["paymentId"] = f"20240101123456789{n:04d}"
        with django_assert_num_queries(QUERIES_APPLIED):
            assert_ack(post_notification(client, payload))
    with django_assert_num_queries(QUERIES_REPLAY):
        assert_ack(post_notification(client, payload))
    with django_assert_num_queries(QUERIES_DUPLICATE):
        assert_ack(post_notification(client, json.dumps(payload, indent=1).encode()))
    # Scoped to this test's payments: on SQLite a late delivery from an earlier test's simulator to the
    # session's live server can commit a row of its own outside this test's transaction.
    ours = Notification.objects.filter(payment__payment_request_id__in=[f"paymentRequestId{n}" for n in range(3)])
    assert ours.filter(outcome=Notification.Outcome.APPLIED).count() == 3
    assert ours.count() == 3
    assert ours.get(payment__payment_request_id="paymentRequestId2").received_count == 3


def test_refusals_are_logged_at_a_bounded_rate(client: Client, db: None, caplog: pytest.LogCaptureFixture) -> None:
    inbox.rejections_log._next = 0.0
    with caplog.at_level("WARNING"):
        for _ in range(20):
            post(client, b"{}", {"client-id": CLIENT_ID, "request-time": now_ms(), "signature": "signature=AAAA"})
    lines = [r for r in caplog.records if "notify" in r.getMessage() or r.name == "django.request"]
    assert len(lines) == 1
    assert "signature_invalid" in lines[0].getMessage()
    assert "AAAA" not in lines[0].getMessage()


def test_a_throttle_configured_for_notify_applies(client: Client, pending_payment: Payment) -> None:
    from django.core.cache import cache

    cache.clear()
    antom = {**ANTOM, "THROTTLE_CLASSES": {"notify": ["antom_django.api.throttling.AntomRateThrottle"]}}
    rates = {"DEFAULT_THROTTLE_RATES": {"antom_notify": "2/min"}}
    body = encode(fixture("notifyPayment_success"))
    with override_settings(ANTOM=antom, REST_FRAMEWORK=rates):
        codes = [post_notification(client, body).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    # The throttled one was refused before anything was stored (the second is counted on the first's row).
    assert Notification.objects.get().received_count == 2


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(("field", "value"), [("pk", 1), ("payment_request_id", "r-1"), ("payment_id", "a-1")])
def test_the_locked_read_is_compiled_once_and_replayed_on_postgresql(field: str, value: object) -> None:
    """Every column the read returns can be replayed without converters (a JSON column read there made every
    notification build the query through the ORM again: twice the CPU of inline applying)."""
    from antom_django.services import notifications

    assert notifications._compile_locked_read("default", field, value) is not None
