"""Dashboard figures: payments by status for a period (count and amount per currency), and the geometry of a
horizontal bar chart that the template draws as inline SVG (no JavaScript, nothing from a CDN)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Sum

from ..client.money import format_amount
from ..models import Payment
from ..state import PAYMENT_FINAL, PAYMENT_PAID, PAYMENT_PENDING
from .check import day_range

P = Payment.Status


@dataclass(frozen=True)
class StatusFigure:
    """Payments in one status: how many, and their amounts per currency (minor units)."""

    status: str
    label: str
    count: int
    amounts: tuple[tuple[str, int], ...]

    @property
    def amounts_display(self) -> str:
        return ", ".join(format_amount(value, currency) for currency, value in self.amounts) or "–"


@dataclass(frozen=True)
class CurrencyTotals:
    """One currency's payments in the period: count, amount, captured and refunded (formatted)."""

    currency: str
    count: int
    amount: str
    captured: str
    refunded: str


def by_status(since: date, until: date) -> list[StatusFigure]:
    """One figure per status, in the state machine's order (zeros included, so the chart's rows stay put)."""
    start, end = day_range(since, until)
    rows = (
        Payment.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("status", "currency")
        .annotate(n=Count("id"), total=Sum("amount"))
        .order_by("status", "currency")
    )
    counts: dict[str, int] = {}
    amounts: dict[str, list[tuple[str, int]]] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + row["n"]
        amounts.setdefault(row["status"], []).append((row["currency"], int(row["total"] or 0)))
    return [
        StatusFigure(status.value, str(status.label), counts.get(status.value, 0), tuple(amounts.get(status.value, ())))
        for status in P
    ]


def by_currency(since: date, until: date) -> list[CurrencyTotals]:
    start, end = day_range(since, until)
    rows = (
        Payment.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("currency")
        .annotate(n=Count("id"), amount=Sum("amount"), captured=Sum("captured_amount"), refunded=Sum("refunded_amount"))
        .order_by("currency")
    )
    return [
        CurrencyTotals(
            currency=row["currency"],
            count=row["n"],
            amount=format_amount(int(row["amount"] or 0), row["currency"]),
            captured=format_amount(int(row["captured"] or 0), row["currency"]),
            refunded=format_amount(int(row["refunded"] or 0), row["currency"]),
        )
        for row in rows
    ]


# -- the chart -------------------------------------------------------------------------------------------------

LABEL_WIDTH = 150
BAR_SPACE = 340
VALUE_WIDTH = 300
ROW_HEIGHT = 28
BAR_HEIGHT = 18
PADDING = 8

COLORS = {
    "pending": "#c98a1b",
    "paid": "#2f7d4f",
    "refunded": "#3b6ab0",
    "closed": "#8a8f98",
}


def color_of(status: str) -> str:
    """Pending amber, paid green, refunded blue, failed or cancelled grey."""
    if status in PAYMENT_PENDING:
        return COLORS["pending"]
    if status == P.REFUNDED:
        return COLORS["refunded"]
    if status in PAYMENT_PAID:
        return COLORS["paid"]
    assert status in PAYMENT_FINAL
    return COLORS["closed"]


@dataclass(frozen=True)
class Bar:
    """One row of the chart: its label on the left, a bar scaled to the count, the figures on the right."""

    label: str
    value: str
    count: int
    y: int
    text_y: int
    width: int
    color: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bar_x: int
    value_x: int
    bars: tuple[Bar, ...]


def bar_chart(figures: list[StatusFigure]) -> Chart:
    """Bars scaled to the largest count; a non-zero count always shows at least a sliver."""
    top = max((f.count for f in figures), default=0) or 1
    bars = []
    for index, figure in enumerate(figures):
        y = PADDING + index * ROW_HEIGHT
        width = round(figure.count / top * BAR_SPACE)
        bars.append(
            Bar(
                label=figure.label,
                value=f"{figure.count} · {figure.amounts_display}",
                count=figure.count,
                y=y,
                text_y=y + BAR_HEIGHT - 5,
                width=max(width, 2) if figure.count else 0,
                color=color_of(figure.status),
            )
        )
    return Chart(
        width=LABEL_WIDTH + BAR_SPACE + VALUE_WIDTH,
        height=2 * PADDING + len(figures) * ROW_HEIGHT,
        bar_x=LABEL_WIDTH,
        value_x=LABEL_WIDTH + BAR_SPACE + 8,
        bars=tuple(bars),
    )
