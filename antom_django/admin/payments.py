"""``PaymentAdmin``: the payment list operators work from, and the payment page with its timeline and actions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views.decorators.csrf import csrf_protect

from ..api.errors import masked_errors
from ..models import Payment
from ..state import CAPTURABLE
from . import actions, bulk
from .display import expiry, money, status_badge
from .filters import CurrencyFilter, ExpiringFilter, StuckFilter
from .inlines import CaptureInline, RefundInline
from .periods import EstimatingPaginator, PeriodQuerySet
from .reconcile import reconcile_urls
from .timeline import timeline

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldsetSpec

# Everything on a payment comes from Antom or from the service layer: shown, never edited here.
DETAIL_FIELDSETS: _FieldsetSpec = (
    (
        None,
        {
            "fields": (
                ("status_", "review"),
                ("amount_", "captured_", "refunded_"),
                "auth_expiry",
                ("payment_request_id", "payment_id"),
                ("reference_order_id", "order_link"),
                ("description", "user"),
            )
        },
    ),
    (
        "Antom",
        {
            "fields": (
                ("is_authorization", "capture_mode"),
                ("result_code", "result_message"),
                ("paid_at", "session_expires_at"),
                "session_id",
                ("card_brand", "card_funding", "card_issuing_country", "card_last4"),
            )
        },
    ),
    (
        "Background work",
        {
            "classes": ("collapse",),
            "fields": (
                ("next_check_at", "capture_at"),
                ("cancel_requested_at", "expiry_handled_at"),
                "last_inquiry_at",
                ("created_at", "updated_at"),
            ),
        },
    ),
    ("Raw answers", {"classes": ("collapse",), "fields": ("gateway_data", "session_response")}),
)


class PaymentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Payments: read-only gateway data, a timeline, and one confirmed action per permission."""

    list_display = (
        "payment_request_id",
        "status_",
        "amount_",
        "captured_",
        "refunded_",
        "auth_expiry",
        "review",
        "reference_order_id",
        "created",
    )
    list_filter = ("status", CurrencyFilter, "needs_review", ExpiringFilter, StuckFilter)
    date_hierarchy = "created_at"
    search_fields = ("payment_request_id", "payment_id", "reference_order_id")
    search_help_text = "An exact payment request id, Antom payment id or order reference."
    ordering = ("-created_at", "-pk")
    list_per_page = 50
    # The unfiltered COUNT(*) of a large table on every page is what makes admin lists slow.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # a count per filter choice, each over the whole table
    paginator = EstimatingPaginator
    actions = ["capture_selected"]
    fieldsets = DETAIL_FIELDSETS
    inlines = (CaptureInline, RefundInline)
    change_form_template = "admin/antom_django/payment/change_form.html"

    class Media:
        css = {"all": ("antom_django/admin.css",)}

    # -- read-only ------------------------------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_capture_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("antom_django.capture_payment"))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [str(name) for name in flatten_fieldsets(DETAIL_FIELDSETS)]

    # -- list -----------------------------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[Payment]:
        # The bulky raw columns are read on the payment page only.
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name == "antom_django_payment_changelist":
            queryset = PeriodQuerySet(self.model, query=queryset.query.chain(), using=queryset.db)
            queryset = queryset.defer("session_data", "session_request", "session_response", "gateway_data")
        return queryset

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Payment], search_term: str
    ) -> tuple[QuerySet[Payment], bool]:
        """Exact ids (each has its own index), not the admin's default case-insensitive substring scan."""
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(payment_request_id=term) | Q(payment_id=term) | Q(reference_order_id=term)), False

    @admin.display(description="status", ordering="status")
    def status_(self, payment: Payment) -> SafeString:
        return status_badge(payment.status, payment.get_status_display())

    @admin.display(description="amount", ordering="amount")
    def amount_(self, payment: Payment) -> str:
        return money(payment.amount, payment.currency)

    @admin.display(description="captured")
    def captured_(self, payment: Payment) -> str:
        return money(payment.captured_amount, payment.currency) if payment.captured_amount else "-"

    @admin.display(description="refunded")
    def refunded_(self, payment: Payment) -> str:
        return money(payment.refunded_amount, payment.currency) if payment.refunded_amount else "-"

    @admin.display(description="authorization expires", ordering="auth_expires_at")
    def auth_expiry(self, payment: Payment) -> SafeString | str:
        return expiry(payment.auth_expires_at, open_=payment.status in CAPTURABLE)

    @admin.display(description="review")
    def review(self, payment: Payment) -> SafeString | str:
        if not payment.needs_review:
            return "-"
        first = (payment.review_reason or "flagged").splitlines()[0]
        return format_html('<span class="antom-review" title="{}">⚑ review</span>', first)

    @admin.display(description="created", ordering="created_at")
    def created(self, payment: Payment) -> str:
        return timezone.localtime(payment.created_at).strftime("%Y-%m-%d %H:%M")

    @admin.display(description="order")
    def order_link(self, payment: Payment) -> str:
        if payment.order_content_type_id is None:
            return "-"
        return f"{payment.order_content_type} #{payment.order_object_id}"

    # -- the payment page -----------------------------------------------------------------------------------

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        payment = self.get_object(request, unquote(object_id))
        extra: dict[str, Any] = dict(extra_context or {})
        if payment is not None:
            extra["antom_actions"] = actions.allowed(request, payment)
            extra["antom_timeline"] = timeline(payment)
            extra["antom_now"] = timezone.now()
        return super().change_view(request, object_id, form_url, extra)

    # -- URLs -----------------------------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        """The actions' URLs (and reconciliation's, in :mod:`.reconcile`) before the admin's own, whose
        ``<path:object_id>/`` would take them."""
        return [*self.operation_urls(), *reconcile_urls(self.admin_site), *super().get_urls()]

    def operation_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/do/<slug:name>/",
                self.wrap(self.operation_view),
                name=f"{info[0]}_{info[1]}_operation",
            ),
        ]

    def wrap(self, view: Any) -> Any:
        """``admin_site.admin_view`` that never runs in one transaction (``ATOMIC_REQUESTS``): the service
        layer commits its rows before calling Antom; an error page of theirs masks what the app's frames hold
        (signed bodies, keys), even with ``DEBUG = True``."""
        return self.admin_site.admin_view(masked_errors(transaction.non_atomic_requests(csrf_protect(view))))

    def operation_view(self, request: HttpRequest, object_id: str, name: str) -> HttpResponse:
        return actions.operation_view(self, request, unquote(object_id), name)

    # -- bulk capture ---------------------------------------------------------------------------------------

    @admin.action(description="Capture selected authorizations in the background", permissions=["capture"])
    def capture_selected(self, request: HttpRequest, queryset: QuerySet[Payment]) -> HttpResponse | None:
        return bulk.capture_selected(self, request, queryset)
