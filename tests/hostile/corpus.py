"""The hostile-input corpus: every request below, its documented answer, and what it may change.

One :class:`Case` per request. ``effect`` names what the database may look like afterwards (checked by
``test_corpus.py`` against a snapshot of every payment, capture, refund, event and notification row):

- ``nothing``: no row anywhere changed;
- ``refused``: one new ``REJECTED`` notification (``signature_verified`` = ``verified``), nothing else;
- ``ignored`` / ``unknown_payment``: one new notification with that outcome, nothing else;
- ``review``: one new ``NEEDS_REVIEW`` notification whose error names ``reason``, its body kept whole; the
  payment neither moved nor took a field from it, only (``flags``) its review flag and one REVIEW event;
- ``applied``: one new ``APPLIED`` notification; the payment may move (``check`` says how);
- ``counted``: no new row; the row the ``before`` request stored counts one more delivery, nothing else.

Every answer here is in README's API and Notifications sections.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from antom_django.client.keys import load_private_key
from antom_django.client.signing import Signer, build_signature_header
from antom_django.services.validation import MAX_DEPTH
from tests.api.helpers import CLIENT_ID, NOTIFY_PATH, antom_signer, fixture
from tests.hostile.wire import Request
from tests.settings import VECTORS

ACK = "ack"
"""``code`` of a case answered with Antom's exact acknowledgment."""


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], Request]
    status: int
    code: str
    effect: str = "nothing"
    state: str = "pending"
    """``pending``: the payment the guide's PAYMENT_RESULT sample is about; ``authorized``: awaiting the
    capture of the CAPTURE_RESULT samples; ``owned``: a user's paid payment and order, and that user."""
    reason: str = ""
    verified: bool = False
    flags: bool = True
    before: Callable[[], Request] | None = None
    replay: bool = False
    """Send ``before``'s very bytes again as the request of the case."""
    login: bool = False
    routed: bool = True
    """``False``: a path no route of the app matches (an id with ``/``): the project's own page answers."""
    """Send the session cookie of the owner (state ``owned``)."""
    inquiry: dict[str, Any] | None = None
    """The simulator's signed inquiryPayment answer for this case (``payments/<id>/`` refreshes from it)."""
    check: Callable[[Any], None] | None = None
    """Further assertions on the state afterwards (given the payment, refreshed)."""

    @property
    def endpoint(self) -> str:
        prefix = self.name.partition("_")[0]
        return prefix if prefix in ("sessions", "payments") else "notify"


# -- building notify/ requests -----------------------------------------------------------------------

PAYMENT = "notifyPayment_success"
CAPTURE = "notifyCapture_success"
merchant_signer = Signer(load_private_key(VECTORS["merchant_private_key"]))


def now_ms(shift: float = 0.0) -> str:
    return str(int((time.time() + shift) * 1000))


def compact(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def sample(name: str = PAYMENT, **changes: Any) -> dict[str, Any]:
    return {**fixture(name), **changes}


def signed(
    body: bytes | dict[str, Any],
    *,
    path: str = NOTIFY_PATH,
    sign_path: str | None = None,
    client_id: str = CLIENT_ID,
    sign_client_id: str | None = None,
    request_time: str | None = None,
    sign_request_time: str | None = None,
    sign_body: bytes | None = None,
    signer: Signer = antom_signer,
    content_type: bytes | None = b"application/json",
) -> Request:
    """A notification as Antom posts it; each ``sign_*`` signs another value than the one sent."""
    raw = body if isinstance(body, bytes) else compact(body)
    sent_time = request_time or now_ms()
    signature = signer.sign(
        "POST",
        sign_path or path,
        sign_client_id or client_id,
        sign_request_time or sent_time,
        raw if sign_body is None else sign_body,
    )
    headers: list[tuple[str, bytes]] = []
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    headers += [
        ("client-id", client_id.encode()),
        ("request-time", sent_time.encode()),
        ("signature", build_signature_header(signature).encode()),
    ]
    return Request("POST", path, tuple(headers), raw)


def signed_sample(name: str = PAYMENT, **changes: Any) -> Callable[[], Request]:
    return lambda: signed(sample(name, **changes))


def header(name: str, value: bytes | str | None, body: Any = None) -> Callable[[], Request]:
    """The sample, signed, with one header replaced (``None``: left out)."""
    return lambda: signed(sample() if body is None else body).with_header(name, value)


def header_suffix(name: str, suffix: bytes) -> Callable[[], Request]:
    """The sample, signed, with ``suffix`` appended to one header's value."""

    def build() -> Request:
        request = signed(sample())
        return request.with_header(name, (request.header(name) or b"") + suffix)

    return build


def declared_length(value: bytes) -> Callable[[], Request]:
    def build() -> Request:
        request = signed(sample())
        return Request(request.method, request.path, request.headers, request.body, content_length=value)

    return build


def chunked() -> Request:
    """The sample, signed, sent in chunks with no Content-Length (Django then reads no body at all)."""
    request = signed(sample())
    body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (request.body[:50], request.body[50:]))
    sent = Request(request.method, request.path, request.headers, body + b"0\r\n\r\n")
    return sent.with_header("Transfer-Encoding", b"chunked")


