"""antom_django's models: payments, their capture and refund ledgers, notifications and timeline."""

from __future__ import annotations

from .bulk import BulkCapture
from .capture import Capture
from .event import PaymentEvent, Source
from .notification import Notification
from .payment import Payment
from .refund import Refund

__all__ = ["BulkCapture", "Capture", "Notification", "Payment", "PaymentEvent", "Refund", "Source"]
