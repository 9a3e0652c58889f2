"""Observations in the admin: read-only (they are written by Smart Append only, through acquisition.storage)."""

from __future__ import annotations

from django.contrib import admin

from streamflow.admin import ReadOnlyAdmin

from .models import ContinuousValue, DailyValue, RateLimitBucket


class ObservationAdmin(ReadOnlyAdmin):
    list_select_related = ["series__location"]
    list_filter = ["approval_status"]
    # Exact series id or station id: served by the unique indexes, never a LIKE over millions of rows.
    search_fields = ["=series__time_series_id", "=series__location__monitoring_location_id"]
    raw_id_fields = ["series"]
    show_full_result_count = False  # a COUNT(*) over every observation on each page is too slow
    list_per_page = 200


@admin.register(DailyValue)
class DailyValueAdmin(ObservationAdmin):
    list_display = ["series", "date", "value", "approval_status", "qualifiers", "last_modified"]
    date_hierarchy = "date"
    ordering = ["series", "-date"]


@admin.register(ContinuousValue)
class ContinuousValueAdmin(ObservationAdmin):
    list_display = ["series", "time", "value", "approval_status", "qualifiers", "last_modified"]
    date_hierarchy = "time"
    ordering = ["series", "-time"]


@admin.register(RateLimitBucket)
class RateLimitBucketAdmin(ReadOnlyAdmin):
    list_display = ["name", "tokens", "updated_at"]
