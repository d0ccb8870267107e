"""AntomClient against ``responses``: every operation, outcome, transport failure and bad answer."""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import responses

from antom_django.client import (
    Amount,
    AntomClient,
    AntomConnectionError,
    AntomFailed,
    AntomInvalidResponse,
    AntomOutcomeUnknown,
    AntomResponseSignatureError,
    AntomServerError,
    AntomTimeout,
    AntomUnknownResult,
    ConfigurationError,
    Verifier,
    api,
    parse_signature_header,
)
from antom_django.client.keys import load_public_key
from antom_django.client.types import (
    CancelResult,
    CaptureResult,
    PaymentInquiry,
    PaymentSession,
    RefundInquiry,
    RefundResult,
)
from tests.client.helpers import (
    GATEWAY,
    RESPONSE_TIME,
    add_answer,
    fixture,
    result,
    signed_headers,
    stranger_signer,
)
from tests.settings import VECTORS

SGD_42 = Amount("SGD", 4200)
PRODUCTION_ID = "5YEXAMPLE0000001"


def _session(c: AntomClient) -> Any:
    return c.create_payment_session(
        payment_request_id="paymentRequestId01",
        amount=SGD_42,
        redirect_url="https://shop.example.com/checkout/result/",
        reference_order_id="order-1",
        order_description="Two books",
        notify_url="https://shop.example.com/antom/notify/",
    )


# operation name → (unsandboxed path, call, request id sent, request id field, typed result)
OPERATIONS: dict[str, tuple[str, Callable[[AntomClient], Any], str, str, type]] = {
    "createPaymentSession": (
        api.CREATE_PAYMENT_SESSION,
        _session,
        "paymentRequestId01",
        "paymentRequestId",
        PaymentSession,
    ),
    "inquiryPayment": (
        api.INQUIRY_PAYMENT,
        lambda c: c.inquiry_payment(payment_request_id="paymentRequestId01"),
        "paymentRequestId01",
        "paymentRequestId",
        PaymentInquiry,
    ),
    "capture": (
        api.CAPTURE,
        lambda c: c.capture(capture_request_id="captureRequestId01", payment_id="20240101123456789XXXX", amount=SGD_42),
        "captureRequestId01",
        "captureRequestId",
        CaptureResult,
    ),
    "cancel": (
        api.CANCEL,
        lambda c: c.cancel(payment_request_id="paymentRequestId01"),
        "paymentRequestId01",
        "paymentRequestId",
        CancelResult,
    ),
    "refund": (
        api.REFUND,
        lambda c: c.refund(
            refund_request_id="refundRequestId01", payment_id="20240101123456789XXXX", amount=Amount("SGD", 1000)
        ),
        "refundRequestId01",
        "refundRequestId",
        RefundResult,
    ),
    "inquiryRefund": (
        api.INQUIRY_REFUND,
        lambda c: c.inquiry_refund(refund_request_id="refundRequestId01"),
        "refundRequestId01",
        "refundRequestId",
        RefundInquiry,
    ),
}
OPS = sorted(OPERATIONS)


def sandboxed(path: str) -> str:
    return path.replace("/ams/api/", "/ams/sandbox/api/")


def secrets() -> list[str]:
    """Strings that must never appear in a log line, repr or error message."""
    out = []
    for name in ("merchant_private_key", "antom_private_key"):
        body = "".join(VECTORS[name].split())
        out += [body[i : i + 40] for i in range(0, len(body) - 40, 200)]
    return out


def assert_no_secret(text: str, *signatures: str) -> None:
    for secret in secrets():
        assert secret not in text
    for sig in signatures:
        assert sig not in text


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def production(client_kwargs: dict[str, Any]) -> AntomClient:
    return AntomClient(**{**client_kwargs, "client_id": PRODUCTION_ID})


# -- outcomes per operation ---------------------------------------------------------------


@pytest.mark.parametrize("op", OPS)
def test_success_returns_typed_result(antom: AntomClient, rsps: responses.RequestsMock, op: str) -> None:
    path, call, _, _, typed = OPERATIONS[op]
    payload = fixture(f"{op}_success")
    add_answer(rsps, sandboxed(path), payload)
    out = call(antom)
    assert type(out) is typed
    assert out.result.status == "S"
    assert out.result.code == "SUCCESS"
    assert out.raw == payload


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_failed_raises_antom_failed(antom: AntomClient, rsps: responses.RequestsMock, op: str, signed: bool) -> None:
    path, call, request_id, _, _ = OPERATIONS[op]
    payload = fixture(f"{op}_failed")
    add_answer(rsps, sandboxed(path), payload, signed=signed)
    with pytest.raises(AntomFailed) as info:
        call(antom)
    err = info.value
    assert not isinstance(err, AntomOutcomeUnknown)
    assert err.result_status == "F"
    assert err.result_code == payload["result"]["resultCode"]
    assert err.result_message == payload["result"]["resultMessage"]
    assert err.request_id == request_id
    assert err.operation == op
    assert err.http_status == 200
    assert payload["result"]["resultCode"] in str(err)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_unknown_raises_outcome_unknown(
    antom: AntomClient, rsps: responses.RequestsMock, op: str, signed: bool
) -> None:
    path, call, request_id, _, _ = OPERATIONS[op]
    payload = fixture(f"{op}_unknown")
    add_answer(rsps, sandboxed(path), payload, signed=signed)
    with pytest.raises(AntomUnknownResult) as info:
        call(antom)
    assert isinstance(info.value, AntomOutcomeUnknown)
    assert not isinstance(info.value, AntomFailed)
    assert info.value.result_status == "U"
    assert info.value.result_code == payload["result"]["resultCode"]
    assert info.value.request_id == request_id


