"""Observation storage: upsert counts, change detection, replacement of a range — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import time

import orjson
import pytest
from django.db import connection, transaction

from acquisition.models import ContinuousValue, DailyValue
from acquisition.storage import copy_text, store_readings
from acquisition.usgs.parsers import Reading
from stations.models import TimeSeries
from tests.factories import TimeSeriesFactory

LM = dt.datetime(2026, 11, 1, 7, 0, tzinfo=dt.UTC)


def daily(day: int, value: float | None = 10.0, quals=(), status: str | None = "Provisional") -> Reading:
    return Reading("ts", dt.date(2026, 10, day), value, list(quals), status, LM)


def instant(minute: int, value: float | None = 5.0) -> Reading:
    t = dt.datetime(2026, 10, 1, 0, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=minute)
    return Reading("ts", t, value, [], "Provisional", LM)


@pytest.fixture
def series(db):
    return TimeSeriesFactory(kind=TimeSeries.Kind.DAILY)


@pytest.fixture
def cseries(db):
    return TimeSeriesFactory(kind=TimeSeries.Kind.CONTINUOUS)


def test_it_inserts_new_values_and_counts_them(series):
    counts = store_readings("daily", series.pk, [daily(1), daily(2, None), daily(3, 7.5, ["ICE", "ESTIMATED"])])

    assert (counts.received, counts.inserted, counts.updated, counts.unchanged) == (3, 3, 0, 0)
    rows = list(DailyValue.objects.filter(series=series).order_by("date"))
    assert [(r.date.day, r.value, r.qualifiers, r.approval_status) for r in rows] == [
        (1, 10.0, [], "Provisional"),
        (2, None, [], "Provisional"),
        (3, 7.5, ["ICE", "ESTIMATED"], "Provisional"),
    ]
    assert rows[0].last_modified == LM


def test_a_rerun_of_the_same_values_changes_nothing(series):
    store_readings("daily", series.pk, [daily(1), daily(2, None), daily(3, quals=["ICE"])])
    before = {r.pk: r.last_modified for r in DailyValue.objects.all()}

    later = dt.datetime(2026, 11, 9, tzinfo=dt.UTC)
    again = [r._replace(last_modified=later) for r in [daily(1), daily(2, None), daily(3, quals=["ICE"])]]
    counts = store_readings("daily", series.pk, again)

    assert (counts.inserted, counts.updated, counts.unchanged) == (0, 0, 3)
    # A refresh that changed nothing is not rewritten (its last_modified stays as first stored).
    assert {r.pk: r.last_modified for r in DailyValue.objects.all()} == before


@pytest.mark.parametrize(
    "changed",
    [
        daily(2, 11.0),
        daily(2, None),
        daily(2, quals=["ESTIMATED"]),
        daily(2, status="Approved"),
        daily(2, status=None),
    ],
    ids=["value", "value-to-null", "qualifiers", "approval", "approval-null"],
)
def test_it_updates_a_row_whose_value_qualifiers_or_approval_changed(series, changed):
    store_readings("daily", series.pk, [daily(1), daily(2)])

    counts = store_readings("daily", series.pk, [daily(1), changed._replace(last_modified=LM + dt.timedelta(days=3))])

    assert (counts.inserted, counts.updated, counts.unchanged) == (0, 1, 1)
    row = DailyValue.objects.get(series=series, date=dt.date(2026, 10, 2))
    assert (row.value, row.qualifiers, row.approval_status) == (
        changed.value,
        changed.qualifiers,
        changed.approval_status,
    )
    assert row.last_modified == LM + dt.timedelta(days=3)


def test_a_key_given_twice_keeps_the_later_reading(series):
    counts = store_readings("daily", series.pk, [daily(1, 1.0), daily(1, 2.0)])

    assert (counts.received, counts.inserted) == (1, 1)
    assert DailyValue.objects.get(series=series).value == 2.0


def test_two_series_never_share_rows(series):
    other = TimeSeriesFactory()
    store_readings("daily", series.pk, [daily(1, 1.0)])

    counts = store_readings("daily", other.pk, [daily(1, 2.0)])

    assert counts.inserted == 1
    assert sorted(DailyValue.objects.values_list("series_id", "value")) == sorted([(series.pk, 1.0), (other.pk, 2.0)])


def test_replace_deletes_rows_of_the_range_that_did_not_come_back(series):
    store_readings("daily", series.pk, [daily(d) for d in range(1, 11)])

    counts = store_readings(
        "daily",
        series.pk,
        [daily(3), daily(4, 99.0), daily(5)],
        replace=(dt.date(2026, 10, 2), dt.date(2026, 10, 6)),
    )

    assert (counts.inserted, counts.updated, counts.unchanged, counts.deleted) == (0, 1, 2, 2)
    days = sorted(d.day for d in DailyValue.objects.filter(series=series).values_list("date", flat=True))
    assert days == [1, 3, 4, 5, 7, 8, 9, 10]


def test_a_failure_after_the_write_rolls_the_replacement_back(series):
    store_readings("daily", series.pk, [daily(d) for d in range(1, 6)])

    with pytest.raises(RuntimeError), transaction.atomic():
        store_readings("daily", series.pk, [daily(1, 50.0)], replace=(dt.date(2026, 10, 1), dt.date(2026, 10, 5)))
        raise RuntimeError("the progress row could not be written")

    assert sorted(DailyValue.objects.values_list("value", flat=True)) == [10.0] * 5


def test_continuous_instants_are_stored_in_utc_and_upserted(cseries):
    eastern = dt.timezone(dt.timedelta(hours=-5))
    readings = [instant(0), instant(15), instant(30)]
    readings.append(Reading("ts", dt.datetime(2026, 9, 30, 20, 0, tzinfo=eastern), 6.0, [], None, None))
    counts = store_readings("continuous", cseries.pk, readings)
    assert counts.inserted == 4

    counts = store_readings("continuous", cseries.pk, [instant(0), instant(15, 9.0), instant(45)])

    assert (counts.inserted, counts.updated, counts.unchanged) == (1, 1, 1)
    times = list(ContinuousValue.objects.filter(series=cseries).order_by("time").values_list("time", "value"))
    assert times[0] == (dt.datetime(2026, 10, 1, 0, 0, tzinfo=dt.UTC), 5.0)
    assert times[1] == (dt.datetime(2026, 10, 1, 0, 15, tzinfo=dt.UTC), 9.0)
    assert times[4] == (dt.datetime(2026, 10, 1, 1, 0, tzinfo=dt.UTC), 6.0)  # 20:00 at -05:00
    assert len(times) == 5


def test_an_empty_batch_changes_nothing(series):
    store_readings("daily", series.pk, [daily(1)])

    counts = store_readings("daily", series.pk, [])

    assert (counts.received, counts.inserted, counts.updated, counts.unchanged) == (0, 0, 0, 0)
    assert DailyValue.objects.count() == 1


def test_copy_text_escapes_what_copy_would_misread():
    text = copy_text(7, [Reading("ts", dt.date(2026, 1, 2), None, ["A\tB", "C\\D"], None, None)])

    assert text == '7\t2026-01-02\t\\N\t["A\\\\tB", "C\\\\\\\\D"]\t\\N\t\\N\n'


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_writers_of_one_series_at_once_queue_up_and_store_each_row_once():
    """Two configurations sharing a station commit the same series at the same moment. Both find the range empty
    before either commits, which alone would send both down the COPY shortcut (a unique violation, or duplicates
    without the constraint): the advisory lock makes the second wait and take the upsert instead."""
    series = TimeSeriesFactory(kind=TimeSeries.Kind.DAILY)
    batches = {"a": [daily(d) for d in range(1, 21)], "b": [daily(d) for d in range(11, 31)]}
    barrier = threading.Barrier(2)
    counts: dict[str, object] = {}
    errors: list[BaseException] = []

    def write(name: str) -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                counts[name] = store_readings("daily", series.pk, batches[name])
                time.sleep(0.3)  # keep the transaction open: the other writer must wait for it, not interleave
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(name,)) for name in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert DailyValue.objects.filter(series=series).count() == 30
    assert DailyValue.objects.filter(series=series).values("date").distinct().count() == 30
    first, second = sorted(counts.values(), key=lambda c: c.unchanged)
    assert (first.inserted, first.unchanged) == (20, 0)  # the first committer took the COPY shortcut
    assert (second.inserted, second.updated, second.unchanged) == (10, 0, 10)  # the second waited, then upserted


@pytest.mark.django_db
def test_parsed_values_read_back_exactly_whatever_text_the_response_used(series, cseries):
    """The parser hands storage the response's own text where it is canonical; every row, written from that text
    or formatted from the typed field, must read back as the value the parser produced."""
    from acquisition.usgs.parsers import parse_readings_text

    def body(rows):
        return orjson.dumps({"type": "FeatureCollection", "features": [{"properties": p} for p in rows]})

    base = {"time_series_id": "ts", "approval_status": "Approved", "qualifier": None}
    daily_rows = [
        {**base, "time": "2026-09-28", "value": "12.4", "last_modified": "2026-09-29T07:08:17.284720+00:00"},
        {**base, "time": "2026-W40-2", "value": "1e3", "last_modified": "2026-09-29T07:08:17Z"},
        {**base, "time": "20260930", "value": " 0.5 ", "last_modified": "2026-09-29T03:08:17-04:00"},
        {**base, "time": "2026-10-01", "value": "1_000", "last_modified": "2026-09-29T07:08:17"},
        {**base, "time": "2026-10-02", "value": 7, "last_modified": None},
        {**base, "time": "2026-10-03", "value": "-0.000123456789012", "last_modified": "2026-09-29T07:08:17+00:00"},
    ]
    readings = parse_readings_text(body(daily_rows), "daily")
    assert store_readings("daily", series.pk, readings).inserted == 6
    stored = {v.date: (v.value, v.last_modified) for v in DailyValue.objects.filter(series=series)}
    assert stored == {r.time: (r.value, r.last_modified) for r in readings}

    instant_rows = [
        {**base, "time": "2026-03-09T07:05:00+00:00", "value": "3.25", "last_modified": "2026-03-09T08:00:00+00:00"},
        {**base, "time": "2026-03-09T07:10:00Z", "value": "3.5", "last_modified": "2026-03-09T08:00:00+00:00"},
        {**base, "time": "2026-03-09T02:15:00-05:00", "value": None, "last_modified": "2026-03-09T08:00:00+00:00"},
    ]
    readings = parse_readings_text(body(instant_rows), "continuous")
    assert store_readings("continuous", cseries.pk, readings).inserted == 3
    stored = {v.time: (v.value, v.last_modified) for v in ContinuousValue.objects.filter(series=cseries)}
    assert stored == {r.time: (r.value, r.last_modified) for r in readings}
    # Storing the same response again finds every row unchanged: the text and the typed field agree.
    assert store_readings("continuous", cseries.pk, readings).unchanged == 3


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "key", "indexes"),
    [
        (DailyValue, "date", ["btree (id)", "btree (series_id, date)"]),
        (ContinuousValue, "time", ["btree (series_id, time)"]),
    ],
)
def test_each_observation_table_keeps_only_the_indexes_it_needs(model, key, indexes):
    """Every index is maintained on each of millions of rows written: the primary key and the natural key only
    (continuous values: the natural key is the primary key, on the partitioned table and on each partition).
    The natural key (series, time) also serves every read by series (charts, exports, the foreign key's cascade)."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE tablename = %s OR tablename LIKE %s",
            [table, f"{table}_p%"],
        )
        found = cursor.fetchall()
        tables = {t for t, _ in found}
        for t in tables:
            definitions = sorted(d.split(" USING ")[1].replace('"', "") for name, d in found if name == t)
            assert definitions == sorted(indexes), t
        assert len(tables) > 1 if model is ContinuousValue else tables == {table}
        cursor.execute(f"EXPLAIN SELECT * FROM {table} WHERE series_id = 1 ORDER BY {key} LIMIT 100")
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "Index Scan" in plan and ("series_date" in plan or "pkey" in plan)
