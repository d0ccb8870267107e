"""The admin's reconciliation page: what needs a person, a check against Antom's API, a report-file import,
the CSV export and the dashboard, with one-click resolutions through :mod:`antom_django.services`.

The payment admin mounts :func:`reconcile_urls` under its own URL (``…/payment/reconcile/``). Every view
needs staff (the admin site's ``admin_view``) and a permission of its own; every resolution is a POST
after a confirmation page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import update_wrapper
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from .. import services
from ..api.errors import masked_errors
from ..client.errors import AntomError, AntomFailed, AntomOutcomeUnknown
from ..conf import antom_settings
from ..exceptions import PaymentError
from ..models import Capture, Payment, PaymentEvent, Refund, Source
from ..reconcile import attention, check, export, summary
from ..reconcile.compare import KIND_LABELS, Difference, Kind, compare_payment
from ..reconcile.reports import MAX_REPORT_BYTES, ReportError, read_report
from ..reconcile.settlement import Entry, compare_report
from ..services import outbox
from ..services.context import payment_ref

VIEW = "antom_django.reconcile_payment"
SYNC = "antom_django.sync_payment"
RETRY = "antom_django.retry_payment"
CLEAR = "antom_django.clear_review"
EXPORT = "antom_django.export_payment"

CHECK_LIMIT = 50
"""Payments asked about per click of "Check against Antom" (one inquiry each); ``antom_reconcile`` does any number."""
KEPT = 200
"""Entries of each list kept in the session between the check or import and the page that shows them."""
CHECK_KEY, REPORT_KEY = "antom_reconcile_check", "antom_reconcile_report"
PREFIX = "antom_django_payment_reconcile"


class PeriodForm(forms.Form):
    since = forms.DateField(help_text="First day (UTC), included.")
    until = forms.DateField(help_text="Last day (UTC), included.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError("The first day is after the last day.")
        return data


class ReportForm(forms.Form):
    report = forms.FileField(help_text="Antom's transaction or settlement details report: CSV (UTF-8 or GBK) or XLSX.")
    since = forms.DateField(required=False, help_text="Period start; default: the first day in the file.")
    until = forms.DateField(required=False, help_text="Period end; default: the last day in the file.")


def _errors(form: forms.Form) -> str:
    """A form's errors as one sentence for a message."""
    parts = [str(e) for e in form.errors.get("__all__", [])]
    parts += [
        f"{name}: {' '.join(str(e) for e in errors)}" for name, errors in form.errors.items() if name != "__all__"
    ]
    return " ".join(parts)


def default_period() -> tuple[date, date]:
    today = timezone.now().date()
    return today - timedelta(days=29), today


def period_of(data: Any) -> tuple[date, date]:
    form = PeriodForm(data)
    return (form.cleaned_data["since"], form.cleaned_data["until"]) if form.is_valid() else default_period()


# -- one-click resolutions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolution:
    """A safe, idempotent fix: its permission, the row it is about, and the service call."""

    title: str
    permission: str
    model: type[Model]
    explain: str
    run: Callable[[Any, HttpRequest], tuple[int, str]]


def _sync(payment: Payment, request: HttpRequest) -> tuple[int, str]:
    fresh = services.sync_payment(payment, source=Source.ADMIN, user=request.user)
    return messages.SUCCESS, f"Synced {fresh.payment_request_id}: it is {fresh.status}."


def _clear(payment: Payment, request: HttpRequest) -> tuple[int, str]:
    fresh = services.sync_payment(payment, source=Source.ADMIN, user=request.user)
    answer = antom_settings.get_client().inquiry_payment(**payment_ref(fresh))
    left = compare_payment(Payment.objects.prefetch_related("captures", "refunds").get(pk=fresh.pk), answer)
    if left:
        shown = "; ".join(f"{d.subject}: ours {d.ours}, Antom {d.antom}" for d in left[:3])
        return messages.WARNING, f"Not cleared: Antom still differs ({shown})."
    services.clear_review(fresh, note="Antom's inquiry agrees (reconciliation)", source=Source.ADMIN, user=request.user)
    return messages.SUCCESS, f"Synced {fresh.payment_request_id}; Antom agrees, so the review flag was cleared."


def _retry_capture(capture: Capture, request: HttpRequest) -> tuple[int, str]:
    row = services.retry_capture(capture, source=Source.ADMIN, user=request.user)
    return _ledger_message(row)


def _retry_refund(refund: Refund, request: HttpRequest) -> tuple[int, str]:
    row = services.retry_refund(refund, source=Source.ADMIN, user=request.user)
    return _ledger_message(row)


