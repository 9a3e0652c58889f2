"""Keeps exactly one django-celery-beat PeriodicTask per pull configuration (DESIGN §5).

Everything that writes those tasks goes through `sync_configuration` / `remove_configuration`: the post_save and
post_delete signals, `PullConfigurationQuerySet.update()`, the admin, and `manage.py sync_schedules` (which calls
`reconcile`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from . import cron
from .models import SCHEDULE_PRESETS, PullConfiguration

logger = logging.getLogger(__name__)

TASK = "acquisition.tasks.run_configuration"
NAME_PREFIX = "pull-config-"
SCHEDULE_KWARGS = {"trigger": "schedule"}


def task_name(configuration_id: int) -> str:
    return f"{NAME_PREFIX}{configuration_id}"


@dataclass(frozen=True)
class Drift:
    """One thing on beat's side that does not match a configuration, said as a sentence."""

    task_name: str
    problem: str

    def __str__(self) -> str:
        return f"{self.task_name}: {self.problem}"


def _crontab_for(fields: cron.CronFields, tz_name: str) -> CrontabSchedule:
    # CrontabSchedule rows are shared by every task with the same fields and zone (get-or-create, like beat does).
    crontab = CrontabSchedule.objects.filter(**fields.as_dict(), timezone=tz_name).order_by("pk").first()
    if crontab is None:
        crontab = CrontabSchedule.objects.create(**fields.as_dict(), timezone=tz_name)
    return crontab


def _crontab_matches(crontab: CrontabSchedule | None, fields: cron.CronFields, tz_name: str) -> bool:
    if crontab is None:
        return False
    current = {name: getattr(crontab, name) for name in fields.as_dict()}
    return current == fields.as_dict() and str(crontab.timezone) == tz_name


def _problems(config: PullConfiguration, task: PeriodicTask | None, fields: cron.CronFields | None) -> list[str]:
    """What differs between the configuration and its task (empty when in sync)."""
    if fields is None:
        if task is not None and task.enabled:
            return [f"the cron expression “{config.cron_expression}” is invalid, so the task must stay disabled"]
        return []
    if task is None:
        return ["no periodic task"]
    problems = []
    if task.task != TASK:
        problems.append(f"runs task {task.task!r} instead of {TASK!r}")
    try:
        args, kwargs = json.loads(task.args or "[]"), json.loads(task.kwargs or "{}")
    except ValueError:
        args, kwargs = None, None
    if args != [config.pk]:
        problems.append(f"arguments are {task.args} instead of [{config.pk}]")
    if kwargs != SCHEDULE_KWARGS:
        problems.append(f"keyword arguments are {task.kwargs} instead of {json.dumps(SCHEDULE_KWARGS)}")
    if task.interval_id or task.solar_id or task.clocked_id or task.one_off:
        problems.append("has an interval, solar, clocked or one-off schedule beside its crontab")
    if not _crontab_matches(task.crontab, fields, config.timezone):
        problems.append(f"crontab is “{task.crontab or 'none'}” instead of “{fields.expression}” in {config.timezone}")
    if task.enabled != config.enabled:
        state = {True: "enabled", False: "disabled"}
        problems.append(f"task is {state[task.enabled]} but the configuration is {state[config.enabled]}")
    return problems


def _fields_or_none(config: PullConfiguration) -> cron.CronFields | None:
    try:
        # A bulk update() of schedule_type alone skips save(), which fills the preset's expression; do it here.
        fields = cron.parse(SCHEDULE_PRESETS.get(config.schedule_type, config.cron_expression))
    except cron.CronError:
        return None
    return fields if cron.is_valid_timezone(config.timezone) else None


def check_configuration(config: PullConfiguration) -> list[Drift]:
    task = PeriodicTask.objects.select_related("crontab").filter(name=task_name(config.pk)).first()
    return [Drift(task_name(config.pk), p) for p in _problems(config, task, _fields_or_none(config))]


