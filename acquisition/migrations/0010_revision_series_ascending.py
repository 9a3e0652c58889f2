from django.db import migrations, models

# The series index of the revision history, ascending instead of (series, id DESC): a pull writes a series'
# revisions with growing ids, which an ascending btree appends at the end of the series' range; the descending one
# put each at the front of it, splitting pages in half. Reads are the same (a backward scan is newest first).
# On PostgreSQL the run BRIN also summarises its ranges as they fill (autosummarize), not only at VACUUM.


def autosummarize(on: bool):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER INDEX IF EXISTS revision_run_brin SET (autosummarize = {'on' if on else 'off'})")

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("acquisition", "0009_revision_cheaper_writes"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="valuerevision", name="revision_series_id"),
        migrations.AddIndex(
            model_name="valuerevision",
            index=models.Index(fields=["series", "id"], name="revision_series_asc"),
        ),
        migrations.RunPython(autosummarize(True), autosummarize(False)),
    ]
