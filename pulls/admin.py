"""Admin for pull configurations. Writes go through the model's save()/QuerySet.update(), hence the same sync."""

from __future__ import annotations

from django.contrib import admin, messages

from . import run_requests
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
            run_requests.enqueue_run(config.pk, triggered_by=request.user.get_username())
        self.message_user(request, f"Queued {queryset.count()} run(s).", messages.SUCCESS)

    def has_run_permission(self, request) -> bool:
        return request.user.has_perm("pulls.run_pullconfiguration")


@admin.register(StationProgress)
class StationProgressAdmin(admin.ModelAdmin):
    list_display = [
        "configuration",
        "location",
        "parameter_code",
        "statistic_id",
        "newest_date",
        "newest_time",
        "last_success_at",
        "consecutive_failures",
    ]
    list_filter = ["configuration", "parameter_code"]
    list_select_related = ["configuration", "location"]
    raw_id_fields = ["configuration", "location", "time_series"]
    search_fields = ["location__monitoring_location_id", "configuration__name"]


# --- django-celery-beat's periodic tasks ------------------------------------------------------------------------
# A configuration's PeriodicTask is written only by pulls.schedules from the configuration: an edit here would
# drift from it (and be undone by the next sync). Those tasks are read-only in the admin, with a pointer to the
# configuration; other periodic tasks (the reconcile task, anything an operator adds) stay editable.
from django_celery_beat.admin import PeriodicTaskAdmin  # noqa: E402
from django_celery_beat.models import PeriodicTask  # noqa: E402

from .schedules import NAME_PREFIX  # noqa: E402


def _is_configuration_task(obj) -> bool:
    return obj is not None and (obj.name or "").startswith(NAME_PREFIX)


class ConfigurationAwarePeriodicTaskAdmin(PeriodicTaskAdmin):
    def has_change_permission(self, request, obj=None) -> bool:
        return not _is_configuration_task(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return not _is_configuration_task(obj) and super().has_delete_permission(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if _is_configuration_task(obj) and request.method == "GET":
            messages.info(
                request,
                "This task belongs to a pull configuration and is kept in step with it: change the "
                "configuration's schedule or enabled state instead (Pulls → Pull configurations).",
            )
        return super().change_view(request, object_id, form_url, extra_context)


admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, ConfigurationAwarePeriodicTaskAdmin)
