"""HTTP-level checks of an inbound Antom notification, before anything trusts it.

The order is cheapest first: content type, size, client-id, request-time window,
then the RSA signature over the raw body and the request's own path, and only
then JSON. Each refusal is a :class:`NotifyRejected` with its own code.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from ..client.errors import ConfigurationError, SignatureError
from ..client.signing import Verifier
from ..client.types import parse_time
from ..conf import antom_settings

JSON_TYPES = ("application/json",)


class NotifyRejected(Exception):
    """A notification refused at the HTTP level; ``code`` is stable, ``message`` safe to show."""

    def __init__(self, status: int, code: str, message: str, *, verified: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.verified = verified


@dataclass(frozen=True, slots=True)
class InboundNotification:
    """A notification that passed every check: the body exactly as received (UTF-8 text) and parsed, with
    what the signature covered (kept so that a replay can verify it again)."""

    text: str
    data: dict[str, Any]
    client_id: str
    request_time: str
    signature: str
    path: str

    @property
    def notify_type(self) -> str:
        """``notifyType`` when it can be stored as it is (printable, at most 32 characters), else ``""``."""
        value = self.data.get("notifyType")
        return value if isinstance(value, str) and len(value) <= 32 and value.isprintable() else ""


MAX_LENGTH_DIGITS = 18
"""A Content-Length with more digits than this is larger than any limit (and than ``int()`` should read)."""


def ascii_digits(value: str) -> bool:
    """A non-empty run of ASCII digits: ``str.isdigit()`` alone also takes ``²`` (``int()`` refuses it)
    and Arabic-Indic ``٣`` (``int()`` reads it)."""
    return value.isascii() and value.isdigit()


def read_body(request: HttpRequest, limit: int) -> bytes:
    """The raw body, refusing more than ``limit`` bytes without reading them all."""
    declared = str(request.META.get("CONTENT_LENGTH") or "")
    if declared and not ascii_digits(declared):
        raise NotifyRejected(400, "content_length_invalid", "Content-Length must be a number of bytes in ASCII digits")
    if declared and (len(declared) > MAX_LENGTH_DIGITS or int(declared) > limit):
        raise NotifyRejected(413, "body_too_large", f"notification body is larger than {limit} bytes")
    # Django reads at most CONTENT_LENGTH bytes, which was just bounded.
    try:
        body = request.body
    except RequestDataTooBig:  # DATA_UPLOAD_MAX_MEMORY_SIZE below NOTIFY_MAX_BYTES
        raise NotifyRejected(413, "body_too_large", "notification body is larger than the server accepts") from None
    if len(body) > limit:
        raise NotifyRejected(413, "body_too_large", f"notification body is larger than {limit} bytes")
    return body


def check_content_type(request: HttpRequest) -> None:
    """Antom posts ``application/json`` (UTF-8); anything else is not a notification."""
    content_type = (request.content_type or "").lower()
    if content_type not in JSON_TYPES:
        shown = content_type[:60] or "none"
        raise NotifyRejected(415, "unsupported_media_type", f"content type must be application/json, not {shown}")
    charset = (request.content_params or {}).get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise NotifyRejected(415, "unsupported_media_type", "notification charset must be UTF-8")


def request_time_seconds(value: str) -> float | None:
    """``request-time`` as epoch seconds: epoch milliseconds (current docs) or ISO-8601 with offset (Python SDK).

    ``None`` for anything else, whatever the text: digits must be ASCII, times are parsed by :func:`parse_time`.
    """
    if ascii_digits(value) and len(value) <= 16:
        return int(value) / 1000
    parsed: datetime | None = parse_time(value)
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed.timestamp()


def check_headers(request: HttpRequest, *, now: float | None = None) -> tuple[str, str, str]:
    """client-id, request-time and signature headers; the client-id must be ours, the time recent."""
    meta = request.META  # not request.headers: building that mapping costs more than every check here
    client_id = meta.get("HTTP_CLIENT_ID") or ""
    expected = str(antom_settings.CLIENT_ID or "")
    if not client_id:
        raise NotifyRejected(401, "client_id_missing", "client-id header is missing")
    # Not ASCII cannot be ours (and constant_time_compare would have to encode it first).
    if not expected or not client_id.isascii() or not constant_time_compare(client_id, expected):
        raise NotifyRejected(401, "unknown_client_id", "client-id is not this merchant's client id")
    request_time = meta.get("HTTP_REQUEST_TIME") or ""
    if not request_time:
        raise NotifyRejected(401, "request_time_missing", "request-time header is missing")
    sent = request_time_seconds(request_time)
    if sent is None:
        raise NotifyRejected(
            401, "request_time_invalid", "request-time must be epoch milliseconds or ISO-8601 with an offset"
        )
    tolerance = float(antom_settings.NOTIFY_TIME_TOLERANCE)
    if abs((time.time() if now is None else now) - sent) > tolerance:
        raise NotifyRejected(
            401, "request_time_stale", f"request-time is more than {int(tolerance)} seconds from the server's clock"
        )
    signature = meta.get("HTTP_SIGNATURE") or ""
    if not signature.strip():
        raise NotifyRejected(401, "signature_missing", "signature header is missing")
    if not signature.isascii():
        raise NotifyRejected(401, "signature_invalid", "signature header must be ASCII")
    return client_id, request_time, signature


def verify_signature(request: HttpRequest, client_id: str, request_time: str, body: bytes, header: str) -> None:
    """RSA256 over ``POST <request.path>\\n<client-id>.<request-time>.<raw body>`` with Antom's key.

    ``request.path`` includes ``SCRIPT_NAME``; behind a proxy that rewrites the
    path, set ``FORCE_SCRIPT_NAME`` so Django sees the path Antom signed.
    """
    try:
        key = antom_settings.antom_public_key
    except ConfigurationError:
        # Fail closed: without Antom's key nothing can be accepted.
        raise NotifyRejected(
            503, "not_configured", "ANTOM_PUBLIC_KEY is not configured; notifications cannot be verified"
        ) from None
    try:
        Verifier(key).verify_header(request.method or "POST", request.path, client_id, request_time, body, header)
    except SignatureError as exc:
        raise NotifyRejected(401, "signature_invalid", exc.message) from None


def parse_body(body: bytes) -> tuple[str, dict[str, Any]]:
    """The verified body as text and as a JSON object.

    A value this cannot read (numbers of thousands of digits are a ``ValueError`` too) is 400
    ``malformed_json``; nesting deeper than the parser's recursion limit is 400 ``json_too_deep``.
    Deep nesting that does parse is left to the service layer, which keeps it for review.
    """
    try:
        text = body.decode("utf-8")
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        raise NotifyRejected(
            400, "malformed_json", "notification body is not valid UTF-8 JSON", verified=True
        ) from None
    except RecursionError:
        raise NotifyRejected(
            400, "json_too_deep", "notification body is nested deeper than any notification", verified=True
        ) from None
    if not isinstance(data, dict):
        raise NotifyRejected(400, "malformed_json", "notification body must be a JSON object", verified=True)
    return text, data


def verify_request(request: HttpRequest) -> InboundNotification:
    """Every HTTP-level check in order; returns the notification or raises :class:`NotifyRejected`."""
    check_content_type(request)
    body = read_body(request, int(antom_settings.NOTIFY_MAX_BYTES))
    client_id, request_time, signature = check_headers(request)
    verify_signature(request, client_id, request_time, body, signature)
    text, data = parse_body(body)
    return InboundNotification(
        text=text,
        data=data,
        client_id=client_id,
        request_time=request_time,
        signature=signature,
        path=request.path,
    )


def peek_body(request: HttpRequest) -> bytes:
    """Whatever body bytes were read so far (for storing a rejected request), never reading more."""
    return getattr(request, "_body", b"") or b""
