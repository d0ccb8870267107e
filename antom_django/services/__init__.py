"""The service layer: the one code path from views, tasks, admin and the shell to Antom and the models.

Every function that changes a payment does it in ``transaction.atomic`` holding the payment's
row lock (``select_for_update``), records a :class:`~antom_django.models.PaymentEvent` per
change with its :class:`~antom_django.models.Source`, and sends signals after commit.
Pass ``client=`` to use another :class:`~antom_django.client.AntomClient` than the one built
from settings.
"""

from __future__ import annotations

from ..models import Source
from .actions import cancel, capture, refund, retry_capture, retry_refund
from .checkout import OpenedSession, open_session, order_lock
from .followup import FollowUp, follow_up
from .intake import Intake
from .intake import receive as receive_notification
from .notifications import apply_notification, dedupe_key, mark_error
from .queue import apply_pending_notifications
from .results import PaymentFact, apply_payment_result, claim_inquiry, clear_review, sync_payment
from .sessions import SESSION_REUSE_MARGIN, retry_session, session_is_usable, start_payment

__all__ = [
    "SESSION_REUSE_MARGIN",
    "FollowUp",
    "OpenedSession",
    "Intake",
    "PaymentFact",
    "Source",
    "apply_notification",
    "apply_pending_notifications",
    "apply_payment_result",
    "cancel",
    "capture",
    "claim_inquiry",
    "clear_review",
    "dedupe_key",
    "follow_up",
    "mark_error",
    "open_session",
    "order_lock",
    "receive_notification",
    "refund",
    "retry_capture",
    "retry_refund",
    "retry_session",
    "session_is_usable",
    "start_payment",
    "sync_payment",
]