def _ledger_message(row: Capture | Refund) -> tuple[int, str]:
    text = f"{row.noun.title()} {row.request_id} is {row.status}"
    if row.status == row.Status.PENDING:
        return messages.WARNING, text + ": Antom's answer is still unknown; it will be followed up."
    return (messages.SUCCESS if row.status == row.Status.SUCCEEDED else messages.ERROR), text + "."


def _resend_cancel(payment: Payment, request: HttpRequest) -> tuple[int, str]:
    if payment.cancel_requested_at is None or payment.status == Payment.Status.CANCELLED:
        return messages.INFO, f"No cancel of {payment.payment_request_id} is in flight any more."
    fresh = services.cancel(payment, source=Source.ADMIN, user=request.user)
    return messages.SUCCESS, f"{fresh.payment_request_id} is {fresh.status}."


def _send_signals(event: PaymentEvent, request: HttpRequest) -> tuple[int, str]:
    names = event.signals.replace(",", ", ")
    if not outbox.resend(pk=event.pk):
        return messages.INFO, f"The signals of event {event.pk} are sent already, or being sent."
    return messages.SUCCESS, f"Sent {names} for {event.payment.payment_request_id} (event {event.pk})."


RESOLUTIONS: dict[str, Resolution] = {
    "sync": Resolution(
        "Sync with Antom", SYNC, Payment, "Ask Antom about this payment now and apply its answer.", _sync
    ),
    "clear": Resolution(
        "Sync and clear the review flag",
        CLEAR,
        Payment,
        "Sync with Antom; if Antom's answer then agrees with ours in every respect, clear the review flag.",
        _clear,
    ),
    "retry-capture": Resolution(
        "Retry the capture",
        RETRY,
        Capture,
        "Send the capture again with the same captureRequestId: Antom answers it idempotently.",
        _retry_capture,
    ),
    "retry-refund": Resolution(
        "Retry the refund",
        RETRY,
        Refund,
        "Send the refund again with the same refundRequestId: Antom answers it idempotently.",
        _retry_refund,
    ),
    "resend-cancel": Resolution(
        "Send the cancel again",
        RETRY,
        Payment,
        "Send the cancel (void) of this payment again; it ends cancelled, or stays marked until Antom answers.",
        _resend_cancel,
    ),
    "send-signals": Resolution(
        "Send the signals now",
        RETRY,
        PaymentEvent,
        "Send the signals this transition announced, which the process that made it did not send (it died after "
        "its commit) and no sweep has sent since, with the same event: receivers keyed on it see them once.",
        _send_signals,
    ),
}


def retryable(differences: list[Difference]) -> dict[str, tuple[str, int]]:
    """The differences a retry settles safely, by subject: a capture or refund whose outcome is still unknown
    here (PENDING, as read now) and of which Antom has no record. Sent again with its own request id, Antom
    answers it idempotently. Maps the subject to its resolution and the row's primary key (two queries)."""
    wanted: dict[str, set[str]] = {"capture": set(), "refund": set()}
    for d in differences:
        noun, _, request_id = d.subject.partition(" ")
        if d.kind == Kind.MISSING_AT_ANTOM and noun in wanted:
            wanted[noun].add(request_id)
    found: dict[str, tuple[str, int]] = {}
    for ledger in (Capture, Refund):
        ids = wanted[ledger.noun]
        if ids:
            field = f"{ledger.noun}_request_id"
            pending = ledger.objects.filter(**{f"{field}__in": ids}, status=ledger.Status.PENDING)
            for request_id, pk in pending.values_list(field, "pk"):
                found[f"{ledger.noun} {request_id}"] = (f"retry-{ledger.noun}", pk)
    return found


# -- the views ------------------------------------------------------------------------------------------------


