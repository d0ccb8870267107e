"""Follow-up of unknown outcomes: settle every PENDING capture and refund and a cancel in flight, by inquiry
or by sending the same request again, with backoff; flag what stays unknown past ``FOLLOW_UP_WINDOW``.

Antom's rules (U, a timeout and a 5xx all mean "unknown"): a capture is settled by inquiryPayment's
``transactions[]``, and one Antom does not list is sent again with its own ``captureRequestId``; a refund is
settled by inquiryRefund, and one Antom has no record of is sent again with its own ``refundRequestId``; a
cancel is keyed by the payment, so it is simply sent again. Every call is made outside any transaction, and an
unknown answer to any of them only means "not settled yet".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

from ..client.errors import AntomFailed, AntomOutcomeUnknown
from ..conf import antom_settings
from ..exceptions import GatewayRefused, InvalidTransition
from ..models import Capture, Payment, Refund, Source
from . import actions
from .context import Change, Ctx, atomic, flag_once, get_client, lock
from .ledger import LedgerFact, settle
from .results import inquire, sync_payment

if TYPE_CHECKING:
    from ..client.api import AntomClient

logger = logging.getLogger("antom_django.services")
PENDING = Capture.Status.PENDING

NO_SUCH_REFUND = frozenset({"REFUND_NOT_EXIST", "ORDER_NOT_EXIST"})
"""inquiryRefund F codes saying Antom has no refund under our ``refundRequestId``: the request never reached it,
so it is sent again with the same id. Antom's table is not public; the simulator answers ORDER_NOT_EXIST."""


@dataclass(frozen=True)
class FollowUp:
    """What :func:`follow_up` left: whether anything about the payment is still unknown, and when to look again."""

    settled: bool
    """Nothing about this payment's captures, refunds or cancel is unknown any more."""
    next_at: datetime | None
    """When to look again (``None`` when settled)."""


def followup_delay(age: float, *, poll: float, sweep: float) -> float:
    """Seconds until the next look at something unknown for ``age`` seconds: half its age, within [poll, sweep]."""
    return min(max(age / 2, poll), sweep)


def follow_up(
    payment: Payment, *, source: str = Source.POLL, client: AntomClient | None = None, now: datetime | None = None
) -> FollowUp:
    """Settle what is unknown about ``payment`` (call outside any transaction); say when to look again.

    Cheap when nothing is unknown: two queries, no call to Antom. An unknown answer from Antom is not raised:
    it leaves things unsettled. Past ``FOLLOW_UP_WINDOW`` each row still unknown flags the payment once and
    the next look is ``SWEEP_INTERVAL`` away.
    """
    captures, refunds = _pending(payment)
    if not captures and not refunds and payment.cancel_requested_at is None:
        return FollowUp(True, None)
    antom = get_client(client)
    if captures:
        _follow_captures(payment, captures, source, antom)
        if refunds:  # the inquiry's transactions[] may have settled some of them
            refunds = list(Refund.objects.filter(pk__in=[row.pk for row in refunds], status=PENDING).order_by("pk"))
    for row in refunds:
        _follow_refund(row, source, antom)
    payment.refresh_from_db()
    if payment.cancel_requested_at is not None and payment.status != Payment.Status.CANCELLED:
        _resend_cancel(payment, source, antom)
        payment.refresh_from_db()
    return _schedule(payment, source, now or timezone.now())


def _pending(payment: Payment) -> tuple[list[Capture], list[Refund]]:
    return (
        list(Capture.objects.filter(payment=payment, status=PENDING).order_by("pk")),
        list(Refund.objects.filter(payment=payment, status=PENDING).order_by("pk")),
    )


# -- captures: inquiryPayment, then the same captureRequestId again --------------------------------------------


