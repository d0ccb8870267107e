"""The notification list and the reconciliation page on a large notification table: what they filter on is
read through an index (the table is the largest; nearly every row is APPLIED)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

ROWS = 30000


@pytest.fixture
def many_notifications(db: None) -> None:
    """30,000 notifications over 200 days, as a shop keeps them: applied, with a few of every other outcome."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO antom_django_notification (body, notify_type, client_id, request_time, signature_verified,
                outcome, error, received_count, created_at, last_received_at)
            SELECT '{"notifyType":"PAYMENT_RESULT"}', 'PAYMENT_RESULT', 'C', '', true,
                CASE WHEN i %% 1000 = 1 THEN 'UNKNOWN_PAYMENT' WHEN i %% 1000 = 2 THEN 'ERROR'
                     WHEN i %% 1000 = 3 THEN 'NEEDS_REVIEW' WHEN i %% 1000 = 4 THEN 'IGNORED'
                     WHEN i %% 1000 = 5 THEN 'REJECTED' WHEN i %% 1000 = 6 THEN 'RECEIVED' ELSE 'APPLIED' END,
                '', 1, now() - i * interval '10 minutes', now() - i * interval '10 minutes'
            FROM generate_series(1, %s) AS i
            """,
            [ROWS],
        )
        cursor.execute("ANALYZE antom_django_notification")


def plans(client: Client, url: str) -> list[str]:
    """The plans of the page's queries that read notifications (the page and its count)."""
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    queries = [q["sql"] for q in captured.captured_queries if 'FROM "antom_django_notification"' in q["sql"]]
    assert queries
    found = []
    with connection.cursor() as cursor:
        for query in queries:
            cursor.execute("EXPLAIN " + query)
            found.append("\n".join(row[0] for row in cursor.fetchall()))
    return found


def test_each_outcome_filter_and_the_reconciliation_read_through_an_index(
    many_notifications: None, login: Callable[..., Client]
) -> None:
    """One table for every page (30,000 rows take seconds to write): each outcome the filter offers but the
    applied majority, and the reconciliation page's notifications about unknown payments."""
    viewer, reconciler = login(), login("reconcile_payment")
    pages = [
        (viewer, f"/admin/antom_django/notification/?outcome__exact={outcome}")
        for outcome in ("UNKNOWN_PAYMENT", "ERROR", "NEEDS_REVIEW", "IGNORED", "REJECTED", "RECEIVED", "DUPLICATE")
    ]
    for client, url in [*pages, (reconciler, "/admin/antom_django/payment/reconcile/")]:
        for plan in plans(client, url):
            assert "Seq Scan on antom_django_notification" not in plan, (url, plan)
