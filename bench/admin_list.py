"""The admin's continuous-values list on PostgreSQL: p50/p95 of a page through the test client, its SQL time, and
the count it shows (issue 23, item 13).

    .venv/bin/python bench/admin_list.py [--rows 278341] [--database-url postgres://postgres@127.0.0.1:5432/sf_admin_bench]

Fills one bench series per station (the first 5 stations, created if missing) up to --rows 15-minute values,
ANALYZEs, then times the unfiltered list, a filtered one and a search that matches nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from common import ensure_database, migrate, percentiles, setup_django  # noqa: E402

URL = "/admin/acquisition/continuousvalue/"
SERIES = 5


def fill(rows: int) -> None:
    from django.db import connection

    from stations.models import MonitoringLocation, TimeSeries

    for i in range(SERIES - MonitoringLocation.objects.count()):
        MonitoringLocation.objects.create(
            monitoring_location_id=f"USGS-9{i:07d}", site_number=f"9{i:07d}", name=f"BENCH CREEK {i}"
        )
    for location in MonitoringLocation.objects.order_by("pk")[:SERIES]:
        TimeSeries.objects.get_or_create(
            time_series_id=f"admin-bench-{location.pk}",
            defaults={"location": location, "kind": "continuous", "parameter_code": "00060", "statistic_id": "00011"},
        )
    per_series = -(-rows // SERIES)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM acquisition_continuousvalue")
        if cursor.fetchone()[0] < rows:
            cursor.execute(
                "INSERT INTO acquisition_continuousvalue (time, value, qualifiers, approval_status, series_id) "
                "SELECT timestamptz '2025-01-01' + g * interval '15 minutes', 100 + g %% 50, '[]', 'Approved', s.id "
                "FROM stations_timeseries s, generate_series(0, %s) g WHERE s.time_series_id LIKE 'admin-bench-%%' "
                "ON CONFLICT DO NOTHING",
                [per_series - 1],
            )
        cursor.execute("ANALYZE acquisition_continuousvalue")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=278_341)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sf_admin_bench"),
    )
    args = parser.parse_args()
    ensure_database(args.database_url)
    setup_django(args.database_url)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    migrate()
    fill(args.rows)
    user, _ = get_user_model().objects.get_or_create(
        username="admin-bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; times in ms")
    for label, query in [("whole table", ""), ("filtered", "?approval_status__exact=Approved"), ("no match", "?q=x")]:
        client.get(URL + query)
        samples, sql = [], []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as captured:
                start = time.perf_counter()
                response = client.get(URL + query)
                samples.append(time.perf_counter() - start)
            sql.append(sum(float(q["time"]) for q in captured))
        shown = re.search(r'<span id="result-count">(.*?)</span>', response.content.decode())
        p50, p95 = percentiles(samples)
        print(f"{label:12} page p50 {p50 * 1000:6.0f}  p95 {p95 * 1000:6.0f}  SQL p50 {percentiles(sql)[0] * 1000:5.0f}"
              f"  says: {shown.group(1) if shown else '?'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
