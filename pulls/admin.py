"""Admin for pull configurations. Writes go through the model's save()/QuerySet.update(), hence the same sync."""

from __future__ import annotations

from django.contrib import admin, messages

from . import runs
from .forms import PullConfigurationAdminForm
from .models import PullConfiguration, PullConfigurationStation, StationProgress


class PullConfigurationStationInline(admin.TabularInline):
    model = PullConfigurationStation
    raw_id_fields = ["location"]
    readonly_fields = ["added_at"]
    extra = 0


@admin.register(PullConfiguration)
class PullConfigurationAdmin(admin.ModelAdmin):
    form = PullConfigurationAdminForm
    inlines = [PullConfigurationStationInline]
    list_display = ["name", "data_type", "strategy", "schedule_type", "cron_expression", "timezone", "enabled"]
    list_filter = ["enabled", "data_type", "strategy", "schedule_type"]
    search_fields = ["name", "description"]
    readonly_fields = ["created_at", "updated_at"]
    raw_id_fields = ["created_by", "updated_by"]
    actions = ["enable", "disable", "run_now"]

    @admin.action(description="Enable the selected configurations", permissions=["change"])
    def enable(self, request, queryset):
        # QuerySet.update() of `enabled` re-syncs each PeriodicTask (PullConfigurationQuerySet.update).
        count = queryset.update(enabled=True, auto_disabled_reason="")
        self.message_user(request, f"Enabled {count} configuration(s); their schedules are on.", messages.SUCCESS)

    @admin.action(description="Disable the selected configurations", permissions=["change"])
    def disable(self, request, queryset):
        count = queryset.update(enabled=False)
        self.message_user(request, f"Disabled {count} configuration(s); beat will not run them.", messages.SUCCESS)

    @admin.action(description="Run the selected configurations now", permissions=["run"])
    def run_now(self, request, queryset):
        for config in queryset:
            runs.enqueue_run(config.pk, triggered_by=request.user.get_username())
        self.message_user(request, f"Queued {queryset.count()} run(s).", messages.SUCCESS)

    def has_run_permission(self, request) -> bool:
        return request.user.has_perm("pulls.run_pullconfiguration")


@admin.register(StationProgress)
class StationProgressAdmin(admin.ModelAdmin):
    list_display = [
        "configuration",
        "location",
        "newest_date",
        "newest_time",
        "last_success_at",
        "consecutive_failures",
    ]
    list_filter = ["configuration"]
    list_select_related = ["configuration", "location"]
    raw_id_fields = ["configuration", "location", "time_series"]
    search_fields = ["location__monitoring_location_id", "configuration__name"]