def signature_value(change: Callable[[str], str]) -> Callable[[], Request]:
    """The sample, signed, with its ``signature=`` value altered by ``change``."""

    def build() -> Request:
        request = signed(sample())
        head, _, value = (request.header("signature") or b"").decode().partition("signature=")
        return request.with_header("signature", f"{head}signature={change(value)}")

    return build


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def sent_twice(build: Callable[[], Request]) -> Callable[[], Request]:
    """The same request object each call (the first is sent before the snapshot, the same bytes after)."""
    cache: list[Request] = []

    def once() -> Request:
        if not cache:
            cache.append(build())
        return cache[0]

    return once


# -- checks on the payment afterwards ----------------------------------------------------------------


def paid(payment: Any) -> None:
    assert payment.status == "AUTHORIZED" and not payment.needs_review, (payment.status, payment.review_reason)


def pending_and_flagged(words: str) -> Callable[[Any], None]:
    def check(payment: Any) -> None:
        assert payment.status == "PENDING"
        assert payment.needs_review and words in payment.review_reason, payment.review_reason

    return check


def stored_verbatim(field: str, value: str) -> Callable[[Any], None]:
    def check(payment: Any) -> None:
        from antom_django.models import Notification

        assert json.loads(Notification.objects.get(outcome="APPLIED").body)[field] == value

    return check


# -- notify/: signatures --------------------------------------------------------------------------------

OTHER_BODY = compact(sample(paymentAmount={"currency": "SGD", "value": "1"}))

SIGNATURES = [
    Case("signature_missing", header("signature", None), 401, "signature_missing", "refused"),
    Case("signature_blank", header("signature", b"   "), 401, "signature_missing", "refused"),
    Case("signature_not_name_value_pairs", header("signature", b"garbage"), 401, "signature_invalid", "refused"),
    Case(
        "signature_without_value",
        header("signature", b"algorithm=RSA256,keyVersion=1"),
        401,
        "signature_invalid",
        "refused",
    ),
    Case(
        "signature_other_algorithm",
        header("signature", b"algorithm=RSA512,keyVersion=1,signature=AAAA"),
        401,
        "signature_invalid",
        "refused",
    ),
    Case(
        "signature_truncated_to_half", signature_value(lambda v: v[: len(v) // 2]), 401, "signature_invalid", "refused"
    ),
    Case(
        "signature_missing_its_last_character", signature_value(lambda v: v[:-1]), 401, "signature_invalid", "refused"
    ),
    Case(
        "signature_one_character_changed",
        signature_value(lambda v: ("B" if v[0] == "A" else "A") + v[1:]),
        401,
        "signature_invalid",
        "refused",
    ),
    Case("signature_not_base64", signature_value(lambda v: "!!!" + v[3:]), 401, "signature_invalid", "refused"),
    Case("signature_value_empty", signature_value(lambda v: ""), 401, "signature_invalid", "refused"),
    Case(
        "signature_over_another_body",
        lambda: signed(sample(), sign_body=OTHER_BODY),
        401,
        "signature_invalid",
        "refused",
    ),
    Case(
        "signature_over_another_path",
        lambda: signed(sample(), sign_path="/antom/sessions/"),
        401,
        "signature_invalid",
        "refused",
    ),
    Case(
        "signature_over_the_path_without_its_slash",
        lambda: signed(sample(), sign_path=NOTIFY_PATH.rstrip("/")),
        401,
        "signature_invalid",
        "refused",
    ),
    Case(
        "signature_over_another_request_time",
        lambda: signed(sample(), sign_request_time=now_ms(-1)),
        401,
        "signature_invalid",
        "refused",
    ),
    Case(
        "signature_over_another_client_id",
        lambda: signed(sample(), sign_client_id=CLIENT_ID + "X"),
        401,
        "signature_invalid",
        "refused",
    ),
    Case(
        "signature_by_the_merchant_key",
        lambda: signed(sample(), signer=merchant_signer),
        401,
        "signature_invalid",
        "refused",
    ),
    Case(
        "signed_with_a_query_string_added",
        lambda: signed(sample(), path=NOTIFY_PATH + "?x=1", sign_path=NOTIFY_PATH + "?x=1"),
        401,
        "signature_invalid",
        "refused",
    ),
    Case("client_id_missing", header("client-id", None), 401, "client_id_missing", "refused"),
    Case(
        "client_id_another_merchant",
        lambda: signed(sample(), client_id="SANDBOX_5YOTHER00000000"),
        401,
        "unknown_client_id",
        "refused",
    ),
    Case(
        "client_id_in_lower_case",
        lambda: signed(sample(), client_id=CLIENT_ID.lower()),
        401,
        "unknown_client_id",
        "refused",
    ),
    Case("client_id_fullwidth", header("client-id", "ＳＡＮＤＢＯＸ"), 401, "unknown_client_id", "refused"),
    Case(
        "client_id_with_a_combining_accent",
        header("client-id", CLIENT_ID + "\u0301"),
        401,
        "unknown_client_id",
        "refused",
    ),
    Case(
        "signature_fullwidth",
        header("signature", "algorithm=RSA256,keyVersion=1,signature=ＡＢＣ"),
        401,
        "signature_invalid",
        "refused",
    ),
    Case(
        "signature_e_acute",
        header("signature", "algorithm=RSA256,keyVersion=1,signature=é"),
        401,
        "signature_invalid",
        "refused",
    ),
    Case(
        "client_id_with_a_prefix_of_ours",
        lambda: signed(sample(), client_id=CLIENT_ID[:-1]),
        401,
        "unknown_client_id",
        "refused",
    ),
]

# -- notify/: request-time ----------------------------------------------------------------------------

DAY = 24 * 3600
TIMES = [
    Case("request_time_missing", header("request-time", None), 401, "request_time_missing", "refused"),
    Case(
        "request_time_two_days_old",
        lambda: signed(sample(), request_time=now_ms(-2 * DAY)),
        401,
        "request_time_stale",
        "refused",
    ),
    Case(
        "request_time_two_days_ahead",
        lambda: signed(sample(), request_time=now_ms(2 * DAY)),
        401,
        "request_time_stale",
        "refused",
    ),
    Case(
        "request_time_in_seconds_not_ms",
        lambda: signed(sample(), request_time=str(int(time.time()))),
        401,
        "request_time_stale",
        "refused",
    ),
    Case("request_time_zero", lambda: signed(sample(), request_time="0"), 401, "request_time_stale", "refused"),
    Case(
        "request_time_iso_two_days_old",
        lambda: signed(sample(), request_time="2024-01-01T00:00:00+08:00"),
        401,
        "request_time_stale",
        "refused",
    ),
    Case(
        "request_time_iso_without_offset",
        lambda: signed(sample(), request_time="2030-01-01T00:00:00"),
        401,
        "request_time_invalid",
        "refused",
    ),
    Case(
        "request_time_words", lambda: signed(sample(), request_time="yesterday"), 401, "request_time_invalid", "refused"
    ),
    Case(
        "request_time_negative", lambda: signed(sample(), request_time="-1000"), 401, "request_time_invalid", "refused"
    ),
    Case(
        "request_time_of_absurd_length",
        lambda: signed(sample(), request_time="9" * 4000),
        401,
        "request_time_invalid",
        "refused",
    ),
    Case(
        "request_time_fullwidth_digits",
        header("request-time", "１７００００００００００００"),
        401,
        "request_time_invalid",
        "refused",
    ),
    Case(
        "request_time_arabic_indic_digits_signed",
        lambda: signed(sample(), request_time=now_ms().translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))),
        401,
        "request_time_invalid",
        "refused",
    ),
]

