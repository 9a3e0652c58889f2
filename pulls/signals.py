"""Signals: keep beat's PeriodicTask in step with each configuration, and a progress row per station."""

from __future__ import annotations

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from . import schedules
from .models import PullConfiguration, PullConfigurationStation, StationProgress, schedule_changed


@receiver(post_save, sender=PullConfiguration, dispatch_uid="pulls.sync_schedule")
def sync_schedule(sender, instance: PullConfiguration, raw: bool = False, **kwargs) -> None:
    if raw:  # loaddata: the fixture may not hold the whole picture yet; sync_schedules reconciles afterwards
        return
    schedules.sync_configuration(instance)


@receiver(schedule_changed, sender=PullConfiguration, dispatch_uid="pulls.sync_schedule_after_update")
def sync_schedule_after_update(sender, configuration: PullConfiguration, **kwargs) -> None:
    schedules.sync_configuration(configuration)


@receiver(post_delete, sender=PullConfiguration, dispatch_uid="pulls.remove_schedule")
def remove_schedule(sender, instance: PullConfiguration, **kwargs) -> None:
    schedules.remove_configuration(instance.pk)


# Stations do not change the schedule (the task takes only the configuration id), so the through model's
# signals only look after the StationProgress rows: one per (configuration, station, series pulled), for current
# stations. (A parameter added later gets its rows when a run first needs them: acquisition.smart_append.)
def _create_progress(pairs: list[tuple[int, int]]) -> None:
    configs = PullConfiguration.objects.in_bulk({config_id for config_id, _ in pairs})
    StationProgress.objects.bulk_create(
        [
            StationProgress(configuration_id=config_id, location_id=location_id, parameter_code=code, statistic_id=stat)
            for config_id, location_id in pairs
            if config_id in configs
            for code, stat in configs[config_id].selections()
        ],
        ignore_conflicts=True,
    )


@receiver(post_save, sender=PullConfigurationStation, dispatch_uid="pulls.membership_progress")
def membership_saved(sender, instance: PullConfigurationStation, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        _create_progress([(instance.configuration_id, instance.location_id)])


@receiver(post_delete, sender=PullConfigurationStation, dispatch_uid="pulls.membership_deleted")
def membership_deleted(sender, instance: PullConfigurationStation, **kwargs) -> None:
    StationProgress.objects.filter(
        configuration_id=instance.configuration_id, location_id=instance.location_id
    ).delete()


@receiver(m2m_changed, sender=PullConfigurationStation, dispatch_uid="pulls.stations_changed")
def stations_changed(sender, instance, action: str, reverse: bool, pk_set, **kwargs) -> None:
    # `config.stations.add()` bulk-inserts through rows (no post_save), so m2m_changed is the hook for it.
    if action != "post_add":
        return
    if reverse:  # location.pull_configurations.add(config): instance is the location
        pairs = [(config_id, instance.pk) for config_id in (pk_set or ())]
    else:
        pairs = [(instance.pk, location_id) for location_id in (pk_set or ())]
    _create_progress(pairs)
    # Removals need nothing here: remove()/clear() delete through rows with post_delete, handled above.
