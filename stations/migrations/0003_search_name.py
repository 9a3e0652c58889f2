"""search_name: the station name as search reads it (stations.names), filled for existing rows, with its own
trigram index on PostgreSQL."""

from django.db import migrations, models

from stations.names import search_name


def fill(apps, schema_editor):
    MonitoringLocation = apps.get_model("stations", "MonitoringLocation")
    batch = []
    for location in MonitoringLocation.objects.only("pk", "name").iterator(chunk_size=2000):
        location.search_name = search_name(location.name)
        batch.append(location)
        if len(batch) >= 2000:
            MonitoringLocation.objects.bulk_update(batch, ["search_name"])
            batch = []
    MonitoringLocation.objects.bulk_update(batch, ["search_name"])


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # q=trinity river: search_name::text LIKE '%trinity%' AND … LIKE '%river%' (the contains lookup), any substring.
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS loc_search_name_trgm ON stations_monitoringlocation "
        "USING gin (search_name gin_trgm_ops)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS loc_search_name_trgm")


class Migration(migrations.Migration):
    dependencies = [("stations", "0002_search_indexes_postgresql")]

    operations = [
        migrations.AddField(
            model_name="monitoringlocation",
            name="search_name",
            field=models.CharField(blank=True, default="", editable=False, max_length=400),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
