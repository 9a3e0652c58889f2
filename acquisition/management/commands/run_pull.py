"""manage.py run_pull <configuration id or name> [--start DATE --end DATE]

Runs a configuration in the foreground, station after station, with no broker: the same Smart Append code the
workers run, recorded as a run like any other. With a date range it is a backfill: that range is re-pulled and
upserted, and no station's progress moves backwards.
"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser

from acquisition.models import PullRun
from acquisition.smart_append import run_inline
from pulls.models import PullConfiguration


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"“{text}” is not a date: write it as YYYY-MM-DD, e.g. 2026-03-01.") from exc


class Command(BaseCommand):
    help = "Run a pull configuration now, in the foreground (no broker needed); --start/--end re-pull a date range."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("configuration", help="The configuration's id or its exact name.")
        parser.add_argument("--start", type=_date, help="First day to re-pull (YYYY-MM-DD): makes this a backfill.")
        parser.add_argument("--end", type=_date, help="Last day to re-pull (YYYY-MM-DD); default today.")

    def handle(self, *args, configuration: str, start: dt.date | None, end: dt.date | None, **options) -> None:
        config = self._configuration(configuration)
        if end and not start:
            raise CommandError("--end needs --start: give the first day of the range to re-pull too.")
        if start and end and end < start:
            raise CommandError(f"--end ({end}) is before --start ({start}): swap them.")
        if start and start > dt.date.today():
            raise CommandError(f"--start ({start}) is in the future: pick a day up to today.")
        if start and start < config.start_date:
            raise CommandError(
                f"--start ({start}) is before the configuration's start date ({config.start_date}), and nothing "
                "before that date is ever stored: start the range on or after it, or move the start date earlier."
            )
        trigger = PullRun.Trigger.BACKFILL if start else PullRun.Trigger.MANUAL
        stations = config.memberships.count()
        what = f"re-pulling {start} to {end or 'today'}" if start else "Smart Append"
        self.stdout.write(f"Running “{config.name}” ({stations} stations, {config.get_data_type_display()}, {what})")

        run = run_inline(
            config,
            trigger=trigger,
            triggered_by="manage.py run_pull",
            range_start=start,
            range_end=end,
            echo=lambda line: self.stdout.write(f"  {line}"),
        )
        if run.status == PullRun.Status.SKIPPED:
            raise CommandError(run.message)
        style = {
            PullRun.Status.SUCCEEDED: self.style.SUCCESS,
            PullRun.Status.PARTIAL: self.style.WARNING,
        }.get(run.status, self.style.ERROR)
        self.stdout.write(
            style(
                f"Run #{run.pk} {run.status}: {run.stations_succeeded} of {run.stations_total} stations; "
                f"{run.requests_made} requests; inserted {run.values_inserted}, updated {run.values_updated}, "
                f"unchanged {run.values_unchanged}."
            )
        )
        if run.message:
            self.stdout.write(run.message)
        if run.status == PullRun.Status.FAILED:
            raise CommandError(f"Run #{run.pk} failed; see its log for each station's error.")

    def _configuration(self, ref: str) -> PullConfiguration:
        config = None
        if ref.isdigit():
            config = PullConfiguration.objects.filter(pk=int(ref)).first()
        config = config or PullConfiguration.objects.filter(name=ref).first()
        if config is None:
            raise CommandError(f"No pull configuration has the id or name “{ref}”; `manage.py shell` can list them.")
        return config
