"""``Notification``: every message Antom sent us, stored raw before it is applied."""

from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """One inbound notification exactly as received, with what we made of it."""

    class Outcome(models.TextChoices):
        RECEIVED = "RECEIVED", _("Received, not yet applied")
        APPLIED = "APPLIED", _("Applied")
        DUPLICATE = "DUPLICATE", _("Duplicate of an applied notification")
        REJECTED = "REJECTED", _("Rejected (signature or format)")
        UNKNOWN_PAYMENT = "UNKNOWN_PAYMENT", _("No such payment here")
        IGNORED = "IGNORED", _("Not a type we act on")
        ERROR = "ERROR", _("Error while applying")
        NEEDS_REVIEW = "NEEDS_REVIEW", _("Signed but unusable; kept for an operator")

    body = models.TextField(help_text="The raw request body, as received (signatures cover these bytes).")
    notify_type = models.CharField(max_length=32, blank=True, default="", help_text="notifyType, e.g. PAYMENT_RESULT.")
    client_id = models.CharField(max_length=128, blank=True, default="", help_text="client-id header.")
    request_time = models.CharField(max_length=64, blank=True, default="", help_text="request-time header, as sent.")
    signature_verified = models.BooleanField(default=False, help_text="The signature verified with Antom's key.")
    # Kept so a replay can verify the RSA signature again: it covers "POST <signed_path>\n<client_id>.<request_time>.<body>".
    # A database default, so rows stored before these columns existed read as "" (no signature: not replayable).
    signature = models.TextField(
        blank=True,
        default="",
        db_default="",
        help_text="signature header, as sent (verified notifications only; empty on rows stored before 0009).",
    )
    signed_path = models.TextField(
        blank=True,
        default="",
        db_default="",
        help_text="The request path the signature covered (request.path, with any SCRIPT_NAME).",
    )
    outcome = models.CharField(
        max_length=20,
        choices=Outcome.choices,
        default=Outcome.RECEIVED,
        help_text="What applying it did.",
    )
    error = models.TextField(blank=True, default="", help_text="Why it was rejected or failed, or what to review.")
    payment = models.ForeignKey(
        "antom_django.Payment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
        db_index=False,
        help_text="The payment it was about, once found.",
    )
    dedupe_key = models.CharField(
        max_length=200,
        null=True,
        blank=True,
        help_text="notifyType + Antom id + result, set only on the applied copy: duplicates collide with it.",
    )
    fingerprint = models.CharField(
        max_length=64,
        null=True,
        blank=True,
        editable=False,
        help_text="SHA-256 (hex) of the raw body of a verified message: the same bytes again are counted on this row.",
    )
    received_count = models.PositiveBigIntegerField(
        default=1,
        help_text="Deliveries of this message: resends of the same bytes, and copies of it in other bytes folded in.",
    )
    remote_addr = models.GenericIPAddressField(null=True, blank=True, help_text="Sender's IP address.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, help_text="When it arrived.")
    last_received_at = models.DateTimeField(default=timezone.now, help_text="When its latest delivery arrived.")
    processed_at = models.DateTimeField(null=True, blank=True, help_text="When it was applied (or refused).")

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        # One row is inserted and updated per notification: only indexes a query needs. The partial
        # indexes hold the few rows still to be applied and the rejected rows that pruning deletes,
        # not the applied majority; uniqueness is a constraint, not unique=True, which on PostgreSQL
        # adds a second, varchar_pattern_ops ("_like") index.
        indexes = [
            models.Index(fields=["payment", "created_at"], name="antom_notif_payment_idx"),
            models.Index(
                fields=["id"],
                condition=models.Q(outcome__in=["RECEIVED", "ERROR"]),
                name="antom_notif_pending_idx",
            ),
            models.Index(fields=["id"], condition=models.Q(outcome="REJECTED"), name="antom_notif_rejected_idx"),
            # The admin's outcome filter and the reconciliation page ask for these (rare) outcomes newest first;
            # no row is inserted with one, so storing a notification costs nothing more.
            models.Index(
                fields=["outcome", "created_at"],
                condition=models.Q(outcome__in=["UNKNOWN_PAYMENT", "NEEDS_REVIEW", "IGNORED", "DUPLICATE"]),
                name="antom_notif_outcome_idx",
            ),
        ]
        # The fingerprint's unique index is what a replay collides with (INSERT … ON CONFLICT): a message
        # sent again and again is one row and a count. NULL (rejected and older rows) never collides.
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], name="antom_notif_dedupe_key_uniq"),
            models.UniqueConstraint(fields=["fingerprint"], name="antom_notif_fingerprint_uniq"),
        ]
        permissions = [("replay_notification", "Can replay a stored notification")]

    def __str__(self) -> str:
        return f"{self.notify_type or '?'} {self.outcome} #{self.pk}"

    def payload(self) -> dict[str, Any]:
        """The body parsed as a JSON object; ``ValueError`` if it is not one."""
        data = json.loads(self.body)
        if not isinstance(data, dict):
            raise ValueError("notification body is not a JSON object")
        return data
