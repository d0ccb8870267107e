"""Hostile input to the three public endpoints: a documented 4xx (or, for what Antom signed, a review), never a 500."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import operator
from collections import Counter
from typing import Any

import pytest
from django.test import Client, RequestFactory, override_settings
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ParseError

from antom_django.api import notify
from antom_django.api.parsers import BoundedJSONParser
from antom_django.client.errors import AntomError
from antom_django.client.types import ACK_BODY
from antom_django.exceptions import PaymentError
from antom_django.models import Notification, Payment, PaymentEvent
from antom_django.sandbox.app import SandboxApp
from antom_django.services import apply_pending_notifications, sync_payment
from antom_django.services.validation import unusable
from tests.api.helpers import NOTIFY_PATH, encode, fixture, now_ms, post_notification, signed_headers
from tests.api.shop import add_order
from tests.settings import ANTOM, VECTORS

Outcome = Notification.Outcome
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
HOSTILE = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def assert_refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["result"]["resultCode"] == code.upper()


def assert_ack(response: Any) -> None:
    assert response.status_code == 200, response.content
    assert response.content == ACK_BODY


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


# -- notify/: header values in any Unicode -----------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("declared", [" 12"])
def test_content_length_not_in_ascii_digits_is_a_400(client: Client, declared: str) -> None:
    """A leading space, which an HTTP server strips before Django sees it; the other cases (``²`` was a 500)
    are in the corpus (``tests/hostile/corpus.py``, ``content_length_*``)."""
    body = encode(fixture("notifyPayment_success"))
    response = client.post(
        NOTIFY_PATH, data=body, content_type="application/json", headers=signed_headers(body), CONTENT_LENGTH=declared
    )
    assert_refused(response, 400, "content_length_invalid")


def test_request_time_in_other_scripts_is_no_time() -> None:
    """Arabic-Indic digits are digits to ``str.isdigit`` and ``int``, but no request-time Antom sends."""
    now = now_ms()
    assert notify.request_time_seconds(now) == int(now) / 1000
    assert notify.request_time_seconds(now.translate(ARABIC_INDIC)) is None
    assert notify.request_time_seconds("²" * 13) is None
    assert notify.request_time_seconds("٢٠٢٤-01-01T00:00:00+08:00") is None


# -- notify/: bodies Antom signed ---------------------------------------------------------------


def hostile(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**payload, **changes}


UNUSABLE = {
    # Each of these, and many more, in a signed notification: tests/hostile/corpus.py (effect "review").
    "amount_of_thousands_of_digits": ({"paymentAmount": {"currency": "SGD", "value": "9" * 5000}}, "paymentAmount"),
    "amount_beyond_a_bigint": ({"paymentAmount": {"currency": "SGD", "value": "9" * 20}}, "paymentAmount"),
    "nul_in_text": ({"paymentResultInfo": {"cardBrand": "VI\x00SA"}}, "NUL"),
}
"""Signed values we cannot use, sent here in an inquiry answer."""


@pytest.mark.django_db
def test_unusable_resent_is_acknowledged_again_and_kept_once(client: Client, pending_payment: Payment) -> None:
    body = encode(hostile(fixture("notifyPayment_success"), paymentAmount={"currency": "SGD", "value": "9" * 40}))
    for _ in range(3):
        assert_ack(post_notification(client, body))
    stored = Notification.objects.get()
    assert (stored.outcome, stored.received_count) == (Outcome.NEEDS_REVIEW, 3)
    assert PaymentEvent.objects.filter(payment=pending_payment, kind=PaymentEvent.Kind.REVIEW).count() == 1


@override_settings(ANTOM={**ANTOM, "NOTIFY_APPLY": "queue"})
@pytest.mark.django_db
def test_the_queue_worker_holds_it_once_and_never_picks_it_again(client: Client, pending_payment: Payment) -> None:
    payload = hostile(fixture("notifyPayment_success"), paymentAmount={"currency": "SGD", "value": "9" * 3000})
    assert_ack(post_notification(client, payload))
    assert Notification.objects.get().outcome == Outcome.RECEIVED
    assert apply_pending_notifications(include_errors=True) == Counter({Outcome.NEEDS_REVIEW: 1})
    assert apply_pending_notifications(include_errors=True) == Counter()
    assert Notification.objects.get().outcome == Outcome.NEEDS_REVIEW
    pending_payment.refresh_from_db()
    assert (pending_payment.status, pending_payment.needs_review) == (Payment.Status.PENDING, True)


# -- sessions/ ---------------------------------------------------------------------------------


@pytest.fixture
def shopper(django_user_model: Any) -> Client:
    client = Client()
    client.force_login(django_user_model.objects.create_user("shopper"))
    return client


# -- payments/<id>/ with an inquiry answer we cannot use ------------------------------------------


@pytest.fixture
def hostile_inquiry(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The simulator's inquiryPayment answer, altered by ``changes`` before it is signed and sent."""
    changes: dict[str, Any] = {}
    real = SandboxApp._answer

    def altered(self: SandboxApp, request: Any, operation: str, *args: Any) -> dict[str, Any]:
        answer = real(self, request, operation, *args)
        return {**answer, **changes} if operation == "inquiryPayment" else answer

    monkeypatch.setattr(SandboxApp, "_answer", altered)
    return changes


