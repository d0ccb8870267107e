"""The state machine: the one table of allowed transitions, and how Antom's statuses map onto it.

Everything here is pure (no database, no network) so the rules can be read, tested and
reasoned about in one place. The statuses are defined here and the models use them, so the
models depend on the rules and never the other way round. The service layer asks :func:`decide` before changing any
status and does nothing unless the answer is :attr:`Decision.APPLY`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from django.db import models
from django.utils.translation import gettext_lazy as _


class PaymentStatus(models.TextChoices):
    """A payment's status (``Payment.Status``)."""

    INITIATED = "INITIATED", _("Initiated")
    PENDING = "PENDING", _("Pending")
    PROCESSING = "PROCESSING", _("Processing")
    AUTHORIZED = "AUTHORIZED", _("Authorized")
    PARTIALLY_CAPTURED = "PARTIALLY_CAPTURED", _("Partially captured")
    SUCCEEDED = "SUCCEEDED", _("Succeeded")
    REFUNDED = "REFUNDED", _("Refunded")
    FAILED = "FAILED", _("Failed")
    CANCELLED = "CANCELLED", _("Cancelled")


class LedgerStatus(models.TextChoices):
    """A capture's or refund's status (``Capture.Status``, ``Refund.Status``)."""

    PENDING = "PENDING", _("Pending")
    SUCCEEDED = "SUCCEEDED", _("Succeeded")
    FAILED = "FAILED", _("Failed")


P = PaymentStatus
L = LedgerStatus

PAYMENT_TRANSITIONS: Mapping[str, frozenset[str]] = {
    # Not PROCESSING: see decide_payment.
    P.INITIATED: frozenset({P.PENDING, P.AUTHORIZED, P.PARTIALLY_CAPTURED, P.SUCCEEDED, P.FAILED, P.CANCELLED}),
    P.PENDING: frozenset({P.PROCESSING, P.AUTHORIZED, P.PARTIALLY_CAPTURED, P.SUCCEEDED, P.FAILED, P.CANCELLED}),
    P.PROCESSING: frozenset({P.AUTHORIZED, P.PARTIALLY_CAPTURED, P.SUCCEEDED, P.FAILED, P.CANCELLED}),
    P.AUTHORIZED: frozenset({P.PARTIALLY_CAPTURED, P.SUCCEEDED, P.CANCELLED}),
    P.PARTIALLY_CAPTURED: frozenset({P.SUCCEEDED}),
    P.SUCCEEDED: frozenset({P.REFUNDED}),
    P.REFUNDED: frozenset(),
    P.FAILED: frozenset(),
    P.CANCELLED: frozenset(),
}
"""Payment status → the statuses it may move to. Forward only: no cycles, nothing leaves a final state."""

LEDGER_TRANSITIONS: Mapping[str, frozenset[str]] = {
    L.PENDING: frozenset({L.SUCCEEDED, L.FAILED}),
    L.SUCCEEDED: frozenset(),
    L.FAILED: frozenset(),
}
"""A capture or refund row (:class:`~antom_django.models.ledger.LedgerRow`): PENDING until Antom settles it."""
CAPTURE_TRANSITIONS = REFUND_TRANSITIONS = LEDGER_TRANSITIONS

PAYMENT_PENDING = frozenset({P.INITIATED, P.PENDING, P.PROCESSING})
"""The buyer's payment has no known outcome yet (keep polling)."""
PAYMENT_FINAL = frozenset(s for s, nxt in PAYMENT_TRANSITIONS.items() if not nxt)
PAYMENT_PAID = frozenset({P.AUTHORIZED, P.PARTIALLY_CAPTURED, P.SUCCEEDED, P.REFUNDED})
"""Money was authorized or moved."""
CAPTURABLE = frozenset({P.AUTHORIZED, P.PARTIALLY_CAPTURED})
CANCELLABLE = frozenset(s for s, nxt in PAYMENT_TRANSITIONS.items() if P.CANCELLED in nxt)
"""The table lets these move to CANCELLED (void an authorization, or cancel before the buyer pays)."""
REFUNDABLE = frozenset({P.PARTIALLY_CAPTURED, P.SUCCEEDED})

# Two final statuses that both mean "no money moved": learning one after the other is not a contradiction.
_NO_MONEY = frozenset({P.FAILED, P.CANCELLED})


class Decision(enum.Enum):
    """What to do with a fact that says "this is now in status X"."""

    APPLY = "apply"
    """A real, allowed, forward transition."""
    SAME = "same"
    """Already there: a duplicate; change nothing."""
    STALE = "stale"
    """An older fact after a newer one (the current status is reachable from it); change nothing."""
    CONFLICT = "conflict"
    """Contradicts what we know (e.g. FAIL after SUCCESS); change nothing, flag for review."""