@pytest.mark.parametrize("op", OPS)
def test_unsigned_success_is_rejected(antom: AntomClient, rsps: responses.RequestsMock, op: str) -> None:
    path, call, _, _, _ = OPERATIONS[op]
    add_answer(rsps, sandboxed(path), fixture(f"{op}_success"), signed=False)
    with pytest.raises(AntomResponseSignatureError, match="unsigned response with resultStatus S") as info:
        call(antom)
    # Never success, never "definitely failed": the money may have moved.
    assert isinstance(info.value, AntomOutcomeUnknown)
    assert info.value.result_status == "S"


@pytest.mark.parametrize("op", OPS)
def test_success_signed_by_another_key_is_rejected(antom: AntomClient, rsps: responses.RequestsMock, op: str) -> None:
    path, call, _, _, _ = OPERATIONS[op]
    add_answer(rsps, sandboxed(path), fixture(f"{op}_success"), signer=stranger_signer())
    with pytest.raises(AntomResponseSignatureError, match="does not verify"):
        call(antom)


@pytest.mark.parametrize("op", OPS)
def test_request_is_signed_over_exact_bytes_sent(antom: AntomClient, rsps: responses.RequestsMock, op: str) -> None:
    path, call, request_id, id_field, _ = OPERATIONS[op]
    add_answer(rsps, sandboxed(path), fixture(f"{op}_success"))
    call(antom)
    sent = rsps.calls[0].request
    assert sent.method == "POST"
    assert sent.url == GATEWAY + sandboxed(path)
    assert sent.headers["client-id"] == VECTORS["client_id"]
    assert sent.headers["request-time"] == "1704081600000"
    assert sent.headers["Content-Type"] == "application/json; charset=UTF-8"
    header = parse_signature_header(sent.headers["signature"])
    assert (header.algorithm, header.key_version) == ("RSA256", "1")
    assert isinstance(sent.body, bytes)
    merchant = Verifier(load_public_key(VECTORS["merchant_public_key"]))
    merchant.verify_header(
        "POST", sandboxed(path), VECTORS["client_id"], "1704081600000", sent.body, sent.headers["signature"]
    )
    # One byte changed and the same signature no longer holds: it covers the exact body.
    assert not merchant.is_valid(
        "POST", sandboxed(path), VECTORS["client_id"], "1704081600000", sent.body + b" ", header.signature
    )
    assert json.loads(sent.body)[id_field] == request_id
    assert sent.req_kwargs["timeout"] == (5.0, 15.0)


# -- request bodies -----------------------------------------------------------------------


def test_create_payment_session_body(antom: AntomClient, rsps: responses.RequestsMock) -> None:
    add_answer(rsps, sandboxed(api.CREATE_PAYMENT_SESSION), fixture("createPaymentSession_success"))
    out = antom.create_payment_session(
        payment_request_id="paymentRequestId01",
        amount=SGD_42,
        redirect_url="https://shop.example.com/checkout/result/",
        reference_order_id="order-1",
        order_description="Two books 订单",
        notify_url="https://shop.example.com/antom/notify/",
        capture_mode="MANUAL",
        buyer={"referenceBuyerId": "buyer-7"},
        env={"terminalType": "WEB"},
        goods=[{"referenceGoodsId": "b1", "goodsName": "Book"}],
    )
    body = json.loads(rsps.calls[0].request.body)
    assert body == {
        "productCode": "CASHIER_PAYMENT",
        "paymentRequestId": "paymentRequestId01",
        "paymentAmount": {"currency": "SGD", "value": "4200"},
        "paymentMethod": {"paymentMethodType": "CARD"},
        "paymentRedirectUrl": "https://shop.example.com/checkout/result/",
        "paymentNotifyUrl": "https://shop.example.com/antom/notify/",
        "paymentFactor": {"isAuthorization": True, "captureMode": "MANUAL"},
        "order": {
            "orderAmount": {"currency": "SGD", "value": "4200"},
            "orderDescription": "Two books 订单",
            "referenceOrderId": "order-1",
            "buyer": {"referenceBuyerId": "buyer-7"},
            "env": {"terminalType": "WEB"},
            "goods": [{"referenceGoodsId": "b1", "goodsName": "Book"}],
        },
    }
    assert "订单".encode() in rsps.calls[0].request.body  # UTF-8 on the wire, not \u escapes
    assert out.payment_session_data.endswith("&&SG&&111")
    assert out.payment_session_id.startswith("UNvjVWnW")
    assert out.payment_session_expiry_time is not None
    assert out.payment_session_expiry_time.isoformat() == "2024-01-01T00:00:00+08:00"


