"""Apply a stored notification: dispatch on ``notifyType``, deduplicate in the database, record the outcome."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, IntegrityError, connections, router
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from ..client.types import (
    AntomNotification,
    CaptureNotification,
    PaymentNotification,
    RefundNotification,
    Result,
    parse_amount,
    parse_notification,
)
from ..models import Capture, Notification, Payment, Refund, Source
from .context import Change, Ctx, atomic, changing, flag
from .ledger import LedgerFact, apply_ledger_fact
from .results import apply_payment_message
from .rows import update_row
from .validation import known_ids, unusable

logger = logging.getLogger("antom_django.services")
Outcome = Notification.Outcome

PENDING = (Outcome.RECEIVED, Outcome.ERROR)
"""Outcomes of a stored notification still to be applied (ERROR: it failed; retried when asked)."""


def dedupe_key(data: dict[str, Any]) -> str:
    """notifyType + Antom's id + the result it reports + the amount it names.

    PAYMENT_PENDING and PAYMENT_RESULT differ by type; S and F by status; and a message naming
    another amount is never mistaken for a resend, so its mismatch is seen and flagged.
    """
    notify_type = str(data.get("notifyType") or "")
    result = Result.from_wire(data.get("result"))
    status = result.status if result else ""
    if notify_type == "CAPTURE_RESULT":
        ident, amount = data.get("captureId") or data.get("captureRequestId"), data.get("captureAmount")
    elif notify_type == "REFUND_RESULT":
        ident, amount = data.get("refundId") or data.get("refundRequestId"), data.get("refundAmount")
        status = f"{data.get('refundStatus') or ''}/{status}"
    else:
        ident, amount = data.get("paymentId") or data.get("paymentRequestId"), data.get("paymentAmount")
    money = parse_amount(amount)
    named = f"{money.value}{money.currency}" if money else ""
    return f"{notify_type}:{ident or ''}:{status}:{named}"[:200]


UNREAD_ON_APPLY = ("session_data", "session_request", "session_response", "gateway_data")
"""Payment columns applying a notification never reads (bulky; ``gateway_data`` is only replaced). The JSON ones
must be here: a column with a converter makes :func:`_compile_locked_read` give up, and every read pays the ORM."""


@dataclass(frozen=True)
class _LockedRead:
    """A compiled ``SELECT … FOR UPDATE`` of one payment and the columns it returns, in order."""

    sql: str
    attnames: tuple[str, ...]


_LOCKED_READS: dict[tuple[str, str], _LockedRead | None] = {}


def _compile_locked_read(alias: str, field: str, value: Any) -> _LockedRead | None:
    """The ORM's own SQL for the locked read, or ``None`` where it cannot be replayed as is (bound LIMIT,
    columns that need converters: e.g. SQLite's datetimes); those databases use the ORM every time."""
    attnames = tuple(f.attname for f in Payment._meta.concrete_fields if f.name not in UNREAD_ON_APPLY)
    rows = Payment.objects.using(alias).select_for_update().filter(**{field: value}).order_by("pk")
    compiler = rows.values_list(*attnames)[:1].query.get_compiler(alias)
    sql, params = compiler.as_sql()
    if list(params) != [value] or compiler.get_converters([col for col, _, _ in compiler.select]):
        return None
    return _LockedRead(sql, attnames)


def _locked(field: str, value: Any) -> Payment | None:
    """The first payment whose ``field`` is ``value``, read with its row locked (inside a transaction).

    The statement is compiled by the ORM once per database and field, then replayed with the new value:
    building this 31-column SELECT costs Django several times the CPU PostgreSQL spends running it, and
    it is the one read every notification makes.
    """
    alias = router.db_for_write(Payment)
    if (alias, field) not in _LOCKED_READS:
        _LOCKED_READS[(alias, field)] = _compile_locked_read(alias, field, value)
    read = _LOCKED_READS[(alias, field)]
    if read is None:
        rows = Payment.objects.using(alias).select_for_update().defer(*UNREAD_ON_APPLY)
        return rows.filter(**{field: value}).order_by("pk").first()
    with connections[alias].cursor() as cursor:
        cursor.execute(read.sql, [value])
        row = cursor.fetchone()
    return None if row is None else Payment.from_db(alias, list(read.attnames), row)


