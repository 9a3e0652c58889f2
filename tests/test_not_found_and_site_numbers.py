"""The demo's addresses (issue 23, item 14): an unknown address shows the product's 404 page, with DEBUG on too
(`make run`, `make demo`), never Django's list of every URL; a bare USGS site number leads to its station."""

from __future__ import annotations

import pytest

from tests.api_helpers import bearer
from tests.factories import MonitoringLocationFactory

pytestmark = pytest.mark.django_db
DEBUG_LIST = "Using the URLconf defined in"


@pytest.fixture(params=[True, False], ids=["debug", "production"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def test_an_unknown_address_shows_the_products_404_page(debug, operator_client):
    response = operator_client.get("/no-such-page/")

    page = response.content.decode()
    assert response.status_code == 404
    assert DEBUG_LIST not in page and "stations/&lt;location_id" not in page
    assert "There is nothing at this address." in page and "Resolver404" not in page
    assert 'href="/stations/"' in page  # the product's page, with its navigation


def test_a_view_that_raises_404_shows_its_sentence_on_the_products_page(debug, operator_client):
    response = operator_client.get("/stations/USGS-99999999/")

    page = response.content.decode()
    assert response.status_code == 404
    assert "No station &#x27;USGS-99999999&#x27; in the catalog" in page
    assert DEBUG_LIST not in page and "Traceback" not in page and "<h1 class=\"h3\">Not found</h1>" in page


def test_the_apis_own_404_stays_json_with_debug_on(settings, operator):
    from django.test import Client

    settings.DEBUG = True
    response = Client().get("/api/v1/stations/USGS-99999999", headers=bearer(operator))

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_a_bare_site_number_redirects_to_its_usgs_station(operator_client):
    MonitoringLocationFactory(monitoring_location_id="USGS-01646500", site_number="01646500")

    response = operator_client.get("/stations/01646500/")

    assert response.status_code == 302
    assert response["Location"] == "/stations/USGS-01646500/"
    assert operator_client.get(response["Location"]).status_code == 200


def test_a_bare_site_number_the_catalog_lacks_is_a_404_that_names_it(operator_client):
    MonitoringLocationFactory(monitoring_location_id="USGS-01646500", site_number="01646500")

    response = operator_client.get("/stations/01646502/")

    assert response.status_code == 404
    assert "01646502" in response.content.decode()
