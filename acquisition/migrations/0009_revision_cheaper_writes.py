
import django.db.models.deletion
from django.db import migrations, models

# The run page's "n values revised, m approved" of run R. A BRIN on PostgreSQL: run ids grow with the table, so a
# run's revisions lie in a few block ranges, and a BRIN costs next to nothing per row the upsert writes.
CREATE = {
    "postgresql": "CREATE INDEX IF NOT EXISTS revision_run_brin ON acquisition_valuerevision USING brin (run_id)",
    "sqlite": "CREATE INDEX IF NOT EXISTS revision_run_brin ON acquisition_valuerevision (run_id)",
}


def create_run_index(apps, schema_editor):
    sql = CREATE.get(schema_editor.connection.vendor)
    if sql:
        schema_editor.execute(sql)


def drop_run_index(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS revision_run_brin")


class Migration(migrations.Migration):

    dependencies = [
        ('acquisition', '0008_revision_run_one_index'),
        ('stations', '0004_location_id_validators'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='valuerevision',
            name='revision_run',
        ),
        migrations.AlterField(
            model_name='valuerevision',
            name='run',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='revisions', to='acquisition.pullrun'),
        ),
        migrations.AlterField(
            model_name='valuerevision',
            name='series',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='revisions', to='stations.timeseries'),
        ),
        migrations.RunPython(create_run_index, drop_run_index),
    ]