def _ledger_payment_pk(note: AntomNotification) -> int | None:
    """For a capture or refund result: the payment of our ledger row with that request id."""
    rows: QuerySet[Any]
    if isinstance(note, CaptureNotification) and note.capture_request_id:
        rows = Capture.objects.filter(Capture.with_request_id(note.capture_request_id))
    elif isinstance(note, RefundNotification) and note.refund_request_id:
        rows = Refund.objects.filter(Refund.with_request_id(note.refund_request_id))
    else:
        return None
    return rows.values_list("payment_id", flat=True).first()


def lock_payment_for(note: AntomNotification) -> Payment | None:
    """The payment a notification is about, locked: by our ledger row, our request id, then Antom's id."""
    pk = _ledger_payment_pk(note)
    if pk is not None:
        return _locked("pk", pk)
    found = _locked("payment_request_id", note.payment_request_id) if note.payment_request_id else None
    if found is None and note.payment_id:
        found = _locked("payment_id", note.payment_id)
    return found


def _apply_payment(change: Change, note: PaymentNotification) -> None:
    apply_payment_message(change, note)


def _apply_capture(change: Change, note: CaptureNotification) -> None:
    apply_ledger_fact(change, Capture, LedgerFact.from_capture(note))


def _apply_refund(change: Change, note: RefundNotification) -> None:
    apply_ledger_fact(change, Refund, LedgerFact.from_refund(note))


HANDLERS: dict[str, Callable[[Change, Any], None]] = {
    "PAYMENT_RESULT": _apply_payment,
    "PAYMENT_PENDING": _apply_payment,
    "CAPTURE_RESULT": _apply_capture,
    "REFUND_RESULT": _apply_refund,
}
"""``notifyType`` → what applies it (to the :class:`~antom_django.client.types.AntomNotification` of that type)."""


def _finish(notification: Notification, outcome: str, *, error: str = "", payment: Payment | None = None) -> str:
    notification.outcome = outcome
    notification.error = error
    notification.processed_at = timezone.now()
    fields = ["outcome", "error", "processed_at", "notify_type"]
    if payment is not None:
        notification.payment = payment
        fields.append("payment")
    notification.save(update_fields=fields)
    return outcome


def _claim(notification: Notification, key: str, payment: Payment) -> dict[str, Any] | None:
    """Take the dedupe key and record the outcome in one UPDATE; it commits (or not) with the effects.
    Returns the values written, for the caller to copy onto the instance once they are committed; ``None``
    if the row is no longer waiting (a concurrent delivery of the same bytes applied it first)."""
    values = {"dedupe_key": key, "outcome": Outcome.APPLIED, "error": "", "processed_at": timezone.now()}
    claimed = update_row(
        Notification,
        notification.pk,
        {**values, "payment": payment.pk, "notify_type": notification.notify_type},
        where_in=("outcome", PENDING),
    )
    return {**values, "payment": payment} if claimed else None


def _fold(notification: Notification, key: str) -> bool:
    """Count a copy of an applied message (the same dedupe key in other bytes) on the row holding the key,
    and delete the copy: resends never add rows, whatever their bytes. False if no other row holds the key."""
    with atomic():
        rows = Notification.objects.select_for_update().filter(pk=notification.pk, outcome__in=PENDING)
        copy = rows.values_list("received_count", "last_received_at").first()
        if copy is None:  # a concurrent delivery of the same bytes folded it already
            return True
        count, last = copy
        original = Notification.objects.filter(dedupe_key=key).exclude(pk=notification.pk)
        when = Greatest("last_received_at", Value(last, output_field=Notification._meta.get_field("last_received_at")))
        if not original.update(received_count=F("received_count") + count, last_received_at=when):
            return False
        Notification.objects.filter(pk=notification.pk).delete()
    return True


