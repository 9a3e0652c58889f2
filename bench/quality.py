"""Quality benchmark on PostgreSQL: a station's quality page and a configuration's roll-up, through the views
beside the raw SQL they run.

    .venv/bin/python bench/quality.py [--database-url postgres://postgres@127.0.0.1:5432/sf_quality_bench]

Loads with COPY: one station of 75 years of daily values (~27,400), one of a year of 5-minute values (~105,000),
and a configuration of 200 daily stations (`--rollup-days` each, 10 years by default); every series has nulls, a
few gaps, qualifiers, a flat line and a spike, approved up to four months ago. Times (p50/p95 over `--repeat`):
  daily / 5-minute   the station quality page (whole record) through the test client, and the computation alone:
                     monitoring.quality.series_quality (its statements — month and qualifier tallies, events,
                     edges — and the Python that reads them)
  roll-up            the configuration quality page, and its statements (completeness, events, newest values)
Goals (issue 14): p95 < 150 ms daily, < 300 ms 5-minute, < 1 s for the 200-station roll-up.

Then the goal of issue 23 (quality tallies kept at commit time, acquisition/tallies.py): a configuration of
`--goal-stations` (200) continuous stations with `--goal-years` (10) of 15-minute values each (with nulls, a gap and
a flat line), loaded with INSERT … SELECT generate_series; the tallies built (`rebuild_quality_tallies`, timed per
series: a commit's refresh costs a month of that); then the roll-up page (goal p95 < 300 ms) and a station's
quality page (goal p95 < 150 ms) read from the tallies, printed beside the same pages computed from the values
(the code before the tallies did that on every view; `--before-repeat` runs of it, default 1: it is slow).
`--goal-stations 0` skips it. Full size is ~70 million rows (~10 GB): try `--goal-stations 20 --goal-years 2`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time

from common import ensure_database, migrate, percentiles, setup_django  # noqa: E402 - bench/ is the script's own directory

TODAY = dt.date(2026, 11, 20)
sizes = {"daily": 75 * 365 + 19, "continuous": 365 * 288}  # 75 years of days; a year of 5-minute values


def _series(site: str, kind: str, name: str):
    from stations.models import MonitoringLocation, TimeSeries

    location, _ = MonitoringLocation.objects.get_or_create(
        monitoring_location_id=site, defaults={"site_number": site[5:], "name": name}
    )
    series, _ = TimeSeries.objects.get_or_create(
        time_series_id=f"bench-quality-{site}-{kind}", defaults={"location": location, "kind": kind, "primary": True}
    )
    return location, series


def _value(i: int) -> float | None:
    if i % 97 == 5:
        return None
    return round(100 + 40 * ((i * 2654435761) % 1000) / 1000, 1)


def load_daily(cursor, series_pk: int, days: int) -> None:
    first = TODAY - dt.timedelta(days=days - 1)
    approved_until = TODAY - dt.timedelta(days=120)
    with (
        cursor.connection.cursor() as pg,
        pg.copy("COPY acquisition_dailyvalue (series_id, date, value, qualifiers, approval_status) FROM STDIN") as copy,
    ):
        for i in range(days):
            if 400 <= i % 5000 < 410:
                continue  # a ten-day gap every ~14 years
            day = first + dt.timedelta(days=i)
            value = 77.0 if 2000 <= i % 6000 < 2010 else _value(i)  # a flat line
            if i % 6000 == 3000:
                value = 5000.0  # a spike
            quals = '["ICE", "ESTIMATED"]' if i % 53 == 0 else ('["ESTIMATED"]' if i % 41 == 0 else "[]")
            status = "Approved" if day < approved_until else "Provisional"
            copy.write_row((series_pk, day, value, quals, status))


def load_continuous(cursor, series_pk: int, count: int) -> None:
    first = dt.datetime.combine(TODAY - dt.timedelta(days=365), dt.time(0), tzinfo=dt.UTC)
    with (
        cursor.connection.cursor() as pg,
        pg.copy(
            "COPY acquisition_continuousvalue (series_id, time, value, qualifiers, approval_status) FROM STDIN"
        ) as copy,
    ):
        for i in range(count):
            if 50_000 <= i < 50_300:
                continue  # a day of missing data (when the year is long enough to hold it)
            t = first + dt.timedelta(minutes=5 * i)
            status = "Approved" if i < count - 120 * 288 else "Provisional"
            value = 77.0 if 80_000 <= i < 80_300 else _value(i)  # a flat line of 25 hours
            if i % 20_000 == 10_000:
                value = 5000.0  # a spike
            quals = '["ICE"]' if 10_000 <= i < 12_000 else ('["ESTIMATED"]' if i % 997 == 0 else "[]")
            copy.write_row((series_pk, t, value, quals, status))


def load(rollup_stations: int, rollup_days: int):
    from django.db import connection

    from acquisition.models import ContinuousValue, DailyValue
    from pulls.models import PullConfiguration, PullConfigurationStation

    started = time.perf_counter()
    daily_loc, daily = _series("USGS-98000001", "daily", "BENCH QUALITY 75 YEARS")
    cont_loc, cont = _series("USGS-98000002", "continuous", "BENCH QUALITY 5 MINUTES")
    config, _ = PullConfiguration.objects.get_or_create(name="Bench quality roll-up", defaults={"start_date": TODAY})
    DailyValue.objects.all().delete()
    ContinuousValue.objects.all().delete()
    with connection.cursor() as cursor:
        load_daily(cursor, daily.pk, sizes["daily"])
        load_continuous(cursor, cont.pk, sizes["continuous"])
        for n in range(rollup_stations):
            location, series = _series(f"USGS-97{n:06d}", "daily", f"BENCH ROLLUP CREEK {n}")
            PullConfigurationStation.objects.get_or_create(configuration=config, location=location)
            load_daily(cursor, series.pk, rollup_days - (n % 7) * 30)  # some stations lag behind
        cursor.execute("VACUUM ANALYZE acquisition_dailyvalue")
        cursor.execute("VACUUM ANALYZE acquisition_continuousvalue")
    total = DailyValue.objects.count() + ContinuousValue.objects.count()
    print(f"Loaded {total:,} values with COPY in {time.perf_counter() - started:.1f} s", flush=True)
    return daily_loc, daily, cont_loc, cont, config


def timed(fn, repeat: int) -> tuple[float, float]:
    samples = []
    for i in range(repeat + 2):
        started = time.perf_counter()
        fn()
        if i >= 2:  # two warm-ups
            samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sf_quality_bench"),
    )
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--stations", type=int, default=200, help="stations of the roll-up")
    parser.add_argument("--rollup-days", type=int, default=3653, help="daily values per roll-up station")
    parser.add_argument("--daily-days", type=int, default=sizes["daily"], help="daily values of the one station")
    parser.add_argument("--continuous-values", type=int, default=sizes["continuous"], help="5-minute values")
    parser.add_argument("--goal-stations", type=int, default=200, help="continuous stations of the tallies goal")
    parser.add_argument("--goal-years", type=int, default=10, help="years of 15-minute values each")
    parser.add_argument("--before-repeat", type=int, default=1, help="runs of the pages computed from the values")
    parser.add_argument("--skip-issue-14", action="store_true", help="only the tallies goal")
    args = parser.parse_args()
    sizes.update(daily=args.daily_days, continuous=args.continuous_values)
    if not args.database_url.startswith("postgres"):
        parser.error("the benchmark needs PostgreSQL (--database-url postgres://…)")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    ensure_database(args.database_url)
    setup_django(args.database_url)
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from streamflow.roles import VIEWERS

    migrate()
    user, _ = get_user_model().objects.get_or_create(username="bench-quality")
    user.groups.add(Group.objects.get(name=VIEWERS))  # a Viewer: the timings include the permission checks
    client = Client()
    client.force_login(user)
    results = {}
    if not args.skip_issue_14:
        issue_14(args, client, results)
    if args.goal_stations:
        tallies_goal(args, client, results)
    print(f"\n== summary (load average {os.getloadavg()[0]:.2f})")
    for label, ((v50, v95), (r50, r95), goal, names) in results.items():
        verdict = "met" if v95 < goal else "MISSED"
        print(
            f"{label:<34} {names[0]} p50 {v50:7.0f} ms, p95 {v95:7.0f} ms; {names[1]} p50 {r50:7.0f} ms, "
            f"p95 {r95:7.0f} ms  (goal p95 < {goal} ms: {verdict})"
        )
    return 0


def issue_14(args, client, results) -> None:
    from monitoring import quality, quality_rollup

    daily_loc, daily, cont_loc, cont, config = load(args.stations, args.rollup_days)
    th = quality.Thresholds.from_settings()

    for label, location, series, goal in (
        ("daily, 75 years", daily_loc, daily, 150),
        ("5-minute, 1 year", cont_loc, cont, 300),
    ):
        start, end = quality.extent(series)

        def raw(series=series, start=start, end=end) -> None:
            quality.series_quality(series, start, end, th)

        def view(location=location, series=series) -> None:
            response = client.get(f"/monitoring/stations/{location.monitoring_location_id}/quality/?kind={series.kind}")
            assert response.status_code == 200 and b"quality-heatmap" in response.content

        q = quality.series_quality(series, start, end, th)
        results[label] = (timed(view, args.repeat), timed(raw, args.repeat), goal, ("view", "computation"))
        print(
            f"\n{label}: {q.present:,} values of {q.expected:,} expected, {len(q.gaps)} gaps, {len(q.flags)} flags, "
            f"{len(q.months)} months"
        )

    rollup_today = TODAY

    def rollup_raw() -> None:
        quality_rollup.configuration_rollup(config, rollup_today, th)

    def rollup_view() -> None:
        response = client.get(f"/monitoring/configurations/{config.pk}/quality/")
        assert response.status_code == 200

    rows = quality_rollup.configuration_rollup(config, rollup_today, th)
    print(f"\nroll-up: {len(rows)} stations, worst {rows[0].location.monitoring_location_id} ({rows[0].last_30:.1f} %)")
    results[f"roll-up, {args.stations} stations"] = (
        timed(rollup_view, args.repeat),
        timed(rollup_raw, args.repeat),
        1000,
        ("view", "computation"),
    )


def load_goal(stations: int, years: int):
    """`stations` continuous stations (Eastern time) of `years` of 15-minute values each, in one configuration."""
    from django.db import connection

    from pulls.models import PullConfiguration, PullConfigurationStation
    from stations.models import MonitoringLocation

    started = time.perf_counter()
    config, _ = PullConfiguration.objects.get_or_create(
        name=f"Bench quality tallies {stations}x{years}",
        defaults={"start_date": TODAY, "data_type": PullConfiguration.DataType.CONTINUOUS},
    )
    first = dt.datetime.combine(TODAY - dt.timedelta(days=365 * years), dt.time(5), tzinfo=dt.UTC)
    last = dt.datetime.combine(TODAY, dt.time(23, 45), tzinfo=dt.UTC)
    chosen = []
    for n in range(stations):
        location, series = _series(f"USGS-96{n:06d}", "continuous", f"BENCH TALLY CREEK {n}")
        MonitoringLocation.objects.filter(pk=location.pk).update(tz_abbreviation="EST", uses_dst=True)
        PullConfigurationStation.objects.get_or_create(configuration=config, location=location)
        chosen.append((location, series))
        values = series.continuous_values
        if values.filter(time=first).exists() and values.filter(time=last).exists():
            continue  # loaded by an earlier run of the same size
        values.all().delete()
        hole = first + dt.timedelta(days=100 + n)
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO acquisition_continuousvalue (series_id, time, value, qualifiers, approval_status)
                SELECT %s, t,
                       CASE WHEN k %% 997 = 5 THEN NULL
                            WHEN k %% 20000 BETWEEN 8000 AND 8100 THEN 77.0
                            ELSE 100 + (k * 2654435761 %% 1000) / 25.0 END,
                       CASE WHEN k %% 997 = 0 THEN '["ESTIMATED"]'::jsonb ELSE '[]'::jsonb END,
                       CASE WHEN t < %s THEN 'Approved' ELSE 'Provisional' END
                  FROM generate_series(%s::timestamptz, %s::timestamptz, interval '15 minutes') AS t,
                       LATERAL (SELECT (date_part('epoch', t)::bigint / 900) AS k) AS kk
                 WHERE NOT (t >= %s AND t < %s)
                """,
                [series.pk, last - dt.timedelta(days=120), first, last, hole, hole + dt.timedelta(hours=6)],
            )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE acquisition_continuousvalue")
    print(f"\nLoaded {stations} stations × {years} years of 15-minute values in {time.perf_counter() - started:.0f} s")
    return config, chosen


