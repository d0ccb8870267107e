"""Dashboard figures and the chart's geometry."""

from __future__ import annotations

import pytest
from django.utils import timezone

from antom_django.models import Payment
from antom_django.reconcile.summary import BAR_SPACE, bar_chart, by_currency, by_status, color_of

from .helpers import capture, payment

P = Payment.Status
TODAY = timezone.now().date()


@pytest.mark.django_db
def test_counts_and_amounts_by_status() -> None:
    payment("p1", 4200, "SGD", P.AUTHORIZED)
    payment("p2", 1000, "SGD", P.AUTHORIZED)
    payment("p3", 1500, "JPY", P.AUTHORIZED)
    done = payment("p4", 500, "SGD", P.SUCCEEDED)
    capture(done, "c4", 500)
    payment("p5", 100, "SGD", P.FAILED)
    figures = {f.status: f for f in by_status(TODAY, TODAY)}
    assert list(figures) == list(P.values)  # every status, in order
    assert figures[P.AUTHORIZED].count == 3
    assert figures[P.AUTHORIZED].amounts_display == "1500 JPY, 52.00 SGD"
    assert figures[P.CANCELLED].count == 0 and figures[P.CANCELLED].amounts_display == "–"
    totals = {t.currency: t for t in by_currency(TODAY, TODAY)}
    assert (totals["SGD"].count, totals["SGD"].amount, totals["SGD"].captured) == (4, "58.00 SGD", "5.00 SGD")
    chart = bar_chart(list(figures.values()))
    widths = {bar.label: bar.width for bar in chart.bars}
    assert widths["Authorized"] == BAR_SPACE
    assert widths["Succeeded"] == round(BAR_SPACE / 3)
    assert widths["Cancelled"] == 0
    assert chart.height > len(chart.bars) * 20
    assert len({color_of(s) for s in P.values}) == 4
