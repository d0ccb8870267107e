"""The payment page's actions: each a service call behind its own permission and a confirmation page.

GET shows what will happen and the form; POST does it. Nothing here opens a transaction: each service
commits its own (and calls Antom outside it), as the API and the background work do. A POST first takes
the page's version (:func:`claim`), so a double click or two staff members confirming the same page act once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from .. import services
from ..client.errors import AntomError, AntomOutcomeUnknown
from ..exceptions import AmountExceeded, GatewayRefused, InvalidAmount, PaymentError
from ..models import Capture, Payment, Refund, Source
from ..services.results import inquire
from ..state import CANCELLABLE, CAPTURABLE, REFUNDABLE
from .display import money
from .forms import ActionForm, CaptureForm, NoteForm, RefundForm

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

P = Payment.Status
IN_FLIGHT_OR_DONE = (Capture.Status.PENDING, Capture.Status.SUCCEEDED)

Result = list[tuple[int, str]]
"""What an action did, as admin messages (level, text)."""


@dataclass(frozen=True)
class Operation:
    """One action of the payment page."""

    name: str
    """Its URL segment and button id."""
    label: str
    permission: str
    """The codename of its permission (``antom_django.<permission>``)."""
    form_class: type[ActionForm]
    blocked: Callable[[Payment], str]
    """Why the payment's current state does not allow it (``""``: it does)."""
    run: Callable[[HttpRequest, Payment, dict[str, Any]], Result]
    explain: str
    """What confirming does, shown on the confirmation page."""
    danger: bool = False

    @property
    def perm(self) -> str:
        return f"antom_django.{self.permission}"


def claim(payment: Payment, seen: datetime) -> bool:
    """Take the version the page was built from: True only if the payment still stands as it was shown.

    One conditional UPDATE of ``updated_at``: of two submits of the same page (a double click, two staff
    members), one gets the row and the other finds it changed and does nothing. News from Antom in
    between changes it too, so the operator confirms against what is now known.
    """
    return bool(Payment.objects.filter(pk=payment.pk, updated_at=seen).update(updated_at=timezone.now()))


# -- what the state allows --------------------------------------------------------------------------------------


def _capture_blocked(payment: Payment) -> str:
    if payment.status not in CAPTURABLE:
        return f"it is {payment.get_status_display().lower()}"
    if not payment.is_authorization:
        return "Antom captured it by itself"
    if not payment.payment_id:
        return "Antom has not given it a paymentId yet"
    if payment.cancel_requested_at is not None:
        return "a cancel is in flight; retry it or sync first"
    if payment.auth_expires_at is not None and payment.auth_expires_at <= timezone.now():
        return "its authorization expired"
    if left(payment.captures, payment.amount) <= 0:
        return "everything is captured or in flight"
    return ""


def _cancel_blocked(payment: Payment) -> str:
    if payment.status not in CANCELLABLE:
        return f"it is {payment.get_status_display().lower()}"
    if payment.captures.filter(status__in=IN_FLIGHT_OR_DONE).exists():
        return "money was captured or a capture is in flight; refund instead"
    return ""


def _refund_blocked(payment: Payment) -> str:
    if payment.status not in REFUNDABLE:
        return f"it is {payment.get_status_display().lower()}"
    if left(payment.refunds, payment.captured_amount) <= 0:
        return "everything captured is refunded or in flight"
    return ""


def _retry_blocked(payment: Payment) -> str:
    return "" if unknown_outcomes(payment) else "nothing is waiting on an unknown answer from Antom"


def _review_blocked(payment: Payment) -> str:
    return "" if payment.needs_review else "it is not flagged for review"


def left(rows: Any, base: int) -> int:
    """``base`` less the ledger rows settled or in flight."""
    return base - sum(r for r in rows.filter(status__in=IN_FLIGHT_OR_DONE).values_list("amount", flat=True))


def unknown_outcomes(payment: Payment) -> list[Capture | Refund | Payment]:
    """Requests whose answer is unknown: captures and refunds still PENDING, and a cancel in flight."""
    found: list[Capture | Refund | Payment] = [*payment.captures.filter(status=Capture.Status.PENDING)]
    found += payment.refunds.filter(status=Refund.Status.PENDING)
    if payment.cancel_requested_at is not None and payment.status != P.CANCELLED:
        found.append(payment)
    return found


