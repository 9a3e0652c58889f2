"""The search's queries are the ones its indexes serve (plans checked at 1M rows by bench/search.py --explain)."""

from __future__ import annotations

import pytest
from django.db import connection

from stations.models import MonitoringLocation
from stations.search import search_queryset

pytestmark = pytest.mark.django_db


def plan(qs, *disable: str) -> str:
    """The plan; on PostgreSQL with the named plan types switched off, since a tiny test table is cheapest to scan."""
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            return "\n".join(str(row[-1]) for row in cursor.fetchall())
        for kind in ("seqscan", *disable):
            cursor.execute(f"SET LOCAL enable_{kind} = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_prefix_searches_are_served_by_an_index():
    states = ["MD", "CA", "TX", "NY", "VA"]
    MonitoringLocation.objects.bulk_create(
        MonitoringLocation(
            monitoring_location_id=f"USGS-{n:08d}", site_number=f"{n:08d}", name=f"CREEK {n}",
            state_code=states[n % 5], huc=f"{n % 18 + 1:02d}{n % 97:02d}0000",
        )
        for n in range(1_000_000, 1_002_000)
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE stations_monitoringlocation")
    site = plan(MonitoringLocation.objects.site_number_prefix("0164").values("pk"))
    huc = plan(MonitoringLocation.objects.in_state("MD").huc_prefix("0207").values("pk"))
    if connection.vendor == "sqlite":
        # GLOB becomes a range on the btree (Django's LIKE would be a full scan).
        assert "INDEX" in site and "site_number>? AND site_number<?" in site
        assert "INDEX" in huc and "huc>? AND huc<?" in huc
    else:
        assert "loc_site_number_like" in site
        assert "loc_state_huc_like" in huc


@pytest.mark.postgres
def test_name_words_use_the_trigram_index_on_postgresql():
    assert "loc_search_name_trgm" in plan(search_queryset(q="potomac").values("pk"), "indexscan")


@pytest.mark.postgres
def test_the_migration_created_the_postgresql_search_indexes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'stations_monitoringlocation'")
        names = {row[0] for row in cursor.fetchall()}
    assert {
        "loc_name_trgm",
        "loc_search_name_trgm",
        "loc_site_number_like",
        "loc_location_id_like",
        "loc_state_huc_like",
    } <= names