# -- notify/: replays ------------------------------------------------------------------------------------

REPLAYS = [
    Case(
        "replay_of_an_applied_notification",
        sent_twice(lambda: signed(sample())),
        200,
        ACK,
        "counted",
        replay=True,
        before=None,
    ),
    Case(
        "resend_in_other_bytes_after_applied",
        lambda: signed(json.dumps(sample(), indent=2).encode()),
        200,
        ACK,
        "counted",
        before=lambda: signed(sample()),
    ),
    Case(
        "replay_of_a_refused_request",
        sent_twice(lambda: signed(sample(), sign_body=OTHER_BODY)),
        401,
        "signature_invalid",
        "refused",
        replay=True,
    ),
    Case(
        "replay_of_a_review",
        sent_twice(lambda: signed(sample(paymentTime="yesterday"))),
        200,
        ACK,
        "counted",
        replay=True,
    ),
    Case(
        "replay_with_a_new_request_time_resigned",
        lambda: signed(sample()),
        200,
        ACK,
        "counted",
        before=lambda: signed(sample(), request_time=now_ms(-60)),
    ),
]

# -- notify/: JSON ---------------------------------------------------------------------------------------

DEEP = b'{"notifyType":"PAYMENT_RESULT","x":' + b"[" * 20000 + b"]" * 20000 + b"}"
JSON = [
    Case("json_truncated", lambda: signed(compact(sample())[:-7]), 400, "malformed_json", "refused", verified=True),
    Case("json_empty_body", lambda: signed(b""), 400, "malformed_json", "refused", verified=True),
    Case("json_a_list", lambda: signed(compact([sample()])), 400, "malformed_json", "refused", verified=True),
    Case("json_a_string", lambda: signed(b'"PAYMENT_RESULT"'), 400, "malformed_json", "refused", verified=True),
    Case("json_null", lambda: signed(b"null"), 400, "malformed_json", "refused", verified=True),
    Case(
        "json_single_quotes",
        lambda: signed(b"{'notifyType':'PAYMENT_RESULT'}"),
        400,
        "malformed_json",
        "refused",
        verified=True,
    ),
    Case(
        "json_trailing_garbage",
        lambda: signed(compact(sample()) + b"}"),
        400,
        "malformed_json",
        "refused",
        verified=True,
    ),
    Case(
        "json_utf8_bom",
        lambda: signed(b"\xef\xbb\xbf" + compact(sample())),
        400,
        "malformed_json",
        "refused",
        verified=True,
    ),
    Case(
        "json_latin1_bytes",
        lambda: signed(compact(sample(paymentResultMessage="x")).replace(b'"x"', b'"\xe9"')),
        400,
        "malformed_json",
        "refused",
        verified=True,
    ),
    Case(
        "json_utf16",
        lambda: signed(json.dumps(sample()).encode("utf-16")),
        400,
        "malformed_json",
        "refused",
        verified=True,
    ),
    Case(
        "json_nested_deeper_than_the_parser_goes", lambda: signed(DEEP), 400, "json_too_deep", "refused", verified=True
    ),
    Case(
        "json_number_of_thousands_of_digits",
        lambda: signed(
            b'{"notifyType":"PAYMENT_RESULT","paymentAmount":{"currency":"SGD","value":' + b"9" * 5000 + b"}}"
        ),
        400,
        "malformed_json",
        "refused",
        verified=True,
    ),
    Case(
        "json_nested_past_32_levels",
        signed_sample(extra=nested(MAX_DEPTH + 5)),
        200,
        ACK,
        "review",
        reason="nested deeper",
    ),
    Case("json_nested_in_a_field_read", signed_sample(result=nested(40)), 200, ACK, "review", reason="nested deeper"),
    Case("json_nan", lambda: signed(compact(sample())[:-1] + b',"extra":NaN}'), 200, ACK, "review", reason="too large"),
    Case("json_infinite_number", signed_sample(extra=1e999), 200, ACK, "review", reason="too large"),
    Case(
        "json_duplicate_key_the_last_names_another_payment",
        lambda: signed(compact(sample())[:-1] + b',"paymentRequestId":"someone-elses"}'),
        200,
        ACK,
        "unknown_payment",
    ),
]