def test_create_payment_session_without_authorization_sends_no_payment_factor(
    antom: AntomClient, rsps: responses.RequestsMock
) -> None:
    add_answer(rsps, sandboxed(api.CREATE_PAYMENT_SESSION), fixture("createPaymentSession_success"))
    antom.create_payment_session(
        payment_request_id="p2",
        amount=Amount("JPY", 500),
        redirect_url="https://shop.example.com/r/",
        reference_order_id="o2",
        order_description="d",
        is_authorization=False,
        extra={"settlementStrategy": {"settlementCurrency": "USD"}},
    )
    body = json.loads(rsps.calls[0].request.body)
    assert "paymentFactor" not in body
    assert "paymentNotifyUrl" not in body
    assert body["paymentAmount"] == {"currency": "JPY", "value": "500"}
    assert body["settlementStrategy"] == {"settlementCurrency": "USD"}


def test_capture_refund_bodies(antom: AntomClient, rsps: responses.RequestsMock) -> None:
    add_answer(rsps, sandboxed(api.CAPTURE), fixture("capture_success"))
    add_answer(rsps, sandboxed(api.REFUND), fixture("refund_success"))
    cap = antom.capture(capture_request_id="c1", payment_id="p1", amount=Amount("KWD", 1234), is_last_capture=False)
    ref = antom.refund(
        refund_request_id="r1",
        payment_id="p1",
        amount=Amount("SGD", 1000),
        reason="damaged",
        notify_url="https://shop.example.com/antom/notify/",
    )
    assert json.loads(rsps.calls[0].request.body) == {
        "captureRequestId": "c1",
        "paymentId": "p1",
        "captureAmount": {"currency": "KWD", "value": "1234"},
        "isLastCapture": False,
    }
    assert json.loads(rsps.calls[1].request.body) == {
        "refundRequestId": "r1",
        "paymentId": "p1",
        "refundAmount": {"currency": "SGD", "value": "1000"},
        "refundReason": "damaged",
        "refundNotifyUrl": "https://shop.example.com/antom/notify/",
    }
    assert cap.capture_id == "20240101987654321XXXX"
    assert cap.capture_amount == SGD_42
    assert cap.capture_time is not None
    assert ref.refund_id == "20240102555555555XXXX"
    assert ref.refund_amount == Amount("SGD", 1000)


@pytest.mark.parametrize(
    ("method", "kwargs", "expected"),
    [
        ("inquiry_payment", {"payment_id": "P"}, {"paymentId": "P"}),
        ("inquiry_payment", {"payment_request_id": "R"}, {"paymentRequestId": "R"}),
        ("cancel", {"payment_id": "P"}, {"paymentId": "P"}),
        ("inquiry_refund", {"refund_id": "F"}, {"refundId": "F"}),
        ("inquiry_refund", {"refund_request_id": "Q"}, {"refundRequestId": "Q"}),
    ],
)
def test_lookup_bodies(
    antom: AntomClient, rsps: responses.RequestsMock, method: str, kwargs: dict[str, str], expected: dict[str, str]
) -> None:
    op = {"inquiry_payment": "inquiryPayment", "cancel": "cancel", "inquiry_refund": "inquiryRefund"}[method]
    add_answer(rsps, sandboxed(OPERATIONS[op][0]), fixture(f"{op}_success"))
    getattr(antom, method)(**kwargs)
    assert json.loads(rsps.calls[0].request.body) == expected


@pytest.mark.parametrize("method", ["inquiry_payment", "cancel", "inquiry_refund"])
def test_lookup_without_any_id_is_refused_before_sending(antom: AntomClient, method: str) -> None:
    with responses.RequestsMock() as mock, pytest.raises(ValueError, match="is required"):
        getattr(antom, method)()
    assert not mock.calls


# -- parsing --------------------------------------------------------------------------------


def test_inquiry_payment_parses_card_and_transactions(antom: AntomClient, rsps: responses.RequestsMock) -> None:
    add_answer(rsps, sandboxed(api.INQUIRY_PAYMENT), fixture("inquiryPayment_success"))
    out = antom.inquiry_payment(payment_id="20240101123456789XXXX")
    assert out.payment_status == "SUCCESS"
    assert out.payment_result_code == "SUCCESS"
    assert out.payment_id == "20240101123456789XXXX"
    assert out.payment_request_id == "paymentRequestId01"
    assert out.payment_amount == SGD_42
    assert out.auth_expiry_time is not None
    assert out.auth_expiry_time.isoformat() == "2024-01-08T00:01:00+08:00"
    assert out.card is not None
    assert (out.card.brand, out.card.funding, out.card.issuing_country, out.card.last4) == (
        "MASTERCARD",
        "DEBIT",
        "US",
        "4242",
    )
    capture, refund = out.transactions
    assert (capture.type, capture.status, capture.request_id, capture.id) == (
        "CAPTURE",
        "SUCCESS",
        "captureRequestId01",
        "20240101987654321XXXX",
    )
    assert capture.amount == SGD_42
    assert capture.result is not None
    assert capture.result.status == "S"
    assert refund.type == "REFUND"
    assert refund.amount == Amount("SGD", 1000)
    assert refund.result is not None
    assert refund.result.code == "REFUND_IN_PROCESS"


