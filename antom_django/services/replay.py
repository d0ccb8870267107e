"""Replaying a stored notification (the admin's "replay"): check again what can be checked, then apply it.

What is checked again: the row was verified on arrival, it came with this merchant's client id, and its body is
still the bytes that were verified (their SHA-256 is the stored ``fingerprint``). The RSA signature itself cannot
be checked again: the ``signature`` header (and the path it covered) are not stored.
"""

from __future__ import annotations

from django.utils.crypto import constant_time_compare

from ..conf import antom_settings
from ..exceptions import PaymentError
from ..models import Notification
from .intake import Intake, apply, fingerprint

Outcome = Notification.Outcome

REPLAYABLE = (Outcome.RECEIVED, Outcome.ERROR, Outcome.UNKNOWN_PAYMENT)
"""Outcomes worth applying again: not applied yet, failed, or about a payment that may exist now."""


class NotReplayable(PaymentError):
    """The stored notification cannot be applied again; ``str()`` says why."""


def check_stored(notification: Notification) -> None:
    """Raise :class:`NotReplayable` unless the stored notification is still the one that was verified."""
    if not notification.signature_verified:
        raise NotReplayable("its signature was never verified (it was rejected on arrival): it is not applied")
    expected = str(antom_settings.CLIENT_ID or "")
    if not expected or not constant_time_compare(notification.client_id, expected):
        raise NotReplayable("it was sent for another client id than this merchant's")
    if not notification.fingerprint:
        raise NotReplayable("it has no fingerprint, so its body cannot be shown to be the bytes that were verified")
    if not constant_time_compare(fingerprint(notification.body), notification.fingerprint):
        raise NotReplayable("its body changed since it was verified (the SHA-256 differs from the fingerprint)")


def replay_notification(notification: Notification) -> Intake:
    """Check the stored notification again, then apply it by the normal path (the notify view's).

    Only a notification not applied yet, failed (ERROR) or about a payment unknown at the time can be replayed;
    applied ones, duplicates, and those held for review or ignored would change nothing.
    """
    notification.refresh_from_db()
    if notification.outcome not in REPLAYABLE:
        raise NotReplayable(f"it is {notification.get_outcome_display().lower()}: applying it again changes nothing")
    check_stored(notification)
    reopened = Notification.objects.filter(pk=notification.pk, outcome__in=REPLAYABLE).update(
        outcome=Outcome.RECEIVED, error=""
    )
    if not reopened:
        raise NotReplayable("it was applied meanwhile")
    notification.refresh_from_db()
    return apply(notification)
