"""The Django admin for operations: payments (list, timeline, actions), notifications, bulk captures."""

from __future__ import annotations

from django.contrib import admin

from ..models import BulkCapture, Notification, Payment
from .bulk import BulkCaptureAdmin
from .notifications import NotificationAdmin
from .payments import PaymentAdmin

admin.site.register(Payment, PaymentAdmin)
admin.site.register(Notification, NotificationAdmin)
admin.site.register(BulkCapture, BulkCaptureAdmin)

__all__ = ["BulkCaptureAdmin", "NotificationAdmin", "PaymentAdmin"]
