"""Bulk capture from the payment list: a confirmation page, then the background work, and a progress page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from ..models import Payment
from ..services import bulk
from .display import money

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

REFRESH_SECONDS = 3
"""How often the progress page reloads while captures are waiting or in flight."""


def capture_selected(
    model_admin: ModelAdmin[Payment], request: HttpRequest, queryset: QuerySet[Payment]
) -> HttpResponse | None:
    """The admin action: confirm (what will be captured, what is left out and why), then schedule."""
    now = timezone.now()
    selected = list(queryset.order_by("pk")[: bulk.MAX_PAYMENTS + 1])
    if len(selected) > bulk.MAX_PAYMENTS:
        model_admin.message_user(
            request, f"Select at most {bulk.MAX_PAYMENTS} payments for one bulk capture.", messages.ERROR
        )
        return None
    if request.POST.get("post") == "yes":
        job = bulk.schedule_captures(selected, user=request.user, now=now)
        count = job.payments.count()
        model_admin.message_user(
            request,
            f"{count} of {len(selected)} payments are scheduled for capture; the background work captures them now.",
            messages.SUCCESS if count else messages.WARNING,
        )
        return HttpResponseRedirect(reverse("admin:antom_django_bulkcapture_change", args=[job.pk]))
    rows = [(payment, bulk.not_capturable(payment, now)) for payment in selected]
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": "Capture the selected authorizations?",
        "capturable": [(p, money(p.amount - p.captured_amount, p.currency)) for p, why in rows if not why],
        "left_out": [(p, why) for p, why in rows if why],
        "queryset": selected,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": model_admin.media,
    }
    return TemplateResponse(request, "admin/antom_django/payment/bulk_capture_confirm.html", context)


class BulkCaptureAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Bulk captures and their progress (computed from the captures of their payments)."""

    list_display = ("__str__", "requested_by", "selected", "created_at")
    list_select_related = ("requested_by",)
    change_form_template = "admin/antom_django/bulkcapture/progress.html"
    fields = readonly_fields = ("requested_by", "selected", "created_at")

    class Media:
        css = {"all": ("antom_django/admin.css",)}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("antom_django.view_payment"))

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        job = self.get_object(request, object_id)
        extra: dict[str, Any] = dict(extra_context or {})
        if job is not None:
            progress = bulk.progress(job)
            extra["progress"] = progress
            extra["stages"] = [(stage.value, progress.count(stage)) for stage in bulk.Stage]
            extra["rows"] = [(p, progress.stages[p.pk].value, money(p.amount, p.currency)) for p in progress.payments]
            extra["refresh"] = None if progress.done else REFRESH_SECONDS
        return super().change_view(request, object_id, form_url, extra)
