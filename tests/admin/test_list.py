"""The payment list: money with each currency's exponent, expiry countdowns, filters, exact-id search, and a
constant number of queries per page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from antom_django.models import Capture, Payment, Refund
from tests.domain.helpers import make_payment

pytestmark = pytest.mark.django_db
P = Payment.Status
LIST = "/admin/antom_django/payment/"


def listed(client: Client, query: str = "") -> list[Payment]:
    response = client.get(LIST + query)
    assert response.status_code == 200, response.content[:500]
    return list(response.context["cl"].result_list)


def refs(client: Client, query: str = "") -> set[str]:
    return {p.reference_order_id for p in listed(client, query)}


def test_amounts_use_the_currency_exponent(viewer: Client) -> None:
    make_payment(P.SUCCEEDED, amount=123456, currency="SGD", captured_amount=123456, refunded_amount=100)
    make_payment(P.AUTHORIZED, amount=5000, currency="JPY")
    make_payment(P.AUTHORIZED, amount=1234, currency="KWD")
    html = viewer.get(LIST).content.decode()
    for text in ("1234.56 SGD", "1.00 SGD", "5000 JPY", "1.234 KWD"):
        assert text in html


def test_expiry_is_highlighted_with_a_countdown_when_close(viewer: Client) -> None:
    now = timezone.now()
    make_payment(P.AUTHORIZED, auth_expires_at=now + timedelta(hours=5, minutes=1), reference_order_id="soon")
    make_payment(P.AUTHORIZED, auth_expires_at=now + timedelta(days=6, minutes=1), reference_order_id="later")
    make_payment(P.AUTHORIZED, auth_expires_at=now - timedelta(minutes=30), reference_order_id="past")
    make_payment(P.SUCCEEDED, auth_expires_at=now + timedelta(hours=5), reference_order_id="captured")
    html = viewer.get(LIST).content.decode()
    assert 'class="antom-expiring"' in html and "(in 5 h)" in html
    assert 'class="antom-expiry"' in html and "(in 6 d)" in html
    assert 'class="antom-expired"' in html and "(30 min ago)" in html
    assert html.count("antom-expiring") == 1  # the captured one is not highlighted


def test_review_flag_is_shown(viewer: Client) -> None:
    make_payment(P.SUCCEEDED, needs_review=True, review_reason="Antom says FAILED but the payment is SUCCEEDED")
    html = viewer.get(LIST).content.decode()
    assert 'title="Antom says FAILED but the payment is SUCCEEDED">⚑ review</span>' in html


def test_status_currency_and_review_filters(viewer: Client) -> None:
    make_payment(P.AUTHORIZED, reference_order_id="a")
    make_payment(P.FAILED, reference_order_id="f", currency="JPY")
    make_payment(P.SUCCEEDED, reference_order_id="r", needs_review=True)
    assert refs(viewer, "?status__exact=AUTHORIZED") == {"a"}
    assert refs(viewer, "?currency=JPY") == {"f"}
    assert refs(viewer, "?needs_review__exact=1") == {"r"}


def test_expiring_filter(viewer: Client) -> None:
    now = timezone.now()
    make_payment(P.AUTHORIZED, auth_expires_at=now + timedelta(hours=5), reference_order_id="5h")
    make_payment(P.PARTIALLY_CAPTURED, auth_expires_at=now + timedelta(days=2), reference_order_id="2d")
    make_payment(P.AUTHORIZED, auth_expires_at=now - timedelta(hours=1), reference_order_id="past")
    make_payment(P.SUCCEEDED, auth_expires_at=now + timedelta(hours=5), reference_order_id="captured")
    make_payment(P.AUTHORIZED, reference_order_id="unknown")
    assert refs(viewer, "?expiring=1d") == {"5h"}
    assert refs(viewer, "?expiring=3d") == {"5h", "2d"}
    assert refs(viewer, "?expiring=past") == {"past"}


def test_stuck_filter(viewer: Client) -> None:
    old = timezone.now() - timedelta(minutes=20)
    pending = make_payment(P.PENDING, reference_order_id="pending-old")
    make_payment(P.PROCESSING, reference_order_id="processing-new")
    capturing = make_payment(P.AUTHORIZED, reference_order_id="capture-in-flight")
    Capture.objects.create(payment=capturing, amount=100, currency="SGD")
    refunding = make_payment(P.SUCCEEDED, reference_order_id="refund-in-flight", captured_amount=4200)
    Refund.objects.create(payment=refunding, amount=100, currency="SGD")
    make_payment(P.AUTHORIZED, reference_order_id="cancel-in-flight", cancel_requested_at=old)
    make_payment(P.CANCELLED, reference_order_id="cancelled", cancel_requested_at=old)
    Payment.objects.filter(pk=pending.pk).update(created_at=old)
    Capture.objects.update(created_at=old)
    Refund.objects.update(created_at=old)
    assert refs(viewer, "?stuck=15m") == {"pending-old", "capture-in-flight", "refund-in-flight", "cancel-in-flight"}
    assert refs(viewer, "?stuck=1h") == set()


def test_search_by_each_id_exactly(viewer: Client) -> None:
    payment = make_payment(P.AUTHORIZED, reference_order_id="order-77")
    make_payment(P.AUTHORIZED, reference_order_id="order-777")
    for term in (payment.payment_request_id, payment.payment_id, "order-77"):
        assert listed(viewer, f"?q={term}") == [payment]


def test_date_hierarchy(viewer: Client) -> None:
    payment = make_payment(P.AUTHORIZED)
    day = timezone.localtime(payment.created_at)
    assert listed(viewer, f"?created_at__year={day.year}&created_at__month={day.month}&created_at__day={day.day}") == [
        payment
    ]


def page_queries(client: Client, query: str = "") -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(LIST + query).status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "query", ["", "?status__exact=AUTHORIZED", "?stuck=15m", "?expiring=7d&currency=SGD&needs_review__exact=0"]
)
def test_a_page_costs_the_same_queries_for_10_or_100_rows(viewer: Client, query: str) -> None:
    def make(n: int) -> None:
        Payment.objects.bulk_create(
            Payment(
                amount=1000 + i,
                currency=("SGD", "JPY", "KWD")[i % 3],
                status=P.AUTHORIZED,
                reference_order_id=f"order-{n}-{i}",
                auth_expires_at=timezone.now() + timedelta(days=1 + i % 5),
                needs_review=i % 7 == 0,
            )
            for i in range(n)
        )

    viewer.get(LIST)  # sessions, permissions and content types warmed up
    make(10)
    ten = page_queries(viewer, query)
    make(90)
    hundred = page_queries(viewer, query)
    assert hundred == ten
    assert ten <= 12  # session, user, permissions, count, page, date hierarchy, currencies (+ the stuck ledgers)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "query",
    [
        "",
        "?status__exact=AUTHORIZED",
        "?currency=KWD",
        "?needs_review__exact=1",
        "?expiring=1d",
        "?stuck=15m",
        "?q=order-4242",
        "?created_at__year=2026&created_at__month=8",
    ],
)
def test_each_filter_reads_the_page_through_an_index(viewer: Client, query: str) -> None:
    """On 30,000 payments (few pending, few flagged, few held: as in a shop) the page's rows come from an index."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO antom_django_payment (created_at, updated_at, payment_request_id, payment_id, status, amount,
                currency, captured_amount, refunded_amount, is_authorization, capture_mode, description, session_id,
                session_data, auth_expires_at, card_brand, card_funding, card_issuing_country, card_last4, result_code,
                result_message, needs_review, review_reason, reference_order_id, session_request, session_response,
                gateway_data)
            SELECT now() - i * interval '10 minutes', now(), 'pay_' || i, 'A' || i,
                CASE WHEN i % 500 = 0 THEN 'PENDING' WHEN i % 50 = 0 THEN 'AUTHORIZED' ELSE 'SUCCEEDED' END,
                1000 + i, CASE WHEN i % 100 = 0 THEN 'KWD' ELSE 'SGD' END, 0, 0, true, '', '', '', '',
                CASE WHEN i % 50 = 0 THEN now() + (i % 100) * interval '1 hour' END, '', '', '', '', '', '',
                i % 1000 = 0, '', 'order-' || i, '{}', '{}', '{}'
            FROM generate_series(1, 30000) AS i
            """
        )
        cursor.execute("ANALYZE antom_django_payment")
    with CaptureQueriesContext(connection) as captured:
        assert viewer.get(LIST + query).status_code == 200
    [page] = [q["sql"] for q in captured.captured_queries if q["sql"].startswith('SELECT "antom_django_payment"."id"')]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + page)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan on antom_django_payment" not in plan, plan


def test_the_list_links_to_reconciliation_for_those_who_may_reconcile(
    viewer: Client, login: Callable[..., Client]
) -> None:
    link = '<a href="/admin/antom_django/payment/reconcile/" class="viewlink">Reconciliation</a>'
    assert link not in viewer.get(LIST).content.decode()
    reconciler = login("reconcile_payment")
    assert link in reconciler.get(LIST).content.decode()
    assert reconciler.get("/admin/antom_django/payment/reconcile/").status_code == 200


@pytest.mark.postgres
def test_a_filtered_count_is_exact_up_to_the_cap_then_the_planners_estimate(
    viewer: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the cap a broad filter's count is PostgreSQL's estimate: it never reads every matching row."""
    from antom_django.admin import periods

    Payment.objects.bulk_create(
        Payment(amount=100 + i, currency="SGD", status=P.FAILED, reference_order_id=f"o-{i}") for i in range(40)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE antom_django_payment")
    query = "?status__exact=FAILED"
    assert viewer.get(LIST + query).context["cl"].result_count == 40  # exact below the cap
    monkeypatch.setattr(periods, "COUNT_EXACT_BELOW", 10)
    with CaptureQueriesContext(connection) as captured:
        count = viewer.get(LIST + query).context["cl"].result_count
    assert count > 10  # the estimate, never less than what was counted
    [counted] = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]
    assert "LIMIT 11" in counted
    assert any(q["sql"].startswith("EXPLAIN (FORMAT JSON)") for q in captured.captured_queries)


