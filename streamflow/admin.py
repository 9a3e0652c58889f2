"""Admin pieces shared by the apps."""

from __future__ import annotations

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property

# How far a system table's admin list counts: past this, "about N" pages are offered, never a COUNT(*) of
# millions of rows (13-23 s on SQLite for the continuous values).
COUNT_CAP = 10_000


def estimated_rows(model) -> int | None:
    """PostgreSQL's own row estimate of a model's table (kept by ANALYZE / autovacuum), summed over its partitions
    if it has any; None elsewhere, or before the table's first ANALYZE."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        # A partitioned table's own reltuples is -1 or 0: its leaves hold the estimate.
        cursor.execute(
            "SELECT SUM(reltuples) FILTER (WHERE reltuples > 0) FROM pg_class "
            "WHERE oid = %s::regclass OR oid IN (SELECT relid FROM pg_partition_tree(%s::regclass) WHERE isleaf)",
            [model._meta.db_table] * 2,
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] else None


def about(n: int) -> int:
    """n to 3 significant figures (278,341 → 278,000): an estimate should not read as a count."""
    digits = len(str(n))
    return round(n, -(digits - 3)) if digits > 3 else n


class CappedCountPaginator(Paginator):
    """A Paginator whose count stops at COUNT_CAP + 1 (one COUNT over a LIMITed subquery): the admin's lists of
    observations, runs and log lines page through the newest rows without counting them all.

    `count_label` is what the list says (admin/pagination.html, admin/search_form.html), never the capped count
    as if it were the total: the exact count up to COUNT_CAP; past it, unfiltered on PostgreSQL, "about N" from
    the table's estimate; otherwise "more than 10,000"."""

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: COUNT_CAP + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > COUNT_CAP

    @cached_property
    def estimate(self) -> int | None:
        """The table's estimated size, when the list is the whole table and past the cap."""
        if not self.capped or self.object_list.query.where:
            return None
        n = estimated_rows(self.object_list.model)
        return about(n) if n and n > COUNT_CAP else None

    @property
    def cap_label(self) -> str:
        return f"{COUNT_CAP:,}"

    @property
    def count_label(self) -> str:
        if not self.capped:
            return f"{self.count:,}"
        if self.estimate:
            return f"about {self.estimate:,}"
        return f"more than {COUNT_CAP:,}"


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records only the system writes (observations, runs, logs): visible to superusers, never edited by hand."""

    paginator = CappedCountPaginator
    show_full_result_count = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
