"""The admin's lists of system rows say honestly how many there are, and fast (issue 23, item 13): never the capped
count ("10001") as a total, "about N" (PostgreSQL's estimate) for a whole table past the cap, "more than 10,000"
for a filtered one; and no page sorts or scans the whole value table to draw 200 rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from acquisition.models import DailyValue
from streamflow import admin as shared_admin
from tests.factories import TimeSeriesFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = reverse("admin:acquisition_dailyvalue_changelist")


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def values():
    series = TimeSeriesFactory(kind="daily")
    start = dt.date(2026, 1, 1)
    DailyValue.objects.bulk_create(
        DailyValue(series=series, date=start + dt.timedelta(days=i), value=float(i), qualifiers=[],
                        approval_status="Approved" if i % 2 else "Provisional")
        for i in range(12)
    )  # fmt: skip
    return series


def test_under_the_cap_the_list_says_the_exact_count(admin_client, values):
    body = admin_client.get(URL).content.decode()

    assert '<span id="result-count">12 daily values</span>' in body
    assert "result-count-note" not in body


def test_past_the_cap_a_filtered_list_says_more_than_never_the_capped_count(admin_client, values, monkeypatch):
    monkeypatch.setattr(shared_admin, "COUNT_CAP", 5)

    body = admin_client.get(URL, {"approval_status__exact": "Approved"}).content.decode()

    assert '<span id="result-count">more than 5 daily values</span>' in body
    assert "6 daily values" not in body and "6 results" not in body
    assert 'id="search-result-count">more than 5 results' in body
    assert "these pages reach the first 5" in body


def test_past_the_cap_the_whole_table_is_about_its_estimate_or_more_than_the_cap(admin_client, values, monkeypatch):
    monkeypatch.setattr(shared_admin, "COUNT_CAP", 5)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE acquisition_dailyvalue")

    body = admin_client.get(URL).content.decode()

    if connection.vendor == "postgresql":
        assert '<span id="result-count">about 12 daily values</span>' in body
        assert "PostgreSQL's estimate" in body
    else:
        assert '<span id="result-count">more than 5 daily values</span>' in body
    assert "6 daily values" not in body


def test_an_estimate_reads_as_one():
    assert shared_admin.about(278_341) == 278_000
    assert shared_admin.about(10_001) == 10_000
    assert shared_admin.about(999) == 999


def test_a_page_of_values_neither_sorts_through_the_stations_nor_scans_the_years(admin_client, values):
    admin_client.get(URL)  # session and permissions cached

    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(URL)

    assert response.status_code == 200
    page_query = next(q["sql"] for q in captured if "ORDER BY" in q["sql"] and "dailyvalue" in q["sql"])
    order_by = page_query.split("ORDER BY")[1]
    # The unique (series, date) index, read backwards: no join in the ORDER BY, no -pk tie-breaker.
    assert "stations_" not in order_by and '"id"' not in order_by
    assert not any("DATE_TRUNC" in q["sql"].upper() or "DISTINCT" in q["sql"].upper() for q in captured)


@pytest.mark.postgres
def test_the_estimate_is_postgresql_s_own_row_estimate(values):
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE acquisition_dailyvalue")

    assert shared_admin.estimated_rows(DailyValue) == 12
