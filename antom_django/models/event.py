"""``PaymentEvent``: the append-only timeline of everything that happened to a payment, and why."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    """Who told us, or who asked."""

    NOTIFICATION = "NOTIFICATION", _("Antom notification")
    POLL = "POLL", _("Inquiry (poll)")
    ADMIN = "ADMIN", _("Admin")
    API = "API", _("API / code")
    SWEEP = "SWEEP", _("Reconciliation sweep")
    SYSTEM = "SYSTEM", _("System")


class PaymentEvent(models.Model):
    """One line of a payment's timeline, never deleted with the payment; immutable but for its signal outbox.

    An event that announces signals carries their names in :attr:`signals` from its INSERT; they are cleared
    once sent after the commit, so a process that dies in between leaves them for the sweep
    (:mod:`antom_django.services.outbox`).
    """

    class Kind(models.TextChoices):
        STATUS = "STATUS", _("Payment status changed")
        CAPTURE = "CAPTURE", _("Capture status changed")
        REFUND = "REFUND", _("Refund status changed")
        REQUEST = "REQUEST", _("Request sent to Antom")
        OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN", _("Antom's answer unknown")
        REVIEW = "REVIEW", _("Flagged for review")
        EXPIRING = "EXPIRING", _("Authorization expiring")

    payment = models.ForeignKey(
        "antom_django.Payment",
        on_delete=models.PROTECT,
        related_name="events",
        db_index=False,
        help_text="The payment this happened to.",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, help_text="What happened.")
    from_status = models.CharField(max_length=20, blank=True, default="", help_text="Status before (if it changed).")
    to_status = models.CharField(max_length=20, blank=True, default="", help_text="Status after (if it changed).")
    source = models.CharField(max_length=16, choices=Source.choices, help_text="Who told us or who asked.")
    capture = models.ForeignKey(
        "antom_django.Capture",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
        db_index=False,
        help_text="The capture concerned, if any.",
    )
    refund = models.ForeignKey(
        "antom_django.Refund",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
        db_index=False,
        help_text="The refund concerned, if any.",
    )
    notification = models.ForeignKey(
        "antom_django.Notification",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
        db_index=False,
        help_text="The notification that carried the fact, if any.",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        help_text="The staff member or user who asked, if any.",
    )
    detail = models.JSONField(
        default=dict, blank=True, help_text="Facts behind the event: result codes, amounts, reasons."
    )
    created_at = models.DateTimeField(auto_now_add=True, help_text="When it was recorded.")
    signals = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="Signals this event announces that are not yet known to be sent (names, comma-separated).",
    )
    signal_after = models.DateTimeField(
        null=True,
        blank=True,
        help_text="While signals are unsent: when the sweep may send them (their process may have died).",
    )

    class Meta:
        verbose_name = _("payment event")
        verbose_name_plural = _("payment events")
        ordering = ["created_at", "pk"]
        # One row is inserted per notification. The optional foreign keys are NULL on most rows, so each
        # is indexed only where set: enough for PROTECT and SET_NULL lookups when a row they point to goes.
        indexes = [
            models.Index(fields=["payment", "created_at"], name="antom_event_payment_idx"),
            models.Index(fields=["capture"], condition=models.Q(capture__isnull=False), name="antom_event_capture_idx"),
            models.Index(fields=["refund"], condition=models.Q(refund__isnull=False), name="antom_event_refund_idx"),
            models.Index(
                fields=["notification"], condition=models.Q(notification__isnull=False), name="antom_event_notif_idx"
            ),
            models.Index(fields=["user"], condition=models.Q(user__isnull=False), name="antom_event_user_idx"),
            # The signal outbox: only rows whose signals are unsent (for milliseconds, unless a process died).
            models.Index(
                fields=["signal_after"], condition=models.Q(signal_after__isnull=False), name="antom_event_outbox_idx"
            ),
        ]

    def __str__(self) -> str:
        change = f" {self.from_status}→{self.to_status}" if self.to_status else ""
        return f"{self.get_kind_display()}{change} ({self.source})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("payment events are append-only; record a new event instead")
        super().save(*args, **kwargs)