def _follow_captures(payment: Payment, captures: list[Capture], source: str, antom: AntomClient) -> None:
    try:
        answer = inquire(payment, source=source, client=antom).answer
    except AntomOutcomeUnknown as exc:
        logger.info("follow-up: inquiryPayment %s unknown: %s", payment.payment_request_id, exc)
        return
    if answer is None:  # Antom refused the inquiry: nothing learned, nothing to resend on
        return
    listed = {tx.request_id for tx in answer.transactions if tx.type == "CAPTURE"}
    for row in captures:
        # Listed and still PENDING: Antom is processing it (wait). Not listed: it never reached Antom.
        if row.capture_request_id not in listed:
            actions.retry_capture(row, source=source, client=antom)


# -- refunds: inquiryRefund, then the same refundRequestId again -----------------------------------------------


def _follow_refund(row: Refund, source: str, antom: AntomClient) -> None:
    try:
        answer = antom.inquiry_refund(refund_request_id=row.refund_request_id)
    except AntomOutcomeUnknown as exc:
        logger.info("follow-up: inquiryRefund %s unknown: %s", row.refund_request_id, exc)
        return
    except AntomFailed as exc:
        if exc.result_code in NO_SUCH_REFUND:
            actions.retry_refund(row, source=source, client=antom)
        else:
            logger.info("follow-up: inquiryRefund %s refused: %s", row.refund_request_id, exc.result_code)
        return
    fact = LedgerFact.from_refund_inquiry(answer)
    if fact.target is None:  # PROCESSING: Antom has it and is working on it
        return
    with atomic():
        change = Change(lock(row.payment_id), Ctx(source=source))
        row.refresh_from_db()
        settle(change, row, fact)
        change.flush()


# -- cancel: keyed by the payment, so sent again ---------------------------------------------------------------


def _resend_cancel(payment: Payment, source: str, antom: AntomClient) -> None:
    try:
        actions.cancel(payment, source=source, client=antom)
    except GatewayRefused as exc:  # Antom refused it: the mark is cleared
        logger.info("follow-up: cancel of %s refused: %s", payment.payment_request_id, exc.result_code)
    except AntomOutcomeUnknown as exc:
        logger.info("follow-up: cancel of %s unknown again: %s", payment.payment_request_id, exc)
    except InvalidTransition:
        # The payment moved on here (a notification closed it): Antom's record says whether the cancel happened,
        # and an inquiry that lists none clears the mark.
        try:
            sync_payment(payment, source=source, client=antom)
        except AntomOutcomeUnknown as exc:
            logger.info("follow-up: inquiryPayment %s unknown: %s", payment.payment_request_id, exc)


# -- what is left: the next look, and the review flag past the window ------------------------------------------


def _schedule(payment: Payment, source: str, now: datetime) -> FollowUp:
    captures, refunds = _pending(payment)
    unsettled: list[tuple[datetime, str]] = [
        (row.created_at, f"{row.noun.title()} {row.request_id}") for row in [*captures, *refunds]
    ]
    if payment.cancel_requested_at is not None and payment.status != Payment.Status.CANCELLED:
        unsettled.append((payment.cancel_requested_at, f"Cancel sent at {payment.cancel_requested_at.isoformat()}"))
    if not unsettled:
        return FollowUp(True, None)
    window, sweep = antom_settings.FOLLOW_UP_WINDOW, antom_settings.SWEEP_INTERVAL
    age = (now - min(since for since, _ in unsettled)).total_seconds()
    overdue = [what for since, what in unsettled if (now - since).total_seconds() >= window]
    if overdue:
        _flag_overdue(payment, overdue, source, window)
        delay = sweep
    else:
        delay = followup_delay(age, poll=antom_settings.POLL_INTERVAL, sweep=sweep)
    return FollowUp(False, now + timedelta(seconds=delay))


def _flag_overdue(payment: Payment, overdue: list[str], source: str, window: float) -> None:
    """Flag each overdue item once, ever."""
    flag_once(payment, [f"{what}: outcome still unknown after {window:g} s of follow-up" for what in overdue], source)
