"""``NotificationAdmin``: every message Antom sent, as stored, and its replay."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views.decorators.csrf import csrf_protect

from ..api.errors import masked_errors
from ..models import Notification
from ..services.replay import REPLAYABLE, NotReplayable, check_stored, replay_notification
from .periods import EstimatingPaginator

REPLAY_PERMISSION = "antom_django.replay_notification"


class NotifyTypeFilter(admin.SimpleListFilter):
    """The notification types Antom sends (a fixed list: no DISTINCT over every stored notification)."""

    title = "notify type"
    parameter_name = "notify_type"
    TYPES = ("PAYMENT_RESULT", "PAYMENT_PENDING", "CAPTURE_RESULT", "REFUND_RESULT")

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(t, t) for t in self.TYPES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Notification]) -> QuerySet[Notification] | None:
        value = self.value()
        return queryset.filter(notify_type=value) if value else None


class NotificationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Stored notifications, read-only; those not applied (failed, or about a payment unknown then) can be replayed."""

    list_display = ("id", "notify_type", "outcome", "verified", "payment_link", "received_count", "created_at")
    list_filter = ("outcome", NotifyTypeFilter, "signature_verified")
    list_select_related = ("payment",)
    search_fields = ("id",)
    search_help_text = "A notification number, or the payment request id of the payment it is about."
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatingPaginator
    ordering = ("-created_at", "-pk")
    change_form_template = "admin/antom_django/notification/change_form.html"
    fields = readonly_fields = (
        "notify_type",
        "outcome",
        "error",
        "payment_link",
        "signature_verified",
        "client_id",
        "request_time",
        "signed_path",
        "signature",
        "remote_addr",
        "received_count",
        "created_at",
        "last_received_at",
        "processed_at",
        "dedupe_key",
        "fingerprint",
        "body",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Notification], search_term: str
    ) -> tuple[QuerySet[Notification], bool]:
        """Exact matches only, each through an index (the primary key, or the payment's request id)."""
        term = search_term.strip().lstrip("#")
        if not term:
            return queryset, False
        if term.isascii() and term.isdigit() and len(term) < 19:
            return queryset.filter(pk=int(term)), False
        return queryset.filter(payment__payment_request_id=term), False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="verified", boolean=True)
    def verified(self, notification: Notification) -> bool:
        return notification.signature_verified

    @admin.display(description="payment")
    def payment_link(self, notification: Notification) -> SafeString | str:
        if notification.payment is None:
            return "-"
        url = reverse("admin:antom_django_payment_change", args=[notification.payment_id])
        return format_html('<a href="{}">{}</a>', url, notification.payment.payment_request_id)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Notification]:
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name == "antom_django_notification_changelist":
            queryset = queryset.defer("body")
        return queryset

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        notification = self.get_object(request, unquote(object_id))
        extra = dict(extra_context or {})
        if notification is not None and request.user.has_perm(REPLAY_PERMISSION):
            extra["antom_replayable"] = notification.outcome in REPLAYABLE
        return super().change_view(request, object_id, form_url, extra)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(
            masked_errors(transaction.non_atomic_requests(csrf_protect(self.replay_view)))
        )
        info = self.opts.app_label, self.opts.model_name
        return [path("<path:object_id>/replay/", view, name=f"{info[0]}_{info[1]}_replay"), *super().get_urls()]

    def replay_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET: what will be checked and applied; POST: check the stored message again and apply it."""
        notification = self.get_object(request, unquote(object_id))
        if notification is None:
            raise Http404("no such notification")
        if not request.user.has_perm(REPLAY_PERMISSION):
            raise PermissionDenied
        back = HttpResponseRedirect(reverse("admin:antom_django_notification_change", args=[notification.pk]))
        if request.method == "POST":
            try:
                intake = replay_notification(notification)
            except NotReplayable as exc:
                messages.error(request, f"Not replayed: {exc.message}.")
                return back
            outcome = (
                Notification.Outcome(intake.outcome).label if intake.outcome in Notification.Outcome else intake.outcome
            )
            level = messages.ERROR if intake.error is not None else messages.SUCCESS
            messages.add_message(request, level, f"Replayed: {outcome}." + (f" {intake.error}" if intake.error else ""))
            self.log_change(request, notification, f"Replayed: {intake.outcome}")
            return back
        try:
            check_stored(notification)
            problem = (
                "" if notification.outcome in REPLAYABLE else f"it is {notification.get_outcome_display().lower()}"
            )
        except NotReplayable as exc:
            problem = exc.message
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Replay notification #{notification.pk}?",
            "notification": notification,
            "problem": problem,
        }
        return TemplateResponse(request, "admin/antom_django/notification/replay.html", context)
