
import django.db.models.deletion
from django.db import migrations, models


MOVED = ["pullrun", "pullrunbatch", "pullrunstation", "pulllogentry", "heartbeat"]


def move_content_types(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not content_type.objects.filter(app_label="acquisition", model=model).exists():
            content_type.objects.filter(app_label="monitoring", model=model).update(app_label="acquisition")


class Migration(migrations.Migration):

    dependencies = [
        ('acquisition', '0005_run_models_move'),
        ('monitoring', '0004_run_batches'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    # State only: the tables stay (acquisition 0005 took them over). The content types move with the models, so
    # permissions already granted (groups, users) keep pointing at them.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(
                    name='Heartbeat',
                ),
                migrations.RemoveIndex(
                    model_name='pulllogentry',
                    name='log_run_id',
                ),
                migrations.RemoveIndex(
                    model_name='pullrun',
                    name='run_status_created',
                ),
                migrations.RemoveIndex(
                    model_name='pullrun',
                    name='run_config_created',
                ),
                migrations.RemoveIndex(
                    model_name='pullrun',
                    name='run_created',
                ),
                migrations.RemoveConstraint(
                    model_name='pullrun',
                    name='one_active_run_per_configuration',
                ),
                migrations.AlterField(
                    model_name='alertstate',
                    name='run',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='acquisition.pullrun'),
                ),
                migrations.RemoveConstraint(
                    model_name='pullrunbatch',
                    name='uniq_run_batch',
                ),
                migrations.RemoveConstraint(
                    model_name='pullrunstation',
                    name='uniq_run_station',
                ),
                migrations.RemoveField(
                    model_name='pullrun',
                    name='configuration',
                ),
                migrations.RemoveField(
                    model_name='pullrunbatch',
                    name='run',
                ),
                migrations.RemoveField(
                    model_name='pullrunstation',
                    name='batch',
                ),
                migrations.RemoveField(
                    model_name='pullrunstation',
                    name='location',
                ),
                migrations.RemoveField(
                    model_name='pullrunstation',
                    name='run',
                ),
                migrations.RemoveField(
                    model_name='pullrunstation',
                    name='time_series',
                ),
                migrations.DeleteModel(
                    name='PullLogEntry',
                ),
                migrations.DeleteModel(
                    name='PullRunBatch',
                ),
                migrations.DeleteModel(
                    name='PullRun',
                ),
                migrations.DeleteModel(
                    name='PullRunStation',
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, migrations.RunPython.noop),
    ]