# -- notify/: sizes ----------------------------------------------------------------------------------------

LIMIT = 64 * 1024
SIZES = [
    Case("body_over_notify_max_bytes", signed_sample(padding="x" * LIMIT), 413, "body_too_large", "refused"),
    Case("body_of_a_megabyte", signed_sample(padding="x" * (1 << 20)), 413, "body_too_large", "refused"),
    Case(
        "body_just_under_the_limit_applies",
        signed_sample(padding="x" * (LIMIT - 2000)),
        200,
        ACK,
        "applied",
        check=paid,
    ),
    Case("body_chunked_without_content_length", chunked, 401, "signature_invalid", "refused"),
    Case("content_length_of_absurd_length", declared_length(b"9" * 5000), 413, "body_too_large", "refused"),
    *(
        Case(f"content_length_{label}", declared_length(value.encode()), 400, "content_length_invalid", "refused")
        for label, value in [
            ("superscript_two", "²"),
            ("arabic_indic", "١٠"),
            ("with_letters", "12a"),
            ("negative", "-1"),
            ("hex", "0x10"),
            ("decimal", "1.5"),
        ]
    ),
    Case(
        "signature_header_of_60_kb",
        header("signature", b"algorithm=RSA256,signature=" + b"A" * 60_000),
        401,
        "signature_invalid",
        "refused",
    ),
    Case("client_id_header_of_60_kb", header("client-id", b"C" * 60_000), 401, "unknown_client_id", "refused"),
    Case("request_time_header_of_60_kb", header("request-time", b"1" * 60_000), 401, "request_time_invalid", "refused"),
    Case("unrelated_header_of_60_kb", header("x-padding", b"p" * 60_000), 200, ACK, "applied", check=paid),
]

# -- notify/: content types ------------------------------------------------------------------------------

CONTENT_TYPES = [
    *(
        Case(
            f"content_type_{label}",
            lambda value=value: signed(sample(), content_type=value),
            415,
            "unsupported_media_type",
            "refused",
        )
        for label, value in [
            ("missing", None),
            ("text_plain", b"text/plain"),
            ("form", b"application/x-www-form-urlencoded"),
            ("multipart", b"multipart/form-data; boundary=x"),
            ("json_suffix", b"application/problem+json"),
            ("json_latin1", b"application/json; charset=latin-1"),
            ("json_utf16", b"application/json; charset=utf-16"),
            ("json_ascii", b"application/json; charset=us-ascii"),
            ("empty", b""),
            ("json_with_a_nul", b"application/json\x00"),
            ("json_in_fullwidth", "ａｐｐｌｉｃａｔｉｏｎ/json".encode()),
        ]
    ),
    Case(
        "content_type_upper_case_applies",
        lambda: signed(sample(), content_type=b"APPLICATION/JSON"),
        200,
        ACK,
        "applied",
        check=paid,
    ),
    Case(
        "content_type_charset_utf8_applies",
        lambda: signed(sample(), content_type=b"application/json; charset=UTF8"),
        200,
        ACK,
        "applied",
        check=paid,
    ),
]

# -- notify/: non-ASCII and control characters in every header --------------------------------------------

ODD_BYTES = {
    "utf8_e_acute": "é".encode(),
    "latin1_e_acute": b"\xe9",
    "nul": b"\x00",
    "control_a": b"\x01",
    "delete": b"\x7f",
}
HEADER_ANSWERS = {
    "client-id": (401, "unknown_client_id"),
    "request-time": (401, "request_time_invalid"),
    "signature": (401, "signature_invalid"),
    "Content-Type": (415, "unsupported_media_type"),
}
ODD_HEADERS = (
    [
        Case(f"header_{name.lower()}_ends_in_{label}", header_suffix(name, value), *HEADER_ANSWERS[name], "refused")
        for name in HEADER_ANSWERS
        for label, value in ODD_BYTES.items()
    ]
    + [
        Case(f"header_content_length_is_{label}", declared_length(value), 400, "content_length_invalid", "refused")
        for label, value in ODD_BYTES.items()
    ]
    + [
        # Headers the endpoint does not read change nothing about the answer.
        Case(
            f"header_{name.lower()}_of_odd_bytes",
            header(name, b"\x00\x01\xe9" + "💳".encode() + b"\x7f"),
            200,
            ACK,
            "applied",
            check=paid,
        )
        for name in ("User-Agent", "Accept", "Accept-Language", "X-Forwarded-For", "Cookie", "Referer", "Authorization")
    ]
)

