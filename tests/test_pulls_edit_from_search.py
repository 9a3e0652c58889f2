"""Edit → "Add more from search" → basket offers the way back to the configuration being edited (issue 13,
defect 6): its button adds the basket's stations to that form, as it says (issue 23, item 8), and a link beside it
goes back without them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from pulls.models import PullConfiguration
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory
from tests.test_pulls_form import _basket, _form

pytestmark = pytest.mark.django_db


def test_the_basket_offers_going_back_to_the_configuration_being_edited(operator_client):
    config = PullConfigurationFactory(name="Potomac <daily>")
    config.stations.add(MonitoringLocationFactory())
    edit_url = reverse("pulls:edit", args=[config.pk])

    response = operator_client.post(edit_url, _form(name=config.name, action="search"))
    assert response["Location"] == reverse("stations:search")
    new = MonitoringLocationFactory()
    _basket(operator_client, new)

    basket_page = operator_client.get(reverse("stations:basket")).content.decode()
    take_url = reverse("pulls:take_basket", args=[config.pk])
    assert f'<form method="post" action="{take_url}">' in basket_page
    assert "Add this station to “Potomac &lt;daily&gt;” and go back to it" in basket_page
    assert f'id="back-without-stations" href="{edit_url}"' in basket_page

    form_page = operator_client.get(edit_url).content.decode()
    assert "Add 1 station from the basket" in form_page


def test_saving_or_discarding_ends_the_offer(operator_client):
    config = PullConfigurationFactory()
    config.stations.add(MonitoringLocationFactory())
    edit_url = reverse("pulls:edit", args=[config.pk])
    operator_client.post(edit_url, _form(name=config.name, action="search"))
    _basket(operator_client, MonitoringLocationFactory())

    operator_client.post(edit_url, _form(name=config.name, action="discard"))

    assert "back-to-configuration" not in operator_client.get(reverse("stations:basket")).content.decode()


def test_a_basket_filled_without_editing_offers_only_create(operator_client):
    _basket(operator_client, MonitoringLocationFactory())

    body = operator_client.get(reverse("stations:basket")).content.decode()

    assert "back-to-configuration" not in body and 'id="create-configuration"' in body


@pytest.fixture
def left_to_search(operator_client):
    """A configuration of one station being edited (its name changed, unsaved), left for the search; the basket
    then holds two new stations."""
    config = PullConfigurationFactory(name="Potomac daily")
    kept = MonitoringLocationFactory()
    config.stations.add(kept)
    edit_url = reverse("pulls:edit", args=[config.pk])
    operator_client.post(edit_url, _form(name="Potomac daily, renamed", action="search"))
    new = [MonitoringLocationFactory(), MonitoringLocationFactory()]
    _basket(operator_client, *new)
    return config, kept, new


def test_the_basket_button_adds_its_stations_to_the_form_it_goes_back_to(operator_client, left_to_search):
    config, kept, new = left_to_search
    edit_url = reverse("pulls:edit", args=[config.pk])

    response = operator_client.post(reverse("pulls:take_basket", args=[config.pk]))

    assert response.status_code == 302 and response["Location"] == edit_url
    assert operator_client.session["basket"] == []  # they moved into the form
    form_page = operator_client.get(edit_url)
    body = form_page.content.decode()
    assert [s.monitoring_location_id for s in form_page.context["stations"]] == [
        kept.monitoring_location_id,
        *(n.monitoring_location_id for n in new),
    ]
    assert 'value="Potomac daily, renamed"' in body  # the unsaved values the user left stay
    assert "Moved 2 stations from the basket into “Potomac daily”" in body and "not saved yet" in body
    assert list(config.stations.all()) == [kept]  # nothing saved until Save

    operator_client.post(edit_url, _form(name="Potomac daily, renamed"))
    assert PullConfiguration.objects.get(pk=config.pk).stations.count() == 3


def test_the_basket_button_without_a_draft_keeps_the_saved_values(operator_client):
    config = PullConfigurationFactory(name="Seneca daily")
    _basket(operator_client, MonitoringLocationFactory())

    operator_client.post(reverse("pulls:take_basket", args=[config.pk]))

    form_page = operator_client.get(reverse("pulls:edit", args=[config.pk]))
    assert form_page.context["form"]["name"].value() == "Seneca daily"
    assert len(form_page.context["stations"]) == 1


def test_a_viewer_cannot_take_the_basket_into_a_configuration(viewer_client):
    config = PullConfigurationFactory()
    location = MonitoringLocationFactory()
    _basket(viewer_client, location)

    response = viewer_client.post(reverse("pulls:take_basket", args=[config.pk]))

    assert response.status_code == 403
    assert viewer_client.session["basket"] == [location.monitoring_location_id]
    assert "pulls_form_drafts" not in viewer_client.session


def test_taking_the_basket_needs_a_post_and_an_existing_configuration(operator_client):
    _basket(operator_client, MonitoringLocationFactory())

    assert operator_client.get(reverse("pulls:take_basket", args=[1])).status_code == 405
    assert operator_client.post(reverse("pulls:take_basket", args=[999])).status_code == 404
    assert len(operator_client.session["basket"]) == 1


def test_creating_a_configuration_says_the_basket_was_used_and_emptied(operator_client):
    _basket(operator_client, MonitoringLocationFactory(), MonitoringLocationFactory())
    form_page = operator_client.get(reverse("pulls:create")).content.decode()

    response = operator_client.post(reverse("pulls:create"), _form(), follow=True)

    assert "Creating the configuration takes them out of the basket." in form_page
    assert "The basket is empty now: its stations went into this configuration." in response.content.decode()
    assert operator_client.session["basket"] == []
