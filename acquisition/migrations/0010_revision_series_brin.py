from django.db import migrations

# "Recent revisions of these series (a configuration's stations)". On PostgreSQL a bloom BRIN over series_id
# instead of the btree (series_id, id DESC): the upsert writes one revision a changed value, a btree insert per row
# was about a fifth of what the history costs a half-changed rerun, a BRIN summarises a range of pages at a time.
# A pull writes each series' revisions together, so a series lies in few ranges; the pages read are then sorted by
# id (a top-N sort for the pages' LIMIT). autosummarize: ranges are summarised as they fill, not only at VACUUM
# (an unsummarised range matches every lookup). SQLite keeps a btree.
CREATE = {
    "postgresql": [
        "CREATE INDEX IF NOT EXISTS revision_series_brin ON acquisition_valuerevision "
        "USING brin (series_id int8_bloom_ops) WITH (pages_per_range = 16, autosummarize = on)",
        "ALTER INDEX IF EXISTS revision_run_brin SET (autosummarize = on)",
    ],
    "sqlite": ["CREATE INDEX IF NOT EXISTS revision_series_id ON acquisition_valuerevision (series_id, id)"],
}
DROP = {  # then the reversed RemoveIndex makes the btree (series_id, id DESC) again
    "postgresql": ["DROP INDEX IF EXISTS revision_series_brin"],
    "sqlite": ["DROP INDEX IF EXISTS revision_series_id"],
}


def run(statements):
    def apply(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("acquisition", "0009_revision_cheaper_writes"),
    ]

    operations = [
        # The model no longer declares (series, -id); on PostgreSQL it is dropped, on SQLite made ascending.
        migrations.RemoveIndex(model_name="valuerevision", name="revision_series_id"),
        migrations.RunPython(run(CREATE), run(DROP)),
    ]