@pytest.mark.postgres
@pytest.mark.parametrize("cap", [1000, 3])
def test_the_date_hierarchy_span_of_a_filtered_list_is_exact(cap: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read from the few matching rows (below the cap) or by walking the index ends (above it): the same first and
    last payment as a plain MIN/MAX, and one query."""
    from django.db.models import Max, Min

    from antom_django.admin import periods

    monkeypatch.setattr(periods, "SPAN_EXACT_BELOW", cap)
    now = timezone.now()
    for i, status in enumerate([P.FAILED, P.SUCCEEDED, P.FAILED, P.FAILED, P.SUCCEEDED, P.FAILED, P.FAILED]):
        payment = make_payment(status, reference_order_id=f"o-{i}")
        Payment.objects.filter(pk=payment.pk).update(created_at=now - timedelta(days=10 * i))
    payments = periods.PeriodQuerySet(Payment)
    for queryset in (payments.filter(status=P.FAILED), payments.filter(status=P.SUCCEEDED), payments.none()):
        plain = Payment.objects.filter(pk__in=queryset.values("pk")).aggregate(
            first=Min("created_at"), last=Max("created_at")
        )
        with CaptureQueriesContext(connection) as captured:
            assert queryset.aggregate(first=Min("created_at"), last=Max("created_at")) == plain
        assert len(captured) <= 1
    assert payments.filter(status=P.FAILED).span("created_at")["first"] == now - timedelta(days=60)