def tallies_goal(args, client, results) -> None:
    from django.core.management import call_command

    from acquisition.tally_models import QualityEvent, QualityMonth

    config, chosen = load_goal(args.goal_stations, args.goal_years)
    pks = [series.pk for _, series in chosen]
    location, series = chosen[0]
    page = f"/monitoring/stations/{location.monitoring_location_id}/quality/?kind=continuous"
    rollup = f"/monitoring/configurations/{config.pk}/quality/"

    def get(url: str) -> None:
        response = client.get(url)
        assert response.status_code == 200, response.status_code

    QualityMonth.objects.filter(series_id__in=pks).delete()
    QualityEvent.objects.filter(series_id__in=pks).delete()
    before_page = timed(lambda: get(page), args.before_repeat)
    before_rollup = timed(lambda: get(rollup), args.before_repeat) if args.goal_stations <= 20 else (None, None)
    started = time.perf_counter()
    call_command("rebuild_quality_tallies", series=pks, verbosity=0)
    built = time.perf_counter() - started
    print(f"Built the tallies of {len(pks)} series in {built:.0f} s ({1000 * built / len(pks):.0f} ms a series)")
    rows = QualityMonth.objects.filter(series_id__in=pks).count()
    print(f"{rows:,} month rows, {QualityEvent.objects.filter(series_id__in=pks).count():,} events")
    size = f"{args.goal_stations} stations × {args.goal_years} y"
    results[f"tallies: roll-up, {size}"] = (
        timed(lambda: get(rollup), args.repeat),
        _or_nan(before_rollup),
        300,
        ("tallies", "from values"),
    )
    results[f"tallies: station page, {args.goal_years} y"] = (
        timed(lambda: get(page), args.repeat),
        before_page,
        150,
        ("tallies", "from values"),
    )


def _or_nan(pair):
    return (float("nan"), float("nan")) if pair[0] is None else pair


if __name__ == "__main__":
    sys.exit(main())
