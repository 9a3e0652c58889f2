
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('acquisition', '0004_rate_limit_quota'),
        ('monitoring', '0004_run_batches'),
        ('pulls', '0003_bounded_description_and_last_error'),
        ('stations', '0002_search_indexes_postgresql'),
    ]

    # The run models move from monitoring to acquisition, which writes them (DESIGN.md §2, turn 2). Their tables
    # keep their names and rows: only Django's state changes here.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Heartbeat',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=200, unique=True)),
                        ('seen_at', models.DateTimeField()),
                    ],
                    options={
                        'db_table': 'monitoring_heartbeat',
                    },
                ),
                migrations.CreateModel(
                    name='PullRun',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('configuration_name', models.CharField(max_length=120)),
                        ('trigger', models.CharField(choices=[('schedule', 'Schedule'), ('manual', 'Manual'), ('backfill', 'Backfill')], default='schedule', max_length=10)),
                        ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('partial', 'Partial'), ('failed', 'Failed'), ('skipped', 'Skipped')], default='queued', max_length=10)),
                        ('data_type', models.CharField(choices=[('daily_mean', 'Daily mean discharge'), ('continuous', 'Continuous (15/5-minute) discharge')], max_length=12)),
                        ('strategy', models.CharField(choices=[('append', 'Append incrementally (Smart Append)'), ('overwrite', 'Overwrite the whole range each run')], max_length=10)),
                        ('range_start', models.DateField(blank=True, null=True)),
                        ('range_end', models.DateField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('heartbeat_at', models.DateTimeField(blank=True, help_text='Last sign of life; the janitor reads it.', null=True)),
                        ('stations_total', models.PositiveIntegerField(default=0)),
                        ('stations_succeeded', models.PositiveIntegerField(default=0)),
                        ('stations_failed', models.PositiveIntegerField(default=0)),
                        ('requests_made', models.PositiveIntegerField(default=0)),
                        ('values_inserted', models.PositiveBigIntegerField(default=0)),
                        ('values_updated', models.PositiveBigIntegerField(default=0)),
                        ('values_unchanged', models.PositiveBigIntegerField(default=0)),
                        ('message', models.TextField(blank=True, help_text='Why it was skipped or failed, in a sentence.')),
                        ('triggered_by', models.CharField(blank=True, max_length=150)),
                        ('task_id', models.CharField(blank=True, max_length=255)),
                        ('configuration', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='runs', to='pulls.pullconfiguration')),
                    ],
                    options={
                        'db_table': 'monitoring_pullrun',
                        'ordering': ['-created_at', '-pk'],
                    },
                ),
                migrations.CreateModel(
                    name='PullLogEntry',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('level', models.PositiveSmallIntegerField(choices=[(10, 'DEBUG'), (20, 'INFO'), (30, 'WARNING'), (40, 'ERROR')], default=20)),
                        ('message', models.TextField()),
                        ('location', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='stations.monitoringlocation')),
                        ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='log_entries', to='acquisition.pullrun')),
                    ],
                    options={
                        'verbose_name_plural': 'pull log entries',
                        'db_table': 'monitoring_pulllogentry',
                        'ordering': ['run', 'pk'],
                    },
                ),
                migrations.CreateModel(
                    name='PullRunBatch',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('number', models.PositiveIntegerField(help_text='1, 2, … within the run.')),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('running', 'Running'), ('finished', 'Finished')], default='pending', max_length=10)),
                        ('stations', models.PositiveIntegerField(default=0)),
                        ('values_expected', models.PositiveBigIntegerField(default=0)),
                        ('values_received', models.PositiveBigIntegerField(default=0)),
                        ('windows_total', models.PositiveIntegerField(default=0)),
                        ('windows_done', models.PositiveIntegerField(default=0)),
                        ('pages_fetched', models.PositiveIntegerField(default=0)),
                        ('requests_made', models.PositiveIntegerField(default=0, help_text='Over every attempt: each request once.')),
                        ('phase', models.CharField(blank=True, help_text='What it is fetching now.', max_length=200)),
                        ('attempts', models.PositiveIntegerField(default=0)),
                        ('resumes', models.PositiveIntegerField(default=0, help_text='Times the janitor sent its task again.')),
                        ('worker', models.CharField(blank=True, max_length=255)),
                        ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='batches', to='acquisition.pullrun')),
                    ],
                    options={
                        'db_table': 'monitoring_pullrunbatch',
                        'ordering': ['run', 'number'],
                    },
                ),
                migrations.CreateModel(
                    name='PullRunStation',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('skipped', 'Skipped')], default='pending', max_length=10)),
                        ('window_start', models.DateTimeField(blank=True, null=True)),
                        ('window_end', models.DateTimeField(blank=True, null=True)),
                        ('windows_total', models.PositiveIntegerField(default=0)),
                        ('windows_done', models.PositiveIntegerField(default=0)),
                        ('pages_fetched', models.PositiveIntegerField(default=0)),
                        ('requests_made', models.PositiveIntegerField(default=0)),
                        ('values_received', models.PositiveBigIntegerField(default=0)),
                        ('values_inserted', models.PositiveBigIntegerField(default=0)),
                        ('values_updated', models.PositiveBigIntegerField(default=0)),
                        ('values_unchanged', models.PositiveBigIntegerField(default=0)),
                        ('attempts', models.PositiveIntegerField(default=0)),
                        ('worker', models.CharField(blank=True, help_text='Celery hostname of the worker running it.', max_length=255)),
                        ('heartbeat_at', models.DateTimeField(blank=True, help_text='Last sign of life of this station.', null=True)),
                        ('resumes', models.PositiveIntegerField(default=0, help_text='Times the janitor sent its task again.')),
                        ('error', models.TextField(blank=True)),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('progress', models.PositiveSmallIntegerField(default=0)),
                        ('batch', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='members', to='acquisition.pullrunbatch')),
                        ('location', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='run_stations', to='stations.monitoringlocation')),
                        ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='stations', to='acquisition.pullrun')),
                        ('time_series', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='stations.timeseries')),
                    ],
                    options={
                        'db_table': 'monitoring_pullrunstation',
                        'ordering': ['run', 'pk'],
                    },
                ),
                migrations.AddIndex(
                    model_name='pullrun',
                    index=models.Index(fields=['status', '-created_at'], name='run_status_created'),
                ),
                migrations.AddIndex(
                    model_name='pullrun',
                    index=models.Index(fields=['configuration', '-created_at'], name='run_config_created'),
                ),
                migrations.AddIndex(
                    model_name='pullrun',
                    index=models.Index(fields=['-created_at'], name='run_created'),
                ),
                migrations.AddConstraint(
                    model_name='pullrun',
                    constraint=models.UniqueConstraint(condition=models.Q(('status__in', ['queued', 'running'])), fields=('configuration',), name='one_active_run_per_configuration'),
                ),
                migrations.AddIndex(
                    model_name='pulllogentry',
                    index=models.Index(fields=['run', 'id'], name='log_run_id'),
                ),
                migrations.AddConstraint(
                    model_name='pullrunbatch',
                    constraint=models.UniqueConstraint(fields=('run', 'number'), name='uniq_run_batch'),
                ),
                migrations.AddConstraint(
                    model_name='pullrunstation',
                    constraint=models.UniqueConstraint(fields=('run', 'location'), name='uniq_run_station'),
                ),
            ],
            database_operations=[],
        ),
    ]
