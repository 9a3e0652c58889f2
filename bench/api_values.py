"""Memory of the JSON API's values stream: a million values as CSV through the web process, on PostgreSQL.

    .venv/bin/python bench/api_values.py [--values 1000000] [--database-url postgres://…/sf_api_bench]

The values are made by PostgreSQL itself (generate_series: nothing held in Python), then a Viewer's token asks
`GET /api/v1/series/<id>/values?format=csv` through Django's own request handling (the test client, in this
process) and reads the streamed body chunk by chunk. It prints the peak RSS of this process before and after the
stream (`resource.getrusage`) beside the bytes and rows received. Goal (issue 15): the peak grows by < 50 MB.
"""

from __future__ import annotations

import resource
import sys
import time

from common import bench_parser, start, viewer

GOAL_MB = 50


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = bench_parser(__doc__, "sf_api_bench")
    parser.add_argument("--values", type=int, default=1_000_000)
    args = start(parser)
    from django.db import connection
    from django.test import Client

    from acquisition.models import ContinuousValue
    from stations.models import MonitoringLocation, TimeSeries
    from streamflow.models import ApiToken

    location, _ = MonitoringLocation.objects.get_or_create(
        monitoring_location_id="USGS-01646500", defaults={"site_number": "01646500", "name": "POTOMAC RIVER"}
    )
    series, _ = TimeSeries.objects.get_or_create(
        time_series_id="b" * 32, defaults={"location": location, "kind": TimeSeries.Kind.CONTINUOUS}
    )
    ContinuousValue.objects.filter(series=series).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ContinuousValue._meta.db_table} (series_id, time, value, qualifiers, approval_status) "
            "SELECT %s, timestamptz '2016-01-01 00:00+00' + n * interval '5 minutes', 100 + (n %% 1000) / 10.0, "
            "'[]'::jsonb, 'Approved' FROM generate_series(0, %s - 1) AS n",
            [series.pk, args.values],
        )
    _, token = ApiToken.issue(viewer("bench-api"), f"bench {time.time()}")
    client = Client()

    before = peak_mb()
    started = time.perf_counter()
    response = client.get(
        f"/api/v1/series/{series.time_series_id}/values?format=csv", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.status_code
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    after = peak_mb()
    grew = after - before
    print(f"{lines - 1:,} values streamed as CSV ({size / 2**20:.1f} MB) in {seconds:.1f} s")
    print(f"peak RSS before {before:.0f} MB, after {after:.0f} MB: +{grew:.1f} MB")
    ok = lines - 1 == args.values and grew < GOAL_MB
    print(f"goal: every value, peak growing < {GOAL_MB} MB -> {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
