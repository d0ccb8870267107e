"""Typed views of Antom's responses; each keeps the raw dict beside the parsed fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .money import Amount, MoneyError

if TYPE_CHECKING:
    from typing import Self  # Python 3.11+; only read by type checkers here

ACK_BODY = b'{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}'
"""The exact acknowledgment Antom expects for a notification (HTTP 200)."""


MAX_TIME_LENGTH = 40
"""Longer than any ISO-8601 timestamp with an offset and microseconds; longer text is no time."""


def parse_time(value: Any) -> datetime | None:
    """Parse Antom's ISO-8601 timestamps (``2024-01-01T00:01:00+08:00``); ``None`` if absent or unreadable.

    Only ASCII text of a plausible length is tried, so no input raises.
    """
    if not value or not isinstance(value, str) or len(value) > MAX_TIME_LENGTH or not value.isascii():
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_amount(value: Any) -> Amount | None:
    """Parse an amount object, ``None`` if absent or unreadable (never raises)."""
    if value is None:
        return None
    try:
        return Amount.from_wire(value)
    except MoneyError:
        return None


@dataclass(frozen=True, slots=True)
class Result:
    """Antom's ``result`` object: ``resultStatus`` S (success), F (failed) or U (unknown)."""

    code: str
    status: str
    message: str = ""

    @classmethod
    def from_wire(cls, data: Any) -> Result | None:
        if not isinstance(data, dict):
            return None
        status = data.get("resultStatus")
        if status not in ("S", "F", "U"):
            return None
        return cls(
            code=str(data.get("resultCode") or ""),
            status=status,
            message=str(data.get("resultMessage") or ""),
        )

    def to_wire(self) -> dict[str, str]:
        return {"resultCode": self.code, "resultStatus": self.status, "resultMessage": self.message}


@dataclass(frozen=True, slots=True)
class CardInfo:
    """Masked card facts Antom returns; never a full card number."""

    brand: str = ""
    funding: str = ""
    issuing_country: str = ""
    last4: str = ""

    @classmethod
    def from_payment(cls, data: dict[str, Any]) -> CardInfo | None:
        info = data.get("paymentResultInfo") or data.get("cardInfo")
        if not isinstance(info, dict):
            return None
        card_no = str(info.get("cardNo") or "")
        tail = card_no[-4:]
        digits = tail if tail.isascii() and tail.isdigit() else ""  # isdigit() alone takes "²" and "٣"
        return cls(
            brand=str(info.get("cardBrand") or ""),
            funding=str(info.get("funding") or ""),
            issuing_country=str(info.get("issuingCountry") or ""),
            last4=digits,
        )


@dataclass(frozen=True, slots=True)
class AntomResponse:
    """Fields every response has."""

    result: Result
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_wire(cls, result: Result, data: dict[str, Any]) -> Self:
        """The typed view of a response whose ``result`` has already been read."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class PaymentSession(AntomResponse):
    payment_session_data: str = ""
    payment_session_id: str = ""
    payment_session_expiry_time: datetime | None = None
    normal_url: str = ""

    @classmethod
    def from_wire(cls, result: Result, data: dict[str, Any]) -> PaymentSession:
        return cls(
            result=result,
            raw=data,
            payment_session_data=str(data.get("paymentSessionData") or ""),
            payment_session_id=str(data.get("paymentSessionId") or ""),
            payment_session_expiry_time=parse_time(data.get("paymentSessionExpiryTime")),
            normal_url=str(data.get("normalUrl") or ""),
        )


@dataclass(frozen=True, slots=True)
class Transaction:
    """One item of inquiryPayment's ``transactions``: a capture, refund, cancel, ..."""

    type: str
    status: str
    request_id: str
    id: str
    amount: Amount | None
    time: datetime | None
    result: Result | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Transaction:
        return cls(
            raw=data,
            type=str(data.get("transactionType") or ""),
            status=str(data.get("transactionStatus") or ""),
            request_id=str(data.get("transactionRequestId") or ""),
            id=str(data.get("transactionId") or ""),
            amount=parse_amount(data.get("transactionAmount")),
            time=parse_time(data.get("transactionTime")),
            result=Result.from_wire(data.get("transactionResult")),
        )