@pytest.mark.django_db
@pytest.mark.parametrize("case", UNUSABLE)
def test_unusable_inquiry_answer_is_a_review_not_a_500(
    antom_sandbox: Any, django_user_model: Any, hostile_inquiry: dict[str, Any], case: str
) -> None:
    owner = django_user_model.objects.create_user("owner")
    add_order("order-1", 4200, owner=owner)
    client = Client()
    client.force_login(owner)
    created = client.post("/antom/sessions/", {"referenceOrderId": "order-1"}, content_type="application/json")
    antom_sandbox.pay(created.json()["paymentSessionData"])
    hostile_inquiry.update({**UNUSABLE[case][0], "paymentStatus": "SUCCESS"})
    response = client.get(f"/antom/payments/{created.json()['paymentRequestId']}/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == Payment.Status.PENDING
    payment = Payment.objects.get()
    assert payment.needs_review
    assert "inquiryPayment answer could not be used" in payment.review_reason
    assert payment.last_inquiry_at is not None
    again = sync_payment(payment)  # the service itself, called from a task or the admin
    assert (again.status, again.needs_review) == (Payment.Status.PENDING, True)


# -- property-based, each parser alone -----------------------------------------------------------

unicode_text = st.text(st.characters(exclude_categories=()), max_size=40)
latin1 = st.text(st.characters(max_codepoint=0xFF, exclude_categories=["Cs"]), max_size=40)


@HOSTILE
@given(value=unicode_text | st.text(st.characters(categories=["Nd", "No"]), max_size=20))
def test_request_time_parser_is_a_time_or_none(value: str) -> None:
    seconds = notify.request_time_seconds(value)
    assert seconds is None or isinstance(seconds, float)
    if seconds is not None and value.isdigit():
        assert value.isascii()


@HOSTILE
@given(client_id=unicode_text, request_time=unicode_text, signature=unicode_text)
def test_header_parser_is_three_headers_or_a_documented_refusal(
    client_id: str, request_time: str, signature: str
) -> None:
    meta = {"HTTP_CLIENT_ID": client_id, "HTTP_REQUEST_TIME": request_time, "HTTP_SIGNATURE": signature}
    request = RequestFactory().post(NOTIFY_PATH, data=b"{}", content_type="application/json", **meta)
    try:
        headers = notify.check_headers(request)
    except notify.NotifyRejected as rejected:
        assert (rejected.status, rejected.code) in HEADER_REFUSALS
    else:
        assert headers == (VECTORS["client_id"], request_time, signature)
        assert request_time.isascii() and signature.isascii()


@HOSTILE
@given(content_type=latin1 | st.builds("application/json; {}".format, latin1))
def test_content_type_check_passes_or_is_a_415(content_type: str) -> None:
    """Latin-1, as WSGI delivers header values (Django's own request constructor cannot take lone surrogates)."""
    request = RequestFactory().post(NOTIFY_PATH, data=b"{}", content_type=content_type)
    try:
        notify.check_content_type(request)
    except notify.NotifyRejected as rejected:
        assert (rejected.status, rejected.code) == (415, "unsupported_media_type")
    else:
        assert request.content_type == "application/json"


HEADER_REFUSALS = {
    (401, code)
    for code in [
        "client_id_missing",
        "unknown_client_id",
        "request_time_missing",
        "request_time_invalid",
        "request_time_stale",
        "signature_missing",
        "signature_invalid",
    ]
}


@HOSTILE
@given(declared=st.none() | unicode_text | st.integers(min_value=0).map(str), body=st.binary(max_size=64))
def test_body_reader_is_bytes_or_a_documented_refusal(declared: str | None, body: bytes) -> None:
    # Django's test payload asserts on a declared length it does not have (a server would time out instead).
    assume(not (declared and notify.ascii_digits(declared) and len(body) < int(declared) <= 1024))
    extra = {} if declared is None else {"CONTENT_LENGTH": declared}
    request = RequestFactory().post(NOTIFY_PATH, data=body, content_type="application/json", **extra)
    try:
        read = notify.read_body(request, 1024)
    except notify.NotifyRejected as rejected:
        assert (rejected.status, rejected.code) in {(400, "content_length_invalid"), (413, "body_too_large")}
    else:
        assert isinstance(read, bytes) and len(read) <= 1024


# Text that our columns cannot take as it is: NUL, lone surrogates, longer than any id column.
column_breakers = st.sampled_from(["\x00", "A\x00B", "\ud800", "x\udfff", "9" * 65, "I" * 300])
json_texts = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | unicode_text | column_breakers,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(unicode_text, inner, max_size=4),
    max_leaves=20,
).map(lambda value: json.dumps(value).encode())
hostile_bodies = (
    st.binary(max_size=100)
    | json_texts
    | st.integers(min_value=1, max_value=30_000).map(lambda n: b"[" * n + b"]" * n)
    | st.integers(min_value=4301, max_value=6000).map(lambda n: b'{"v":' + b"9" * n + b"}")
)


