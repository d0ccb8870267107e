"""``AntomClient``: signed, verified, pooled calls to Antom's payment API."""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError

from .errors import (
    AntomConnectionError,
    AntomError,
    AntomFailed,
    AntomInvalidResponse,
    AntomOutcomeUnknown,
    AntomResponseSignatureError,
    AntomServerError,
    AntomTimeout,
    AntomUnknownResult,
    ConfigurationError,
    SignatureError,
)
from .keys import load_private_key, load_public_key
from .money import Amount
from .signing import DEFAULT_KEY_VERSION, Signer, Verifier, build_signature_header
from .types import (
    AntomResponse,
    CancelResult,
    CaptureResult,
    PaymentInquiry,
    PaymentSession,
    RefundInquiry,
    RefundResult,
    Result,
)

logger = logging.getLogger("antom_django.client")

DEFAULT_GATEWAY_URL = "https://open-sea-global.alipay.com"
SANDBOX_PREFIX = "SANDBOX_"

CREATE_PAYMENT_SESSION = "/ams/api/v1/payments/createPaymentSession"
INQUIRY_PAYMENT = "/ams/api/v1/payments/inquiryPayment"
CAPTURE = "/ams/api/v1/payments/capture"
CANCEL = "/ams/api/v1/payments/cancel"
REFUND = "/ams/api/v1/payments/refund"
INQUIRY_REFUND = "/ams/api/v1/payments/inquiryRefund"

R = TypeVar("R", bound=AntomResponse)


def sandbox_path(path: str) -> str:
    """``/ams/api/...`` → ``/ams/sandbox/api/...`` (first occurrence, as Antom's SDKs do)."""
    return path.replace("/ams/api", "/ams/sandbox/api", 1)


def epoch_millis() -> str:
    """The ``request-time`` header value: epoch milliseconds, as Antom's current docs use."""
    return str(int(time.time() * 1000))


