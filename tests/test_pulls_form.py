"""The configuration form: create/edit from the basket, validation that changes nothing, live schedule parts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from pulls.models import PullConfiguration, StationProgress
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def _basket(client, *locations) -> None:
    session = client.session
    session["basket"] = [loc.monitoring_location_id for loc in locations]
    session.save()


def _form(**overrides) -> dict:
    data = {
        "action": "save",
        "name": "Potomac daily",
        "description": "Main stem gages",
        "data_type": "daily_mean",
        "strategy": "append",
        "start_date": "2020-01-01",
        "schedule_type": "daily",
        "cron_expression": "",
        "timezone": "America/New_York",
        "enabled": "on",
    }
    data.update(overrides)
    return data


@pytest.fixture
def two_stations():
    return MonitoringLocationFactory(), MonitoringLocationFactory()


def test_it_creates_a_configuration_from_the_basket_in_order_and_clears_the_basket(
    operator_client, operator, two_stations
):
    first, second = two_stations
    _basket(operator_client, second, first)
    response = operator_client.post(reverse("pulls:create"), _form())

    config = PullConfiguration.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("pulls:detail", args=[config.pk])
    assert [m.location for m in config.memberships.all()] == [second, first]
    assert config.cron_expression == "0 0 * * *"
    assert config.created_by == operator
    assert StationProgress.objects.filter(configuration=config).count() == 2
    assert operator_client.session["basket"] == []
    page = operator_client.get(response["Location"]).content.decode()
    assert "Created “Potomac daily” with 2 stations" in page


def test_the_create_form_lists_the_basket_with_remove_buttons(operator_client, two_stations):
    _basket(operator_client, *two_stations)
    body = operator_client.get(reverse("pulls:create")).content.decode()
    assert "<html" in body
    for station in two_stations:
        remove = reverse("pulls:form_remove_station", args=[station.monitoring_location_id])
        assert f'formaction="{remove}"' in body and f'hx-post="{remove}"' in body
    assert f'formaction="{reverse("pulls:form_search_stations")}"' in body
    assert 'id="schedule-preview"' in body
    assert 'type="hidden" name="cron_expression"' in body  # daily preset: no visible cron field


TODAY = timezone.localdate()
INVALID = [
    ({"schedule_type": "custom", "cron_expression": "0 0 * *"}, "has five fields"),
    ({"schedule_type": "custom", "cron_expression": "0 25 * * *"}, "25 is out of range in the hour field"),
    ({"schedule_type": "custom", "cron_expression": "0 0 * jna *"}, "is not a valid month value"),
    ({"schedule_type": "custom", "cron_expression": "0 0 30 2 *"}, "This schedule never runs"),
    ({"schedule_type": "custom", "cron_expression": "0 0 31 4 *"}, "This schedule never runs"),
    ({"schedule_type": "custom", "cron_expression": "0 0 1 * 1"}, "Celery runs only on days that match both"),
    ({"schedule_type": "custom", "cron_expression": ""}, "Enter a cron expression for the custom schedule"),
    ({"start_date": str(TODAY + dt.timedelta(days=2))}, "The start date is in the future"),
    ({"start_date": "1849-12-31"}, "USGS records begin in the 1850s"),
    ({"timezone": "Mars/Olympus"}, "is not a known time zone"),
    ({"name": ""}, "This field is required"),
]


@pytest.mark.parametrize(("overrides", "message"), INVALID)
def test_each_invalid_input_gets_its_message_and_changes_nothing(operator_client, two_stations, overrides, message):
    _basket(operator_client, *two_stations)
    response = operator_client.post(reverse("pulls:create"), _form(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not PullConfiguration.objects.exists()
    assert not PeriodicTask.objects.exists()
    assert not StationProgress.objects.exists()
    assert len(operator_client.session["basket"]) == 2  # the basket survives a failed save


def test_it_refuses_a_configuration_without_stations(operator_client):
    _basket(operator_client)
    response = operator_client.post(reverse("pulls:create"), _form())
    assert response.status_code == 200
    assert "A configuration needs at least one station" in response.content.decode()
    assert not PullConfiguration.objects.exists()
    assert not PeriodicTask.objects.exists()


def test_it_refuses_a_duplicate_name_whatever_its_case(operator_client, two_stations):
    existing = PullConfigurationFactory(name="Potomac Daily")
    _basket(operator_client, *two_stations)
    response = operator_client.post(reverse("pulls:create"), _form(name="potomac daily"))
    assert response.status_code == 200
    assert "A configuration named “potomac daily” already exists" in response.content.decode()
    assert list(PullConfiguration.objects.all()) == [existing]
    assert PeriodicTask.objects.count() == 1


def test_a_failed_edit_leaves_the_configuration_and_its_task_unchanged(operator_client, two_stations):
    config = PullConfigurationFactory(name="Keep me", timezone="UTC")
    config.stations.add(*two_stations)
    task_before = PeriodicTask.objects.get(name=f"pull-config-{config.pk}")
    response = operator_client.post(
        reverse("pulls:edit", args=[config.pk]),
        _form(name="Renamed", schedule_type="custom", cron_expression="0 0 30 2 *"),
    )
    assert response.status_code == 200
    config.refresh_from_db()
    assert (config.name, config.cron_expression, config.timezone) == ("Keep me", "0 0 * * *", "UTC")
    task = PeriodicTask.objects.get(name=f"pull-config-{config.pk}")
    assert (task.crontab_id, task.date_changed) == (task_before.crontab_id, task_before.date_changed)


def test_the_schedule_fragment_shows_the_cron_field_only_for_custom(operator_client):
    url = reverse("pulls:create")
    custom = operator_client.get(
        url,
        {"schedule_type": "custom", "cron_expression": "0 0 * * *", "timezone": "UTC"},
        headers={**HTMX, "HX-Target": "schedule-fields"},
    )
    body = custom.content.decode()
    assert custom.status_code == 200
    assert "<html" not in body
    assert 'type="text" name="cron_expression"' in body
    assert 'hx-trigger="input changed delay:300ms"' in body

    preset = operator_client.get(
        url, {"schedule_type": "hourly", "timezone": "UTC"}, headers={**HTMX, "HX-Target": "schedule-fields"}
    )
    body = preset.content.decode()
    assert 'type="hidden" name="cron_expression" id="id_cron_expression" value="0 * * * *"' in body
    assert "Every hour" in body


def test_the_preview_fragment_shows_words_and_the_next_runs_across_the_dst_change(operator_client, monkeypatch):
    monkeypatch.setattr("pulls.cron._now", lambda: dt.datetime(2026, 3, 6, 17, 0, tzinfo=dt.UTC))
    response = operator_client.get(
        reverse("pulls:create"),
        {"schedule_type": "custom", "cron_expression": "0 2 * * *", "timezone": "America/New_York"},
        headers={**HTMX, "HX-Target": "schedule-preview"},
    )
    body = response.content.decode()
    assert "<html" not in body
    assert body.strip().startswith('<div id="schedule-preview"')
    assert "At 02:00" in body
    assert body.index("Sat 2026-03-07 02:00 EST") < body.index("Sun 2026-03-08 03:00 EDT")
    assert "Wed 2026-03-11 02:00 EDT" in body


def test_the_preview_fragment_explains_an_invalid_expression(operator_client):
    response = operator_client.get(
        reverse("pulls:create"),
        {"schedule_type": "custom", "cron_expression": "0 0 1 * 1", "timezone": "UTC"},
        headers={**HTMX, "HX-Target": "schedule-preview"},
    )
    assert "Celery runs only on days that match both" in response.content.decode()
    assert 'id="next-runs"' not in response.content.decode()


def test_a_plain_get_with_schedule_fields_renders_the_whole_form_prefilled(operator_client):
    response = operator_client.get(
        reverse("pulls:create"), {"schedule_type": "custom", "cron_expression": "*/5 * * * *", "timezone": "UTC"}
    )
    body = response.content.decode()
    assert "<html" in body
    assert 'value="*/5 * * * *"' in body
    assert "Every 5 minutes" in body


def test_removing_a_station_with_htmx_returns_the_station_list_and_keeps_the_unsaved_form(
    operator_client, two_stations
):
    first, second = two_stations
    _basket(operator_client, first, second)
    response = operator_client.post(
        reverse("pulls:create"),
        _form(name="Half typed", action=f"remove:{first.monitoring_location_id}"),
        headers={**HTMX, "HX-Target": "form-stations"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert second.monitoring_location_id in body
    assert first.monitoring_location_id not in body
    assert 'id="basket-count"' in body and 'hx-swap-oob="true"' in body
    assert operator_client.session["basket"] == [second.monitoring_location_id]
    assert not PullConfiguration.objects.exists()

    page = operator_client.get(reverse("pulls:create")).content.decode()
    assert 'value="Half typed"' in page
    assert "Your unsaved changes are restored." in page


def test_removing_a_station_without_javascript_redirects_back_to_the_form(operator_client, two_stations):
    first, second = two_stations
    _basket(operator_client, first, second)
    response = operator_client.post(reverse("pulls:create"), _form(action=f"remove:{second.monitoring_location_id}"))
    assert response.status_code == 302
    assert response["Location"] == reverse("pulls:create")
    assert operator_client.session["basket"] == [first.monitoring_location_id]


def test_add_more_from_search_keeps_the_form_and_comes_back_to_it(operator_client, two_stations):
    _basket(operator_client, two_stations[0])
    response = operator_client.post(
        reverse("pulls:create"), _form(name="Come back", timezone="Asia/Tokyo", action="search")
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("stations:search")
    _basket(operator_client, *two_stations)  # the search page added one more

    page = operator_client.get(reverse("pulls:create")).content.decode()
    assert 'value="Come back"' in page
    assert 'value="Asia/Tokyo"' in page
    assert two_stations[1].monitoring_location_id in page

    operator_client.post(reverse("pulls:create"), _form(name="Come back", timezone="Asia/Tokyo"))
    assert PullConfiguration.objects.get().stations.count() == 2
    assert "pulls_form_drafts" not in operator_client.session or not operator_client.session["pulls_form_drafts"]


def test_discarding_the_draft_starts_a_fresh_form(operator_client, two_stations):
    _basket(operator_client, *two_stations)
    operator_client.post(reverse("pulls:create"), _form(name="Drafty", action="search"))
    response = operator_client.post(reverse("pulls:create"), {"action": "discard"})
    assert response.status_code == 302
    assert 'value="Drafty"' not in operator_client.get(reverse("pulls:create")).content.decode()


def test_editing_keeps_the_stations_until_one_is_removed_and_saved(operator_client, two_stations):
    first, second = two_stations
    config = PullConfigurationFactory(name="Two gages")
    config.stations.add(first, second)
    edit_url = reverse("pulls:edit", args=[config.pk])

    page = operator_client.get(edit_url).content.decode()
    assert 'value="Two gages"' in page
    assert first.monitoring_location_id in page and second.monitoring_location_id in page

    operator_client.post(
        edit_url, _form(name="Two gages", action=f"remove:{first.monitoring_location_id}"), headers=HTMX
    )
    assert config.stations.count() == 2  # nothing saved yet

    response = operator_client.post(edit_url, _form(name="One gage"))
    assert response.status_code == 302
    config.refresh_from_db()
    assert config.name == "One gage"
    assert list(config.stations.all()) == [second]
    assert list(StationProgress.objects.filter(configuration=config).values_list("location", flat=True)) == [second.pk]


def test_editing_can_take_in_stations_from_the_basket(operator_client, two_stations):
    first, second = two_stations
    config = PullConfigurationFactory(name="Grows")
    config.stations.add(first)
    _basket(operator_client, second)
    edit_url = reverse("pulls:edit", args=[config.pk])

    assert "Add 1 station from the basket" in operator_client.get(edit_url).content.decode()
    response = operator_client.post(edit_url, _form(name="Grows", action="add_basket"), headers=HTMX)
    assert second.monitoring_location_id in response.content.decode()
    operator_client.post(edit_url, _form(name="Grows"))
    assert [m.location for m in config.memberships.all()] == [first, second]


def test_viewers_cannot_open_or_post_the_form(viewer_client, two_stations):
    _basket(viewer_client, *two_stations)
    assert viewer_client.get(reverse("pulls:create")).status_code == 403
    assert viewer_client.post(reverse("pulls:create"), _form()).status_code == 403
    config = PullConfigurationFactory(name="Untouchable")
    assert viewer_client.post(reverse("pulls:edit", args=[config.pk]), _form(name="Touched")).status_code == 403
    config.refresh_from_db()
    assert config.name == "Untouchable"
    assert PullConfiguration.objects.count() == 1


def test_a_new_form_starts_on_the_first_of_january_of_last_year(operator_client, two_stations):
    _basket(operator_client, *two_stations)
    body = operator_client.get(reverse("pulls:create")).content.decode()
    expected = dt.date(timezone.localdate().year - 1, 1, 1).isoformat()
    assert "<html" in body
    assert f'value="{expected}"' in body
    assert "1 January of last year" in body


def test_a_blank_start_date_is_refused_with_a_sentence_and_nothing_is_saved(operator_client, two_stations):
    _basket(operator_client, *two_stations)
    response = operator_client.post(reverse("pulls:create"), _form(start_date=""))
    assert response.status_code == 200
    assert "Pick the first day to pull" in response.content.decode()
    assert not PullConfiguration.objects.exists()