@HOSTILE
@given(body=hostile_bodies)
def test_body_parser_is_an_object_or_a_documented_refusal(body: bytes) -> None:
    try:
        text, data = notify.parse_body(body)
    except notify.NotifyRejected as rejected:
        assert (rejected.status, rejected.code) in {(400, "malformed_json"), (400, "json_too_deep")}
        assert rejected.verified
    else:
        assert isinstance(data, dict) and text == body.decode()
        assert isinstance(unusable(data), str)  # and the service-side check never raises either


@HOSTILE
@given(body=hostile_bodies)
def test_sessions_body_parser_is_data_or_a_parse_error(body: bytes) -> None:
    try:
        BoundedJSONParser().parse(io.BytesIO(body), "application/json", {"encoding": "utf-8"})
    except ParseError as exc:
        assert exc.get_codes() in ("parse_error", "json_too_deep")


# -- property-based, through Django's test client ------------------------------------------------

any_text = st.text(max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@pytest.mark.django_db
@HOSTILE
@given(client_id=any_text, request_time=any_text, signature=any_text, length=st.none() | any_text, body=st.binary())
def test_notify_never_answers_500_to_any_headers(
    client_id: str, request_time: str, signature: str, length: str | None, body: bytes
) -> None:
    assume(not (length and notify.ascii_digits(length) and len(body) < int(length) <= 64 * 1024))  # see above
    headers = {"client-id": client_id, "request-time": request_time, "signature": signature}
    extra = {} if length is None else {"CONTENT_LENGTH": length}
    response = Client().post(NOTIFY_PATH, data=body, content_type="application/json", headers=headers, **extra)
    assert 400 <= response.status_code < 500
    assert response.content != ACK_BODY


@pytest.mark.django_db
@HOSTILE
@given(payload=st.dictionaries(st.sampled_from(sorted(fixture("notifyPayment_success"))), json_values, max_size=6))
def test_notify_never_answers_500_to_any_signed_body(pending_payment: Payment, payload: dict[str, Any]) -> None:
    """Whatever Antom signs is acknowledged (applied, ignored or kept for review) or refused with a 4xx."""
    body = {**fixture("notifyPayment_success"), **payload}
    response = post_notification(Client(), json.dumps(body).encode())
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.content


@pytest.mark.django_db
@HOSTILE
@given(body=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()), auth=latin1, ctype=latin1)
def test_sessions_never_answers_500(shopper: Client, body: bytes, auth: str, ctype: str) -> None:
    for content_type in ("application/json", f"application/json; {ctype}"):
        response = shopper.post("/antom/sessions/", data=body, content_type=content_type, HTTP_AUTHORIZATION=auth)
        assert response.status_code < 500, response.content


@pytest.mark.django_db
@HOSTILE
@given(request_id=st.text(min_size=1, max_size=80).filter(lambda s: "/" not in s), auth=latin1)
def test_payment_status_never_answers_500(request_id: str, auth: str) -> None:
    response = Client().get(f"/antom/payments/{request_id}/", HTTP_AUTHORIZATION=auth)
    assert response.status_code < 500, response.content


# -- DEBUG error pages -------------------------------------------------------------------------


