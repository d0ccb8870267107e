"""The three endpoints: create a payment session, read a payment's status, receive Antom's notifications."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DataError, connection, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, NotFound, PermissionDenied
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from .. import services
from ..adapter import OrderNeedsLogin, OrderNotFound, OrderNotPayable, get_adapter
from ..client.errors import AntomError
from ..client.types import ACK_BODY
from ..conf import antom_settings
from ..exceptions import PaymentError
from ..models import Payment, Source
from . import sessions
from .errors import Conflict, PayloadTooLarge, antom_error, handle_exception, masked_errors
from .inbox import rejections_log, remote_addr, store_rejected
from .notify import NotifyRejected, verify_request
from .parsers import BoundedJSONParser
from .schema import OpenApiParameter, OpenApiResponse, annotate, view_schema
from .serializers import ErrorSerializer, PaymentStatusSerializer, SessionRequestSerializer, SessionResponseSerializer
from .throttling import classes_for

logger = logging.getLogger("antom_django.api")


class NonAtomicAPIView(APIView):
    """An API view kept out of ``ATOMIC_REQUESTS``.

    Each endpoint commits on its own schedule: a payment's request id must be
    committed before Antom is called, a status-refresh claim must be visible to
    other processes at once, and a notification's raw record must survive a
    failure to apply it. One request-wide transaction would undo all three.
    """

    endpoint = ""
    schema = view_schema()

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        return transaction.non_atomic_requests(masked_errors(super().as_view(**initkwargs)))

    def get_permissions(self) -> list[BasePermission]:
        if self.endpoint == "notify":
            return [AllowAny()]
        return [cls() for cls in classes_for("PERMISSION_CLASSES", self.endpoint)]

    def get_throttles(self) -> list[BaseThrottle]:
        return [cls() for cls in classes_for("THROTTLE_CLASSES", self.endpoint)]

    def get_exception_handler(self) -> Callable[..., Response | None]:
        return handle_exception

    def perform_authentication(self, request: Request) -> None:
        # DRF's BasicAuthentication hands a NUL byte from the header to the user lookup, which
        # PostgreSQL refuses with DataError: that is bad credentials, not a server error. Inside an
        # atomic block (ATOMIC_REQUESTS elsewhere, tests) a savepoint keeps the transaction usable.
        try:
            if connection.in_atomic_block:
                with transaction.atomic():
                    super().perform_authentication(request)
            else:
                super().perform_authentication(request)
        except DataError:
            raise AuthenticationFailed("Malformed credentials.") from None


ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="The body is not valid."),
    401: OpenApiResponse(ErrorSerializer, description="Authentication required (per your permission classes)."),
    403: OpenApiResponse(ErrorSerializer, description="This caller may not pay for / see it."),
    404: OpenApiResponse(ErrorSerializer, description="No such order or payment (for this caller)."),
    429: OpenApiResponse(ErrorSerializer, description="Throttled (per your throttle classes)."),
}


LOGIN_REQUIRED = "This order belongs to a user: log in to pay for it."


class SessionView(NonAtomicAPIView):
    """``POST sessions/``: a payment session for one of the shop's orders.

    The rule for an order that already has payments is :func:`antom_django.services.open_session`
    (under a per-order lock): a paid one → 409 ``order_already_paid``; a closed one flagged for review → 409
    ``payment_in_progress``; a pending one with a usable
    session for the same amount → that session again (200, ``reused: true``); a pending one for another
    amount → cancelled, then a new session (409 ``order_changed`` if it cannot be); one whose session
    request had an unknown outcome → the identical request retried; one whose session expired → Antom
    is asked first (paid → 409, still processing → 409 ``payment_in_progress``, none at Antom once the
    session is over → closed FAILED); otherwise a new payment and session (201).
    """

    endpoint = "sessions"
    throttle_scope = "antom_sessions"
    parser_classes = [BoundedJSONParser]

    @annotate(
        operation_id="antom_create_session",
        request=SessionRequestSerializer,
        responses={
            201: OpenApiResponse(SessionResponseSerializer, description="A new payment session."),
            200: OpenApiResponse(SessionResponseSerializer, description="The order's live session, reused."),
            **ERRORS,
            401: OpenApiResponse(
                ErrorSerializer,
                description="Authentication required (per your permission classes), or `login_required`: "
                "a user's order and no logged-in caller (403 with session authentication).",
            ),
            403: OpenApiResponse(
                ErrorSerializer,
                description="`not_allowed`: this caller may not pay for it; `login_required`: log in to pay "
                "for this user's order.",
            ),
            409: OpenApiResponse(
                ErrorSerializer,
                description="Already paid, a payment is under way or needs review, the order changed, "
                "or it cannot be paid.",
            ),
            413: OpenApiResponse(ErrorSerializer, description="Body larger than DATA_UPLOAD_MAX_MEMORY_SIZE."),
            415: OpenApiResponse(ErrorSerializer, description="Not application/json."),
            502: OpenApiResponse(ErrorSerializer, description="Antom refused to create the session."),
            503: OpenApiResponse(ErrorSerializer, description="Antom's answer is unknown; retry."),
        },
        tags=["antom"],
    )
    def post(self, request: Request) -> Response:
        try:
            data = request.data
        except RequestDataTooBig:  # Django's SuspiciousOperation: an HTML 400 outside DRF's handler
            raise PayloadTooLarge() from None
        form = SessionRequestSerializer(data=data)
        form.is_valid(raise_exception=True)
        adapter = get_adapter()
        try:
            info = adapter.resolve_order(request, form.validated_data["referenceOrderId"])
        except OrderNotFound as exc:
            raise NotFound(str(exc) or "No such order.", code="order_not_found") from None
        except OrderNeedsLogin as exc:
            raise NotAuthenticated(str(exc) or LOGIN_REQUIRED, code="login_required") from None
        except OrderNotPayable as exc:
            raise Conflict(str(exc) or "This order cannot be paid.", "order_not_payable") from None
        if not adapter.can_pay(request, info):
            if adapter.needs_login(request, info):
                raise NotAuthenticated(LOGIN_REQUIRED, code="login_required")
            raise PermissionDenied("You may not pay for this order.", code="not_allowed")
        payment, reused = sessions.open_session(request, adapter, info)
        adapter.remember_payment(request, payment)
        answer = sessions.session_body(payment, reused=reused, locale=adapter.get_locale(request, info))
        body = SessionResponseSerializer(answer).data
        return Response(body, status=status.HTTP_200_OK if reused else status.HTTP_201_CREATED)


class PaymentStatusView(NonAtomicAPIView):
    """``GET payments/<payment_request_id>/``: what a result page shows.

    While the outcome is pending the payment is refreshed from Antom
    (inquiryPayment) at most once per ``STATUS_REFRESH_INTERVAL`` seconds,
    however many callers poll: the refresh is claimed by a conditional UPDATE
    of ``last_inquiry_at``, which only one caller in any process can win.
    """

    endpoint = "payments"
    throttle_scope = "antom_payments"

    @annotate(
        operation_id="antom_payment_status",
        responses={
            200: PaymentStatusSerializer,
            401: ERRORS[401],
            403: ERRORS[403],
            404: OpenApiResponse(
                ErrorSerializer, description="No such payment, or one this caller may not see (the same answer)."
            ),
            429: ERRORS[429],
        },
        tags=["antom"],
    )
    def get(self, request: Request, payment_request_id: str) -> Response:
        # Request ids are ours: at most 64 printable characters. Anything else (a NUL byte would even
        # be a database error on PostgreSQL) names no payment.
        valid = len(payment_request_id) <= 64 and payment_request_id.isprintable()
        payment = Payment.objects.filter(payment_request_id=payment_request_id).first() if valid else None
        if payment is not None:
            try:
                self.check_object_permissions(request, payment)
            except (NotAuthenticated, PermissionDenied):
                # Someone else's payment gets the answer a payment that does not exist gets, by the same
                # path (the one lookup, then the exception handler): request ids cannot be probed.
                payment = None
        if payment is None:
            raise NotFound("No such payment.", code="payment_not_found")
        if payment.is_pending and payment.session_id:
            payment = refresh(payment)
        response = Response(PaymentStatusSerializer(payment).data)
        response["Cache-Control"] = "no-store"
        return response


def refresh(payment: Payment) -> Payment:
    """inquiryPayment through the service layer, unless another caller did within the interval.

    The service claims the inquiry with a conditional UPDATE of ``last_inquiry_at``
    (one winner across every process); losers read the stored state. A failed
    inquiry leaves the last known state; so does any other failure of the refresh (logged with its
    traceback): the result page shows what is stored rather than a 500.
    """
    try:
        return services.sync_payment(
            payment, source=Source.POLL, min_interval=float(antom_settings.STATUS_REFRESH_INTERVAL)
        )
    except (AntomError, PaymentError) as exc:
        logger.warning("antom status refresh of %s failed: %s", payment.payment_request_id, exc)
    except Exception:
        logger.exception("antom status refresh of %s failed", payment.payment_request_id)
    payment.refresh_from_db()
    return payment


class AckNegotiation(BaseContentNegotiation):
    """Antom's Accept header is irrelevant: the answer is always JSON."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return None

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class NotifyView(NonAtomicAPIView):
    """``POST notify/``: Antom's signed notifications (PAYMENT_RESULT, CAPTURE_RESULT, REFUND_RESULT, ...).

    No authentication classes (so no session auth and no CSRF), JSON only (no
    browsable API); the raw body is verified and stored in its own commit. With
    ``NOTIFY_APPLY = "inline"`` (the default) the service layer then applies it and
    the exact acknowledgment goes back only once the effects are committed (or
    found to be a duplicate); anything else makes Antom retry on its schedule.
    With ``"queue"`` the acknowledgment goes back once the raw message is
    committed, and a worker applies it (:mod:`antom_django.services.queue`).
    A message stored already is counted on its row, not stored again.
    """

    endpoint = "notify"
    throttle_scope = "antom_notify"
    authentication_classes: list[Any] = []
    parser_classes: list[Any] = []
    renderer_classes = [JSONRenderer]
    content_negotiation_class = AckNegotiation

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """A POST, when no throttle is configured for this endpoint, goes straight to :meth:`receive`.

        The answer is fixed bytes and the body is read raw, so DRF's request wrapper, content negotiation and
        rendering would add nothing but CPU (as much as storing the message costs). Other methods, and a
        throttled endpoint, take DRF's whole path.
        """
        if request.method == "POST" and not self.get_throttles():
            return self.receive(request)
        return super().dispatch(request, *args, **kwargs)

    @annotate(
        operation_id="antom_notify",
        request={"application/json": {"type": "object", "additionalProperties": True}},
        parameters=[
            OpenApiParameter("client-id", str, OpenApiParameter.HEADER, required=True, description="Your client id."),
            OpenApiParameter(
                "request-time", str, OpenApiParameter.HEADER, required=True, description="Epoch ms or ISO-8601."
            ),
            OpenApiParameter(
                "signature",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="algorithm=RSA256,keyVersion=1,signature=<url-encoded base64>",
            ),
        ],
        responses={
            200: OpenApiResponse(
                description="The exact acknowledgment Antom expects: once applied (NOTIFY_APPLY 'inline'), "
                "or once stored for a worker ('queue')."
            ),
            400: OpenApiResponse(
                description="Content-Length not ASCII digits; or signed, but not a JSON object or nested too deeply."
            ),
            401: OpenApiResponse(description="Bad or missing signature, unknown client-id, stale request-time."),
            413: OpenApiResponse(description="Body larger than NOTIFY_MAX_BYTES."),
            415: OpenApiResponse(description="Not application/json."),
            500: OpenApiResponse(description="Applying failed (inline mode); stored as ERROR, Antom retries."),
            503: OpenApiResponse(description="Temporary failure of ours (database down); Antom retries."),
        },
        auth=[],
        tags=["antom"],
    )
    def post(self, request: Request) -> HttpResponse:
        return self.receive(request._request)

    def receive(self, raw_request: HttpRequest) -> HttpResponse:
        """Verify, hand to the intake service (:func:`antom_django.services.receive_notification`: store,
        apply inline or leave for a worker, record a failure) and answer with what it made of it."""
        try:
            inbound = verify_request(raw_request)
        except NotifyRejected as rejected:
            rejections_log.warning(
                "antom notify refused from %s: %s", raw_request.META.get("REMOTE_ADDR"), rejected.code
            )
            store_rejected(raw_request, rejected)
            response = antom_error(rejected.status, rejected.code, rejected.message)
            # Logged above, rate-limited; Django would otherwise log every refusal as well.
            response._has_been_logged = True  # type: ignore[attr-defined]
            return response
        result = services.receive_notification(
            inbound.text,
            inbound.data,
            client_id=inbound.client_id,
            request_time=inbound.request_time,
            signature=inbound.signature,
            signed_path=inbound.path,
            remote_addr=remote_addr(raw_request),
        )
        if result.acknowledge:
            return HttpResponse(ACK_BODY, content_type="application/json")
        if result.temporary:
            return antom_error(503, "temporarily_unavailable", "cannot take the notification now; retry later")
        return antom_error(500, "processing_error", "the notification could not be applied; retry later")
