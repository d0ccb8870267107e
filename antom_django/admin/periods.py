"""What keeps the payment list fast on a large table: its date hierarchy from the first and last payment (index
reads, bounded when a filter matches few rows) instead of a DISTINCT over every row, and counts that never read
more than 10,000 rows."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, tzinfo
from functools import cached_property
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import F, Field, Max, Min, QuerySet
from django.utils import timezone

from ..models import Payment


class PeriodQuerySet(QuerySet[Payment]):
    """Payments whose ``datetimes()`` lists each period from the first to the last one (a period with no payment
    may appear; following its link shows an empty list)."""

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The admin's date hierarchy asks for ``first=Min(f), last=Max(f)``: answered by :meth:`span`."""
        first, last = kwargs.get("first"), kwargs.get("last")
        if (
            not args
            and len(kwargs) == 2
            and isinstance(first, Min)
            and isinstance(last, Max)
            and first.source_expressions == last.source_expressions
            and isinstance(first.source_expressions[0], F)
        ):
            return self.span(first.source_expressions[0].name)
        return super().aggregate(*args, **kwargs)

    def span(self, field_name: str) -> dict[str, Any]:
        """``{"first": ..., "last": ...}`` of ``field_name`` over these payments, exact, at a bounded cost.

        ``MIN``/``MAX`` of an indexed column is read by walking that index from one end until a row passes the
        filters: at once for a common filter, but through the whole table when few rows or none match (a stuck
        or review filter: seconds at 100,000 payments). On PostgreSQL a filtered list therefore first reads up
        to :data:`SPAN_EXACT_BELOW` matching rows through the filters' own indexes; only when there are more
        (so matches are common and the walk is short) are the index ends walked. One query either way."""
        connection = connections[self.db]
        if not self.query.where or connection.vendor != "postgresql":
            return super().aggregate(first=Min(field_name), last=Max(field_name))
        try:
            inner, params = self.order_by().values_list(field_name).query.sql_with_params()
        except EmptyResultSet:  # a filter nothing can match (none(), pk__in=[]): Django answers without SQL
            return super().aggregate(first=Min(field_name), last=Max(field_name))
        field = self.model._meta.get_field(field_name)
        column = connection.ops.quote_name(str(field.column) if isinstance(field, Field) else field_name)
        sql = (
            f"WITH few AS MATERIALIZED ({inner} LIMIT {SPAN_EXACT_BELOW + 1}) SELECT "
            f"CASE WHEN (SELECT COUNT(*) FROM few) <= {SPAN_EXACT_BELOW} THEN (SELECT MIN({column}) FROM few) "
            f"ELSE (SELECT MIN({column}) FROM ({inner}) AS a) END, "
            f"CASE WHEN (SELECT COUNT(*) FROM few) <= {SPAN_EXACT_BELOW} THEN (SELECT MAX({column}) FROM few) "
            f"ELSE (SELECT MAX({column}) FROM ({inner}) AS b) END"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *params, *params])
            first, last = cursor.fetchone()
        return {"first": first, "last": last}

    def datetimes(  # type: ignore[override]
        self, field_name: str, kind: str, order: str = "ASC", tzinfo: tzinfo | None = None, **kwargs: Any
    ) -> list[datetime]:
        span = self.span(field_name)
        if span["first"] is None or span["last"] is None:
            return []
        zone = tzinfo or timezone.get_current_timezone()
        current = _start(span["first"].astimezone(zone), kind)
        last = span["last"].astimezone(zone)
        periods = []
        while current <= last:
            periods.append(current)
            current = _next(current, kind)
        return periods if order == "ASC" else periods[::-1]


def _start(moment: datetime, kind: str) -> datetime:
    moment = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if kind in ("month", "year"):
        moment = moment.replace(day=1)
    if kind == "year":
        moment = moment.replace(month=1)
    return moment


def _next(moment: datetime, kind: str) -> datetime:
    if kind == "year":
        return moment.replace(year=moment.year + 1)
    if kind == "month":
        return moment.replace(year=moment.year + moment.month // 12, month=moment.month % 12 + 1)
    return moment + timedelta(days=1)  # wall-clock arithmetic: midnight again, across a DST change too


SPAN_EXACT_BELOW = 1_000
"""A filtered list's first and last payment are read from its matching rows up to this many (:meth:`span`)."""

ESTIMATE_ABOVE = 50_000
"""From this many rows, the unfiltered list's count is PostgreSQL's estimate (``pg_class.reltuples``)."""

COUNT_EXACT_BELOW = 10_000
"""A filtered list is counted exactly up to this many payments; past it the count is the planner's estimate."""


class EstimatingPaginator(Paginator):
    """Counts that cost the same on 1,000 or 1,000,000 rows, on PostgreSQL. ``COUNT(*)`` reads every row it counts
    (the unfiltered table, or most of it behind a broad filter): about 20 ms at 100,000 payments, growing with the
    table, for a number nobody needs exact. The unfiltered list's count is the table's statistics past
    :data:`ESTIMATE_ABOVE` rows; a filtered one is counted up to :data:`COUNT_EXACT_BELOW` rows, and past that is
    the planner's estimate of the filtered rows (EXPLAIN)."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet) or connections[queryset.db].vendor != "postgresql":
            return super().count
        connection = connections[queryset.db]
        if not queryset.query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [queryset.model._meta.db_table]
                )
                row = cursor.fetchone()
            if row and row[0] >= ESTIMATE_ABOVE:
                return int(row[0])
            return super().count
        counted = queryset.order_by()[: COUNT_EXACT_BELOW + 1].count()
        if counted <= COUNT_EXACT_BELOW:
            return counted
        sql, params = queryset.order_by().query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        return max(counted, int(plan[0]["Plan"]["Plan Rows"]))