def test_inquiry_payment_card_info_fallback_and_masked_number(antom: AntomClient, rsps: responses.RequestsMock) -> None:
    payload = fixture("inquiryPayment_success")
    del payload["paymentResultInfo"]
    del payload["transactions"]
    add_answer(rsps, sandboxed(api.INQUIRY_PAYMENT), payload)
    out = antom.inquiry_payment(payment_id="x")
    assert out.card is not None
    assert out.card.brand == "MASTERCARD"
    assert out.card.last4 == ""
    assert out.transactions == ()


@pytest.mark.parametrize(
    "odd",
    [
        {"transactions": 5},
        {"transactions": "CAPTURE"},
        {"transactions": [1, None, {"transactionType": "CAPTURE", "transactionAmount": {"value": "-1"}}]},
        {"paymentAmount": {"currency": "SGD", "value": 42.5}},
        {"paymentResultInfo": "visa", "cardInfo": []},
        {"authExpiryTime": "tomorrow", "paymentTime": 17},
    ],
    ids=["tx-int", "tx-str", "tx-junk-items", "float-amount", "card-not-object", "bad-times"],
)
def test_inquiry_payment_tolerates_odd_fields(
    antom: AntomClient, rsps: responses.RequestsMock, odd: dict[str, Any]
) -> None:
    payload = {**fixture("inquiryPayment_success"), **odd}
    add_answer(rsps, sandboxed(api.INQUIRY_PAYMENT), payload)
    out = antom.inquiry_payment(payment_id="x")
    assert out.result.status == "S"
    assert out.raw == payload
    assert all(t.type in ("CAPTURE", "REFUND") for t in out.transactions)


def test_inquiry_refund_parses(antom: AntomClient, rsps: responses.RequestsMock) -> None:
    add_answer(rsps, sandboxed(api.INQUIRY_REFUND), fixture("inquiryRefund_success"))
    out = antom.inquiry_refund(refund_id="20240102555555555XXXX")
    assert out.refund_status == "SUCCESS"
    assert out.refund_amount == Amount("SGD", 1000)
    assert out.refund_request_id == "refundRequestId01"
    assert out.refund_time is not None


def test_cancel_parses(antom: AntomClient, rsps: responses.RequestsMock) -> None:
    add_answer(rsps, sandboxed(api.CANCEL), fixture("cancel_success"))
    out = antom.cancel(payment_id="20240101123456789XXXX")
    assert out.payment_id == "20240101123456789XXXX"
    assert out.cancel_time is not None


# -- sandbox / production paths -----------------------------------------------------------


def test_sandbox_client_id_rewrites_and_signs_the_sandbox_path(
    antom: AntomClient, rsps: responses.RequestsMock
) -> None:
    assert antom.sandbox is True
    assert antom.wire_path(api.CAPTURE) == "/ams/sandbox/api/v1/payments/capture"
    add_answer(rsps, "/ams/sandbox/api/v1/payments/capture", fixture("capture_success"))
    antom.capture(capture_request_id="c", payment_id="p", amount=SGD_42)
    sent = rsps.calls[0].request
    assert sent.url == GATEWAY + "/ams/sandbox/api/v1/payments/capture"
    Verifier(load_public_key(VECTORS["merchant_public_key"])).verify_header(
        "POST",
        "/ams/sandbox/api/v1/payments/capture",
        VECTORS["client_id"],
        sent.headers["request-time"],
        sent.body,
        sent.headers["signature"],
    )


def test_production_client_id_keeps_the_path(production: AntomClient, rsps: responses.RequestsMock) -> None:
    assert production.sandbox is False
    add_answer(rsps, api.CAPTURE, fixture("capture_success"), client_id=PRODUCTION_ID)
    out = production.capture(capture_request_id="c", payment_id="p", amount=SGD_42)
    sent = rsps.calls[0].request
    assert sent.url == GATEWAY + "/ams/api/v1/payments/capture"
    assert sent.headers["client-id"] == PRODUCTION_ID
    Verifier(load_public_key(VECTORS["merchant_public_key"])).verify_header(
        "POST", api.CAPTURE, PRODUCTION_ID, sent.headers["request-time"], sent.body, sent.headers["signature"]
    )
    assert out.result.status == "S"


def test_explicit_sandbox_flag_wins(client_kwargs: dict[str, Any]) -> None:
    forced = AntomClient(**{**client_kwargs, "client_id": PRODUCTION_ID, "sandbox": True})
    assert forced.wire_path(api.REFUND) == "/ams/sandbox/api/v1/payments/refund"
    off = AntomClient(**{**client_kwargs, "sandbox": False})
    assert off.wire_path(api.REFUND) == api.REFUND


def test_response_signed_over_the_unsandboxed_path_is_rejected(
    antom: AntomClient, rsps: responses.RequestsMock
) -> None:
    body = json.dumps(fixture("capture_success")).encode()

    rsps.add(
        responses.POST,
        GATEWAY + sandboxed(api.CAPTURE),
        body=body,
        headers=signed_headers(api.CAPTURE, body),
    )
    with pytest.raises(AntomResponseSignatureError, match="does not verify"):
        antom.capture(capture_request_id="c", payment_id="p", amount=SGD_42)


