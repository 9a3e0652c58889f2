"""A superuser reads the admin's continuous-values list at desktop and phone sizes: past the count cap it says
"more than …" (or "about …" on PostgreSQL), never the capped count as a total (issue 23, item 13)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from acquisition.models import DailyValue
from streamflow import admin as shared_admin
from tests.conftest import log_in
from tests.factories import TimeSeriesFactory, UserFactory

pytest_plugins = ["tests.browser_sizes"]  # sized_page
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_values_list_says_how_many_honestly(sized_page, monkeypatch):
    from playwright.sync_api import expect

    monkeypatch.setattr(shared_admin, "COUNT_CAP", 5)  # the live server runs in this process
    series = TimeSeriesFactory(kind="daily")
    start = dt.date(2026, 1, 1)
    DailyValue.objects.bulk_create(
        DailyValue(series=series, date=start + dt.timedelta(days=i), value=1.0, qualifiers=[])
        for i in range(12)
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE acquisition_dailyvalue")
    page = sized_page
    log_in(page, UserFactory(username="root", is_staff=True, is_superuser=True))

    page.goto("/admin/acquisition/dailyvalue/")

    shown = "about 12" if connection.vendor == "postgresql" else "more than 5"
    expect(page.locator("#result-count")).to_have_text(f"{shown} daily values")
    expect(page.locator("#result-count-note")).to_contain_text("these pages reach the first 5")
    expect(page.locator(".paginator")).not_to_contain_text("6 daily values")
