"""How the admin shows money, times and statuses (one place, so the list and the page agree)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ..client.money import MoneyError, format_amount

EXPIRY_WARNING = timedelta(days=1)
"""An authorization expiring sooner than this is highlighted."""


def money(minor: int | None, currency: str) -> str:
    """``4200, "SGD"`` → ``42.00 SGD``, with the currency's exponent; ``-`` when there is nothing."""
    if minor is None:
        return "-"
    try:
        return format_amount(minor, currency)
    except MoneyError:
        return f"{minor} {currency} (minor units)"


def countdown(moment: datetime, now: datetime | None = None) -> str:
    """``in 5 h``, ``in 3 d``, ``12 min ago``: the largest unit that says it."""
    seconds = (moment - (now or timezone.now())).total_seconds()
    size = abs(seconds)
    if size < 3600:
        text = f"{max(1, round(size / 60))} min"
    elif size < 2 * 86400:
        text = f"{round(size / 3600)} h"
    else:
        text = f"{round(size / 86400)} d"
    return f"in {text}" if seconds >= 0 else f"{text} ago"


def expiry(moment: datetime | None, *, open_: bool, now: datetime | None = None) -> SafeString | str:
    """The authorization's expiry with its countdown; highlighted when close (or past) while it can be captured."""
    if moment is None:
        return "-"
    now = now or timezone.now()
    when = timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")
    if not open_:
        return when
    if moment <= now:
        css = "antom-expired"
    elif moment - now <= EXPIRY_WARNING:
        css = "antom-expiring"
    else:
        css = "antom-expiry"
    return format_html('<span class="{}" title="{}">{} ({})</span>', css, when, when, countdown(moment, now))


STATUS_CSS = {
    "INITIATED": "pending",
    "PENDING": "pending",
    "PROCESSING": "pending",
    "AUTHORIZED": "held",
    "PARTIALLY_CAPTURED": "held",
    "SUCCEEDED": "ok",
    "REFUNDED": "closed",
    "FAILED": "bad",
    "CANCELLED": "closed",
}


def status_badge(value: str, label: str) -> SafeString:
    """A status as a coloured badge (``antom_django/admin.css``)."""
    return format_html('<span class="antom-status antom-{}">{}</span>', STATUS_CSS.get(value, "pending"), label)