# -- bad signatures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("drop", "message"),
    [("signature", "no signature header"), ("response-time", "no response-time header")],
)
@pytest.mark.parametrize("status", ["S", "F", "U"])
def test_half_present_signature_headers_are_rejected(
    antom: AntomClient, rsps: responses.RequestsMock, drop: str, message: str, status: str
) -> None:
    path = sandboxed(api.CAPTURE)
    body = json.dumps({"result": result(status)}).encode()

    headers = signed_headers(path, body)
    del headers[drop]
    rsps.add(responses.POST, GATEWAY + path, body=body, headers=headers)
    with pytest.raises(AntomResponseSignatureError, match=message) as info:
        antom.capture(capture_request_id="c", payment_id="p", amount=SGD_42)
    assert info.value.result_status == status


def test_response_for_another_client_id_is_rejected(antom: AntomClient, rsps: responses.RequestsMock) -> None:
    add_answer(rsps, sandboxed(api.CAPTURE), fixture("capture_success"), client_id="SANDBOX_SOMEONE_ELSE")
    with pytest.raises(AntomResponseSignatureError, match="another client-id"):
        antom.capture(capture_request_id="c", payment_id="p", amount=SGD_42)


def test_response_without_client_id_header_verifies_against_ours(
    antom: AntomClient, rsps: responses.RequestsMock
) -> None:
    path = sandboxed(api.CAPTURE)
    body = json.dumps(fixture("capture_success")).encode()

    headers = signed_headers(path, body)
    del headers["client-id"]
    rsps.add(responses.POST, GATEWAY + path, body=body, headers=headers)
    assert antom.capture(capture_request_id="c", payment_id="p", amount=SGD_42).capture_id


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("algorithm=RSA256,keyVersion=1", "no signature= value"),
        ("garbage", "malformed"),
        ("algorithm=HS256,keyVersion=1,signature=abc", "unsupported signature algorithm"),
        ("algorithm=RSA256,keyVersion=1,signature=%%%not-base64", "not valid base64"),
    ],
)
def test_malformed_signature_header(
    antom: AntomClient, rsps: responses.RequestsMock, header: str, message: str
) -> None:
    add_answer(rsps, sandboxed(api.CAPTURE), fixture("capture_success"), headers={"signature": header})
    with pytest.raises(AntomResponseSignatureError, match=message):
        antom.capture(capture_request_id="c", payment_id="p", amount=SGD_42)


def test_tampered_body_is_rejected(antom: AntomClient, rsps: responses.RequestsMock) -> None:
    path = sandboxed(api.CAPTURE)
    body = json.dumps(fixture("capture_success")).encode()

    headers = signed_headers(path, body)
    rsps.add(responses.POST, GATEWAY + path, body=body.replace(b"4200", b"4300"), headers=headers)
    with pytest.raises(AntomResponseSignatureError, match="does not verify"):
        antom.capture(capture_request_id="c", payment_id="p", amount=SGD_42)


def test_signed_failure_with_wrong_signature_is_not_trusted_as_failed(
    antom: AntomClient, rsps: responses.RequestsMock
) -> None:
    # A forged F must not make us believe the capture definitely failed.
    add_answer(rsps, sandboxed(api.CAPTURE), fixture("capture_failed"), signer=stranger_signer())
    with pytest.raises(AntomResponseSignatureError) as info:
        antom.capture(capture_request_id="c", payment_id="p", amount=SGD_42)
    assert not isinstance(info.value, AntomFailed)


# -- transport and malformed answers --------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "expected", "message"),
    [
        (requests.ConnectTimeout("connect timed out"), AntomTimeout, "no answer from Antom within"),
        (requests.ReadTimeout("read timed out"), AntomTimeout, "no answer from Antom within"),
        (requests.ConnectionError("refused"), AntomConnectionError, "cannot reach Antom"),
        (requests.exceptions.SSLError("bad cert"), AntomConnectionError, "cannot reach Antom"),
    ],
    ids=["connect-timeout", "read-timeout", "connection-error", "tls-error"],
)
@pytest.mark.parametrize("op", OPS)
def test_transport_failures_are_unknown_outcomes(
    antom: AntomClient,
    rsps: responses.RequestsMock,
    op: str,
    exc: Exception,
    expected: type[Exception],
    message: str,
) -> None:
    path, call, request_id, _, _ = OPERATIONS[op]
    rsps.add(responses.POST, GATEWAY + sandboxed(path), body=exc)
    with pytest.raises(expected, match=message) as info:
        call(antom)
    assert isinstance(info.value, AntomOutcomeUnknown)
    assert info.value.request_id == request_id
    assert info.value.__cause__ is None  # no library traceback chained into the user's logs


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("op", OPS)
def test_5xx_is_unknown_outcome(antom: AntomClient, rsps: responses.RequestsMock, op: str, status: int) -> None:
    path, call, _, _, _ = OPERATIONS[op]
    add_answer(rsps, sandboxed(path), "<html>Bad gateway</html>", status=status, signed=False)
    with pytest.raises(AntomServerError, match=f"HTTP {status}") as info:
        call(antom)
    assert info.value.http_status == status


