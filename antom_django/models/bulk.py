"""``BulkCapture``: an operator's request to capture many authorizations in the background."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class BulkCapture(models.Model):
    """Authorizations scheduled for capture together (the admin's bulk capture); progress comes from their captures."""

    payments = models.ManyToManyField(
        "antom_django.Payment",
        related_name="bulk_captures",
        blank=True,
        help_text="The payments scheduled for capture by this request.",
    )
    selected = models.PositiveIntegerField(
        default=0, help_text="How many payments were selected (those not capturable were left out)."
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The staff member who asked.",
    )
    created_at = models.DateTimeField(auto_now_add=True, help_text="When it was asked for.")

    class Meta:
        verbose_name = _("bulk capture")
        verbose_name_plural = _("bulk captures")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"bulk capture #{self.pk}"