# -- notify/: non-ASCII, control characters, SQL and HTML in every field -----------------------------------

SQL = "'; DROP TABLE antom_django_payment; --"
HTML = '<script>alert("x")</script><img src=x onerror=alert(1)>'
STRINGS = {"sql": SQL, "html": HTML, "control": "A\x01\x1b[2J\x7fB", "non_ascii": "Ünïcödé 支付 💳\u202e"}


def in_field(path: tuple[str, ...], value: str) -> dict[str, Any]:
    payload = sample()
    target = payload
    for key in path[:-1]:
        child = dict(target[key])
        target[key] = child
        target = child
    target[path[-1]] = value
    return payload


def string_fields() -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []

    def walk(value: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*path, key))
        elif isinstance(value, str):
            found.append(path)

    walk(fixture(PAYMENT), ())
    return found


def field_case(path: tuple[str, ...], label: str, value: str) -> Case:
    name = ".".join(path)
    build = lambda: signed(in_field(path, value))  # noqa: E731
    if path == ("notifyType",):
        if len(value) > 32:
            return Case(f"field_{name}_{label}", build, 200, ACK, "review", reason="notifyType")
        return Case(f"field_{name}_{label}", build, 200, ACK, "ignored")
    if path == ("paymentRequestId",):
        return Case(f"field_{name}_{label}", build, 200, ACK, "unknown_payment")
    if path == ("paymentTime",):
        return Case(f"field_{name}_{label}", build, 200, ACK, "review", reason="paymentTime")
    if path[0] == "paymentAmount":
        return Case(f"field_{name}_{label}", build, 200, ACK, "review", reason=path[0])
    if path == ("result", "resultStatus"):
        return Case(f"field_{name}_{label}", build, 200, ACK, "applied", check=unmoved)
    if path == ("paymentId",) and len(value) > 64:
        return Case(f"field_{name}_{label}", build, 200, ACK, "review", reason="paymentId")
    return Case(f"field_{name}_{label}", build, 200, ACK, "applied", check=paid)


def unmoved(payment: Any) -> None:
    assert payment.status == "PENDING", payment.status


FIELDS = [field_case(path, label, value) for path in string_fields() for label, value in STRINGS.items()]

# -- notify/: types and amounts ------------------------------------------------------------------------------

TYPES = [
    *(
        Case(f"notify_type_{label}", signed_sample(notifyType=value), 200, ACK, "ignored")
        for label, value in [
            ("dispute", "DISPUTE_NOTIFY"),
            ("lower_case", "payment_result"),
            ("empty", ""),
            ("with_a_space", "PAYMENT_RESULT "),
            ("vaulting", "VAULTING_RESULT"),
        ]
    ),
    Case(
        "notify_type_missing",
        lambda: signed({k: v for k, v in sample().items() if k != "notifyType"}),
        200,
        ACK,
        "ignored",
    ),
    Case("notify_type_a_number", signed_sample(notifyType=1), 200, ACK, "review", reason="notifyType"),
    Case("notify_type_a_list", signed_sample(notifyType=["PAYMENT_RESULT"]), 200, ACK, "review", reason="notifyType"),
    Case(
        "notify_type_too_long", signed_sample(notifyType="PAYMENT_RESULT" * 3), 200, ACK, "review", reason="notifyType"
    ),
    Case("notify_type_nul", signed_sample(notifyType="PAYMENT_RESULT\x00"), 200, ACK, "review", reason="NUL"),
    Case(
        "notify_type_surrogate",
        signed_sample(notifyType="PAYMENT_RESULT\udfff"),
        200,
        ACK,
        "review",
        reason="surrogate",
    ),
    Case(
        "notify_type_capture_for_an_unknown_capture",
        signed_sample(CAPTURE, captureRequestId="nobody", paymentId="nobody"),
        200,
        ACK,
        "unknown_payment",
        state="authorized",
    ),
]


def amount(value: Any, currency: Any = "SGD") -> dict[str, Any]:
    return {"currency": currency, "value": value}


