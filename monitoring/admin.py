"""Read-only admin for run history: runs are written by the workers, never edited by hand."""

from __future__ import annotations

from django.contrib import admin

from acquisition.models import Heartbeat, PullLogEntry, PullRun, PullRunBatch, PullRunStation
from streamflow.admin import ReadOnlyAdmin

from .models import AlertState


class PullRunStationInline(admin.TabularInline):
    model = PullRunStation
    fields = ("location", "batch", "status", "windows_done", "windows_total", "values_inserted", "values_updated")
    fields += ("error",)
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class PullRunBatchInline(admin.TabularInline):
    model = PullRunBatch
    fields = ("number", "status", "stations", "requests_made", "pages_fetched", "attempts", "resumes", "worker")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PullRun)
class PullRunAdmin(ReadOnlyAdmin):
    list_display = ("pk", "configuration_name", "trigger", "status", "created_at", "finished_at", "stations_failed")
    list_filter = ("status", "trigger", "data_type")
    search_fields = ("configuration_name",)
    date_hierarchy = "created_at"
    inlines = [PullRunBatchInline, PullRunStationInline]
    show_full_result_count = False


@admin.register(PullRunStation)
class PullRunStationAdmin(ReadOnlyAdmin):
    list_display = ("run", "location", "status", "windows_done", "windows_total", "values_inserted", "attempts")
    list_filter = ("status",)
    list_select_related = ("run", "location")
    raw_id_fields = ("run", "location", "time_series")
    search_fields = ("location__monitoring_location_id",)
    show_full_result_count = False


@admin.register(PullLogEntry)
class PullLogEntryAdmin(ReadOnlyAdmin):
    list_display = ("pk", "run", "created_at", "level", "location", "message")
    list_filter = ("level",)
    list_select_related = ("run", "location")
    raw_id_fields = ("run", "location")
    # Millions of rows: no full count, and search by run id (indexed) rather than message text.
    show_full_result_count = False
    search_fields = ("=run__id",)


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin):
    list_display = ("name", "seen_at")


@admin.register(AlertState)
class AlertStateAdmin(ReadOnlyAdmin):
    list_display = ("key", "kind", "active", "subject", "opened_at", "notified_at", "cleared_at")
    list_filter = ("kind", "active")
    search_fields = ("key", "subject")
