"""Runs inside the official SDK's venv (bench/.sdk-venv): a whole card flow against the simulator.

Driven by ``tests/sandbox/test_official_sdk.py``. Reads a JSON job line on stdin, prints one JSON line
``{"stage": "session", ...}`` once the session exists, waits for a line on stdin (the test pays the
session through the simulator's checkout meanwhile), then prints one JSON line with everything it saw.

Only Antom's ``global-open-sdk-python`` and the standard library are used here. Its requests, its
signing, its response verification and parsing and its webhook tool run unchanged; the one thing
replaced is the SDK's connection factory, so its calls go over plain HTTP to the URL's host and port
(the SDK opens HTTPS to port 443 of whatever host the gateway URL names).
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from com.alipay.ams.api import _version
from com.alipay.ams.api.default_alipay_client import DefaultAlipayClient
from com.alipay.ams.api.exception.exception import AlipayApiException
from com.alipay.ams.api.model.amount import Amount
from com.alipay.ams.api.model.order import Order
from com.alipay.ams.api.model.payment_factor import PaymentFactor
from com.alipay.ams.api.model.payment_method import PaymentMethod
from com.alipay.ams.api.model.product_code_type import ProductCodeType
from com.alipay.ams.api.net import default_http_rpc
from com.alipay.ams.api.request.notify.alipay_capture_result_notify import AlipayCaptureResultNotify
from com.alipay.ams.api.request.notify.alipay_pay_result_notify import AlipayPayResultNotify
from com.alipay.ams.api.request.notify.alipay_refund_notify import AlipayRefundNotify
from com.alipay.ams.api.request.pay.alipay_capture_request import AlipayCaptureRequest
from com.alipay.ams.api.request.pay.alipay_inquiry_refund_request import AlipayInquiryRefundRequest
from com.alipay.ams.api.request.pay.alipay_pay_query_request import AlipayPayQueryRequest
from com.alipay.ams.api.request.pay.alipay_payment_session_request import AlipayPaymentSessionRequest
from com.alipay.ams.api.request.pay.alipay_refund_request import AlipayRefundRequest
from com.alipay.ams.api.response.pay.alipay_capture_response import AlipayCaptureResponse
from com.alipay.ams.api.response.pay.alipay_inquiry_refund_response import AlipayInquiryRefundResponse
from com.alipay.ams.api.response.pay.alipay_pay_query_response import AlipayPayQueryResponse
from com.alipay.ams.api.response.pay.alipay_payment_session_response import AlipayPaymentSessionResponse
from com.alipay.ams.api.response.pay.alipay_refund_response import AlipayRefundResponse
from com.alipay.ams.api.tools.webhook_tool import check_signature

ACK = b'{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}'
NOTIFY_PATH = "/antom/notify/"
PARSERS = {
    "PAYMENT_RESULT": AlipayPayResultNotify,
    "CAPTURE_RESULT": AlipayCaptureResultNotify,
    "REFUND_RESULT": AlipayRefundNotify,
}


def plain_http_connection(url: str, timeout: float = default_http_rpc.DEFAULT_TIMEOUT) -> http.client.HTTPConnection:
    """The SDK's connection factory, honouring the gateway URL's scheme-less host and port."""
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)


def use_plain_http() -> None:
    # The factory's module-level name: ``do_post`` looks it up at each call.
    setattr(default_http_rpc, "__get_http_connection", plain_http_connection)  # noqa: B010 - dunder name


def plain(value: Any) -> Any:
    """SDK model objects and enums as plain JSON values (its models serialize with ``to_ams_dict``)."""
    return json.loads(json.dumps(value, default=lambda o: o.value if isinstance(o, Enum) else o.to_ams_dict()))


def wire(obj: Any) -> Any:
    """What the SDK parsed from an answer."""
    return plain(obj.to_ams_dict())


NOTIFY_FIELDS = (
    "notify_type",
    "result",
    "payment_request_id",
    "payment_id",
    "payment_amount",
    "capture_request_id",
    "capture_id",
    "capture_amount",
    "refund_request_id",
    "refund_id",
    "refund_amount",
    "refund_status",
)


def parsed(notify: Any) -> dict[str, Any]:
    """The fields the SDK's notification class read from a delivery."""
    return plain({name: getattr(notify, name) for name in NOTIFY_FIELDS if getattr(notify, name, None) is not None})


class Inbox(BaseHTTPRequestHandler):
    """The shop's notification endpoint: keeps each delivery raw and answers Antom's fixed ack."""

    received: list[dict[str, Any]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
        with self.lock:
            self.received.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(ACK)))
        self.end_headers()
        self.wfile.write(ACK)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        pass  # the test reads what the driver prints, not an access log


def verify(note: dict[str, Any], public_key: str, body: str | None = None) -> bool:
    """The SDK's webhook tool on a delivery; it raises (rsa.VerificationError) on a bad signature."""
    headers = {k.lower(): v for k, v in note["headers"].items()}
    try:
        return bool(
            check_signature(
                "POST",
                note["path"],
                headers.get("client-id", ""),
                headers.get("request-time", ""),
                note["body"] if body is None else body,
                headers.get("signature", ""),
                public_key,
            )
        )
    except Exception:  # noqa: BLE001 - any refusal counts as "does not verify"
        return False


