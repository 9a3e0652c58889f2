"""The configuration form's buttons each post to a view of their own (issue 27); pausing has one view per answer.

The buttons used to post `action=<name>` (or `remove:<id>`) to the form's URL; that still works (the tests in
test_pulls_form.py post it), and these pin the URLs the buttons now carry, with the same effects.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from pulls.models import PullConfiguration
from stations.models import TimeSeries
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory, TimeSeriesFactory
from tests.test_pulls_form import HTMX, _basket, _form

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_stations():
    return MonitoringLocationFactory(), MonitoringLocationFactory()


@pytest.fixture
def edited(two_stations):
    config = PullConfigurationFactory(name="Two gages")
    config.stations.add(*two_stations)
    return config


def _draft(client, key: str) -> dict | None:
    return client.session.get("pulls_form_drafts", {}).get(key)


def test_removing_a_basket_station_has_its_own_url(operator_client, two_stations):
    first, second = two_stations
    _basket(operator_client, first, second)
    url = reverse("pulls:form_remove_station", args=[first.monitoring_location_id])

    response = operator_client.post(url, _form(name="Half typed", action="save"), headers=HTMX)

    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert second.monitoring_location_id in body and first.monitoring_location_id not in body
    assert operator_client.session["basket"] == [second.monitoring_location_id]
    assert _draft(operator_client, "new")["data"]["name"] == "Half typed"
    assert not PullConfiguration.objects.exists()
    # Without htmx: back to the form.
    plain = operator_client.post(reverse("pulls:form_remove_station", args=[second.monitoring_location_id]), _form())
    assert plain.status_code == 302 and plain["Location"] == reverse("pulls:create")
    assert operator_client.session["basket"] == []


def test_removing_an_edited_configurations_station_changes_nothing_until_saved(operator_client, edited, two_stations):
    first, second = two_stations
    url = reverse("pulls:form_remove_station", args=[edited.pk, first.monitoring_location_id])

    body = operator_client.post(url, _form(name="Two gages"), headers=HTMX).content.decode()

    assert 'id="form-stations"' in body and first.monitoring_location_id not in body
    assert edited.stations.count() == 2
    assert _draft(operator_client, str(edited.pk))["stations"] == [second.monitoring_location_id]
    # The edit page's remove buttons carry these URLs.
    page = operator_client.get(reverse("pulls:edit", args=[edited.pk])).content.decode()
    assert f'hx-post="{reverse("pulls:form_remove_station", args=[edited.pk, second.monitoring_location_id])}"' in page


def test_discard_search_and_add_basket_have_their_own_urls(operator_client, edited, two_stations):
    extra = MonitoringLocationFactory()
    _basket(operator_client, extra)
    args = [edited.pk]

    added = operator_client.post(reverse("pulls:form_add_basket", args=args), _form(name="Grown"), headers=HTMX)
    assert extra.monitoring_location_id in added.content.decode()
    assert _draft(operator_client, str(edited.pk))["stations"][-1] == extra.monitoring_location_id

    searched = operator_client.post(reverse("pulls:form_search_stations", args=args), _form(name="Grown"))
    assert searched.status_code == 302 and searched["Location"] == reverse("stations:search")

    discarded = operator_client.post(reverse("pulls:form_discard", args=args))
    assert discarded.status_code == 302 and discarded["Location"] == reverse("pulls:edit", args=args)
    assert _draft(operator_client, str(edited.pk)) is None
    edited.refresh_from_db()
    assert edited.name == "Two gages" and edited.stations.count() == 2


def test_the_data_type_redraw_and_the_drop_of_stations_without_it_have_their_own_urls(operator_client):
    gaged = MonitoringLocationFactory(has_daily=True, has_continuous=True)
    TimeSeriesFactory(location=gaged, kind=TimeSeries.Kind.CONTINUOUS)
    daily_only = MonitoringLocationFactory(has_daily=True, has_continuous=False)
    TimeSeriesFactory(location=daily_only, kind=TimeSeries.Kind.DAILY)
    _basket(operator_client, gaged, daily_only)

    redrawn = operator_client.post(
        reverse("pulls:form_refresh_stations"), _form(data_type="continuous"), headers=HTMX
    ).content.decode()
    assert redrawn.lstrip().startswith('<section id="form-stations"') and redrawn.count("without-series-badge") == 1
    assert len(operator_client.session["basket"]) == 2

    dropped = operator_client.post(
        reverse("pulls:form_drop_without_series"), _form(data_type="continuous"), headers=HTMX
    ).content.decode()
    assert "without-series-badge" not in dropped
    assert operator_client.session["basket"] == [gaged.monitoring_location_id]


def test_the_schedule_fragments_have_their_own_urls(operator_client):
    fields = operator_client.get(
        reverse("pulls:schedule_fields"), {"schedule_type": "custom", "cron_expression": "*/5 * * * *"}, headers=HTMX
    ).content.decode()
    assert fields.strip().startswith('<div id="schedule-fields">') and 'value="*/5 * * * *"' in fields

    preview = operator_client.get(
        reverse("pulls:schedule_preview"),
        {"schedule_type": "custom", "cron_expression": "0 25 * * *", "timezone": "UTC"},
        headers=HTMX,
    ).content.decode()
    assert 'id="schedule-preview"' in preview and "25 is out of range in the hour field" in preview
    page = operator_client.get(reverse("pulls:create")).content.decode()
    assert f'hx-get="{reverse("pulls:schedule_preview")}"' in page


def test_viewers_get_403_from_every_button_url_and_nothing_changes(viewer_client, edited, two_stations):
    first, _ = two_stations
    _basket(viewer_client, first)
    posts = [
        reverse("pulls:form_remove_station", args=[first.monitoring_location_id]),
        reverse("pulls:form_remove_station", args=[edited.pk, first.monitoring_location_id]),
        reverse("pulls:form_discard"),
        reverse("pulls:form_refresh_stations", args=[edited.pk]),
        reverse("pulls:form_drop_without_series"),
        reverse("pulls:form_search_stations", args=[edited.pk]),
        reverse("pulls:form_add_basket", args=[edited.pk]),
        reverse("pulls:toggle_row", args=[edited.pk]),
        reverse("pulls:toggle_status", args=[edited.pk]),
    ]
    for url in posts:
        assert viewer_client.post(url, _form(enabled="0"), headers=HTMX).status_code == 403, url
    assert viewer_client.get(reverse("pulls:schedule_fields")).status_code == 403
    assert viewer_client.session["basket"] == [first.monitoring_location_id]
    assert _draft(viewer_client, str(edited.pk)) is None
    edited.refresh_from_db()
    assert edited.enabled is True and edited.stations.count() == 2


def test_a_button_url_answers_405_to_a_get(operator_client, edited):
    assert operator_client.get(reverse("pulls:form_discard", args=[edited.pk])).status_code == 405


def test_pausing_from_the_list_and_from_the_page_have_their_own_urls(operator_client, edited):
    row = operator_client.post(reverse("pulls:toggle_row", args=[edited.pk]), {"enabled": "0"}, headers=HTMX)
    assert row.content.decode().strip().startswith(f'<tr id="config-row-{edited.pk}">')
    edited.refresh_from_db()
    assert edited.enabled is False

    status = operator_client.post(reverse("pulls:toggle_status", args=[edited.pk]), {"enabled": "1"}, headers=HTMX)
    assert status.content.decode().strip().startswith('<div id="config-status"')
    edited.refresh_from_db()
    assert edited.enabled is True
    page = operator_client.get(reverse("pulls:detail", args=[edited.pk])).content.decode()
    assert f'hx-post="{reverse("pulls:toggle_status", args=[edited.pk])}"' in page
