"""PostgreSQL-only search indexes (SQLite cannot build them; there the model's plain btrees + GLOB serve prefixes).

Each index names the query of stations/search.py it serves; `bench/search.py` checks them with EXPLAIN at 1M rows.
"""

from django.db import migrations

POSTGRESQL_INDEXES = [
    # q=potomac: UPPER(name) LIKE UPPER('%potomac%') (Django's icontains) — trigram GIN serves any substring.
    "CREATE INDEX IF NOT EXISTS loc_name_trgm ON stations_monitoringlocation USING gin (UPPER(name) gin_trgm_ops)",
    # q=0164: site_number LIKE '0164%' (the `prefix` lookup); the plain btree cannot serve LIKE outside the C locale.
    "CREATE INDEX IF NOT EXISTS loc_site_number_like ON stations_monitoringlocation "
    "(site_number varchar_pattern_ops)",
    # q=USGS-0164: monitoring_location_id LIKE 'USGS-0164%'.
    "CREATE INDEX IF NOT EXISTS loc_location_id_like ON stations_monitoringlocation "
    "(monitoring_location_id varchar_pattern_ops)",
    # state=MD&huc=0207: state_code = 'MD' AND huc LIKE '0207%'.
    "CREATE INDEX IF NOT EXISTS loc_state_huc_like ON stations_monitoringlocation "
    "(state_code, huc varchar_pattern_ops)",
]
DROP = ["loc_name_trgm", "loc_site_number_like", "loc_location_id_like", "loc_state_huc_like"]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it without superuser.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for sql in POSTGRESQL_INDEXES:
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in DROP:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("stations", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