def dumps(payload: Mapping[str, Any]) -> bytes:
    """Compact, key-sorted JSON in UTF-8: the exact bytes that are signed and sent."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


class AntomClient:
    """A client for Antom's payment API (One-time Payments, card auth and capture).

    Build it from explicit arguments (in a Django project,
    ``antom_django.conf.antom_settings.new_client()`` builds one from settings). Keys may be given as objects or as base64 DER / PEM.
    Each method signs its request, verifies the response signature and returns
    a typed result for ``resultStatus`` S; it raises :class:`AntomFailed` for F
    and a subclass of :class:`AntomOutcomeUnknown` for U, timeouts, 5xx and
    unreadable answers. Unknown outcomes are retried up to ``max_retries`` times
    with the *same* body (so the same request id) and jittered backoff.
    """

    def __init__(
        self,
        *,
        client_id: str,
        private_key: rsa.RSAPrivateKey | str | bytes,
        antom_public_key: rsa.RSAPublicKey | str | bytes,
        gateway_url: str = DEFAULT_GATEWAY_URL,
        sandbox: bool | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        max_retries: int = 2,
        retry_backoff: float = 0.5,
        key_version: str = DEFAULT_KEY_VERSION,
        max_response_bytes: int = 1 << 20,
        session: requests.Session | None = None,
        pool_maxsize: int = 10,
        clock: Callable[[], str] = epoch_millis,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not client_id or not isinstance(client_id, str):
            raise ConfigurationError("client_id is required")
        parts = urlsplit(gateway_url or "")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(f"gateway_url must be an http(s) URL, not {gateway_url!r}")
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ConfigurationError("timeouts must be positive numbers of seconds")
        if max_retries < 0:
            raise ConfigurationError("max_retries must be zero or more")
        self.client_id = client_id
        self.gateway_url = gateway_url.rstrip("/")
        self.sandbox = client_id.startswith(SANDBOX_PREFIX) if sandbox is None else sandbox
        self.timeout = (float(connect_timeout), float(read_timeout))
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        self.key_version = key_version
        self.max_response_bytes = max_response_bytes
        self._signer = Signer(
            private_key
            if isinstance(private_key, rsa.RSAPrivateKey)
            else load_private_key(private_key, what="merchant private key")
        )
        self._verifier = Verifier(
            antom_public_key
            if isinstance(antom_public_key, rsa.RSAPublicKey)
            else load_public_key(antom_public_key, what="Antom public key")
        )
        self._clock = clock
        self._sleep = sleep
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_maxsize, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            # The environment (proxies, NO_PROXY, a CA bundle) is read once, here: with trust_env, requests
            # looks it up again on every call, a third of a poll's CPU.
            session.trust_env = False
            session.proxies.update(requests.utils.get_environ_proxies(self.gateway_url))
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            if bundle:
                session.verify = bundle
        self.session = session

    def __repr__(self) -> str:
        return f"<AntomClient client_id={self.client_id!r} gateway={self.gateway_url!r} sandbox={self.sandbox}>"

    # -- operations -------------------------------------------------------

    def create_payment_session(
        self,
        *,
        payment_request_id: str,
        amount: Amount,
        redirect_url: str,
        reference_order_id: str,
        order_description: str,
        notify_url: str | None = None,
        is_authorization: bool = True,
        capture_mode: str | None = None,
        buyer: Mapping[str, Any] | None = None,
        goods: list[Mapping[str, Any]] | None = None,
        env: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> PaymentSession:
        """createPaymentSession for ``CASHIER_PAYMENT`` with ``CARD``.

        ``is_authorization`` sends ``paymentFactor.isAuthorization`` (the card is
        authorized and held until :meth:`capture`); ``capture_mode`` adds
        ``paymentFactor.captureMode`` (``"MANUAL"`` or ``"AUTOMATIC"``).
        ``extra`` is merged into the top level of the body last.
        """
        order: dict[str, Any] = {
            "orderAmount": amount.to_wire(),
            "orderDescription": order_description,
            "referenceOrderId": reference_order_id,
        }
        if buyer:
            order["buyer"] = dict(buyer)
        if goods:
            order["goods"] = [dict(g) for g in goods]
        if env:
            order["env"] = dict(env)
        payload: dict[str, Any] = {
            "productCode": "CASHIER_PAYMENT",
            "paymentRequestId": payment_request_id,
            "paymentAmount": amount.to_wire(),
            "paymentMethod": {"paymentMethodType": "CARD"},
            "paymentRedirectUrl": redirect_url,
            "order": order,
        }
        factor: dict[str, Any] = {}
        if is_authorization:
            factor["isAuthorization"] = True
        if capture_mode:
            factor["captureMode"] = capture_mode
        if factor:
            payload["paymentFactor"] = factor
        if notify_url:
            payload["paymentNotifyUrl"] = notify_url
        if extra:
            payload.update(extra)
        return self._call("createPaymentSession", CREATE_PAYMENT_SESSION, payload, payment_request_id, PaymentSession)

    def inquiry_payment(
        self, *, payment_request_id: str | None = None, payment_id: str | None = None
    ) -> PaymentInquiry:
        """inquiryPayment by ``paymentRequestId`` or ``paymentId`` (Antom prefers the latter)."""
        payload = _one_of(paymentRequestId=payment_request_id, paymentId=payment_id)
        return self._call("inquiryPayment", INQUIRY_PAYMENT, payload, payment_request_id or payment_id, PaymentInquiry)

    def capture(
        self,
        *,
        capture_request_id: str,
        payment_id: str,
        amount: Amount,
        is_last_capture: bool | None = None,
    ) -> CaptureResult:
        """Capture (all or part of) an authorization. Retry with the same ``capture_request_id``."""
        payload: dict[str, Any] = {
            "captureRequestId": capture_request_id,
            "paymentId": payment_id,
            "captureAmount": amount.to_wire(),
        }
        if is_last_capture is not None:
            payload["isLastCapture"] = is_last_capture
        return self._call("capture", CAPTURE, payload, capture_request_id, CaptureResult)

    def cancel(self, *, payment_id: str | None = None, payment_request_id: str | None = None) -> CancelResult:
        """Cancel a payment, or void an authorization that has not been captured."""
        payload = _one_of(paymentRequestId=payment_request_id, paymentId=payment_id)
        return self._call("cancel", CANCEL, payload, payment_request_id or payment_id, CancelResult)

    def refund(
        self,
        *,
        refund_request_id: str,
        payment_id: str,
        amount: Amount,
        reason: str | None = None,
        notify_url: str | None = None,
    ) -> RefundResult:
        """Refund (all or part of) captured money. Retry with the same ``refund_request_id``."""
        payload: dict[str, Any] = {
            "refundRequestId": refund_request_id,
            "paymentId": payment_id,
            "refundAmount": amount.to_wire(),
        }
        if reason:
            payload["refundReason"] = reason
        if notify_url:
            payload["refundNotifyUrl"] = notify_url
        return self._call("refund", REFUND, payload, refund_request_id, RefundResult)

    def inquiry_refund(self, *, refund_request_id: str | None = None, refund_id: str | None = None) -> RefundInquiry:
        """inquiryRefund by ``refundRequestId`` or ``refundId``."""
        payload = _one_of(refundRequestId=refund_request_id, refundId=refund_id)
        return self._call("inquiryRefund", INQUIRY_REFUND, payload, refund_request_id or refund_id, RefundInquiry)

    # -- transport --------------------------------------------------------

    def wire_path(self, path: str) -> str:
        """The path as sent and signed (sandbox-rewritten for ``SANDBOX_`` client ids)."""
        return sandbox_path(path) if self.sandbox else path

    def _call(
        self,
        operation: str,
        path: str,
        payload: Mapping[str, Any],
        request_id: str | None,
        parse: type[R],
    ) -> R:
        body = dumps(payload)
        wire_path = self.wire_path(path)
        attempt = 0
        while True:
            try:
                result, data = self._send(operation, wire_path, body, request_id)
            except AntomOutcomeUnknown as exc:
                if attempt >= self.max_retries or not _retryable(exc):
                    raise
                attempt += 1
                delay = self.retry_backoff * (2 ** (attempt - 1)) * (0.5 + random.random())
                logger.warning(
                    "antom %s %s: outcome unknown (%s); retry %d/%d with the same request id in %.2fs",
                    operation,
                    request_id,
                    type(exc).__name__,
                    attempt,
                    self.max_retries,
                    delay,
                )
                self._sleep(delay)
                continue
            return parse.from_wire(result, data)

    def _send(
        self, operation: str, wire_path: str, body: bytes, request_id: str | None
    ) -> tuple[Result, dict[str, Any]]:
        ctx: dict[str, Any] = {"operation": operation, "request_id": request_id}
        request_time = self._clock()
        signature = self._signer.sign("POST", wire_path, self.client_id, request_time, body)
        headers = {
            "Content-Type": "application/json; charset=UTF-8",
            "Accept": "application/json",
            "client-id": self.client_id,
            "request-time": request_time,
            "signature": build_signature_header(signature, self.key_version),
        }
        started = time.perf_counter()
        try:
            # Never follow a redirect: it would carry the signed request (and a 307/308 its body) elsewhere.
            response = self.session.post(
                self.gateway_url + wire_path,
                data=body,
                headers=headers,
                timeout=self.timeout,
                stream=True,
                allow_redirects=False,
            )
        except requests.Timeout:
            raise AntomTimeout(f"{operation}: no answer from Antom within {self.timeout}s", **ctx) from None
        except requests.RequestException as exc:
            raise AntomConnectionError(f"{operation}: cannot reach Antom ({type(exc).__name__})", **ctx) from None
        status = response.status_code
        ctx["http_status"] = status
        try:
            raw = self._read(response, operation, ctx)
        finally:
            response.close()
        elapsed = (time.perf_counter() - started) * 1000
        data = _parse_json(raw)
        result = Result.from_wire(data.get("result")) if data is not None else None
        logger.info(
            "antom %s request_id=%s http=%s result=%s/%s %.0fms",
            operation,
            request_id,
            status,
            result.status if result else "-",
            result.code if result else "-",
            elapsed,
        )
        if status >= 500:
            raise AntomServerError(f"{operation}: Antom answered HTTP {status}", **_result_ctx(ctx, result))
        if data is None or result is None:
            what = (
                "an empty body"
                if not raw.strip()
                else ("no result object" if data is not None else "a body that is not a JSON object")
            )
            raise AntomInvalidResponse(f"{operation}: Antom answered HTTP {status} with {what}", **ctx)
        self._verify_response(response, wire_path, raw, result, ctx)
        if status != 200 and result.status == "S":
            raise AntomInvalidResponse(f"{operation}: Antom answered HTTP {status} with resultStatus S", **ctx)
        if result.status == "F":
            raise AntomFailed(f"{operation} failed: {result.message or result.code}", **_result_ctx(ctx, result))
        if result.status == "U":
            raise AntomUnknownResult(
                f"{operation}: outcome unknown: {result.message or result.code}", **_result_ctx(ctx, result)
            )
        return result, data

    def _read(self, response: requests.Response, operation: str, ctx: dict[str, Any]) -> bytes:
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_response_bytes:
            raise AntomInvalidResponse(f"{operation}: response larger than {self.max_response_bytes} bytes", **ctx)
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(chunk_size=65536):
                size += len(chunk)
                if size > self.max_response_bytes:
                    raise AntomInvalidResponse(
                        f"{operation}: response larger than {self.max_response_bytes} bytes", **ctx
                    )
                chunks.append(chunk)
        except requests.RequestException as exc:
            # requests re-raises a read timeout inside the body as a plain ConnectionError.
            if isinstance(exc, requests.Timeout) or (exc.args and isinstance(exc.args[0], ReadTimeoutError)):
                raise AntomTimeout(f"{operation}: Antom's answer stalled past {self.timeout[1]}s", **ctx) from None
            raise AntomConnectionError(
                f"{operation}: connection broke while reading ({type(exc).__name__})", **ctx
            ) from None
        return b"".join(chunks)

    def _verify_response(
        self, response: requests.Response, wire_path: str, raw: bytes, result: Result, ctx: dict[str, Any]
    ) -> None:
        header = response.headers.get("signature")
        response_time = response.headers.get("response-time")
        if not header and not response_time:
            # Antom documents unsigned error answers; an unsigned success is never trusted.
            if result.status in ("F", "U"):
                return
            raise AntomResponseSignatureError(
                f"{ctx['operation']}: unsigned response with resultStatus S", **_result_ctx(ctx, result)
            )
        if not header or not response_time:
            raise AntomResponseSignatureError(
                f"{ctx['operation']}: response has {'no signature' if not header else 'no response-time'} header",
                **_result_ctx(ctx, result),
            )
        if (response.headers.get("client-id") or self.client_id) != self.client_id:
            raise AntomResponseSignatureError(
                f"{ctx['operation']}: response is for another client-id", **_result_ctx(ctx, result)
            )
        try:
            self._verifier.verify_header("POST", wire_path, self.client_id, response_time, raw, header)
        except SignatureError as exc:
            raise AntomResponseSignatureError(
                f"{ctx['operation']}: response {exc.message}", **_result_ctx(ctx, result)
            ) from None

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()

    def __enter__(self) -> AntomClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _one_of(**ids: str | None) -> dict[str, str]:
    payload = {k: v for k, v in ids.items() if v}
    if not payload:
        raise ValueError(f"one of {', '.join(ids)} is required")
    return payload


def _parse_json(raw: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        # RecursionError: a hostile body of deeply nested arrays fits well inside the size limit.
        return None
    return data if isinstance(data, dict) else None


def _result_ctx(ctx: dict[str, Any], result: Result | None) -> dict[str, Any]:
    if result is None:
        return ctx
    return {**ctx, "result_code": result.code, "result_status": result.status, "result_message": result.message}


def _retryable(exc: AntomError) -> bool:
    return isinstance(exc, (AntomTimeout, AntomConnectionError, AntomServerError, AntomUnknownResult))
