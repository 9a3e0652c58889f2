import datetime as dt

import django.db.models.deletion
from django.db import migrations, models

import acquisition.list_field

# The revision history becomes one row per (series, store), with the changed values as parallel lists, instead of
# one row per changed value: a row per value cost about 2.5 µs each, +14 to +34 % on the upsert (issue 14 allows
# 10 %). Existing revisions are regrouped into sets by (series, run, changed_at: the time one store wrote them,
# and for continuous values the month), oldest first; the reverse expands them back into rows.
LETTERS = {"value": "v", "approval": "a", "qualifiers": "q", "removed": "r"}
CHANGES = {letter: change for change, letter in LETTERS.items()}
LISTS = ("old_values", "new_values", "old_approvals", "new_approvals", "old_qualifiers", "new_qualifiers")
ROW = ("old_value", "new_value", "old_approval", "new_approval", "old_qualifiers", "new_qualifiers")


def rows_to_sets(apps, schema_editor):
    ValueRevision = apps.get_model("acquisition", "ValueRevision")
    RevisionSet = apps.get_model("acquisition", "RevisionSet")
    pending, current, key = [], None, None
    rows = ValueRevision.objects.order_by("series_id", "run_id", "changed_at", "date", "time").values_list(
        "series_id", "run_id", "changed_at", "date", "time", "change", *ROW
    )
    for series_id, run_id, changed_at, day, instant, change, *values in rows.iterator(chunk_size=5000):
        # A set a store of daily values, a month of continuous ones (UTC), as acquisition.storage writes them.
        span = None if day is not None else instant.astimezone(dt.UTC).strftime("%Y-%m")
        if current is None or (series_id, run_id, changed_at, span) != key:
            key = (series_id, run_id, changed_at, span)
            current = RevisionSet(
                series_id=series_id,
                run_id=run_id,
                changed_at=changed_at,
                changes="",
                revised=0,
                approved=0,
                dates=None if day is None else [],
                times=[] if day is None else None,
                **{name: [] for name in LISTS},
            )
            pending.append(current)
        (current.dates if day is not None else current.times).append(day or instant)
        current.changes += LETTERS[change]
        current.revised += change == "value"
        current.approved += values[3] == "Approved" and values[2] != "Approved"
        for name, value in zip(LISTS, values, strict=True):
            getattr(current, name).append(value)
        if len(pending) > 200:
            RevisionSet.objects.bulk_create(pending[:-1])
            del pending[:-1]
    RevisionSet.objects.bulk_create(pending)


def sets_to_rows(apps, schema_editor):
    ValueRevision = apps.get_model("acquisition", "ValueRevision")
    RevisionSet = apps.get_model("acquisition", "RevisionSet")
    pending = []
    for s in RevisionSet.objects.order_by("id").iterator(chunk_size=100):
        whens = s.dates if s.dates is not None else s.times
        daily = s.dates is not None
        for i, when in enumerate(whens):
            pending.append(
                ValueRevision(
                    series_id=s.series_id,
                    run_id=s.run_id,
                    changed_at=s.changed_at,
                    date=when if daily else None,
                    time=None if daily else when,
                    change=CHANGES[s.changes[i]],
                    **{field: getattr(s, name)[i] for field, name in zip(ROW, LISTS, strict=True)},
                )
            )
        if len(pending) >= 5000:
            ValueRevision.objects.bulk_create(pending)
            pending.clear()
    ValueRevision.objects.bulk_create(pending)


def lz4(apps, schema_editor):
    # lz4 compresses the lists about three times faster than the default pglz, to the same size (PostgreSQL 14+,
    # when the server was built with it, as Debian's and the official images are).
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
        row = cursor.fetchone()
    if row and row[0]:
        columns = ", ".join(f"ALTER COLUMN {c} SET COMPRESSION lz4" for c in ("dates", "times", "changes", *LISTS))
        schema_editor.execute(f"ALTER TABLE acquisition_revisionset {columns}")


def run_brin(apps, schema_editor):
    # Migration 0009's index on the old table, which the model state does not know (it was made in SQL).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS revision_run_brin ON acquisition_valuerevision USING brin (run_id) "
            "WITH (autosummarize = on)"
        )
    else:
        schema_editor.execute("CREATE INDEX IF NOT EXISTS revision_run_brin ON acquisition_valuerevision (run_id)")


class Migration(migrations.Migration):
    dependencies = [
        ("acquisition", "0010_revision_series_ascending"),
        ("stations", "0004_location_id_validators"),
    ]

    operations = [
        migrations.CreateModel(
            name="RevisionSet",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                (
                    "series",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="revision_sets",
                        to="stations.timeseries",
                    ),
                ),
                (
                    "run",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="revision_sets",
                        to="acquisition.pullrun",
                    ),
                ),
                ("changed_at", models.DateTimeField()),
                ("changes", models.TextField()),
                ("revised", models.PositiveIntegerField()),
                ("approved", models.PositiveIntegerField()),
                ("dates", acquisition.list_field.ListField(base_field=models.DateField(), blank=True, null=True)),
                ("times", acquisition.list_field.ListField(base_field=models.DateTimeField(), blank=True, null=True)),
                ("old_values", acquisition.list_field.ListField(base_field=models.FloatField(null=True))),
                ("new_values", acquisition.list_field.ListField(base_field=models.FloatField(null=True))),
                ("old_approvals", acquisition.list_field.ListField(base_field=models.CharField(max_length=12, null=True))),
                ("new_approvals", acquisition.list_field.ListField(base_field=models.CharField(max_length=12, null=True))),
                ("old_qualifiers", acquisition.list_field.ListField(base_field=models.JSONField(null=True))),
                ("new_qualifiers", acquisition.list_field.ListField(base_field=models.JSONField(null=True))),
            ],
            options={
                "ordering": ["-id"],
                "indexes": [models.Index(fields=["series", "id"], name="revisionset_series_id")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("dates__isnull", False), ("times__isnull", True)),
                            models.Q(("dates__isnull", True), ("times__isnull", False)),
                            _connector="OR",
                        ),
                        name="revisionset_dates_xor_times",
                    )
                ],
            },
        ),
        migrations.RunPython(lz4, migrations.RunPython.noop),
        migrations.RunPython(rows_to_sets, sets_to_rows),
        migrations.RunPython(migrations.RunPython.noop, run_brin),
        migrations.DeleteModel(name="ValueRevision"),
    ]