def _reachable(table: Mapping[str, frozenset[str]], start: str, goal: str) -> bool:
    seen: set[str] = set()
    todo = [start]
    while todo:
        here = todo.pop()
        if here == goal:
            return True
        if here in seen:
            continue
        seen.add(here)
        todo.extend(table.get(here, ()))
    return False


def decide(
    table: Mapping[str, frozenset[str]], current: str, target: str, *, alike: frozenset[str] = frozenset()
) -> Decision:
    """Whether moving from ``current`` to ``target`` is a transition, a no-op or a contradiction.

    Two statuses both in ``alike`` say the same thing: learning one after the other is stale, not a contradiction.
    """
    if target not in table:
        raise ValueError(f"unknown status {target!r}")
    if current == target:
        return Decision.SAME
    if target in table.get(current, frozenset()):
        return Decision.APPLY
    if _reachable(table, target, current) or {current, target} <= alike:
        return Decision.STALE
    return Decision.CONFLICT


def decide_payment(current: str, target: str) -> Decision:
    """:func:`decide` over :data:`PAYMENT_TRANSITIONS`, with one rule of its own.

    "Processing" about an INITIATED payment (its session answer was lost: the buyer never got the session)
    is no news: nobody can have paid with it. It changes nothing, so the payment stays INITIATED and the
    session request is retried with the same id instead of leaving a payment with no session to pay with.
    """
    if current == P.INITIATED and target == P.PROCESSING:
        return Decision.STALE
    return decide(PAYMENT_TRANSITIONS, current, target, alike=_NO_MONEY)


def decide_ledger(current: str, target: str) -> Decision:
    return decide(LEDGER_TRANSITIONS, current, target)


decide_capture = decide_refund = decide_ledger


# -- Antom's vocabulary → ours ------------------------------------------------


def paid_status(is_authorization: bool) -> str:
    """A successful card payment is an authorization to capture, or (auto-captured) money taken."""
    return P.AUTHORIZED if is_authorization else P.SUCCEEDED


def payment_status_from_inquiry(payment_status: str, *, is_authorization: bool) -> str | None:
    """inquiryPayment ``paymentStatus`` → our status; ``None`` for values we do not know."""
    return {
        "SUCCESS": paid_status(is_authorization),
        "FAIL": P.FAILED,
        "CANCELLED": P.CANCELLED,
        # PENDING: "the buyer completed the payment, waiting for the final result".
        "PENDING": P.PROCESSING,
        "PROCESSING": P.PROCESSING,
    }.get(payment_status)


def payment_status_from_notification(notify_type: str, result_status: str, *, is_authorization: bool) -> str | None:
    """notifyPayment (``PAYMENT_RESULT`` / ``PAYMENT_PENDING``) → our status; ``None`` if it says nothing."""
    if notify_type == "PAYMENT_PENDING":
        # Antom: S here means "the buyer finished, the result is not final yet", never success.
        return P.PROCESSING if result_status in ("S", "U") else None
    if notify_type == "PAYMENT_RESULT":
        return {"S": paid_status(is_authorization), "F": P.FAILED, "U": P.PROCESSING}.get(result_status)
    return None


def ledger_status_from_result(result_status: str) -> str | None:
    """A capture/refund ``resultStatus`` → ledger status; U (and anything else) settles nothing."""
    return {"S": L.SUCCEEDED, "F": L.FAILED}.get(result_status)


def refund_status_from_notification(refund_status: str, result_status: str) -> str | None:
    """REFUND_RESULT: ``refundStatus`` SUCCESS/FAIL decides; ``result`` only when it is absent."""
    if refund_status:
        return {"SUCCESS": L.SUCCEEDED, "FAIL": L.FAILED}.get(refund_status)
    return ledger_status_from_result(result_status)


def ledger_status_from_transaction(transaction_status: str, result_status: str | None) -> str | None:
    """An inquiry ``transactions[]`` item → ledger status.

    Antom's guide shows ``transactionResult`` carrying the outcome (a failed capture with
    ``transactionStatus`` SUCCESS and ``resultStatus`` F), so the result wins when present.
    """
    if result_status:
        return ledger_status_from_result(result_status)
    return {"SUCCESS": L.SUCCEEDED, "FAIL": L.FAILED, "CANCELLED": L.FAILED}.get(transaction_status)


def payment_status_from_ledger(
    current: str, *, amount: int, captured: int, refunded: int, final_capture: bool = False
) -> str:
    """The status the capture/refund totals call for (``current`` if they call for nothing new)."""
    target = current
    if captured > 0:
        target = P.SUCCEEDED if captured >= amount or final_capture else P.PARTIALLY_CAPTURED
        if current in (P.SUCCEEDED, P.REFUNDED):
            target = current
    if target == P.SUCCEEDED and 0 < captured <= refunded:
        target = P.REFUNDED
    return target
