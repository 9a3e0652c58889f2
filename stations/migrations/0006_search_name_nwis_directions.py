"""search_name again for the names it now reads differently (issue 23): NWIS directions (NE, NW, SE, SW) and F as
words, and a state code ending a name kept as written. Only the rows whose form changed are written."""

from django.db import migrations

from stations.names import search_name


def refill(apps, schema_editor):
    MonitoringLocation = apps.get_model("stations", "MonitoringLocation")
    batch = []
    for location in MonitoringLocation.objects.only("pk", "name", "search_name").iterator(chunk_size=2000):
        wanted = search_name(location.name)
        if location.search_name != wanted:
            location.search_name = wanted
            batch.append(location)
        if len(batch) >= 2000:
            MonitoringLocation.objects.bulk_update(batch, ["search_name"])
            batch = []
    MonitoringLocation.objects.bulk_update(batch, ["search_name"])


class Migration(migrations.Migration):
    dependencies = [("stations", "0005_location_updated_at_index")]

    operations = [migrations.RunPython(refill, migrations.RunPython.noop, elidable=False)]
