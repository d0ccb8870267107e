"""Replaying a stored notification (the admin's "replay"): verify it again, then apply it by the normal path.

What is checked again: the row was verified on arrival, it came with this merchant's client id, its body is
still the bytes that were verified (their SHA-256 is the stored ``fingerprint``), and the RSA signature stored
with it verifies with Antom's public key over ``POST <signed_path>\n<client-id>.<request-time>.<body>``, as the
notify view verified it. A row stored before the signature was kept (migration 0009) cannot be verified and is
not replayed; "Sync with Antom" on its payment asks Antom for the same facts instead.
"""

from __future__ import annotations

from django.utils.crypto import constant_time_compare

from ..client.errors import ConfigurationError, SignatureError
from ..client.signing import Verifier
from ..conf import antom_settings
from ..exceptions import PaymentError
from ..models import Notification
from .intake import Intake, apply, fingerprint

Outcome = Notification.Outcome

REPLAYABLE = (Outcome.RECEIVED, Outcome.ERROR, Outcome.UNKNOWN_PAYMENT)
"""Outcomes worth applying again: not applied yet, failed, or about a payment that may exist now."""

SIGNED_METHOD = "POST"
"""The method every stored notification came with (``notify/`` takes POST only), as its signature covers it."""


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
    verify_signature(notification)


def verify_signature(notification: Notification) -> None:
    """Verify the stored signature again with the configured Antom public key (the notify view's check)."""
    if not notification.signature:
        raise NotReplayable(
            "its signature was not stored (it arrived before migration 0009), so it cannot be verified again; "
            "use Sync with Antom on its payment instead"
        )
    try:
        key = antom_settings.antom_public_key
    except ConfigurationError:
        raise NotReplayable("ANTOM_PUBLIC_KEY is not configured, so its signature cannot be verified") from None
    try:
        Verifier(key).verify_header(
            SIGNED_METHOD,
            notification.signed_path,
            notification.client_id,
            notification.request_time,
            notification.body.encode(),
            notification.signature,
        )
    except SignatureError as exc:
        raise NotReplayable(f"its stored signature fails verification: {exc.message}") from None


def replay_notification(notification: Notification) -> Intake:
    """Check the stored notification again (its signature verified anew), then apply it by the normal path
    (the notify view's).

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
    # Not read again: what is applied is the instance whose body and signature were just verified.
    notification.outcome, notification.error = Outcome.RECEIVED, ""
    return apply(notification)