def hold_for_review(notification: Notification, data: Any, problem: str) -> str:
    """A message Antom signed that we cannot use: kept raw, never applied, left for an operator.

    The payment it names (when its ids can be read) is flagged for review; the outcome NEEDS_REVIEW
    is final, so the message is acknowledged and no worker picks it again.
    """
    ids = known_ids(data)  # only the ids that are safe to look up: the rest of the body is not read
    what = ids.get("notifyType", "notification")
    with atomic():
        payment = lock_payment_for(parse_notification(ids) or PaymentNotification.from_wire(ids))
        if payment is not None:
            with changing(payment, Ctx(source=Source.NOTIFICATION, notification=notification)) as change:
                flag(change, f"A signed {what} could not be used: {problem}")
        _finish(notification, Outcome.NEEDS_REVIEW, error=f"not applied: {problem}", payment=payment)
    logger.warning("antom notification %s kept for review: %s", notification.pk, problem)
    return Outcome.NEEDS_REVIEW


def apply_notification(notification: Notification, data: dict[str, Any] | None = None) -> str:
    """Apply a stored, signature-verified notification; returns its :class:`Notification.Outcome`.

    ``data`` is its body already parsed (the notify view has it); otherwise the stored body is parsed.

    APPLIED (also when it changed nothing new, or flagged the payment for review: see
    ``notification.error``), DUPLICATE (the same message was applied already: this copy, in other
    bytes, is counted on that row and deleted; or a concurrent delivery of these bytes applied it),
    UNKNOWN_PAYMENT, IGNORED (a notifyType we do not act on), REJECTED (not verified, or
    not a JSON object), NEEDS_REVIEW (signed, but a field cannot be read or stored: see
    :func:`hold_for_review`). Every one of these should be acknowledged to Antom. A failure of our
    own (database down) propagates, rolls back the effects and leaves the notification
    RECEIVED, so the view answers non-200 and Antom retries.
    """
    if not notification.signature_verified:
        return _finish(notification, Outcome.REJECTED, error="signature not verified; not applied")
    if data is None:
        try:
            data = notification.payload()
        except ValueError:
            return _finish(notification, Outcome.REJECTED, error="body is not a JSON object")
        except RecursionError:  # parsed at intake, but this stack is deeper
            return hold_for_review(notification, None, "the body is nested too deeply to read")
    problem = unusable(data)
    if problem:
        return hold_for_review(notification, data, problem)
    notification.notify_type = str(data.get("notifyType") or notification.notify_type)[:32]
    handler = HANDLERS.get(notification.notify_type)
    note = parse_notification(data)
    if handler is None or note is None:
        return _finish(notification, Outcome.IGNORED, error=f"notifyType {notification.notify_type!r} is not handled")
    key = dedupe_key(data)
    ctx = Ctx(source=Source.NOTIFICATION, notification=notification)
    payment: Payment | None = None
    try:
        with atomic():
            payment = lock_payment_for(note)
            if payment is None:
                return _finish(notification, Outcome.UNKNOWN_PAYMENT, error="no payment matches this notification")
            # The key is claimed (outcome included) in the transaction that applies the effects: a failure
            # un-claims it, and a duplicate delivered at the same time waits for the payment's row lock,
            # then collides on the unique key.
            written = _claim(notification, key, payment)
            if written is None:
                return Outcome.DUPLICATE
            change = Change(payment, ctx)
            handler(change, note)
            change.flush()
            if change.reviews:
                written["error"] = "\n".join(change.reviews)
                update_row(Notification, notification.pk, {"error": written["error"]})
    except IntegrityError:
        if not _fold(notification, key):
            raise
        logger.info("duplicate notification %s (%s): counted on the applied copy", notification.pk, key)
        return Outcome.DUPLICATE
    for name, value in written.items():
        setattr(notification, name, value)
    return Outcome.APPLIED


def mark_error(notification: Notification, exc: BaseException) -> None:
    """Record why applying failed, in its own commit so the record survives the failure.

    Only while no delivery came since this attempt read the row (its ``received_count`` unchanged): a resend
    that arrived meanwhile (waiting on the row lock of the attempt that failed) made it ``RECEIVED`` again
    and was acknowledged in queue mode, so the row stays ``RECEIVED`` for a worker to apply again.
    """
    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000]
    rows = Notification.objects.filter(
        pk=notification.pk, outcome__in=[Outcome.RECEIVED, Outcome.ERROR], received_count=notification.received_count
    )
    try:
        rows.update(outcome=Outcome.ERROR, error=detail, processed_at=timezone.now())
    except DatabaseError:
        logger.warning("antom notify: could not record the failure of notification %s", notification.pk)
