"""Migration 0011 regroups the per-value revision rows into one RevisionSet per (series, run, changed_at, and month
for continuous values), and its reverse expands them back, losing nothing either way."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.conftest import ensure_test_partitions

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("acquisition", "0010_revision_series_ascending")]
AFTER = [("acquisition", "0011_revision_sets")]
T0 = dt.datetime(2026, 11, 1, 7, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(hours=6)
ROW = ("series_id", "run_id", "changed_at", "date", "time", "change", "old_value", "new_value", "old_approval",
       "new_approval", "old_qualifiers", "new_qualifiers")  # fmt: skip


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def at_0010():
    apps = migrate(BEFORE)
    yield apps
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    # Migrating past 0016 again rebuilt the continuous values' table with only the months it held: the later tests'
    # months come back (as at the session's start, tests/conftest.py).
    ensure_test_partitions()


def rows() -> list[tuple]:
    day = dt.date(2026, 10, 1)
    instant = dt.datetime(2026, 10, 1, 0, 5, tzinfo=dt.UTC)
    return [
        (1, None, T0, day, None, "value", 1.0, 2.0, "Provisional", "Provisional", [], []),
        (1, None, T0, day + dt.timedelta(days=1), None, "approval", 3.0, 3.0, "Provisional", "Approved", [], []),
        (1, None, T0, day + dt.timedelta(days=2), None, "qualifiers", 4.0, 4.0, None, None, [], ["ICE"]),
        (1, None, T0, dt.date(2025, 3, 1), None, "value", 5.0, 6.0, "Approved", "Approved", [], []),
        (1, None, T1, day, None, "value", 2.0, 2.5, "Provisional", "Approved", [], []),
        (2, 7, T0, None, instant, "removed", 9.0, None, "Provisional", None, ["ICE"], None),
    ]


def test_rows_become_one_set_per_store_and_come_back(at_0010):
    ValueRevision = at_0010.get_model("acquisition", "ValueRevision")
    ValueRevision.objects.bulk_create([ValueRevision(**dict(zip(ROW, r, strict=True))) for r in rows()])

    RevisionSet = migrate(AFTER).get_model("acquisition", "RevisionSet")

    sets = {(s.series_id, s.changed_at, (s.dates or s.times)[0].year): s for s in RevisionSet.objects.all()}
    assert len(sets) == 3
    first = sets[(1, T0, 2025)]  # one set a store of daily values, whatever years it spans
    assert (first.changes, first.revised, first.approved) == ("vvaq", 2, 1)
    assert first.dates == [dt.date(2025, 3, 1), *(dt.date(2026, 10, d) for d in (1, 2, 3))] and first.times is None
    assert first.new_qualifiers == [[], [], [], ["ICE"]]
    assert first.old_approvals == ["Approved", "Provisional", "Provisional", None]
    assert (sets[(1, T1, 2026)].revised, sets[(1, T1, 2026)].approved) == (1, 1)
    removed = sets[(2, T0, 2026)]
    assert (removed.changes, removed.run_id, removed.times, removed.new_values) == (
        "r",
        7,
        [dt.datetime(2026, 10, 1, 0, 5, tzinfo=dt.UTC)],
        [None],
    )

    back = migrate(BEFORE).get_model("acquisition", "ValueRevision")

    assert sorted(back.objects.values_list(*ROW), key=repr) == sorted(rows(), key=repr)