AMOUNTS = [
    *(
        Case(
            name,
            signed_sample(paymentAmount=value),
            200,
            ACK,
            "applied",
            check=pending_and_flagged("differs from ours"),
        )
        for name, value in [
            ("amount_in_another_currency", amount("4200", "USD")),
            ("amount_in_a_zero_exponent_currency", amount("4200", "JPY")),
            ("amount_in_a_three_digit_exponent_currency", amount("42000", "KWD")),
            ("amount_another_value", amount("4201")),
        ]
    ),
    *(
        Case(name, signed_sample(paymentAmount=value), 200, ACK, "applied", check=paid)
        for name, value in [
            ("amount_currency_lower_case_applies", amount("4200", "sgd")),
            ("amount_leading_zeros_applies", amount("0004200")),
        ]
    ),
    *(
        Case(name, signed_sample(paymentAmount=value), 200, ACK, "review", reason="paymentAmount")
        for name, value in [
            ("amount_currency_four_letters", amount("4200", "SGDX")),
            ("amount_currency_of_absurd_length", amount("4200", "S" * 10_000)),
            ("amount_currency_missing", {"value": "4200"}),
            ("amount_currency_a_number", amount("4200", 702)),
            ("amount_currency_fullwidth", amount("4200", "ＳＧＤ")),
            ("amount_with_an_exponent", amount("42e2")),
            ("amount_with_a_decimal_point", amount("42.00")),
            ("amount_a_json_float", amount(4200.0)),
            ("amount_negative", amount("-4200")),
            ("amount_negative_number", amount(-4200)),
            ("amount_a_boolean", amount(True)),
            ("amount_empty", amount("")),
            ("amount_with_spaces", amount(" 4200 ")),
            ("amount_of_thousands_of_digits", amount("9" * 5000)),
            ("amount_beyond_a_bigint", amount("9" * 20)),
            ("amount_a_json_integer_beyond_a_bigint", amount(2**63)),
            ("amount_in_superscript_digits", amount("⁴²⁰⁰")),
            ("amount_in_arabic_indic_digits", amount("٤٢٠٠")),
            ("amount_not_an_object", ["4200"]),
        ]
    ),
    Case(
        "amount_a_json_exponent",
        lambda: signed(compact(sample(paymentAmount=amount("X"))).replace(b'"X"', b"42E2")),
        200,
        ACK,
        "review",
        reason="paymentAmount",
    ),
    Case(
        "capture_amount_beyond_a_bigint",
        signed_sample(CAPTURE, captureAmount=amount("9" * 19)),
        200,
        ACK,
        "review",
        reason="captureAmount",
        state="authorized",
    ),
    Case(
        "capture_amount_in_another_currency",
        signed_sample(CAPTURE, captureAmount=amount("4200", "USD")),
        200,
        ACK,
        "applied",
        state="authorized",
        check=lambda p: _capture_not_settled(p),
    ),
]


def _capture_not_settled(payment: Any) -> None:
    assert payment.captured_amount == 0 and payment.needs_review, payment.review_reason
    assert payment.captures.get().status != "SUCCEEDED"


# -- notify/: Antom's own contradictory samples and other unusable fields -------------------------------------

UNUSABLE = [
    Case(
        "payment_id_too_long_for_its_column", signed_sample(paymentId="P" * 65), 200, ACK, "review", reason="paymentId"
    ),
    Case("payment_id_a_number", signed_sample(paymentId=12345), 200, ACK, "review", reason="paymentId"),
    Case(
        "payment_request_id_a_list",
        signed_sample(paymentRequestId=["paymentRequestId01"], paymentId=None),
        200,
        ACK,
        "review",
        reason="paymentRequestId is a list",
        flags=False,
    ),
    Case("result_not_an_object", signed_sample(result="S"), 200, ACK, "review", reason="result"),
    Case(
        "result_code_too_long",
        signed_sample(result={"resultStatus": "S", "resultCode": "C" * 65}),
        200,
        ACK,
        "review",
        reason="result.resultCode",
    ),
    Case("time_unreadable", signed_sample(paymentTime="yesterday"), 200, ACK, "review", reason="paymentTime"),
    Case("nul_in_text", signed_sample(paymentResultInfo={"cardBrand": "VI\x00SA"}), 200, ACK, "review", reason="NUL"),
    Case(
        "unpaired_surrogate",
        signed_sample(paymentResultInfo={"cardBrand": "\ud800"}),
        200,
        ACK,
        "review",
        reason="surrogate",
    ),
    Case("transactions_not_a_list", signed_sample(transactions={"a": 1}), 200, ACK, "review", reason="transactions"),
    Case(
        "a_failed_result_beside_payment_status_success",
        signed_sample(
            paymentStatus="SUCCESS",
            result={"resultStatus": "F", "resultCode": "PROCESS_FAIL", "resultMessage": "fail."},
        ),
        200,
        ACK,
        "applied",
        check=lambda p: _not_paid(p),
    ),
    # The guide's failed capture: captureStatus nowhere, resultStatus F (notifyCapture_failed.json), beside a
    # transactionStatus SUCCESS as in its inquiry samples: the result wins.
    Case(
        "guide_failed_capture_with_transaction_status_success",
        lambda: signed({**fixture("notifyCapture_failed"), "transactionStatus": "SUCCESS", "captureStatus": "SUCCESS"}),
        200,
        ACK,
        "applied",
        state="authorized",
        check=lambda p: _capture_failed(p),
    ),
]


def _not_paid(payment: Any) -> None:
    assert payment.status in ("PENDING", "FAILED"), payment.status
    assert payment.captured_amount == 0


def _capture_failed(payment: Any) -> None:
    assert payment.captured_amount == 0, payment.captured_amount
    assert payment.captures.get().status == "FAILED"
    assert payment.status == "AUTHORIZED"


NOTIFY = [
    *SIGNATURES,
    *TIMES,
    *REPLAYS,
    *JSON,
    *SIZES,
    *CONTENT_TYPES,
    *ODD_HEADERS,
    *FIELDS,
    *TYPES,
    *AMOUNTS,
    *UNUSABLE,
]


# -- sessions/ ---------------------------------------------------------------------------------------------

SESSIONS_PATH = "/antom/sessions/"


def post_session(body: bytes | Any, content_type: bytes | None = b"application/json", **headers: bytes) -> Request:
    raw = body if isinstance(body, bytes) else compact(body)
    sent = [("Content-Type", content_type)] if content_type is not None else []
    sent += [(name.replace("_", "-"), value) for name, value in headers.items()]
    return Request("POST", SESSIONS_PATH, tuple(sent), raw)