class ReconcileViews:
    """The reconciliation views of one admin site."""

    def __init__(self, site: admin.AdminSite) -> None:
        self.site = site

    def urls(self) -> list[URLPattern]:
        return [
            path("reconcile/", self.wrap(self.page), name=PREFIX),
            path("reconcile/check/", self.wrap(self.check), name=f"{PREFIX}_check"),
            path("reconcile/report/", self.wrap(self.report), name=f"{PREFIX}_report"),
            path("reconcile/export/", self.wrap(self.export), name=f"{PREFIX}_export"),
            path("reconcile/<slug:action>/<int:pk>/", self.wrap(self.resolve), name=f"{PREFIX}_resolve"),
        ]

    def wrap(self, view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        """Staff only (``admin_view``), and never in one transaction (``ATOMIC_REQUESTS``): the service layer
        commits its rows before it calls Antom. An error page masks what the app's frames hold (signed bodies,
        keys), even with ``DEBUG = True``."""

        def run(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            return view(request, *args, **kwargs)

        return self.site.admin_view(masked_errors(transaction.non_atomic_requests(update_wrapper(run, view))))

    def url(self, suffix: str = "", *args: Any) -> str:
        return reverse(f"{self.site.name}:{PREFIX}{suffix}", args=args)

    def payment_url(self, pk: int | None) -> str:
        if pk is None:
            return ""
        try:
            return reverse(f"{self.site.name}:antom_django_payment_change", args=[pk])
        except NoReverseMatch:
            return ""

    @staticmethod
    def require(request: HttpRequest, permission: str) -> None:
        if not request.user.has_perm(permission):
            raise PermissionDenied

    def back(self, since: date, until: date) -> HttpResponseRedirect:
        return HttpResponseRedirect(f"{self.url()}?since={since.isoformat()}&until={until.isoformat()}")

    # -- GET: the page --------------------------------------------------------------------------------------

    def page(self, request: HttpRequest) -> HttpResponse:
        self.require(request, VIEW)
        since, until = period_of(request.GET)
        try:
            minutes = max(1, min(int(request.GET.get("stuck", "30")), 7 * 24 * 60))
        except ValueError:
            minutes = 30
        figures = summary.by_status(since, until)
        user = request.user
        context = {
            **self.site.each_context(request),
            "title": "Reconciliation",
            "opts": Payment._meta,
            "since": since,
            "until": until,
            "stuck_minutes": minutes,
            "attention": attention.attention(
                stuck_after=timedelta(minutes=minutes), received=check.day_range(since, until)
            ),
            "figures": figures,
            "chart": summary.bar_chart(figures),
            "currencies": summary.by_currency(since, until),
            "last_check": self._last_check(request),
            "last_report": self._last_report(request),
            "report_form": ReportForm(initial={}),
            "check_limit": CHECK_LIMIT,
            "can": {
                "sync": user.has_perm(SYNC),
                "clear": user.has_perm(CLEAR),
                "retry": user.has_perm(RETRY),
                "export": user.has_perm(EXPORT),
            },
            "urls": {
                "check": self.url("_check"),
                "report": self.url("_report"),
                "export": self.url("_export"),
            },
            "max_report_mb": MAX_REPORT_BYTES // (1024 * 1024),
        }
        return TemplateResponse(request, "admin/antom_django/reconcile.html", context)

    def _last_check(self, request: HttpRequest) -> dict[str, Any] | None:
        stored = request.session.get(CHECK_KEY)
        if not stored:
            return None
        differences = [Difference.from_dict(d) for d in stored["differences"]]
        counts = [(KIND_LABELS[Kind(kind)], n) for kind, n in stored["counts"].items()]
        retries = retryable(differences)
        return {
            **stored,
            "counts": counts,
            "rows": [(d, self.payment_url(d.payment_pk), retries.get(d.subject)) for d in differences],
        }

    def _last_report(self, request: HttpRequest) -> dict[str, Any] | None:
        stored = request.session.get(REPORT_KEY)
        if not stored:
            return None
        lists = {}
        for name in ("unknown", "unsettled", "amounts"):
            entries = [Entry.from_dict(e) for e in stored[name]]
            lists[name] = [(e, self.payment_url(e.payment_pk)) for e in entries]
        return {**stored, **lists}

    # -- POST: check, import ----------------------------------------------------------------------------------

    def check(self, request: HttpRequest) -> HttpResponse:
        self.require(request, VIEW)
        if request.method != "POST":
            return HttpResponseRedirect(self.url())
        form = PeriodForm(request.POST)
        if not form.is_valid():
            messages.error(request, f"Check against Antom: {_errors(form)}")
            return HttpResponseRedirect(self.url())
        since, until = form.cleaned_data["since"], form.cleaned_data["until"]
        try:
            offset = max(0, int(request.POST.get("offset", "0")))
        except ValueError:
            offset = 0
        payments = check.payments_created(since, until)
        total = payments.count()
        batch = list(payments[offset : offset + CHECK_LIMIT])
        try:
            run = check.check_payments(batch, total=len(batch))
        except AntomError as exc:  # a client that cannot be built (configuration): nothing was asked
            messages.error(request, f"Cannot ask Antom: {exc}")
            return self.back(since, until)
        request.session[CHECK_KEY] = {
            "since": since.isoformat(),
            "until": until.isoformat(),
            "first": offset + 1 if batch else 0,
            "last": offset + len(batch),
            "total": total,
            "next_offset": offset + len(batch) if offset + len(batch) < total else None,
            "at": timezone.now().isoformat(timespec="seconds"),
            "found": len(run.differences),
            "counts": {str(kind): n for kind, n in run.counts().items()},
            "differences": [d.to_dict() for d in run.differences[:KEPT]],
        }
        level = messages.WARNING if run.differences else messages.SUCCESS
        messages.add_message(
            request,
            level,
            f"Checked {run.checked} of {total} payments against Antom: {len(run.differences)} difference(s).",
        )
        return self.back(since, until)

    def report(self, request: HttpRequest) -> HttpResponse:
        self.require(request, VIEW)
        if request.method != "POST":
            return HttpResponseRedirect(self.url())
        form = ReportForm(request.POST, request.FILES)
        since, until = period_of(request.GET)
        if not form.is_valid():
            messages.error(request, "Report import: choose a report file (and valid days, if any).")
            return self.back(since, until)
        upload = form.cleaned_data["report"]
        given = (form.cleaned_data.get("since"), form.cleaned_data.get("until"))
        if (given[0] is None) != (given[1] is None) or (given[0] and given[1] and given[0] > given[1]):
            messages.error(
                request, "Report import: give both days of the period, the first not after the last, or neither."
            )
            return self.back(since, until)
        if upload.size > MAX_REPORT_BYTES:
            messages.error(
                request, f"Report import: {upload.name} is larger than {MAX_REPORT_BYTES // (1024 * 1024)} MB."
            )
            return self.back(since, until)
        try:
            parsed = read_report(upload.read(), upload.name)
            period = (given[0], given[1]) if given[0] is not None and given[1] is not None else None
            result = compare_report(parsed, period)
        except (ReportError, ValueError) as exc:
            messages.error(request, f"Report import: {upload.name}: {exc}.")
            return self.back(since, until)
        request.session[REPORT_KEY] = {
            "name": upload.name,
            "format": f"{parsed.format.upper()} ({parsed.encoding})" if parsed.format == "csv" else "XLSX",
            "rows": len(parsed.rows) + parsed.others.total(),
            "since": result.period[0].isoformat(),
            "until": result.period[1].isoformat(),
            "matched": result.matched,
            "skipped": sorted(result.skipped.items()),
            "counts": {
                "unknown": len(result.unknown),
                "unsettled": len(result.unsettled),
                "amounts": len(result.amounts),
            },
            "unknown": [e.to_dict() for e in result.unknown[:KEPT]],
            "unsettled": [e.to_dict() for e in result.unsettled[:KEPT]],
            "amounts": [e.to_dict() for e in result.amounts[:KEPT]],
        }
        level = messages.SUCCESS if result.clean else messages.WARNING
        messages.add_message(
            request,
            level,
            f"Imported {upload.name}: {result.matched} matched, {len(result.unknown)} unknown to us, "
            f"{len(result.unsettled)} not settled by Antom, {len(result.amounts)} amount difference(s).",
        )
        return self.back(*result.period)

    # -- GET: export ---------------------------------------------------------------------------------------------

    def export(self, request: HttpRequest) -> HttpResponseBase:
        self.require(request, EXPORT)
        form = PeriodForm(request.GET)
        if not form.is_valid():
            messages.error(request, "Export: give the first and the last day.")
            return HttpResponseRedirect(self.url())
        since, until = form.cleaned_data["since"], form.cleaned_data["until"]
        response = StreamingHttpResponse(export.export_lines(since, until), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{export.filename(since, until)}"'
        return response

    # -- resolutions: GET confirms, POST runs ---------------------------------------------------------------------

    def resolve(self, request: HttpRequest, action: str, pk: int) -> HttpResponse:
        self.require(request, VIEW)
        resolution = RESOLUTIONS.get(action)
        if resolution is None:
            raise Http404("no such resolution")
        self.require(request, resolution.permission)
        obj = get_object_or_404(resolution.model, pk=pk)
        payment = obj if isinstance(obj, Payment) else obj.payment  # type: ignore[attr-defined]
        back = request.POST.get("next") or request.GET.get("next") or self.url()
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}, require_https=request.is_secure()):
            back = self.url()
        if request.method != "POST":
            context = {
                **self.site.each_context(request),
                "title": resolution.title,
                "opts": Payment._meta,
                "resolution": resolution,
                "object": obj,
                "payment": payment,
                "payment_url": self.payment_url(payment.pk),
                "next": back,
                "reconcile_url": self.url(),
            }
            return TemplateResponse(request, "admin/antom_django/reconcile_confirm.html", context)
        try:
            level, text = resolution.run(obj, request)
        except AntomOutcomeUnknown as exc:
            level, text = (
                messages.WARNING,
                f"{resolution.title}: Antom's answer is unknown ({type(exc).__name__}); try again later.",
            )
        except (AntomFailed, PaymentError) as exc:
            level, text = messages.ERROR, f"{resolution.title}: {exc}"
        messages.add_message(request, level, text)
        return HttpResponseRedirect(back)


def reconcile_urls(site: admin.AdminSite) -> list[URLPattern]:
    """The reconciliation URLs, to mount under the payment admin's own (``PaymentAdmin.get_urls``)."""
    return ReconcileViews(site).urls()
