"""Observations in the admin: read-only (they are written by Smart Append only, through acquisition.storage)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from streamflow.admin import ReadOnlyAdmin

from .models import (
    DailyValue,
    NormalsFetch,
    QualityEvent,
    QualityMonth,
    RateLimitBucket,
    RevisionNote,
    RevisionSet,
    SeriesNormal,
)


class ObservationAdmin(ReadOnlyAdmin):
    list_select_related = ["series__location"]
    list_filter = ["approval_status"]
    # Exact series id or station id: served by the unique indexes, never a LIKE over millions of rows.
    search_fields = ["=series__time_series_id", "=series__location__monitoring_location_id"]
    raw_id_fields = ["series"]
    show_full_result_count = False  # a COUNT(*) over every observation on each page is too slow
    list_per_page = 200


# Ordered by the series' id, not by "series" (which sorts through the series' and the station's own orderings:
# a sort of every row, 0.8-1.5 s at 278k continuous values): -series_id, -time is the unique (series, time) index
# read backwards, and total, so the admin adds no -pk. No date_hierarchy: its SELECT DISTINCT year over the whole
# table cost 0.4-0.6 s a page there; search a series or a station, then page from its newest value.
@admin.register(DailyValue)
class DailyValueAdmin(ObservationAdmin):
    list_display = ["series", "date", "value", "approval_status", "qualifiers", "last_modified"]
    ordering = ["-series_id", "-date"]
    sortable_by = ["date"]


# No ContinuousValue admin: Django's admin refuses a model keyed on (series, time) (models.ContinuousValue, whose
# partitioned table has no surrogate id); its values are read on the station and data pages.


@admin.register(QualityMonth)
class QualityMonthAdmin(ReadOnlyAdmin):
    """Quality tallies (acquisition/tallies.py): kept by the commits, rebuilt by `manage.py rebuild_quality_tallies`."""

    list_display = ["series", "month", "stored", "present", "missing", "approved", "provisional"]
    list_select_related = ["series__location"]
    search_fields = ["=series__time_series_id", "=series__location__monitoring_location_id"]
    raw_id_fields = ["series"]
    ordering = ["series", "-month"]


@admin.register(QualityEvent)
class QualityEventAdmin(ReadOnlyAdmin):
    list_display = ["series", "kind", "start_t", "end_t", "count", "value"]
    list_select_related = ["series__location"]
    list_filter = ["kind"]
    search_fields = ["=series__time_series_id", "=series__location__monitoring_location_id"]
    raw_id_fields = ["series"]
    ordering = ["series", "start_t"]


@admin.register(RateLimitBucket)
class RateLimitBucketAdmin(ReadOnlyAdmin):
    list_display = ["name", "tokens", "updated_at"]


@admin.register(RevisionSet)
class RevisionSetAdmin(ReadOnlyAdmin):
    """One store's changes to one series. The lists can hold a year of 5-minute values: the page shows the newest
    ENTRIES_SHOWN as a table, not the lists' raw text (the configuration's revision page and CSV have them all)."""

    ENTRIES_SHOWN = 50
    list_display = ["id", "series", "run", "changed_at", "size", "revised", "approved"]
    list_select_related = ["series__location", "run"]
    raw_id_fields = ["series", "run"]
    search_fields = ["=series__time_series_id", "=series__location__monitoring_location_id"]
    fields = ["series", "run", "changed_at", "size", "revised", "approved", "newest_entries"]
    readonly_fields = ["size", "newest_entries"]
    ordering = ["-id"]

    @admin.display(description="Newest entries")
    def newest_entries(self, obj: RevisionSet) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{} → {}</td><td>{} → {}</td><td>{} → {}</td></tr>",
            (
                (
                    r.when,
                    r.get_change_display(),
                    r.old_value,
                    r.new_value,
                    r.old_approval,
                    r.new_approval,
                    r.old_qualifiers,
                    r.new_qualifiers,
                )
                for r in obj.entries()[: self.ENTRIES_SHOWN]
            ),
        )
        return format_html(
            "<table><tr><th>Time</th><th>Change</th><th>Value</th><th>Approval</th><th>Qualifiers</th></tr>{}</table>",
            rows,
        )


# --- Normals and USGS's revision notes (issue 24; acquisition/normals.py writes them) -------------------------


@admin.register(SeriesNormal)
class SeriesNormalAdmin(ReadOnlyAdmin):
    list_display = ["series", "month", "day", "p10", "p50", "p90", "minimum", "maximum", "sample_count"]
    list_select_related = ["series__location"]
    search_fields = ["=series__time_series_id", "=series__location__monitoring_location_id"]
    raw_id_fields = ["series"]
    ordering = ["series", "month", "day"]


@admin.register(NormalsFetch)
class NormalsFetchAdmin(ReadOnlyAdmin):
    list_display = ["series", "fetched_at", "days", "message"]
    list_select_related = ["series__location"]
    search_fields = ["=series__time_series_id", "=series__location__monitoring_location_id"]
    raw_id_fields = ["series"]


@admin.register(RevisionNote)
class RevisionNoteAdmin(ReadOnlyAdmin):
    list_display = ["location", "time_series_id", "begin", "end", "note"]
    list_select_related = ["location"]
    search_fields = ["=time_series_id", "=location__monitoring_location_id"]
    raw_id_fields = ["location", "series"]