def session(body: bytes | Any, status: int, code: str, name: str, **kwargs: Any) -> Case:
    return Case(f"sessions_{name}", lambda: post_session(body, **kwargs), status, code, state="order")


SESSIONS = [
    session(b'{"referenceOrderId":' + b"[" * 20000 + b"]" * 20000 + b"}", 400, "json_too_deep", "json_too_deep"),
    session(b'{"referenceOrderId":' + b"7" * 5000 + b"}", 400, "parse_error", "number_of_thousands_of_digits"),
    session({"referenceOrderId": "o" * 100_000}, 400, "invalid", "reference_of_100k_characters"),
    session({"referenceOrderId": nested(50)}, 400, "invalid", "reference_nested_50_deep"),
    session(b'{"referenceOrderId": NaN}', 400, "parse_error", "nan"),
    session(b'{"referenceOrderId": "order-1"', 400, "parse_error", "json_truncated"),
    session(b"", 400, "invalid", "empty_body"),
    session(b"[]", 400, "invalid", "json_a_list"),
    session({}, 400, "invalid", "reference_missing"),
    session({"referenceOrderId": ""}, 400, "invalid", "reference_empty"),
    session({"referenceOrderId": None}, 400, "invalid", "reference_null"),
    session({"referenceOrderId": True}, 400, "invalid", "reference_a_boolean"),
    session({"referenceOrderId": {"$ne": ""}}, 400, "invalid", "reference_an_object"),
    session({"referenceOrderId": "o" * 65}, 400, "invalid", "reference_of_65_characters"),
    session({"referenceOrderId": "order\x00-1"}, 400, "invalid", "reference_with_a_nul"),
    session({"referenceOrderId": SQL}, 404, "order_not_found", "reference_sql"),
    session({"referenceOrderId": HTML}, 404, "order_not_found", "reference_html"),
    session({"referenceOrderId": "order-1\x01\x1b[2J"}, 404, "order_not_found", "reference_control_characters"),
    session({"referenceOrderId": "Ünïcödé 支付 💳"}, 404, "order_not_found", "reference_non_ascii"),
    session({"referenceOrderId": "order-1\udfff"}, 400, "invalid", "reference_lone_surrogate"),
    session({"referenceOrderId": 1}, 404, "order_not_found", "reference_a_number"),
    session({"referenceOrderId": "order-owned"}, 403, "login_required", "user_order_anonymous"),
    session(b"\xef\xbb\xbf" + compact({"referenceOrderId": SQL}), 400, "parse_error", "utf8_bom"),
    session(compact({"referenceOrderId": "x"}).replace(b'"x"', b'"\xe9"'), 400, "parse_error", "latin1_bytes"),
    session({"referenceOrderId": SQL}, 415, "unsupported_media_type", "text_plain", content_type=b"text/plain"),
    session(
        b"referenceOrderId=order-1",
        415,
        "unsupported_media_type",
        "form",
        content_type=b"application/x-www-form-urlencoded",
    ),
    session({"referenceOrderId": SQL}, 415, "unsupported_media_type", "no_content_type", content_type=None),
    session(
        {"referenceOrderId": SQL},
        415,
        "unsupported_media_type",
        "content_type_with_a_nul",
        content_type=b"application/json\x00",
    ),
    session(
        json.dumps({"referenceOrderId": SQL}).encode("utf-16"),
        404,
        "order_not_found",
        "utf16_body_declared",
        content_type=b"application/json; charset=utf-16",
    ),
    session(
        {"referenceOrderId": SQL},
        404,
        "order_not_found",
        "charset_latin1",
        content_type=b"application/json; charset=latin-1",
    ),
    session(
        {"referenceOrderId": SQL},
        403,
        "authentication_failed",
        "authorization_garbage",
        Authorization=b"Basic !!!\x00\xe9",
    ),
    session(
        {"referenceOrderId": SQL},
        403,
        "authentication_failed",
        "authorization_nul_user",
        Authorization=b"Basic " + base64.b64encode(b"us\x00er:pw"),
    ),
    session(
        {"referenceOrderId": SQL},
        404,
        "order_not_found",
        "odd_bytes_in_other_headers",
        User_Agent=b"\x00\x01\xe9\x7f",
        Accept_Language=b"\xe9\x00",
        Cookie=b"sessionid=\x00'; --",
        X_Forwarded_For=b"<script>",
        Referer="💳".encode(),
    ),
    session(
        {"referenceOrderId": SQL, "amount": {"currency": "SGD", "value": "1"}},
        404,
        "order_not_found",
        "client_amount_beside_an_unknown_order",
    ),
    session(compact({"referenceOrderId": SQL, "padding": "x" * (3 << 20)}), 413, "body_too_large", "body_of_3_mb"),
]

# -- payments/<id>/ ------------------------------------------------------------------------------------------


def get_payment(path_id: str, **headers: bytes) -> Request:
    sent = tuple((name.replace("_", "-"), value) for name, value in headers.items())
    return Request("GET", f"/antom/payments/{path_id}/", sent)


def payment(path_id: str, status: int, code: str, name: str, **headers: bytes) -> Case:
    return Case(f"payments_{name}", lambda: get_payment(path_id, **headers), status, code, state="owned")


