from __future__ import annotations

from django.contrib import admin

from .models import MonitoringLocation, TimeSeries


class TimeSeriesInline(admin.TabularInline):
    model = TimeSeries
    extra = 0
    fields = ["kind", "parameter_code", "statistic_id", "time_series_id", "primary", "begin", "end", "unit"]
    show_change_link = True


@admin.register(MonitoringLocation)
class MonitoringLocationAdmin(admin.ModelAdmin):
    # Four columns fit a 1280 px screen beside the admin's sidebar without wrapping names; site type and the
    # daily/continuous flags are filters, the HUC is searchable and on the change page.
    list_display = ["monitoring_location_id", "name", "state_code", "drainage_area_sqmi"]
    list_filter = ["state_code", "site_type", "has_daily", "has_continuous", "agency_code"]
    # "=" / "^" prefixes keep the admin search on the indexed exact / prefix lookups; name stays a contains search.
    search_fields = ["=monitoring_location_id", "^site_number", "name", "^huc"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [TimeSeriesInline]
    # The catalog holds up to millions of rows: an exact count of every filtered list would be a full scan.
    show_full_result_count = False
    list_per_page = 50


@admin.register(TimeSeries)
class TimeSeriesAdmin(admin.ModelAdmin):
    list_display = ["time_series_id", "location", "parameter_code", "statistic_id", "kind", "primary", "begin", "end"]
    list_filter = ["kind", "parameter_code", "primary", "location__state_code"]
    search_fields = ["=time_series_id", "^location__monitoring_location_id", "^location__site_number"]
    list_select_related = ["location"]
    raw_id_fields = ["location"]
    show_full_result_count = False