@dataclass(frozen=True, slots=True)
class PaymentInquiry(AntomResponse):
    """inquiryPayment: ``result`` is about the inquiry; ``payment_status`` about the payment."""

    payment_status: str = ""
    payment_result_code: str = ""
    payment_result_message: str = ""
    payment_request_id: str = ""
    payment_id: str = ""
    payment_amount: Amount | None = None
    auth_expiry_time: datetime | None = None
    payment_time: datetime | None = None
    card: CardInfo | None = None
    transactions: tuple[Transaction, ...] = ()

    @classmethod
    def from_wire(cls, result: Result, data: dict[str, Any]) -> PaymentInquiry:
        txs = data.get("transactions")
        if not isinstance(txs, list):
            txs = []
        return cls(
            result=result,
            raw=data,
            payment_status=str(data.get("paymentStatus") or ""),
            payment_result_code=str(data.get("paymentResultCode") or ""),
            payment_result_message=str(data.get("paymentResultMessage") or ""),
            payment_request_id=str(data.get("paymentRequestId") or ""),
            payment_id=str(data.get("paymentId") or ""),
            payment_amount=parse_amount(data.get("paymentAmount")),
            auth_expiry_time=parse_time(data.get("authExpiryTime")),
            payment_time=parse_time(data.get("paymentTime")),
            card=CardInfo.from_payment(data),
            transactions=tuple(Transaction.from_wire(t) for t in txs if isinstance(t, dict)),
        )


@dataclass(frozen=True, slots=True)
class CaptureResult(AntomResponse):
    capture_request_id: str = ""
    capture_id: str = ""
    payment_id: str = ""
    capture_amount: Amount | None = None
    capture_time: datetime | None = None

    @classmethod
    def from_wire(cls, result: Result, data: dict[str, Any]) -> CaptureResult:
        return cls(
            result=result,
            raw=data,
            capture_request_id=str(data.get("captureRequestId") or ""),
            capture_id=str(data.get("captureId") or ""),
            payment_id=str(data.get("paymentId") or ""),
            capture_amount=parse_amount(data.get("captureAmount")),
            capture_time=parse_time(data.get("captureTime")),
        )


@dataclass(frozen=True, slots=True)
class CancelResult(AntomResponse):
    payment_id: str = ""
    payment_request_id: str = ""
    cancel_time: datetime | None = None

    @classmethod
    def from_wire(cls, result: Result, data: dict[str, Any]) -> CancelResult:
        return cls(
            result=result,
            raw=data,
            payment_id=str(data.get("paymentId") or ""),
            payment_request_id=str(data.get("paymentRequestId") or ""),
            cancel_time=parse_time(data.get("cancelTime")),
        )


@dataclass(frozen=True, slots=True)
class RefundResult(AntomResponse):
    refund_request_id: str = ""
    refund_id: str = ""
    payment_id: str = ""
    refund_amount: Amount | None = None
    refund_time: datetime | None = None

    @classmethod
    def from_wire(cls, result: Result, data: dict[str, Any]) -> RefundResult:
        return cls(
            result=result,
            raw=data,
            refund_request_id=str(data.get("refundRequestId") or ""),
            refund_id=str(data.get("refundId") or ""),
            payment_id=str(data.get("paymentId") or ""),
            refund_amount=parse_amount(data.get("refundAmount")),
            refund_time=parse_time(data.get("refundTime")),
        )


