"""Continuous values keyed on (series, time), no surrogate id; on PostgreSQL partitioned by month of `time`.

A partitioned table's primary key must hold the partition key, so the natural key becomes the primary key (the
former unique constraint's index, reused) and the `id` column goes. The table is rebuilt in this migration's
transaction, without losing a row: the old table is renamed aside, the new one created (PARTITION BY RANGE (time) on
PostgreSQL, with one partition per month from the oldest stored value to three months ahead; a plain table on
SQLite), every row copied in (series by series, so each partition's heap is laid out in the order pages read it),
and the old table dropped. Reversible the same way. Partitions are named as acquisition/partitions.py names them;
this migration does not import it, so that it keeps doing what it did when that module changes.

On a large installation this holds an exclusive lock on the table while every row is copied (about a minute per
ten million rows here): run it in a maintenance window.
"""

import datetime as dt

from django.db import migrations, models

TABLE = "acquisition_continuousvalue"
AHEAD = 3


def _next(month):
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _aside(schema_editor):
    """Rename the table (and, PostgreSQL, its indexes, whose names are schema-wide) out of the way."""
    old = f"{TABLE}_old"
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{TABLE}" RENAME TO "{old}"')
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s AND schemaname = current_schema()",
                           [old])
            for n, (index,) in enumerate(cursor.fetchall()):
                cursor.execute(f'ALTER INDEX "{index}" RENAME TO "{old}_i{n}"')
        else:  # SQLite: explicit indexes keep their names; the copy is dropped below, so are they
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
                           [old])
            for (index,) in cursor.fetchall():
                cursor.execute(f'DROP INDEX "{index}"')
    return old


def _create_partitions(cursor, old):
    cursor.execute(f'SELECT min(time), max(time) FROM "{old}"')
    low, high = cursor.fetchone()
    now = dt.datetime.now(dt.UTC)
    first = dt.date(now.year, now.month, 1)
    last = first
    for _ in range(AHEAD):
        last = _next(last)
    if low is not None:
        low, high = (x.astimezone(dt.UTC) for x in (low, high))
        first = min(first, dt.date(low.year, low.month, 1))
        last = max(last, dt.date(high.year, high.month, 1))
    month = first
    while month <= last:
        cursor.execute(
            f'CREATE TABLE "{TABLE}_p{month:%Y_%m}" PARTITION OF "{TABLE}" '
            f"FOR VALUES FROM ('{month.isoformat()} 00:00:00+00') TO ('{_next(month).isoformat()} 00:00:00+00')"
        )
        month = _next(month)


def _rebuild(schema_editor, target_model, *, partitioned: bool, order: bool):
    old = _aside(schema_editor)
    if partitioned:
        sql, params = schema_editor.table_sql(target_model)
        schema_editor.execute(f'{sql} PARTITION BY RANGE ("time")', params or None)
    else:
        schema_editor.create_model(target_model)
    columns = ", ".join(
        f'"{f.column}"' for f in target_model._meta.local_concrete_fields if f.column and f.column != "id"
    )
    with schema_editor.connection.cursor() as cursor:
        if partitioned:
            _create_partitions(cursor, old)
        cursor.execute(
            f'INSERT INTO "{TABLE}" ({columns}) SELECT {columns} FROM "{old}"'
            + (' ORDER BY "series_id", "time"' if order else "")
        )
        cursor.execute(f'DROP TABLE "{old}"')


class PartitionContinuousValues(migrations.operations.base.Operation):
    """The state change Django would write (drop the unique constraint and `id`, add the composite key) with the
    table rebuilt by hand: Django does not migrate a table to or from a composite primary key."""

    reversible = True
    state_operations = [
        migrations.RemoveConstraint(model_name="continuousvalue", name="continuous_series_time"),
        migrations.AddField(
            model_name="continuousvalue",
            name="pk",
            field=models.CompositePrimaryKey(
                "series", "time", blank=True, editable=False, primary_key=True, serialize=False
            ),
        ),
        migrations.RemoveField(model_name="continuousvalue", name="id"),
    ]

    def state_forwards(self, app_label, state):
        for operation in self.state_operations:
            operation.state_forwards(app_label, state)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, "ContinuousValue")
        _rebuild(schema_editor, model, partitioned=schema_editor.connection.vendor == "postgresql", order=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, "ContinuousValue")
        _rebuild(schema_editor, model, partitioned=False, order=True)

    def describe(self):
        return "Key continuous values on (series, time); partition them by month on PostgreSQL"


class Migration(migrations.Migration):

    dependencies = [
        ("acquisition", "0015_series_normals_pct"),
    ]

    operations = [PartitionContinuousValues()]