# -- doing it ---------------------------------------------------------------------------------------------------


def _ledger_result(row: Capture | Refund, verb: str) -> Result:
    amount = money(row.amount, row.currency)
    if row.status == row.Status.SUCCEEDED:
        done = {"capture": "Captured", "refund": "Refunded"}[verb]
        return [(messages.SUCCESS, f"{done} {amount} ({row.request_id}).")]
    if row.status == row.Status.FAILED:
        why = (row.result_code or "no result code") + (f" ({row.result_message})" if row.result_message else "")
        return [(messages.ERROR, f"Antom refused to {verb} {amount}: {why}.")]
    return [
        (
            messages.WARNING,
            f"Antom's answer to the {verb} of {amount} is unknown ({row.request_id}); it stays pending and is "
            "followed up. Retry it from this page, or sync.",
        )
    ]


def _capture(request: HttpRequest, payment: Payment, data: dict[str, Any]) -> Result:
    amount = data.get("amount")
    final = True if data.get("final") else (None if amount is None else False)
    row = services.capture(payment, amount, source=Source.ADMIN, user=request.user, final=final)
    return _ledger_result(row, "capture")


def _refund(request: HttpRequest, payment: Payment, data: dict[str, Any]) -> Result:
    row = services.refund(payment, data.get("amount"), reason=data["reason"], source=Source.ADMIN, user=request.user)
    return _ledger_result(row, "refund")


def _cancel(request: HttpRequest, payment: Payment, data: dict[str, Any]) -> Result:
    try:
        services.cancel(payment, source=Source.ADMIN, user=request.user)
    except AntomOutcomeUnknown:
        return [(messages.WARNING, "Antom's answer to the cancel is unknown; it is in flight. Retry it, or sync.")]
    return [(messages.SUCCESS, "Cancelled: the authorization is released.")]


def _sync(request: HttpRequest, payment: Payment, data: dict[str, Any]) -> Result:
    answer = inquire(payment, source=Source.ADMIN, user=request.user)
    status = answer.payment.get_status_display()
    if answer.refused is not None:
        code = answer.refused.result_code or "F"
        return [(messages.WARNING, f"Antom refused the inquiry ({code}); the payment stays {status}.")]
    return [(messages.SUCCESS, f"Synced with Antom: the payment is {status}.")]


def _retry(request: HttpRequest, payment: Payment, data: dict[str, Any]) -> Result:
    done: Result = []
    for item in unknown_outcomes(payment):
        try:
            if isinstance(item, Capture):
                done += _ledger_result(services.retry_capture(item, source=Source.ADMIN, user=request.user), "capture")
            elif isinstance(item, Refund):
                done += _ledger_result(services.retry_refund(item, source=Source.ADMIN, user=request.user), "refund")
            else:
                done += _cancel(request, item, data)
        except (PaymentError, AntomError) as exc:
            done.append((messages.ERROR, describe(exc)))
    return done


def _clear_review(request: HttpRequest, payment: Payment, data: dict[str, Any]) -> Result:
    services.clear_review(payment, note=data["note"], source=Source.ADMIN, user=request.user)
    return [(messages.SUCCESS, "The review flag is cleared; your note is in the timeline.")]


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "capture",
        "Capture",
        "capture_payment",
        CaptureForm,
        _capture_blocked,
        _capture,
        "Asks Antom to capture the amount from the held authorization: the buyer is charged.",
    ),
    Operation(
        "refund",
        "Refund",
        "refund_payment",
        RefundForm,
        _refund_blocked,
        _refund,
        "Asks Antom to give the amount back to the buyer's card.",
    ),
    Operation(
        "cancel",
        "Cancel",
        "cancel_payment",
        ActionForm,
        _cancel_blocked,
        _cancel,
        "Asks Antom to cancel the payment (void the authorization): nothing can be captured afterwards.",
        danger=True,
    ),
    Operation(
        "retry",
        "Retry unknown",
        "retry_payment",
        ActionForm,
        _retry_blocked,
        _retry,
        "Sends each request whose answer is unknown again, with its own request id (Antom answers it once).",
    ),
    Operation(
        "sync",
        "Sync with Antom",
        "sync_payment",
        ActionForm,
        lambda payment: "",
        _sync,
        "Asks Antom for the payment (inquiryPayment) and applies what it says, captures and refunds included.",
    ),
    Operation(
        "clear-review",
        "Clear review",
        "clear_review",
        NoteForm,
        _review_blocked,
        _clear_review,
        "Clears the review flag; the reason and your note stay in the timeline.",
    ),
)
BY_NAME = {op.name: op for op in OPERATIONS}