@dataclass(frozen=True, slots=True)
class RefundInquiry(AntomResponse):
    """inquiryRefund: ``result`` is about the inquiry; ``refund_status`` about the refund."""

    refund_status: str = ""
    refund_request_id: str = ""
    refund_id: str = ""
    refund_amount: Amount | None = None
    refund_time: datetime | None = None

    @classmethod
    def from_wire(cls, result: Result, data: dict[str, Any]) -> RefundInquiry:
        return cls(
            result=result,
            raw=data,
            refund_status=str(data.get("refundStatus") or ""),
            refund_request_id=str(data.get("refundRequestId") or ""),
            refund_id=str(data.get("refundId") or ""),
            refund_amount=parse_amount(data.get("refundAmount")),
            refund_time=parse_time(data.get("refundTime")),
        )


# -- notifications ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AntomNotification:
    """Fields every notification has: its type, the ``result`` it reports (``None`` if absent or unreadable)
    and the payment it concerns."""

    notify_type: str
    result: Result | None
    payment_request_id: str
    payment_id: str
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Self:
        """The typed view of a notification body."""
        raise NotImplementedError

    @staticmethod
    def _common(data: dict[str, Any]) -> dict[str, Any]:
        return {
            "notify_type": str(data.get("notifyType") or ""),
            "result": Result.from_wire(data.get("result")),
            "payment_request_id": str(data.get("paymentRequestId") or ""),
            "payment_id": str(data.get("paymentId") or ""),
            "raw": data,
        }


@dataclass(frozen=True, slots=True)
class PaymentNotification(AntomNotification):
    """notifyPayment: ``PAYMENT_RESULT``, or ``PAYMENT_PENDING`` (the buyer finished; no final result yet)."""

    payment_amount: Amount | None = None
    payment_time: datetime | None = None
    auth_expiry_time: datetime | None = None
    card: CardInfo | None = None

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> PaymentNotification:
        return cls(
            **cls._common(data),
            payment_amount=parse_amount(data.get("paymentAmount")),
            payment_time=parse_time(data.get("paymentTime")),
            auth_expiry_time=parse_time(data.get("authExpiryTime")),
            card=CardInfo.from_payment(data),
        )


@dataclass(frozen=True, slots=True)
class CaptureNotification(AntomNotification):
    """notifyCapture (``CAPTURE_RESULT``): ``result`` S or F is the capture's outcome."""

    capture_request_id: str = ""
    capture_id: str = ""
    capture_amount: Amount | None = None
    capture_time: datetime | None = None

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> CaptureNotification:
        return cls(
            **cls._common(data),
            capture_request_id=str(data.get("captureRequestId") or ""),
            capture_id=str(data.get("captureId") or ""),
            capture_amount=parse_amount(data.get("captureAmount")),
            capture_time=parse_time(data.get("captureTime")),
        )


@dataclass(frozen=True, slots=True)
class RefundNotification(AntomNotification):
    """notifyRefund (``REFUND_RESULT``): ``refund_status`` SUCCESS / FAIL is the refund's outcome."""

    refund_status: str = ""
    refund_request_id: str = ""
    refund_id: str = ""
    refund_amount: Amount | None = None
    refund_time: datetime | None = None

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> RefundNotification:
        return cls(
            **cls._common(data),
            refund_status=str(data.get("refundStatus") or ""),
            refund_request_id=str(data.get("refundRequestId") or ""),
            refund_id=str(data.get("refundId") or ""),
            refund_amount=parse_amount(data.get("refundAmount")),
            refund_time=parse_time(data.get("refundTime")),
        )


NOTIFICATION_TYPES: dict[str, type[AntomNotification]] = {
    "PAYMENT_RESULT": PaymentNotification,
    "PAYMENT_PENDING": PaymentNotification,
    "CAPTURE_RESULT": CaptureNotification,
    "REFUND_RESULT": RefundNotification,
}
"""``notifyType`` → its typed view, for the notifications this library reads."""


def parse_notification(data: dict[str, Any]) -> AntomNotification | None:
    """The typed view of a notification body by its ``notifyType``; ``None`` for a type not read here."""
    kind = NOTIFICATION_TYPES.get(str(data.get("notifyType") or ""))
    return None if kind is None else kind.from_wire(data)