@pytest.mark.django_db
@override_settings(DEBUG=True)
def test_debug_error_page_from_the_app_shows_no_signature_body_or_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug inside the app's frames (here: a comparison that raises) renders Django's technical 500 page."""
    monkeypatch.setattr(notify, "constant_time_compare", operator.truediv)  # TypeError inside check_headers
    body = encode(hostile(fixture("notifyPayment_success"), paymentId="secret-body-marker"))
    headers = signed_headers(body)
    response = Client(raise_request_exception=False).post(
        NOTIFY_PATH, data=body, content_type="application/json", headers=headers, HTTP_ACCEPT="text/html"
    )
    page = response.content.decode()
    assert response.status_code == 500
    assert "check_headers" in page and "unsupported operand" in page  # it is the technical page of that error
    signature = headers["signature"].split("signature=")[1]
    assert signature not in page
    assert "secret-body-marker" not in page
    for secret in (VECTORS["merchant_private_key"], VECTORS["antom_private_key"]):
        assert secret[100:140] not in page


@pytest.mark.django_db
@override_settings(DEBUG=True)
def test_debug_error_page_from_signing_a_request_shows_no_request_or_key(
    monkeypatch: pytest.MonkeyPatch, django_user_model: Any
) -> None:
    """A failure inside the client's signer (``sessions/`` → services → client): every app frame is masked."""
    from antom_django.client import signing

    monkeypatch.setattr(signing, "content_to_sign", operator.truediv)  # TypeError inside Signer.sign
    owner = django_user_model.objects.create_user("owner")
    add_order("order-secret-7", 4200, owner=owner)
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    response = client.post(
        "/antom/sessions/",
        {"referenceOrderId": "order-secret-7"},
        content_type="application/json",
        HTTP_ACCEPT="text/html",
    )
    page = response.content.decode()
    assert response.status_code == 500
    assert "TypeError" in page and "antom_django/client/signing.py" in page  # the technical page of that error
    assert "order-secret-7" not in page  # the order reference the frames hold
    assert Payment.objects.get().payment_request_id not in page  # in the signed request body they hold
    assert VECTORS["merchant_private_key"][100:140] not in page


inquiry_fields = st.sampled_from(
    [
        "paymentStatus",
        "paymentAmount",
        "paymentId",
        "paymentRequestId",
        "paymentTime",
        "authExpiryTime",
        "paymentResultCode",
        "paymentResultMessage",
        "paymentResultInfo",
        "cardInfo",
        "transactions",
    ]
)
wire_amounts = st.builds(
    lambda currency, value: {"currency": currency, "value": value},
    st.sampled_from(["SGD", "JPY", "sgd", "", "ＳＧＤ"]),
    st.integers(min_value=-1, max_value=10**30)
    | st.integers(min_value=0, max_value=10**30).map(str)
    | unicode_text
    | column_breakers,
)
wire_transactions = st.lists(
    st.fixed_dictionaries(
        {"transactionType": st.sampled_from(["CAPTURE", "REFUND", "CANCEL", "VOID", ""])},
        optional={
            "transactionStatus": st.sampled_from(["SUCCESS", "FAIL", "PROCESSING"]) | unicode_text,
            "transactionRequestId": unicode_text | column_breakers,
            "transactionId": unicode_text | column_breakers,
            "transactionResult": st.fixed_dictionaries(
                {"resultStatus": st.sampled_from(["S", "F", "U"])}, optional={"resultCode": column_breakers}
            ),
            "transactionAmount": wire_amounts | json_texts.map(json.loads),
            "transactionTime": unicode_text,
        },
    ),
    max_size=3,
)
inquiry_changes = st.dictionaries(
    inquiry_fields,
    st.sampled_from(["SUCCESS", "FAIL", "PROCESSING", "CANCELLED"])
    | wire_amounts
    | wire_transactions
    | column_breakers
    | json_texts.map(json.loads),
    max_size=5,
)


@pytest.mark.django_db
def test_any_inquiry_answer_is_applied_or_flagged_never_a_crash(
    antom_sandbox: Any, django_user_model: Any, hostile_inquiry: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Antom's signed inquiryPayment answer with any fields changed: ``sync_payment`` applies it, flags it, or
    raises its documented errors; ``GET payments/<id>/`` answers 200."""
    owner = django_user_model.objects.create_user("owner")
    add_order("order-1", 4200, owner=owner)
    client = Client()
    client.force_login(owner)
    created = client.post("/antom/sessions/", {"referenceOrderId": "order-1"}, content_type="application/json")
    antom_sandbox.pay(created.json()["paymentSessionData"])
    url = f"/antom/payments/{created.json()['paymentRequestId']}/"

    @HOSTILE
    @given(changes=inquiry_changes)
    def run(changes: dict[str, Any]) -> None:
        Payment.objects.update(status=Payment.Status.PENDING, last_inquiry_at=None, needs_review=False)
        hostile_inquiry.clear()
        hostile_inquiry.update(changes)
        caplog.clear()
        assert client.get(url).status_code == 200
        # The view also survives a crash of the refresh, logging it: there must have been none.
        # (The simulator cannot send a lone surrogate: it answers 500, a documented AntomError here.)
        assert not [r for r in caplog.records if r.name == "antom_django.api" and r.levelno >= logging.ERROR]
        with contextlib.suppress(AntomError, PaymentError):
            sync_payment(Payment.objects.get())

    run()