def test_5xx_carrying_a_failed_result_is_still_unknown(antom: AntomClient, rsps: responses.RequestsMock) -> None:
    add_answer(rsps, sandboxed(api.CAPTURE), fixture("capture_failed"), status=503, signed=False)
    with pytest.raises(AntomServerError) as info:
        antom.capture(capture_request_id="c", payment_id="p", amount=SGD_42)
    assert info.value.result_status == "F"
    assert not isinstance(info.value, AntomFailed)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "an empty body"),
        (b"  \n", "an empty body"),
        (b"<html>hello</html>", "not a JSON object"),
        (b"[1, 2]", "not a JSON object"),
        (b'"result"', "not a JSON object"),
        (b"\xff\xfe\x00garbage", "not a JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, "not a JSON object"),
        (b'{"paymentId": "x"}', "no result object"),
        (b'{"result": "S"}', "no result object"),
        (b'{"result": {"resultStatus": "OK"}}', "no result object"),
    ],
    ids=[
        "empty",
        "blank",
        "html",
        "json-list",
        "json-string",
        "not-utf8",
        "deeply-nested",
        "no-result",
        "result-not-object",
        "unknown-status",
    ],
)
@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_unreadable_answers_are_invalid_responses(
    antom: AntomClient, rsps: responses.RequestsMock, body: bytes, message: str, signed: bool
) -> None:
    add_answer(rsps, sandboxed(api.REFUND), body, signed=signed)
    with pytest.raises(AntomInvalidResponse, match=message) as info:
        antom.refund(refund_request_id="r", payment_id="p", amount=SGD_42)
    assert isinstance(info.value, AntomOutcomeUnknown)
    assert info.value.http_status == 200


def test_4xx_with_success_result_is_not_success(antom: AntomClient, rsps: responses.RequestsMock) -> None:
    add_answer(rsps, sandboxed(api.CAPTURE), fixture("capture_success"), status=400)
    with pytest.raises(AntomInvalidResponse, match="HTTP 400 with resultStatus S"):
        antom.capture(capture_request_id="c", payment_id="p", amount=SGD_42)


def test_4xx_with_unsigned_failure_is_failed(antom: AntomClient, rsps: responses.RequestsMock) -> None:
    add_answer(rsps, sandboxed(api.CAPTURE), fixture("capture_failed"), status=400, signed=False)
    with pytest.raises(AntomFailed) as info:
        antom.capture(capture_request_id="c", payment_id="p", amount=SGD_42)
    assert info.value.http_status == 400


def test_oversized_body_by_content_length(client_kwargs: dict[str, Any], rsps: responses.RequestsMock) -> None:
    small = AntomClient(**{**client_kwargs, "max_response_bytes": 1000})
    add_answer(rsps, sandboxed(api.CAPTURE), b"{}", headers={"Content-Length": "1000001"}, signed=False)
    with pytest.raises(AntomInvalidResponse, match="larger than 1000 bytes"):
        small.capture(capture_request_id="c", payment_id="p", amount=SGD_42)


def test_oversized_body_streamed_without_content_length(
    client_kwargs: dict[str, Any], rsps: responses.RequestsMock
) -> None:
    small = AntomClient(**{**client_kwargs, "max_response_bytes": 1000})
    payload = {**fixture("capture_success"), "padding": "x" * 5000}
    add_answer(rsps, sandboxed(api.CAPTURE), payload)
    with pytest.raises(AntomInvalidResponse, match="larger than 1000 bytes") as info:
        small.capture(capture_request_id="c", payment_id="p", amount=SGD_42)
    assert info.value.request_id == "c"


def test_body_at_the_limit_is_accepted(client_kwargs: dict[str, Any], rsps: responses.RequestsMock) -> None:
    payload = fixture("capture_success")
    size = len(json.dumps(payload, indent=2).encode())
    exact = AntomClient(**{**client_kwargs, "max_response_bytes": size})
    add_answer(rsps, sandboxed(api.CAPTURE), payload)
    assert exact.capture(capture_request_id="c", payment_id="p", amount=SGD_42).capture_id


# -- retries ----------------------------------------------------------------------------------


@pytest.fixture
def naps() -> list[float]:
    return []


@pytest.fixture
def retrying(client_kwargs: dict[str, Any], naps: list[float]) -> AntomClient:
    times = iter(str(1704081600000 + i) for i in range(100))
    return AntomClient(
        **{**client_kwargs, "max_retries": 2, "retry_backoff": 0.5, "sleep": naps.append, "clock": lambda: next(times)}
    )


@pytest.mark.parametrize("op", OPS)
def test_unknown_outcome_is_retried_with_the_same_body_until_max_retries(
    retrying: AntomClient, rsps: responses.RequestsMock, naps: list[float], op: str
) -> None:
    path, call, request_id, id_field, _ = OPERATIONS[op]
    for _ in range(3):
        add_answer(rsps, sandboxed(path), fixture(f"{op}_unknown"))
    with pytest.raises(AntomUnknownResult):
        call(retrying)
    bodies = [c.request.body for c in rsps.calls]
    assert len(bodies) == 3  # one try + max_retries
    assert len(set(bodies)) == 1
    assert json.loads(bodies[0])[id_field] == request_id
    # Each attempt is freshly signed for its own request-time.
    times = [c.request.headers["request-time"] for c in rsps.calls]
    assert len(set(times)) == 3
    assert len(naps) == 2
    assert 0.25 <= naps[0] <= 0.75
    assert 0.5 <= naps[1] <= 1.5