@transaction.atomic
def sync_configuration(config: PullConfiguration) -> list[Drift]:
    """Make the configuration's PeriodicTask match it; returns what was wrong (and is now fixed)."""
    name = task_name(config.pk)
    task = PeriodicTask.objects.select_for_update(of=("self",)).select_related("crontab").filter(name=name).first()
    fields = _fields_or_none(config)
    problems = _problems(config, task, fields)
    if not problems:
        return []
    now = timezone.now()
    if fields is None:
        # Forms refuse such expressions; one written behind their back must not crash beat. Stop it instead.
        logger.error(
            "Pull configuration %s (%s) has an invalid schedule %r in %r; its periodic task is disabled.",
            config.pk,
            config.name,
            config.cron_expression,
            config.timezone,
        )
        task.enabled = False
        task.save()
        return [Drift(name, p) for p in problems]
    if task is None:
        task = PeriodicTask(name=name)
    schedule_changed = not _crontab_matches(task.crontab if task.pk else None, fields, config.timezone)
    enabling = config.enabled and not (task.pk and task.enabled)
    task.task = TASK
    task.args = json.dumps([config.pk])
    task.kwargs = json.dumps(SCHEDULE_KWARGS)
    task.interval = task.solar = task.clocked = None
    task.one_off = False
    task.crontab = _crontab_for(fields, config.timezone)
    task.enabled = config.enabled
    task.description = f"Pull configuration “{config.name}” (kept in sync by pulls.schedules; edit the configuration)."
    if enabling or schedule_changed:
        # Beat runs a crontab task at the first slot after last_run_at. Counting from now means re-enabling
        # (or changing the schedule) never fires a catch-up run for the slots that passed meanwhile.
        task.last_run_at = now
    task.save()  # PeriodicTask.save() bumps PeriodicTasks.last_update, so a running beat reloads its schedule.
    for problem in problems:
        logger.info("Schedule sync: %s: %s (fixed)", name, problem)
    return [Drift(name, p) for p in problems]


def should_run_scheduled(configuration_id: int) -> tuple[bool, str]:
    """Whether a scheduled trigger of this configuration, as a worker receives it, may start a run.

    Disabling a configuration disables its task, but a message beat queued before the pause is still delivered,
    and a beat holding a stale copy of the task can write enabled=True back. The configuration is the truth,
    read when the trigger arrives. Returns (False, a sentence for the log or the run) when it must be skipped.
    Manual runs and re-pulls do not ask: an operator may run a paused configuration on purpose.
    """
    config = PullConfiguration.objects.filter(pk=configuration_id).values("name", "enabled").first()
    if config is None:
        return False, f"Configuration {configuration_id} no longer exists, so its scheduled run was skipped."
    if not config["enabled"]:
        return False, (
            f"“{config['name']}” is paused, so its scheduled run was skipped (the trigger was queued before the "
            "pause, or beat still held an enabled copy of its task). Resume it to run on schedule again."
        )
    return True, ""


def remove_configuration(configuration_id: int) -> bool:
    """Delete the task of a deleted configuration; True if there was one."""
    deleted = False
    for task in PeriodicTask.objects.filter(name=task_name(configuration_id)):
        task.delete()  # one by one: the model's delete() tells beat about the change
        deleted = True
    return deleted


def _orphans() -> list[PeriodicTask]:
    existing = {task_name(pk) for pk in PullConfiguration.objects.values_list("pk", flat=True)}
    return [task for task in PeriodicTask.objects.filter(name__startswith=NAME_PREFIX) if task.name not in existing]


def reconcile(apply: bool = True) -> list[Drift]:
    """Compare every configuration with beat's tasks; with `apply`, repair what differs and delete orphans."""
    drift: list[Drift] = []
    for config in PullConfiguration.objects.order_by("pk"):
        drift += sync_configuration(config) if apply else check_configuration(config)
    for task in _orphans():
        drift.append(Drift(task.name, "periodic task without a configuration"))
        if apply:
            task.delete()
    return drift
