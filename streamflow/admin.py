"""Admin pieces shared by the apps."""

from __future__ import annotations

from django.contrib import admin
from django.core.paginator import Paginator
from django.utils.functional import cached_property

# How far a system table's admin list counts: past this, "about N" pages are offered, never a COUNT(*) of
# millions of rows (13-23 s on SQLite for the continuous values).
COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    """A Paginator whose count stops at COUNT_CAP + 1 (one COUNT over a LIMITed subquery): the admin's lists of
    observations, runs and log lines page through the newest rows without counting them all."""

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: COUNT_CAP + 1].count()


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
