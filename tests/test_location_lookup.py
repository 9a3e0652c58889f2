"""Station ids in URLs and forms: unknown or impossible ids are a 404 that names the station, never a 500."""

from __future__ import annotations

import pytest
from django.http import Http404

from stations.models import MonitoringLocation
from tests.factories import MonitoringLocationFactory

pytestmark = pytest.mark.django_db


def test_it_finds_a_location_by_its_id():
    location = MonitoringLocationFactory(site_number="01646500")
    assert MonitoringLocation.objects.get_or_404("USGS-01646500") == location


@pytest.mark.parametrize("bad", ["USGS-99999999", "a\x00b", "x" * 500, "", "USGS-", "<script>-1"])
def test_an_unknown_or_impossible_id_is_a_404_naming_it(bad):
    with pytest.raises(Http404, match="No station"):
        MonitoringLocation.objects.get_or_404(bad)


def test_the_station_page_of_an_impossible_id_is_a_404(viewer_client):
    assert viewer_client.get("/stations/USGS-0164;x/").status_code == 404
    assert viewer_client.get("/monitoring/stations/USGS-0164;x/data/").status_code == 404
    # A NUL byte never reaches a view: the request itself is refused with a sentence.
    assert viewer_client.get("/stations/USGS-0164%00/").status_code == 400
    assert viewer_client.get("/monitoring/stations/USGS-0164%00/data/").status_code == 400