def call(client: DefaultAlipayClient, request: Any, response_type: Any) -> dict[str, Any]:
    try:
        raw = client.execute(request)
    except AlipayApiException as exc:
        return {"error": str(exc)}
    return {"raw": json.loads(raw), "parsed": wire(response_type(raw))}


def inquiry(*, payment_id: str | None = None, request_id: str | None = None) -> AlipayPayQueryRequest:
    query = AlipayPayQueryRequest()
    query.payment_id, query.payment_request_id = payment_id, request_id
    return query


def amount(currency: str, value: int) -> Amount:
    return Amount(currency, str(value))


def main() -> int:
    job = json.loads(sys.stdin.readline())
    inbox = ThreadingHTTPServer(("127.0.0.1", 0), Inbox)
    threading.Thread(target=inbox.serve_forever, daemon=True).start()
    notify_url = f"http://127.0.0.1:{inbox.server_address[1]}{NOTIFY_PATH}"
    use_plain_http()
    client = DefaultAlipayClient(job["gateway_url"], job["client_id"], job["private_key"], job["antom_public_key"])
    ids, currency, total = job["ids"], job["currency"], job["amounts"]["total"]
    seen: dict[str, Any] = {"sdk_version": _version.VERSION}

    session = AlipayPaymentSessionRequest()
    session.product_code = ProductCodeType.CASHIER_PAYMENT
    session.product_scene = "CHECKOUT_PAYMENT"
    session.payment_request_id = ids["payment"]
    session.payment_amount = amount(currency, total)
    order = Order()
    order.reference_order_id = ids["order"]
    order.order_description = "2 mugs"
    order.order_amount = amount(currency, total)
    session.order = order
    method = PaymentMethod()
    method.payment_method_type = "CARD"
    session.payment_method = method
    factor = PaymentFactor()
    factor.is_authorization = True
    session.payment_factor = factor
    session.payment_redirect_url = "https://shop.example.com/checkout/result/"
    session.payment_notify_url = notify_url
    seen["session"] = call(client, session, AlipayPaymentSessionResponse)
    print(json.dumps({"stage": "session", "session": seen["session"]}), flush=True)
    sys.stdin.readline()  # the buyer pays on the simulator's checkout

    seen["inquiry_paid"] = call(client, inquiry(request_id=ids["payment"]), AlipayPayQueryResponse)
    payment_id = seen["inquiry_paid"].get("raw", {}).get("paymentId")

    for step, (request_id, value, last) in {
        "capture_partial": (ids["capture1"], job["amounts"]["capture1"], None),
        "capture_last": (ids["capture2"], job["amounts"]["capture2"], True),
        "capture_after_last": (ids["capture3"], 1, None),
    }.items():
        capture = AlipayCaptureRequest()
        capture.capture_request_id = request_id
        capture.payment_id = payment_id
        capture.capture_amount = amount(currency, value)
        if last is not None:
            capture.is_last_capture = last
        seen[step] = call(client, capture, AlipayCaptureResponse)

    refund = AlipayRefundRequest()
    refund.refund_request_id = ids["refund"]
    refund.payment_id = payment_id
    refund.refund_amount = amount(currency, job["amounts"]["refund"])
    refund.refund_reason = "one mug broke"
    refund.refund_notify_url = notify_url
    seen["refund"] = call(client, refund, AlipayRefundResponse)

    inquiry_refund = AlipayInquiryRefundRequest()
    inquiry_refund.refund_request_id = ids["refund"]
    seen["inquiry_refund"] = call(client, inquiry_refund, AlipayInquiryRefundResponse)
    seen["inquiry_final"] = call(client, inquiry(payment_id=payment_id), AlipayPayQueryResponse)
    wrong = job["wrong_key"]
    for step, (private_key, public_key) in {
        "inquiry_wrong_antom_key": (job["private_key"], wrong["public"]),
        "inquiry_wrong_merchant_key": (wrong["private"], job["antom_public_key"]),
    }.items():
        other = DefaultAlipayClient(job["gateway_url"], job["client_id"], private_key, public_key)
        seen[step] = call(other, inquiry(payment_id=payment_id), AlipayPayQueryResponse)

    deadline = time.monotonic() + job.get("notify_timeout", 20)
    while time.monotonic() < deadline and len(Inbox.received) < job["expect_notifications"]:
        time.sleep(0.05)
    inbox.shutdown()
    notes = []
    for note in Inbox.received:
        data = json.loads(note["body"])
        parser = PARSERS.get(data.get("notifyType"))
        notes.append(
            {
                "path": note["path"],
                "notify_type": data.get("notifyType"),
                "verified": verify(note, job["antom_public_key"]),
                "tampered_verified": verify(note, job["antom_public_key"], note["body"].replace("}", " }", 1)),
                "wrong_path_verified": verify({**note, "path": "/elsewhere/"}, job["antom_public_key"]),
                "raw": data,
                "parsed": parsed(parser(note["body"])) if parser else None,
            }
        )
    seen["notifications"] = notes
    print(json.dumps(seen), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
