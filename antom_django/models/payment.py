"""``Payment``: one Antom payment (session, authorization, captures and refunds totals) for one order."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..client.money import Amount, format_amount
from ..state import PAYMENT_FINAL, PAYMENT_PAID, PAYMENT_PENDING, PaymentStatus
from .base import TimeStampedModel, check_constraint, new_payment_request_id


class Payment(TimeStampedModel):
    """A card payment through Antom; money in integer minor units of ``currency``."""

    Status = PaymentStatus

    payment_request_id = models.CharField(
        max_length=64,
        default=new_payment_request_id,
        editable=False,
        help_text="Our paymentRequestId, generated and saved before the first call to Antom (idempotency key).",
    )
    payment_id = models.CharField(
        max_length=64, blank=True, default="", help_text="Antom's paymentId, once Antom has told us."
    )
    status = models.CharField(
        max_length=20,
        choices=Status.choices,
        default=Status.INITIATED,
        help_text="Where the payment is in its forward-only state machine (antom_django.state).",
    )
    amount = models.PositiveBigIntegerField(help_text="Amount to pay, in integer minor units of the currency.")
    currency = models.CharField(max_length=3, help_text="ISO 4217 currency code.")
    captured_amount = models.PositiveBigIntegerField(
        default=0, help_text="Sum of successful captures, in minor units (derived from the capture ledger)."
    )
    refunded_amount = models.PositiveBigIntegerField(
        default=0, help_text="Sum of successful refunds, in minor units (derived from the refund ledger)."
    )
    is_authorization = models.BooleanField(
        default=True,
        help_text="Sent paymentFactor.isAuthorization: success is an authorization that still needs a capture.",
    )
    capture_mode = models.CharField(
        max_length=16, blank=True, default="", help_text="paymentFactor.captureMode sent to Antom, if any."
    )
    description = models.CharField(max_length=256, blank=True, default="", help_text="Order description sent to Antom.")

    session_id = models.CharField(max_length=128, blank=True, default="", help_text="Antom's paymentSessionId.")
    session_data = models.TextField(
        blank=True, default="", help_text="paymentSessionData for the buyer's SDK (opaque, short-lived)."
    )
    session_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="When the payment session expires (paymentSessionExpiryTime)."
    )
    auth_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Antom's authExpiryTime: the authorization cannot be captured after this."
    )
    paid_at = models.DateTimeField(null=True, blank=True, help_text="Antom's paymentTime (success).")

    card_brand = models.CharField(max_length=32, blank=True, default="", help_text="Card brand, e.g. VISA.")
    card_funding = models.CharField(
        max_length=16, blank=True, default="", help_text="Card funding: CREDIT, DEBIT, PREPAID, ..."
    )
    card_issuing_country = models.CharField(
        max_length=2, blank=True, default="", help_text="Issuing country (ISO 3166 alpha-2)."
    )
    card_last4 = models.CharField(
        max_length=4,
        blank=True,
        default="",
        help_text="Last four digits, only when Antom reveals them. Full card numbers are never stored.",
    )

    result_code = models.CharField(
        max_length=64, blank=True, default="", help_text="Antom's latest payment result code (e.g. a decline code)."
    )
    result_message = models.CharField(
        max_length=256, blank=True, default="", help_text="Antom's latest payment result message."
    )
    needs_review = models.BooleanField(
        default=False,
        help_text="Antom told us something we refused to apply (amount/currency mismatch, contradiction).",
    )
    review_reason = models.TextField(blank=True, default="", help_text="Why the payment needs review.")

    order_content_type = models.ForeignKey(
        ContentType,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        help_text="Model of the merchant order this payment pays for.",
    )
    order_object_id = models.CharField(
        max_length=64, null=True, blank=True, help_text="Primary key of the merchant order (as text)."
    )
    order = GenericForeignKey("order_content_type", "order_object_id")
    reference_order_id = models.CharField(
        max_length=64, help_text="The merchant's order reference sent as referenceOrderId."
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="antom_payments",
        help_text="The buyer, when signed in.",
    )

    last_inquiry_at = models.DateTimeField(
        null=True, blank=True, help_text="When we last asked Antom (inquiryPayment) about this payment."
    )
    cancel_requested_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a cancel (void) was sent and not yet refused; captures wait while it is set.",
    )
    next_check_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the background work next looks at this payment (poll, capture, expiry, follow-up); "
        "empty: nothing is due.",
    )
    capture_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the automatic capture is due (AUTO_CAPTURE or the adapter); empty: none scheduled.",
    )
    expiry_handled_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the authorization-expiry policy (AUTH_EXPIRY_POLICY) was applied; it is applied once.",
    )
    session_request = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the createPaymentSession request is built from (URLs, goods, buyer, description), "
        "saved before the first call so a retry sends the identical body.",
    )
    session_response = models.JSONField(
        default=dict, blank=True, help_text="Raw createPaymentSession answer (result and ids)."
    )
    gateway_data = models.JSONField(
        default=dict, blank=True, help_text="Raw latest payment result from Antom (notification or inquiry)."
    )

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at"]
        # Every notification updates this row, and each index is written again on each update: indexes
        # here are only those a query needs. Single-column ones are Meta indexes rather than db_index=True
        # or unique=True, which on PostgreSQL add a second, varchar_pattern_ops ("_like") index per column.
        indexes = [
            models.Index(fields=["payment_id"], name="antom_payment_payment_id_idx"),
            models.Index(fields=["reference_order_id"], name="antom_payment_reference_idx"),
            models.Index(fields=["order_content_type", "order_object_id"], name="antom_payment_order_idx"),
            models.Index(fields=["status", "updated_at"], name="antom_payment_status_idx"),
            models.Index(fields=["updated_at"], condition=models.Q(needs_review=True), name="antom_payment_review_idx"),
            # The background work's queue: only rows with something due are in it.
            models.Index(
                fields=["next_check_at"],
                condition=models.Q(next_check_at__isnull=False),
                name="antom_payment_due_idx",
            ),
            # The admin's payment list (antom_django.admin): its default order and date hierarchy, and one per
            # list filter, each ending in created_at so a filtered page is read in the list's order.
            models.Index(fields=["created_at"], name="antom_payment_created_idx"),
            models.Index(fields=["status", "created_at"], name="antom_payment_status_list_idx"),
            models.Index(fields=["currency", "created_at"], name="antom_payment_currency_idx"),
            models.Index(
                fields=["auth_expires_at"],
                condition=models.Q(status__in=[PaymentStatus.AUTHORIZED, PaymentStatus.PARTIALLY_CAPTURED]),
                name="antom_payment_expiry_idx",
            ),
            models.Index(
                fields=["cancel_requested_at"],
                condition=models.Q(cancel_requested_at__isnull=False),
                name="antom_payment_cancel_idx",
            ),
        ]
        # The admin's actions (antom_django.admin.actions), one permission each; reconciliation's views too.
        permissions = [
            ("capture_payment", "Can capture a payment"),
            ("cancel_payment", "Can cancel (void) a payment"),
            ("refund_payment", "Can refund a payment"),
            ("sync_payment", "Can sync a payment with Antom"),
            ("retry_payment", "Can retry a capture, refund or cancel whose outcome is unknown"),
            ("clear_review", "Can clear a payment's review flag"),
            ("reconcile_payment", "Can reconcile payments with Antom"),
            ("export_payment", "Can export payments, captures and refunds"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["payment_request_id"], name="antom_payment_request_id_uniq"),
            check_constraint(models.Q(captured_amount__lte=models.F("amount")), "antom_payment_captured_lte_amount"),
            check_constraint(
                models.Q(refunded_amount__lte=models.F("captured_amount")), "antom_payment_refunded_lte_captured"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payment_request_id} {format_amount(self.amount, self.currency)} {self.status}"

    @property
    def money(self) -> Amount:
        """The payment amount as an :class:`~antom_django.client.money.Amount`."""
        return Amount(currency=self.currency, value=self.amount)

    @property
    def is_pending(self) -> bool:
        """The outcome of the buyer's payment is not known yet."""
        return self.status in PAYMENT_PENDING

    @property
    def is_final(self) -> bool:
        """Nothing more can happen to this payment's status."""
        return self.status in PAYMENT_FINAL

    @property
    def is_paid(self) -> bool:
        """The buyer's card was authorized or charged (money is held or moved)."""
        return self.status in PAYMENT_PAID

    @property
    def capturable_amount(self) -> int:
        """What may still be captured, ignoring captures in flight (the service layer counts those)."""
        return self.amount - self.captured_amount

    @property
    def refundable_amount(self) -> int:
        """What may still be refunded, ignoring refunds in flight (the service layer counts those)."""
        return self.captured_amount - self.refunded_amount