def test_transient_failures_then_success(
    retrying: AntomClient, rsps: responses.RequestsMock, naps: list[float]
) -> None:
    path = sandboxed(api.CAPTURE)
    rsps.add(responses.POST, GATEWAY + path, body=requests.ReadTimeout("slow"))
    add_answer(rsps, path, "oops", status=502, signed=False)
    add_answer(rsps, path, fixture("capture_success"))
    out = retrying.capture(capture_request_id="c", payment_id="p", amount=SGD_42)
    assert out.capture_id == "20240101987654321XXXX"
    assert len({c.request.body for c in rsps.calls}) == 1
    assert len(naps) == 2


@pytest.mark.parametrize("op", OPS)
def test_failed_is_never_retried(
    retrying: AntomClient, rsps: responses.RequestsMock, naps: list[float], op: str
) -> None:
    path, call, _, _, _ = OPERATIONS[op]
    add_answer(rsps, sandboxed(path), fixture(f"{op}_failed"))
    with pytest.raises(AntomFailed):
        call(retrying)
    assert len(rsps.calls) == 1
    assert naps == []


@pytest.mark.parametrize(
    "answer",
    [
        {"payload": b"not json"},
        {"payload": {"result": result("S")}, "signer": "stranger"},
        {"payload": {"result": result("S")}, "signed": False},
    ],
    ids=["invalid", "bad-signature", "unsigned-success"],
)
def test_suspicious_answers_are_not_retried(
    retrying: AntomClient, rsps: responses.RequestsMock, naps: list[float], answer: dict[str, Any]
) -> None:
    kwargs = dict(answer)
    if kwargs.pop("signer", None):
        kwargs["signer"] = stranger_signer()
    add_answer(rsps, sandboxed(api.CAPTURE), **kwargs)
    with pytest.raises(AntomOutcomeUnknown):
        retrying.capture(capture_request_id="c", payment_id="p", amount=SGD_42)
    assert len(rsps.calls) == 1
    assert naps == []


def test_zero_retries_sends_once(antom: AntomClient, rsps: responses.RequestsMock) -> None:
    rsps.add(responses.POST, GATEWAY + sandboxed(api.CAPTURE), body=requests.ConnectionError("x"))
    with pytest.raises(AntomConnectionError):
        antom.capture(capture_request_id="c", payment_id="p", amount=SGD_42)
    assert len(rsps.calls) == 1


# -- secrets --------------------------------------------------------------------------------


