"""The observation admin is read-only for everyone, superusers included."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from acquisition.models import DailyValue
from tests.factories import TimeSeriesFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_the_daily_values_list_shows_values_without_an_add_button(admin_client):
    series = TimeSeriesFactory()
    DailyValue.objects.create(series=series, date=dt.date(2026, 1, 2), value=12.5, approval_status="Provisional")

    response = admin_client.get(reverse("admin:acquisition_dailyvalue_changelist"))

    assert response.status_code == 200
    assert b"12.5" in response.content
    assert reverse("admin:acquisition_dailyvalue_add").encode() not in response.content


def test_a_daily_value_cannot_be_changed_or_deleted_in_the_admin(admin_client):
    value = DailyValue.objects.create(series=TimeSeriesFactory(), date=dt.date(2026, 1, 2), value=12.5)

    response = admin_client.post(reverse("admin:acquisition_dailyvalue_change", args=[value.pk]), {"value": "99"})
    delete = admin_client.post(reverse("admin:acquisition_dailyvalue_delete", args=[value.pk]), {"post": "yes"})

    assert response.status_code == 403 and delete.status_code == 403
    value.refresh_from_db()
    assert value.value == 12.5


def test_the_daily_values_list_searches_by_station(admin_client):
    # Continuous values have no admin: keyed on (series, time) for their partitioned table, which Django's admin
    # cannot list (acquisition/admin.py); the station page counts them (tests/test_stations_detail.py).
    series = TimeSeriesFactory()
    DailyValue.objects.create(series=series, date=dt.date(2026, 1, 2), value=12.5)
    other = DailyValue.objects.create(series=TimeSeriesFactory(), date=dt.date(2026, 1, 2), value=7.0)
    url = reverse("admin:acquisition_dailyvalue_changelist")

    response = admin_client.get(url, {"q": series.location.monitoring_location_id})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list.values_list("series_id", flat=True)) == [series.pk]
    assert other.series_id != series.pk


def test_a_revision_set_shows_its_newest_entries_read_only(admin_client):
    from acquisition.models import RevisionSet
    from acquisition.storage import store_readings
    from acquisition.usgs.parsers import Reading

    series = TimeSeriesFactory()
    first = [Reading("ts", dt.date(2026, 1, d), 1.0, [], "Provisional", None) for d in range(1, 4)]
    store_readings("daily", series.pk, first)
    store_readings("daily", series.pk, [first[0], first[1]._replace(value=7.25), first[2]._replace(qualifiers=["<b>"])])
    revision_set = RevisionSet.objects.get()

    listing = admin_client.get(reverse("admin:acquisition_revisionset_changelist"))
    page = admin_client.get(reverse("admin:acquisition_revisionset_change", args=[revision_set.pk]))

    assert listing.status_code == 200 and page.status_code == 200
    html = page.content.decode()
    assert "<td>2026-01-02</td><td>Value</td><td>1.0 → 7.25</td>" in html
    assert "&lt;b&gt;" in html and "<b>" not in html.split("Newest entries")[1]
    assert reverse("admin:acquisition_revisionset_add") not in listing.content.decode()


def test_normals_and_revision_notes_are_listed_read_only(admin_client):
    from django.utils import timezone

    from acquisition.models import NormalsFetch, RevisionNote, SeriesNormal

    series = TimeSeriesFactory()
    SeriesNormal.objects.create(series=series, month=2, day=29, p50=321.5, sample_count=12)
    NormalsFetch.objects.create(series=series, fetched_at=timezone.now(), days=1)
    RevisionNote.objects.create(location=series.location, time_series_id="abc", note="Revised on Aug. 16, 2024",
                                fetched_at=timezone.now())  # fmt: skip
    for model, text in (("seriesnormal", b"321.5"), ("normalsfetch", b"1"), ("revisionnote", b"Aug. 16, 2024")):
        response = admin_client.get(reverse(f"admin:acquisition_{model}_changelist"))
        assert response.status_code == 200 and text in response.content
        assert reverse(f"admin:acquisition_{model}_add").encode() not in response.content
