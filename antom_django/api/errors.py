"""API errors: each answer carries a human ``detail`` and a stable machine ``code``."""

from __future__ import annotations

import functools
import json
from typing import Any

from django.http import HttpResponse
from django.views.debug import SafeExceptionReporterFilter
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class Conflict(exceptions.APIException):
    """The order cannot get a new session in its current state (already paid, payment under way)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "This order cannot be paid now."
    default_code = "conflict"

    def __init__(self, detail: str, code: str, *, payment_request_id: str | None = None) -> None:
        super().__init__(detail, code)
        self.payment_request_id = payment_request_id


class PayloadTooLarge(exceptions.APIException):
    """A request body larger than Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than the server accepts."
    default_code = "body_too_large"


class BadGateway(exceptions.APIException):
    """Antom refused the request (``resultStatus`` F)."""

    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = "Antom refused the request."
    default_code = "antom_failed"


class GatewayUnavailable(exceptions.APIException):
    """Antom's answer is unknown (timeout, 5xx, U); retrying the same call is safe."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Antom did not answer in time; try again."
    default_code = "antom_unavailable"

    def __init__(self, detail: str | None = None, code: str | None = None, *, payment_request_id: str | None = None):
        super().__init__(detail, code)
        self.payment_request_id = payment_request_id


def handle_exception(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, reshaped to ``{"detail", "code"[, "errors"][, "paymentRequestId"]}``."""
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        body: dict[str, Any] = {"detail": "The request body is not valid.", "code": "invalid", "errors": response.data}
    else:
        codes = exc.get_codes()
        body = {"detail": str(exc.detail), "code": codes if isinstance(codes, str) else exc.default_code}
    payment_request_id = getattr(exc, "payment_request_id", None)
    if payment_request_id:
        body["paymentRequestId"] = payment_request_id
    if isinstance(exc, GatewayUnavailable):
        response["Retry-After"] = "2"
    response.data = body
    return response


def antom_error(status_code: int, code: str, message: str) -> HttpResponse:
    """A non-acknowledgment for Antom, shaped like Antom's own ``result`` so its logs read well."""
    body = {"result": {"resultCode": code.upper(), "resultStatus": "F", "resultMessage": message}}
    response = HttpResponse(json.dumps(body), status=status_code, content_type="application/json")
    if status_code == 401:
        response["WWW-Authenticate"] = 'RSA256 realm="antom-notify"'
    if status_code == 503:
        response["Retry-After"] = "60"
    return response


class ExceptionReporterFilter(SafeExceptionReporterFilter):
    """Error pages and reports that never show what this app's frames hold, DEBUG or not.

    Those frames hold signed bodies, signature headers, key objects and payment data. Django's
    default filter is inactive when ``DEBUG=True``, so ``sensitive_variables`` alone would not hide
    them: this filter is always active and replaces every local variable of an ``antom_django``
    frame by the usual mask. The app's views install it per request; set
    ``DEFAULT_EXCEPTION_REPORTER_FILTER`` to this class for every other caller (admin, shell).
    """

    def is_active(self, request: Any) -> bool:
        return True

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        if str(tb_frame.f_globals.get("__name__") or "").startswith("antom_django"):
            return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]
        return super().get_traceback_frame_variables(request, tb_frame)


def masked_errors(view: Any) -> Any:
    """Wrap a view function so an error page for its request uses :class:`ExceptionReporterFilter`."""

    @functools.wraps(view)
    def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
        request.exception_reporter_filter = ExceptionReporterFilter()
        return view(request, *args, **kwargs)

    return wrapped
