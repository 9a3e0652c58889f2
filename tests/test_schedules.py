"""One beat PeriodicTask per configuration, kept in sync on every path (issue 4, "Must show" 1 and 2)."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from django_celery_beat.schedulers import ModelEntry

from pulls.models import PullConfiguration
from streamflow.celery import app as celery_app
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory, PullRunFactory

pytestmark = pytest.mark.django_db


def _task(config) -> PeriodicTask:
    return PeriodicTask.objects.select_related("crontab").get(name=f"pull-config-{config.pk}")


def _crontab(task) -> tuple:
    c = task.crontab
    return (c.minute, c.hour, c.day_of_month, c.month_of_year, c.day_of_week, str(c.timezone))


def _check_passes() -> bool:
    try:
        call_command("sync_schedules", "--check", stdout=io.StringIO())
    except CommandError:
        return False
    return True


def _form(**overrides) -> dict:
    data = {
        "name": "Potomac daily",
        "data_type": "daily_mean",
        "strategy": "append",
        "start_date": "2020-01-01",
        "schedule_type": "daily",
        "cron_expression": "",
        "timezone": "America/New_York",
        "enabled": "on",
    }
    data.update(overrides)
    return data


def test_create_edit_disable_delete_keep_exactly_one_task_in_step(operator_client):
    station = MonitoringLocationFactory()
    session = operator_client.session
    session["basket"] = [station.monitoring_location_id]
    session.save()

    response = operator_client.post(reverse("pulls:create"), _form())
    config = PullConfiguration.objects.get(name="Potomac daily")
    assert response.status_code == 302
    task = _task(config)
    assert PeriodicTask.objects.filter(name__startswith="pull-config-").count() == 1
    assert _crontab(task) == ("0", "0", "*", "*", "*", "America/New_York")
    assert task.enabled is True
    assert task.task == "acquisition.tasks.run_configuration"
    assert json.loads(task.args) == [config.pk]
    assert json.loads(task.kwargs) == {"trigger": "schedule"}
    assert _check_passes()

    response = operator_client.post(
        reverse("pulls:edit", args=[config.pk]), _form(schedule_type="custom", cron_expression="*/15 6-18 * * 1-5")
    )
    assert response.status_code == 302
    edited = _task(config)
    assert edited.pk == task.pk
    assert PeriodicTask.objects.filter(name__startswith="pull-config-").count() == 1
    assert _crontab(edited) == ("*/15", "6-18", "*", "*", "1-5", "America/New_York")
    assert _check_passes()

    operator_client.post(reverse("pulls:toggle", args=[config.pk]), {"enabled": "0"})
    assert _task(config).enabled is False
    assert _check_passes()

    operator_client.post(reverse("pulls:delete", args=[config.pk]))
    assert not PeriodicTask.objects.filter(name=f"pull-config-{config.pk}").exists()
    assert _check_passes()


def test_check_reports_a_task_deleted_by_hand_and_sync_recreates_it(capsys):
    config = PullConfigurationFactory(timezone="Europe/Paris")
    _task(config).delete()

    with pytest.raises(CommandError):
        call_command("sync_schedules", "--check")
    assert "no periodic task" in capsys.readouterr().out
    assert not PeriodicTask.objects.filter(name=f"pull-config-{config.pk}").exists()  # --check changed nothing

    call_command("sync_schedules")
    assert f"fixed: pull-config-{config.pk}: no periodic task" in capsys.readouterr().out
    assert _crontab(_task(config)) == ("0", "0", "*", "*", "*", "Europe/Paris")
    assert _check_passes()


def test_check_reports_a_crontab_changed_by_hand_and_sync_repairs_it(capsys):
    config = PullConfigurationFactory(schedule_type="hourly")
    crontab = _task(config).crontab
    crontab.hour = "5"
    crontab.save()

    with pytest.raises(CommandError):
        call_command("sync_schedules", "--check")
    assert "crontab is" in capsys.readouterr().out
    assert CrontabSchedule.objects.get(pk=crontab.pk).hour == "5"

    call_command("sync_schedules")
    assert _crontab(_task(config)) == ("0", "*", "*", "*", "*", "UTC")
    assert _check_passes()


def test_sync_fixes_a_task_enabled_by_hand_and_deletes_orphans(capsys):
    config = PullConfigurationFactory(enabled=False)
    task = _task(config)
    task.enabled = True
    task.save()
    orphan = PeriodicTask.objects.create(name="pull-config-99999", task="x", crontab=task.crontab)
    unrelated = PeriodicTask.objects.create(name="acquisition-janitor-test", task="y", crontab=task.crontab)

    assert not _check_passes()
    call_command("sync_schedules")
    output = capsys.readouterr().out
    assert "pull-config-99999: periodic task without a configuration" in output
    assert _task(config).enabled is False
    assert not PeriodicTask.objects.filter(pk=orphan.pk).exists()
    assert PeriodicTask.objects.filter(pk=unrelated.pk).exists()
    assert _check_passes()


def test_sync_schedules_reports_nothing_to_do_when_in_sync(capsys):
    PullConfigurationFactory()
    call_command("sync_schedules")
    assert "All pull configurations are in sync with beat." in capsys.readouterr().out


def test_a_bulk_queryset_update_of_enabled_is_synced():
    configs = [PullConfigurationFactory(), PullConfigurationFactory()]
    PullConfiguration.objects.filter(pk__in=[c.pk for c in configs]).update(enabled=False)
    assert [_task(c).enabled for c in configs] == [False, False]
    PullConfiguration.objects.all().update(enabled=True)
    assert [_task(c).enabled for c in configs] == [True, True]


def test_a_bulk_queryset_update_of_the_schedule_is_synced():
    config = PullConfigurationFactory()
    PullConfiguration.objects.filter(pk=config.pk).update(schedule_type="custom", cron_expression="30 4 * * 1")
    assert _crontab(_task(config)) == ("30", "4", "*", "*", "1", "UTC")


def test_a_bulk_update_of_the_schedule_type_alone_uses_the_presets_expression():
    config = PullConfigurationFactory(schedule_type="custom", cron_expression="30 4 * * 1")
    PullConfiguration.objects.filter(pk=config.pk).update(schedule_type="hourly")
    assert _crontab(_task(config)) == ("0", "*", "*", "*", "*", "UTC")


def test_reenabling_never_fires_a_catch_up_run():
    config = PullConfigurationFactory(schedule_type="hourly")
    task = _task(config)
    # Beat last ran it three days ago, then it was paused.
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=timezone.now() - dt.timedelta(days=3))
    config.enabled = False
    config.save()
    before = timezone.now()
    config.enabled = True
    config.save()

    task = _task(config)
    assert task.last_run_at >= before
    assert ModelEntry(task, app=celery_app).is_due().is_due is False


def test_changing_the_schedule_counts_from_now():
    config = PullConfigurationFactory(schedule_type="weekly")
    PeriodicTask.objects.filter(name=f"pull-config-{config.pk}").update(
        last_run_at=timezone.now() - dt.timedelta(days=6)
    )
    before = timezone.now()
    config.schedule_type = "hourly"
    config.save()
    task = _task(config)
    assert task.last_run_at >= before
    assert ModelEntry(task, app=celery_app).is_due().is_due is False


def test_saving_without_a_schedule_change_leaves_the_task_alone():
    config = PullConfigurationFactory()
    last_run = timezone.now() - dt.timedelta(hours=5)
    PeriodicTask.objects.filter(name=f"pull-config-{config.pk}").update(last_run_at=last_run)
    config.description = "new words"
    config.save()
    assert _task(config).last_run_at == last_run


def test_station_changes_do_not_touch_the_task():
    config = PullConfigurationFactory()
    task_before = _task(config)
    config.stations.add(MonitoringLocationFactory())
    assert _task(config).date_changed == task_before.date_changed


def test_deleting_a_configuration_keeps_its_run_history():
    config = PullConfigurationFactory(name="Gone soon")
    run = PullRunFactory(configuration=config)
    config.delete()
    run.refresh_from_db()
    assert run.configuration is None
    assert run.configuration_name == "Gone soon"
    assert not PeriodicTask.objects.filter(name__startswith="pull-config-").exists()


def test_an_invalid_expression_written_behind_the_forms_back_disables_the_task():
    config = PullConfigurationFactory()
    PullConfiguration.objects.filter(pk=config.pk).update(schedule_type="custom", cron_expression="0 0 30 2 *")
    assert _task(config).enabled is False
    assert _check_passes()


# --- A paused configuration does not run on schedule (issue 12, item 16) -----------------------------------------


def test_a_scheduled_trigger_of_an_enabled_configuration_runs():
    from pulls.schedules import should_run_scheduled

    config = PullConfigurationFactory(enabled=True)
    assert should_run_scheduled(config.pk) == (True, "")


def test_a_scheduled_trigger_of_a_paused_configuration_is_skipped_with_a_reason():
    # The message was queued before the pause, or beat wrote back a stale enabled=True: the configuration decides.
    from pulls.schedules import should_run_scheduled

    config = PullConfigurationFactory(enabled=True, name="Potomac daily")
    PullConfiguration.objects.filter(pk=config.pk).update(enabled=False)  # synced: the task is disabled too
    PeriodicTask.objects.filter(name=f"pull-config-{config.pk}").update(enabled=True)  # beat's stale write-back

    run, reason = should_run_scheduled(config.pk)

    assert run is False
    assert "“Potomac daily” is paused" in reason


def test_a_scheduled_trigger_of_a_deleted_configuration_is_skipped():
    from pulls.schedules import should_run_scheduled

    config = PullConfigurationFactory()
    pk = config.pk
    config.delete()

    run, reason = should_run_scheduled(pk)

    assert run is False
    assert f"Configuration {pk} no longer exists" in reason


def test_the_periodic_reconcile_repairs_and_logs_a_stale_enabled_task(caplog):
    import logging

    from pulls.tasks import reconcile_schedules

    config = PullConfigurationFactory(enabled=False)
    PeriodicTask.objects.filter(name=f"pull-config-{config.pk}").update(enabled=True)  # beat's stale write-back

    with caplog.at_level(logging.WARNING, logger="pulls.tasks"):
        result = reconcile_schedules()

    assert _task(config).enabled is False
    assert result == {"drift": 1}
    drift_lines = [r.getMessage() for r in caplog.records if r.name == "pulls.tasks"]
    assert any(f"pull-config-{config.pk}" in line and "task is enabled" in line for line in drift_lines)


def test_the_periodic_reconcile_is_quiet_when_nothing_drifted(caplog):
    import logging

    from pulls.tasks import reconcile_schedules

    PullConfigurationFactory()
    with caplog.at_level(logging.WARNING, logger="pulls.tasks"):
        assert reconcile_schedules() == {"drift": 0}
    assert not [r for r in caplog.records if r.name == "pulls.tasks"]


def test_beat_runs_the_reconcile_every_ten_minutes(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["pulls-reconcile-schedules"]
    assert entry["task"] == "pulls.tasks.reconcile_schedules"
    assert entry["schedule"] == 600.0
    celery_app.autodiscover_tasks(force=True)  # what a worker does at start: import every app's tasks module
    assert "pulls.tasks.reconcile_schedules" in celery_app.tasks