PAYMENTS = [
    payment(quote(SQL, safe=""), 404, "payment_not_found", "id_sql"),
    payment(quote(HTML.replace("/", ""), safe=""), 404, "payment_not_found", "id_html"),
    Case(
        "payments_id_with_a_slash_is_no_route",
        lambda: get_payment(quote(HTML, safe="")),
        404,
        "",
        state="owned",
        routed=False,
    ),
    payment("paymentRequestId01%00", 404, "payment_not_found", "id_with_a_nul"),
    payment("%01%1b%7f", 404, "payment_not_found", "id_control_characters"),
    payment(quote("Ünïcödé 支付 💳"), 404, "payment_not_found", "id_non_ascii"),
    payment("%ff%fe", 404, "payment_not_found", "id_invalid_utf8"),
    payment("%ed%a0%80", 404, "payment_not_found", "id_encoded_surrogate"),
    payment("p" * 65, 404, "payment_not_found", "id_of_65_characters"),
    payment("p" * 8000, 404, "payment_not_found", "id_of_8000_characters"),
    payment("paymentRequestId01'%20OR%20'1'='1", 404, "payment_not_found", "id_sql_or"),
    payment("..%2E%2E", 404, "payment_not_found", "id_dots"),
    Case(
        "payments_id_path_traversal_is_no_route",
        lambda: get_payment("..%2F..%2Fadmin"),
        404,
        "",
        state="owned",
        routed=False,
    ),
    payment("paymentRequestId01", 404, "payment_not_found", "another_callers_payment_anonymous"),
    payment(
        "paymentRequestId01", 403, "authentication_failed", "authorization_garbage", Authorization=b"Basic !!!\x00\xe9"
    ),
    payment(
        "paymentRequestId01",
        403,
        "authentication_failed",
        "authorization_nul_user",
        Authorization=b"Basic " + base64.b64encode(b"ow\x00ner:pw"),
    ),
    payment("paymentRequestId01", 406, "not_acceptable", "accept_of_odd_bytes", Accept=b"\xe9\x00"),
    payment(
        "paymentRequestId01",
        404,
        "payment_not_found",
        "odd_bytes_in_other_headers",
        User_Agent=b"\x00\x01\xe9\x7f",
        Accept_Language=b"\xe9",
        Cookie=b"sessionid=\x00'; --",
        X_Forwarded_For=b"<x>",
    ),
    Case(
        "payments_post_is_not_allowed",
        lambda: Request("POST", "/antom/payments/paymentRequestId01/", (("Content-Type", b"application/json"),), b"{}"),
        405,
        "method_not_allowed",
        state="owned",
    ),
    Case("payments_owner_sees_it", lambda: get_payment("paymentRequestId01"), 200, "", state="owned", login=True),
    Case(
        "payments_owner_with_odd_bytes_in_other_headers",
        lambda: get_payment("paymentRequestId01", User_Agent=b"\x00\x01\xe9", X_Forwarded_For=b"'; --"),
        200,
        "",
        state="owned",
        login=True,
    ),
]


# -- payments/<id>/ refreshed from the guide's own capture samples -------------------------------------------
# Its inquiryPayment samples of a failed and of a processing capture say ``transactionStatus: SUCCESS`` beside a
# ``transactionResult`` F or U (card-payments-guide.md, "Value of capture status"); the result is what counts.


def guide_capture(result_status: str, code: str) -> dict[str, Any]:
    return {
        "transactionType": "CAPTURE",
        "transactionStatus": "SUCCESS",
        "transactionRequestId": "captureRequestId01",
        "transactionAmount": {"currency": "SGD", "value": "4200"},
        "transactionTime": "2024-01-01T00:00:02+08:00",
        "transactionId": "20240101123456789XXXX",
        "transactionResult": {"resultStatus": result_status, "resultCode": code, "resultMessage": code.lower()},
    }


def inquiry_answer(*transactions: dict[str, Any]) -> dict[str, Any]:
    return {
        "result": {"resultStatus": "S", "resultCode": "SUCCESS", "resultMessage": "success."},
        "paymentStatus": "SUCCESS",
        "paymentRequestId": "paymentRequestId01",
        "paymentId": "20240101123456789XXXX",
        "paymentAmount": {"currency": "SGD", "value": "4200"},
        "paymentTime": "2024-01-01T00:01:00+08:00",
        "transactions": list(transactions),
    }


def captured(amount: int) -> Callable[[Any], None]:
    def check(payment: Any) -> None:
        assert payment.status != "PENDING", payment.status
        assert payment.captured_amount == amount, (payment.captured_amount, payment.review_reason)
        statuses = set(payment.captures.values_list("status", flat=True))
        assert ("SUCCEEDED" in statuses) == (amount > 0), statuses

    return check


GUIDE = [
    Case(
        f"payments_refreshed_from_the_guides_{label}_capture_sample",
        lambda: get_payment("paymentRequestId01"),
        200,
        "",
        "inquired",
        state="inquiry",
        login=True,
        inquiry=inquiry_answer(guide_capture(status, code)),
        check=captured(amount),
    )
    for label, status, code, amount in [
        ("successful", "S", "SUCCESS", 4200),
        ("failed", "F", "PROCESS_FAIL", 0),
        ("processing", "U", "PAYMENT_IN_PROCESS", 0),
    ]
]

ALL = [*NOTIFY, *SESSIONS, *PAYMENTS, *GUIDE]
