"""Permission classes for the API; which ones apply is set per endpoint in ``ANTOM["PERMISSION_CLASSES"]``."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from ..adapter import get_adapter


class IsPaymentViewer(BasePermission):
    """The payment's owner, staff, or the guest session that created it (the adapter decides)."""

    message = "You may not see this payment."

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        return get_adapter().can_view_payment(request, obj)


class IsPaymentOwnerOrStaff(BasePermission):
    """Only an authenticated owner of the payment, or staff; no guest access."""

    message = "You may not see this payment."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        user = request.user
        return bool(user.is_staff or (obj.user_id is not None and obj.user_id == user.pk))
