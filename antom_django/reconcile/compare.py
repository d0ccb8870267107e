"""Local state against Antom's inquiryPayment answer: the differences, each of a :class:`Kind`.

Pure: it reads a payment (with its captures and refunds) and an answer, and changes nothing. Antom's current
status is the truth here, which is stricter than the state machine's rule for late messages (a stale
"paid" after our "cancelled" is no news to apply, but Antom still saying SUCCESS is a difference).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from ..client.money import format_amount
from ..client.types import PaymentInquiry, Transaction
from ..models import Capture, Payment, Refund
from ..state import (
    PAYMENT_PAID,
    PAYMENT_PENDING,
    Decision,
    decide_ledger,
    decide_payment,
    ledger_status_from_transaction,
    payment_status_from_inquiry,
)

P = Payment.Status
L = Capture.Status


class Kind(enum.StrEnum):
    """What kind of difference."""

    BEHIND = "behind"
    CONFLICT = "conflict"
    AMOUNT = "amount"
    MISSING_HERE = "missing_here"
    MISSING_AT_ANTOM = "missing_at_antom"
    UNREACHABLE = "unreachable"

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self])


KIND_LABELS = {
    Kind.BEHIND: _("Antom is ahead (a sync applies it)"),
    Kind.CONFLICT: _("Antom contradicts us"),
    Kind.AMOUNT: _("Amount or currency differs"),
    Kind.MISSING_HERE: _("Antom has it, we do not"),
    Kind.MISSING_AT_ANTOM: _("We have it, Antom does not"),
    Kind.UNREACHABLE: _("Antom did not answer"),
}

SYNC_FIXES = frozenset({Kind.BEHIND, Kind.MISSING_HERE})
"""What :func:`antom_django.services.sync_payment` applies (within the ledgers' bounds); the rest needs a person."""


@dataclass(frozen=True)
class Difference:
    """One thing on which we and Antom disagree, about a payment or one of its captures or refunds."""

    kind: Kind
    payment_pk: int
    payment_request_id: str
    subject: str
    """``payment``, ``capture <captureRequestId>`` or ``refund <refundRequestId>``."""
    ours: str
    antom: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the admin keeps the last check in the session)."""
        return {**asdict(self), "kind": str(self.kind)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Difference:
        return cls(
            kind=Kind(data["kind"]),
            payment_pk=int(data["payment_pk"]),
            payment_request_id=str(data["payment_request_id"]),
            subject=str(data["subject"]),
            ours=str(data["ours"]),
            antom=str(data["antom"]),
        )


def _difference(payment: Payment, kind: Kind, subject: str, ours: str, antom: str) -> Difference:
    return Difference(kind, payment.pk, payment.payment_request_id, subject, ours, antom)


def compare_payment(payment: Payment, answer: PaymentInquiry) -> list[Difference]:
    """Every difference between ``payment`` (captures and refunds as stored) and Antom's answer about it."""
    found: list[Difference] = []
    if answer.payment_amount is not None and answer.payment_amount != payment.money:
        found.append(_difference(payment, Kind.AMOUNT, "payment", str(payment.money), str(answer.payment_amount)))
    status = _status_difference(payment, answer.payment_status)
    if status is not None:
        found.append(status)
    found.extend(_ledger_differences(payment, Capture, list(payment.captures.all()), answer.transactions))
    found.extend(_ledger_differences(payment, Refund, list(payment.refunds.all()), answer.transactions))
    return found


def _status_difference(payment: Payment, antom_status: str) -> Difference | None:
    target = payment_status_from_inquiry(antom_status, is_authorization=payment.is_authorization)
    if target is None:
        return None
    ours = payment.status
    if target in PAYMENT_PENDING:
        # Antom is still processing: a difference only if we already settled it.
        if ours in PAYMENT_PENDING:
            return None
        return _difference(payment, Kind.CONFLICT, "payment", ours, antom_status)
    if _alike(ours, target):
        return None
    kind = Kind.BEHIND if decide_payment(ours, target) is Decision.APPLY else Kind.CONFLICT
    return _difference(payment, kind, "payment", ours, antom_status)


def _alike(ours: str, target: str) -> bool:
    """Our status says what Antom's does: paid is paid (captures and refunds move ours on), no money is no money."""
    if target in PAYMENT_PAID:
        return ours in PAYMENT_PAID
    return {ours, target} <= {P.FAILED, P.CANCELLED}


def _ledger_differences(
    payment: Payment, ledger: type[Capture | Refund], rows: list[Any], transactions: Iterable[Transaction]
) -> list[Difference]:
    noun = ledger.noun
    found: list[Difference] = []
    unmatched = list(rows)
    for tx in transactions:
        if tx.type != noun.upper():
            continue
        antom_status = ledger_status_from_transaction(tx.status, tx.result.status if tx.result else None)
        row = _match(unmatched, tx, automatic=ledger is Capture)
        subject = f"{noun} {row.request_id if row is not None else tx.request_id or tx.id}"
        if row is None:
            if antom_status == L.SUCCEEDED:
                amount = str(tx.amount) if tx.amount is not None else "?"
                found.append(_difference(payment, Kind.MISSING_HERE, subject, "no row", f"SUCCEEDED {amount}"))
            continue
        unmatched.remove(row)
        if tx.amount is not None and tx.amount != row.money:
            found.append(_difference(payment, Kind.AMOUNT, subject, str(row.money), str(tx.amount)))
        if antom_status is None:
            if row.status != L.PENDING:
                found.append(_difference(payment, Kind.CONFLICT, subject, row.status, tx.status or "PROCESSING"))
        elif antom_status != row.status:
            kind = Kind.BEHIND if decide_ledger(row.status, antom_status) is Decision.APPLY else Kind.CONFLICT
            found.append(_difference(payment, kind, subject, row.status, antom_status))
    for row in unmatched:
        if row.status == L.FAILED:
            continue
        note = "no record" if row.status == L.SUCCEEDED else "no record (a retry sends it)"
        ours = f"{row.status} {format_amount(row.amount, row.currency)}"
        found.append(_difference(payment, Kind.MISSING_AT_ANTOM, f"{noun} {row.request_id}", ours, note))
    return found


def _match(rows: list[Any], tx: Transaction, *, automatic: bool) -> Any:
    """Our row for Antom's transaction, as the service layer finds it: request id, Antom's id, then (captures)
    an automatic capture still waiting for its ids."""
    for row in rows:
        if tx.request_id and row.request_id == tx.request_id:
            return row
    for row in rows:
        if tx.id and row.antom_id == tx.id:
            return row
    if automatic:
        for row in rows:
            if row.origin == Capture.Origin.AUTOMATIC and not row.antom_id:
                return row
    return None


def compare_absent(payment: Payment) -> list[Difference]:
    """Antom has no payment under our request id: a difference only if we know it was paid or has Antom's id."""
    if payment.payment_id or payment.status in PAYMENT_PAID:
        ours = f"{payment.status} {payment.payment_id or ''}".strip()
        return [_difference(payment, Kind.MISSING_AT_ANTOM, "payment", ours, "no such payment")]
    return []