def test_no_secret_in_logs_reprs_or_errors(
    retrying: AntomClient, rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = [repr(retrying), repr(retrying._signer), repr(retrying._verifier)]
    path = sandboxed(api.CAPTURE)
    scenarios: list[Callable[[], None]] = [
        lambda: add_answer(rsps, path, fixture("capture_success")),
        lambda: add_answer(rsps, path, fixture("capture_failed")),
        lambda: add_answer(rsps, path, fixture("capture_success"), signer=stranger_signer()),
        lambda: add_answer(rsps, path, fixture("capture_success"), signed=False),
        lambda: add_answer(rsps, path, fixture("capture_success"), headers={"signature": "garbage"}),
        lambda: add_answer(rsps, path, b"{not json"),
    ]
    for register in scenarios:
        register()
        try:
            out = retrying.capture(capture_request_id="c", payment_id="p", amount=SGD_42)
            texts.append(repr(out))
        except Exception as exc:
            texts += [str(exc), repr(exc), repr(exc.args)]
    for _ in range(3):
        rsps.add(responses.POST, GATEWAY + path, body=requests.ConnectTimeout("t"))
    try:
        retrying.capture(capture_request_id="c", payment_id="p", amount=SGD_42)
    except AntomTimeout as exc:
        texts.append(str(exc))
    signatures = [parse_signature_header(c.request.headers["signature"]).signature for c in rsps.calls]
    signatures += [
        parse_signature_header(c.response.headers["signature"]).signature
        for c in rsps.calls
        if isinstance(c.response, requests.Response) and "signature=" in c.response.headers.get("signature", "")
    ]
    assert signatures
    texts += [r.getMessage() for r in caplog.records]
    assert any("capture" in r.getMessage() for r in caplog.records)
    for text in texts:
        assert_no_secret(text, *signatures)


def test_key_errors_do_not_echo_key_material(client_kwargs: dict[str, Any]) -> None:
    broken = VECTORS["merchant_private_key"][:-40] + "!!!!"
    with pytest.raises(ConfigurationError) as info:
        AntomClient(**{**client_kwargs, "private_key": broken})
    assert_no_secret(str(info.value))
    assert "merchant private key" in str(info.value)


# -- construction -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"client_id": ""}, "client_id is required"),
        ({"gateway_url": "ftp://x"}, "gateway_url must be an http"),
        ({"gateway_url": "open-sea-global.alipay.com"}, "gateway_url must be an http"),
        ({"connect_timeout": 0}, "timeouts must be positive"),
        ({"read_timeout": -1}, "timeouts must be positive"),
        ({"max_retries": -1}, "max_retries must be zero or more"),
        ({"antom_public_key": VECTORS["merchant_private_key"]}, "is a private key"),
    ],
)
def test_bad_construction(client_kwargs: dict[str, Any], override: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        AntomClient(**{**client_kwargs, **override})


def test_pooled_session_and_context_manager(client_kwargs: dict[str, Any]) -> None:
    with AntomClient(**{**client_kwargs, "pool_maxsize": 7}) as c:
        adapter = c.session.get_adapter(GATEWAY)
        assert adapter._pool_maxsize == 7  # type: ignore[attr-defined]
        assert adapter.max_retries.total == 0  # type: ignore[attr-defined]
        assert c.timeout == (5.0, 15.0)
        assert c.gateway_url == GATEWAY


def test_trailing_slash_in_gateway_is_dropped(client_kwargs: dict[str, Any], rsps: responses.RequestsMock) -> None:
    c = AntomClient(**{**client_kwargs, "gateway_url": GATEWAY + "/"})
    add_answer(rsps, sandboxed(api.CANCEL), fixture("cancel_success"))
    c.cancel(payment_id="p")
    assert rsps.calls[0].request.url == GATEWAY + sandboxed(api.CANCEL)


def test_response_time_header_is_part_of_what_is_verified(antom: AntomClient, rsps: responses.RequestsMock) -> None:
    path = sandboxed(api.CANCEL)
    add_answer(rsps, path, fixture("cancel_success"), response_time="1704081601234")
    assert antom.cancel(payment_id="p").result.status == "S"
    body = json.dumps(fixture("cancel_success")).encode()
    headers = signed_headers(path, body, response_time="1704081601234")
    headers["response-time"] = RESPONSE_TIME  # signed for one time, sent with another
    rsps.add(responses.POST, GATEWAY + path, body=body, headers=headers)
    with pytest.raises(AntomResponseSignatureError, match="does not verify"):
        antom.cancel(payment_id="p")


# -- a real socket: failures in the middle of reading the body ------------------------------


class _Stalling(socketserver.BaseRequestHandler):
    """Sends headers and half a body, then stalls (``mode=stall``) or hangs up (``mode=close``)."""

    mode = "stall"

    def handle(self) -> None:
        self.request.recv(65536)
        self.request.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"res')
        if self.mode == "stall":
            time.sleep(2.0)


@pytest.fixture
def local_gateway() -> Iterator[Callable[[str], str]]:
    servers: list[socketserver.TCPServer] = []

    def start(mode: str) -> str:
        handler = type("Handler", (_Stalling,), {"mode": mode})
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_body_that_stalls_mid_read_is_a_timeout(
    client_kwargs: dict[str, Any], local_gateway: Callable[[str], str]
) -> None:
    c = AntomClient(**{**client_kwargs, "gateway_url": local_gateway("stall"), "read_timeout": 0.5})
    with pytest.raises(AntomTimeout, match="stalled") as info:
        c.capture(capture_request_id="c", payment_id="p", amount=SGD_42)
    assert info.value.request_id == "c"
    assert info.value.__cause__ is None


def test_body_cut_short_is_a_connection_error(
    client_kwargs: dict[str, Any], local_gateway: Callable[[str], str]
) -> None:
    c = AntomClient(**{**client_kwargs, "gateway_url": local_gateway("close")})
    with pytest.raises(AntomConnectionError, match="connection broke while reading"):
        c.capture(capture_request_id="c", payment_id="p", amount=SGD_42)


def test_nothing_listening_is_a_connection_error(client_kwargs: dict[str, Any]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    c = AntomClient(**{**client_kwargs, "gateway_url": f"http://127.0.0.1:{port}"})
    with pytest.raises(AntomConnectionError, match="cannot reach Antom"):
        c.cancel(payment_id="p")


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_not_followed(antom: AntomClient, rsps: responses.RequestsMock, status: int) -> None:
    # Following one would hand the signed request (and for 307/308 its body) to another host.
    rsps.add(
        responses.POST,
        GATEWAY + sandboxed(api.CAPTURE),
        status=status,
        headers={"Location": "https://collector.example/steal"},
    )
    with pytest.raises(AntomInvalidResponse, match=f"HTTP {status} with an empty body") as info:
        antom.capture(capture_request_id="c", payment_id="p", amount=SGD_42)
    assert info.value.http_status == status
    assert len(rsps.calls) == 1


def test_oversized_error_carries_the_http_status(client_kwargs: dict[str, Any], rsps: responses.RequestsMock) -> None:
    small = AntomClient(**{**client_kwargs, "max_response_bytes": 10})
    add_answer(rsps, sandboxed(api.CAPTURE), b"x" * 100, status=502, signed=False)
    with pytest.raises(AntomInvalidResponse, match="larger than 10 bytes") as info:
        small.capture(capture_request_id="c", payment_id="p", amount=SGD_42)
    assert info.value.http_status == 502


def test_the_environment_is_read_once_when_the_client_is_built(
    client_kwargs: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/company.pem")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    proxied = AntomClient(**{**client_kwargs, "gateway_url": "https://open-sea-global.alipay.com"})
    assert proxied.session.proxies.get("https") == "http://proxy.example:3128"
    assert proxied.session.verify == "/etc/ssl/certs/company.pem"
    assert proxied.session.trust_env is False  # no lookup per request
    monkeypatch.setenv("NO_PROXY", "alipay.com")
    direct = AntomClient(**{**client_kwargs, "gateway_url": "https://open-sea-global.alipay.com"})
    assert "https" not in direct.session.proxies
