"""The exact check every fault scenario ends with: stored observations against the fake server's truth.

For each station of a configuration:
- no duplicates: one row per (series, time);
- progress equals the newest stored value (nothing committed beyond progress, progress never ahead of the data);
- the committed window [start date, progress] holds exactly the fake's rows: every time, value, qualifier list and
  approval status, nothing missing, nothing extra;
- `complete=True` also demands that progress reached the fake's last value (nothing lost once the faults stop).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Max

from acquisition.models import ContinuousValue, DailyValue
from acquisition.planning import local_midnight
from pulls.models import PullConfiguration, StationProgress
from stations.models import TimeSeries
from tests.fakeusgs import FakeUSGS


@dataclass
class StationCheck:
    site: str
    stored: int = 0
    expected: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Verdict:
    stations: list[StationCheck]

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.stations)

    @property
    def stored(self) -> int:
        return sum(s.stored for s in self.stations)

    def summary(self) -> str:
        bad = [f"{s.site}: {'; '.join(s.problems)}" for s in self.stations if not s.ok]
        head = f"{len(self.stations)} stations, {self.stored} values stored"
        return head + (" — exact match" if not bad else " — MISMATCH: " + " | ".join(bad))


def _first_instant(day: dt.date, series: TimeSeries) -> dt.datetime:
    # A continuous pull starts at the start date's midnight where the station is (acquisition.planning).
    return local_midnight(day, series.location.zone)


def _model(kind: str):
    return DailyValue if kind == TimeSeries.Kind.DAILY else ContinuousValue


def check_series(
    fake: FakeUSGS, site: str, series: TimeSeries, start: dt.date, newest, *, complete: bool
) -> StationCheck:
    """Compare the stored rows of `series` with the fake's rows from `start` through `newest` (progress)."""
    daily = series.kind == TimeSeries.Kind.DAILY
    model = _model(series.kind)
    key = "date" if daily else "time"
    check = StationCheck(site)
    rows = model.objects.filter(series=series)
    check.stored = rows.count()
    dupes = rows.values(key).annotate(n=Count("pk")).filter(n__gt=1).count()
    if dupes:
        check.problems.append(f"{dupes} duplicated times")
    newest_stored = rows.aggregate(m=Max(key))["m"]
    if newest != newest_stored:
        check.problems.append(f"progress {newest} ≠ newest stored value {newest_stored}")
    if newest is None:
        if complete:
            check.problems.append("nothing committed although the faults are over")
        return check
    if daily:
        truth = fake.expected_daily(site, start, newest)
    else:
        truth = fake.expected_continuous(site, _first_instant(start, series), newest)
    check.expected = len(truth)
    stored = {
        getattr(r, key): (r.value, list(r.qualifiers or []), r.approval_status)
        for r in rows.filter(**{f"{key}__gte": start if daily else _first_instant(start, series)})
    }
    wanted = {t["time"]: (t["value"], t["qualifiers"], t["approval_status"]) for t in truth}
    missing = sorted(set(wanted) - set(stored))
    extra = sorted(set(stored) - set(wanted))
    wrong = sorted(t for t in set(wanted) & set(stored) if wanted[t] != stored[t])
    if missing:
        check.problems.append(f"{len(missing)} values missing from the committed window (first {missing[0]})")
    if extra:
        check.problems.append(f"{len(extra)} values not in the source (first {extra[0]})")
    if wrong:
        t = wrong[0]
        check.problems.append(f"{len(wrong)} values differ (first {t}: stored {stored[t]}, source {wanted[t]})")
    if complete:
        last = fake.series_of(site, "daily" if daily else "continuous").last_time(fake.today)
        if newest != last:
            check.problems.append(f"progress {newest} short of the source's newest value {last}")
    return check


def verify_configuration(fake: FakeUSGS, config: PullConfiguration, *, complete: bool = True) -> Verdict:
    """Check every station of `config` through its progress rows (the configuration must still exist)."""
    checks = []
    for membership in config.memberships.select_related("location"):
        site = membership.location.monitoring_location_id
        progress = StationProgress.objects.filter(configuration=config, location=membership.location).first()
        series = TimeSeries.objects.filter(location=membership.location, kind=config.series_kind, primary=True).first()
        if progress is not None and progress.time_series_id:
            series = progress.time_series
        if series is None:
            check = StationCheck(site)
            if complete:
                check.problems.append("no series chosen: the station was never pulled")
            checks.append(check)
            continue
        newest = None
        if progress is not None:
            newest = progress.newest_date if config.series_kind == TimeSeries.Kind.DAILY else progress.newest_time
        checks.append(check_series(fake, site, series, config.start_date, newest, complete=complete))
    return Verdict(checks)


def verify_stored(fake: FakeUSGS, sites: list[str], kind: str, start: dt.date) -> Verdict:
    """Without progress rows (a deleted configuration): whatever is stored must be the source's rows from `start`
    through the newest stored value, with no gap and no duplicate."""
    checks = []
    for site in sites:
        series = TimeSeries.objects.filter(location__monitoring_location_id=site, kind=kind, primary=True).first()
        if series is None:
            checks.append(StationCheck(site))
            continue
        key = "date" if kind == TimeSeries.Kind.DAILY else "time"
        newest = _model(kind).objects.filter(series=series).aggregate(m=Max(key))["m"]
        checks.append(check_series(fake, site, series, start, newest, complete=False))
    return Verdict(checks)
