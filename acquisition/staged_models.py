"""The batch stage: rows of a batch's answer, kept until its member commits (written and read by
acquisition/staging.py and acquisition/storage.py). Scratch tables, not observations: acquisition/models.py holds
those and imports these, so `acquisition.models.StagedDailyValue` still names them."""

from __future__ import annotations

from django.db import models


class StagedValue(models.Model):
    """A row of a batch's answer, staged until its member commits (acquisition.staging): a real table, so a batch
    attempt's stage outlives any one database connection (a pooler in transaction mode hands out another each
    transaction). UNLOGGED on PostgreSQL (migration 0012): it is scratch space, rebuilt by fetching again.

    Keyed by (batch, attempt): an attempt reads only its own rows, so a superseded attempt's leftovers never reach
    a newer one; the batch empties its rows when it ends and the janitor sweeps what a lost attempt left.
    """

    id = models.BigAutoField(primary_key=True)  # arrival order: of two rows with one key, the later one wins
    batch_id = models.BigIntegerField()  # no foreign key: scratch rows need no constraint checks on COPY
    attempt = models.PositiveIntegerField()
    series_id = models.BigIntegerField()
    value = models.FloatField(null=True)
    qualifiers = models.JSONField(default=list)
    approval_status = models.CharField(max_length=12, null=True)
    last_modified = models.DateTimeField(null=True)

    class Meta:
        abstract = True


class StagedDailyValue(StagedValue):
    date = models.DateField()

    class Meta:
        db_table = "acquisition_staged_daily"
        indexes = [
            # A member's commit: its rows of one attempt, the latest arrival per date first (DISTINCT ON date
            # ORDER BY date, id DESC), read from the index whatever else the stage holds.
            models.Index(fields=["batch_id", "attempt", "series_id", "date", "-id"], name="staged_daily_member"),
        ]


class StagedContinuousValue(StagedValue):
    time = models.DateTimeField()

    class Meta:
        db_table = "acquisition_staged_continuous"
        indexes = [
            # As StagedDailyValue's: one member's rows of one attempt, latest arrival per instant first.
            models.Index(fields=["batch_id", "attempt", "series_id", "time", "-id"], name="staged_cont_member"),
        ]