def allowed(request: HttpRequest, payment: Payment) -> list[Operation]:
    """The actions this user may take on the payment as it stands: the page's buttons."""
    return [op for op in OPERATIONS if request.user.has_perm(op.perm) and not op.blocked(payment)]


def describe(exc: Exception) -> str:
    """A domain or gateway error as a sentence for the operator."""
    if isinstance(exc, GatewayRefused):
        detail = f" ({exc.result_message})" if exc.result_message else ""
        return f"{exc.message}{detail}."
    if isinstance(exc, PaymentError):
        return f"Not done: {exc.message}."
    if isinstance(exc, AntomOutcomeUnknown):
        return f"Antom's answer is unknown ({exc}); nothing is known to have changed. Try again, or sync."
    return f"Antom could not be asked: {exc}."


def operation_view(model_admin: ModelAdmin[Payment], request: HttpRequest, object_id: str, name: str) -> HttpResponse:
    """GET: the confirmation page; POST: do it through the service layer and go back to the payment."""
    op = BY_NAME.get(name)
    payment = model_admin.get_object(request, object_id)
    if op is None or payment is None:
        raise Http404("no such payment or action")
    if not request.user.has_perm(op.perm):
        raise PermissionDenied
    back = HttpResponseRedirect(reverse("admin:antom_django_payment_change", args=[payment.pk]))
    why = op.blocked(payment)
    if why:
        messages.error(request, f"{op.label}: not possible now, {why}.")
        return back
    form = op.form_class(request.POST if request.method == "POST" else None, payment=payment)
    if request.method == "POST" and form.is_valid():
        if not claim(payment, form.cleaned_data["version"]):
            messages.warning(
                request,
                "The payment changed since this page was opened (submitted twice, a colleague's action, or news "
                "from Antom): nothing was done. Check it and confirm again.",
            )
            return back
        try:
            done = op.run(request, payment, form.cleaned_data)
        except (AmountExceeded, InvalidAmount) as exc:
            form = _again(op, request, payment, "amount" if "amount" in form.fields else None, exc.message)
        except (PaymentError, AntomError) as exc:
            messages.error(request, f"{op.label}: {describe(exc)}")
            return back
        else:
            for level, text in done:
                messages.add_message(request, level, text)
            model_admin.log_change(request, payment, f"{op.label}: " + " ".join(text for _, text in done))
            return back
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": f"{op.label} payment {payment.payment_request_id}?",
        "payment": payment,
        "summary": summary(payment),
        "operation": op,
        "form": form,
        "unknown": unknown_outcomes(payment) if op.name == "retry" else [],
        "media": model_admin.media + form.media,
    }
    return TemplateResponse(request, "admin/antom_django/payment/confirm.html", context)


def summary(payment: Payment) -> list[tuple[str, str]]:
    """The facts an operator checks before confirming."""
    currency = payment.currency
    return [
        ("Payment", payment.payment_request_id + (f" (Antom {payment.payment_id})" if payment.payment_id else "")),
        ("Order", payment.reference_order_id),
        ("Status", str(payment.get_status_display())),
        ("Amount", money(payment.amount, currency)),
        ("Captured", money(payment.captured_amount, currency)),
        ("Refunded", money(payment.refunded_amount, currency)),
    ]


def _again(op: Operation, request: HttpRequest, payment: Payment, field: str | None, message: str) -> ActionForm:
    """The form as submitted with the service's refusal on it, at the payment's new version."""
    payment.refresh_from_db()
    data = request.POST.copy()
    data["version"] = payment.updated_at.isoformat()
    form = op.form_class(data, payment=payment)
    if form.is_valid() or (field and field not in form.errors):
        form.add_error(field, message)
    return form
