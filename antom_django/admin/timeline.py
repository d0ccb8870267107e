"""The payment page's timeline: its events and the notifications about it, in the order they happened."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils import timezone

from ..models import Notification, Payment, PaymentEvent
from .display import money

Kind = PaymentEvent.Kind

AMOUNT_KEYS = ("amount", "captured", "refunded", "captured_amount", "refunded_amount")
"""Event details in minor units of the payment's currency."""


@dataclass
class Entry:
    """One line of the timeline."""

    at: datetime
    kind: str
    """A CSS-friendly kind: status, capture, refund, request, unknown, review, notification."""
    title: str
    source: str = ""
    who: str = ""
    details: list[tuple[str, str]] = field(default_factory=list)
    link: str = ""
    link_text: str = ""
    problem: bool = False


def timeline(payment: Payment) -> list[Entry]:
    """Every event of the payment and every notification stored about it (two queries), oldest first."""
    events = payment.events.select_related("user", "capture", "refund", "notification").order_by("created_at", "pk")
    entries = [_event(payment, event) for event in events]
    entries += [_notification(n) for n in payment.notifications.order_by("created_at", "pk")]
    return sorted(entries, key=lambda e: e.at)


def _details(payment: Payment, detail: dict[str, Any], skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    shown = []
    for key, value in detail.items():
        if key in skip:
            continue
        if key in AMOUNT_KEYS and isinstance(value, int):
            value = money(value, payment.currency)
        shown.append((key.replace("_", " "), str(value)))
    return shown


def _event(payment: Payment, event: PaymentEvent) -> Entry:
    detail = dict(event.detail or {})
    entry = Entry(
        at=event.created_at,
        kind=event.kind.lower(),
        title=event.get_kind_display(),
        source=event.get_source_display(),
        who=event.user.get_username() if event.user else "",
    )
    row = event.capture or event.refund
    if event.kind == Kind.STATUS:
        entry.title = f"Status {event.from_status or '?'} → {event.to_status}"
    elif event.kind in (Kind.CAPTURE, Kind.REFUND) and row is not None:
        noun = row.noun.capitalize()
        change = f"{event.from_status} → {event.to_status}" if event.to_status else row.get_status_display()
        entry.title = f"{noun} {money(row.amount, row.currency)}: {change}"
        entry.problem = event.to_status == row.Status.FAILED
    elif event.kind == Kind.REQUEST:
        operation = str(detail.pop("operation", "request"))
        if detail.pop("scheduled", False):
            entry.title = f"Capture scheduled for the background work (bulk capture #{detail.pop('bulk_capture', '?')})"
        else:
            refused = detail.pop("refused", "")
            entry.title = f"{operation[:1].upper()}{operation[1:]} sent to Antom" + (
                f": refused ({refused})" if refused else ""
            )
            entry.problem = bool(refused)
    elif event.kind == Kind.OUTCOME_UNKNOWN:
        entry.title = f"Antom's answer to the {detail.pop('operation', 'request')} is unknown"
        entry.problem = True
    elif event.kind == Kind.REVIEW:
        if "cleared" in detail:
            entry.title = "Review flag cleared"
        else:
            entry.title = f"Flagged for review: {detail.pop('reason', '')}"
            entry.problem = True
    entry.details = _details(payment, detail)
    if event.signals:
        # Normally for milliseconds; past signal_after, its process died and no sweep has sent them yet.
        late = event.signal_after is not None and event.signal_after <= timezone.now()
        entry.details.append(("signals not sent yet", event.signals.replace(",", ", ")))
        entry.problem = entry.problem or late
    if row is not None:
        entry.details.insert(0, (f"{row.noun} request id", row.request_id))
    if event.notification_id:
        entry.link = reverse("admin:antom_django_notification_change", args=[event.notification_id])
        entry.link_text = f"notification #{event.notification_id}"
    return entry


def _notification(note: Notification) -> Entry:
    verified = "signature verified" if note.signature_verified else "signature NOT verified"
    entry = Entry(
        at=note.created_at,
        kind="notification",
        title=f"Notification {note.notify_type or '?'} received: {note.get_outcome_display().lower()}",
        source="Antom",
        details=[("verification", verified)],
        link=reverse("admin:antom_django_notification_change", args=[note.pk]),
        link_text=f"notification #{note.pk}",
        problem=note.outcome in (Notification.Outcome.ERROR, Notification.Outcome.REJECTED)
        or note.outcome == Notification.Outcome.NEEDS_REVIEW,
    )
    if note.received_count > 1:
        entry.details.append(("deliveries", str(note.received_count)))
    if note.error:
        entry.details.append(("note", note.error))
    return entry
