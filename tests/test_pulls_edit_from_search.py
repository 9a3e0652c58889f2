"""Edit → "Add more from search" → basket offers the way back to the configuration being edited (issue 13,
defect 6), where the basket's stations are one click from joining it."""

from __future__ import annotations

import pytest
from django.urls import reverse

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
    assert f'id="back-to-configuration" href="{edit_url}"' in basket_page
    assert "Back to editing “Potomac &lt;daily&gt;” to add these stations" in basket_page

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
